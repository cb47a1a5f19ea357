//! Diagnosis by rules: from the failing signal and the last log lines to a
//! category, a root-cause line with its evidence, and a confidence.
//!
//! The root cause is the first log line the pattern catalog recognises (the
//! first error usually causes the rest), else the signal itself. Confidence
//! grows with specificity: a signal alone says little (`HTTP 500`), a log line
//! that names the cause says more, several agreeing lines more still.
//! [`Diagnoser`] is the seam where history and a language model join later.

use medic_model::{Category, Diagnosis, DiagnosisSource, Severity, Signal};
use medic_resilience::classify::{ClassificationRule, ErrorClassifier};

/// Log lines kept as evidence around the root cause.
pub const EVIDENCE_LINES: usize = 5;

/// What a diagnoser looks at.
#[derive(Debug, Clone, Copy)]
pub struct Symptoms<'a> {
    /// The signal that made the target unhealthy.
    pub signal: &'a Signal,
    /// The target's most recent log lines, oldest first.
    pub log_lines: &'a [String],
}

/// A diagnosis and the fingerprint that identifies the failure.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The diagnosis.
    pub diagnosis: Diagnosis,
    /// `category:hash` of the root cause's template: the same failure gets the
    /// same fingerprint in every run, whatever numbers or ids it mentions.
    pub fingerprint: String,
}

/// Turns symptoms into a finding.
pub trait Diagnoser: Send + Sync {
    /// Diagnoses; never fails (an unknown failure is a finding too).
    fn diagnose(&self, symptoms: &Symptoms<'_>) -> Finding;
}

/// The built-in pattern catalog plus the user's rules.
///
/// ```
/// use medic_engine::diagnosis::{Diagnoser, RulesDiagnoser, Symptoms};
/// use medic_model::{Category, Signal, SignalSource};
/// let signal = Signal::unhealthy("shop", SignalSource::Probe { probe: "http".into() }, "HTTP 500");
/// let logs = vec![
///     "INFO http: GET /buy -> 200".to_string(),
///     "ERROR db: connect to 127.0.0.1:5432 failed: Connection refused (os error 111)".to_string(),
/// ];
/// let finding = RulesDiagnoser::default().diagnose(&Symptoms { signal: &signal, log_lines: &logs });
/// assert_eq!(finding.diagnosis.category, Category::Network);
/// assert!(finding.diagnosis.root_cause.contains("Connection refused"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct RulesDiagnoser {
    classifier: ErrorClassifier,
}

impl RulesDiagnoser {
    /// The built-in catalog with `rules` checked first.
    pub fn with_rules(rules: impl IntoIterator<Item = ClassificationRule>) -> Self {
        let classifier = rules
            .into_iter()
            .fold(ErrorClassifier::default(), ErrorClassifier::with_rule);
        Self { classifier }
    }

    /// The built-in catalog with the config's `[[diagnosis.rules]]` first.
    /// Patterns were checked by config validation; one that still fails to
    /// compile is skipped rather than taking the agent down.
    pub fn from_config(rules: &crate::config::DiagnosisRules) -> Self {
        Self::with_rules(rules.rules.iter().filter_map(|rule| {
            let built = ClassificationRule::new(&rule.name, &rule.pattern, rule.category).ok()?;
            Some(match rule.severity {
                Some(severity) => built.with_severity(severity),
                None => built,
            })
        }))
    }

    /// Diagnoses free text (a log, a CI job's output): no signal, lines only.
    pub fn diagnose_text(&self, text: &str) -> Finding {
        let lines: Vec<String> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect();
        match self.recognise_lines(&lines) {
            Some(finding) => finding,
            None => Finding {
                fingerprint: format!(
                    "unknown:{}",
                    medic_resilience::classify::fingerprint(
                        lines.last().map_or("", |l| l.as_str())
                    )
                ),
                diagnosis: Diagnosis {
                    category: Category::Unknown,
                    severity: Severity::Medium,
                    root_cause: lines
                        .last()
                        .map(|l| l.trim().to_string())
                        .unwrap_or_default(),
                    evidence: tail(&lines),
                    confidence: 0.0,
                    sources: vec![DiagnosisSource::Rules],
                    rule: None,
                    similar_to: None,
                },
            },
        }
    }

    /// The first recognised line, its neighbours, and how many lines agree.
    fn recognise_lines(&self, lines: &[String]) -> Option<Finding> {
        let (index, ctx) = lines.iter().enumerate().find_map(|(i, line)| {
            let ctx = self.classifier.classify_message(line);
            (ctx.category != Category::Unknown).then_some((i, ctx))
        })?;
        let agreeing = lines
            .iter()
            .filter(|l| self.classifier.classify_message(l).category == ctx.category)
            .count();
        let start = index.saturating_sub(EVIDENCE_LINES / 2);
        let end = (start + EVIDENCE_LINES).min(lines.len());
        Some(Finding {
            fingerprint: ctx.fingerprint,
            diagnosis: Diagnosis {
                category: ctx.category,
                severity: ctx.severity,
                root_cause: lines[index].trim().to_string(),
                evidence: lines[start..end].to_vec(),
                // One line is a hint; several agreeing lines are evidence.
                confidence: (7 + agreeing.saturating_sub(1)).min(9) as f64 / 10.0,
                sources: vec![DiagnosisSource::Rules],
                rule: None,
                similar_to: None,
            },
        })
    }
}

fn tail(lines: &[String]) -> Vec<String> {
    lines[lines.len().saturating_sub(EVIDENCE_LINES)..].to_vec()
}

impl Diagnoser for RulesDiagnoser {
    fn diagnose(&self, symptoms: &Symptoms<'_>) -> Finding {
        let signal = symptoms.signal;
        if let Some(mut finding) = self.recognise_lines(symptoms.log_lines) {
            finding
                .diagnosis
                .evidence
                .push(format!("probe: {}", signal.message));
            return finding;
        }
        // No log line says why: the signal alone. A process exit is a plain
        // fact (the process is gone) even when its cause is unknown; any other
        // signal alone (`HTTP 500`) earns modest confidence.
        let ctx = self.classifier.classify_message(&signal.message);
        let exited = matches!(signal.source, medic_model::SignalSource::Exit { .. });
        let mut evidence = signal.evidence.clone();
        evidence.extend(tail(symptoms.log_lines));
        Finding {
            fingerprint: ctx.fingerprint,
            diagnosis: Diagnosis {
                category: ctx.category,
                severity: ctx.severity,
                root_cause: signal.message.clone(),
                evidence,
                confidence: match (exited, ctx.category) {
                    (true, _) => 0.9,
                    (false, Category::Unknown) => 0.3,
                    (false, _) => 0.6,
                },
                sources: vec![DiagnosisSource::Rules],
                rule: None,
                similar_to: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use medic_model::SignalSource;

    fn signal(message: &str) -> Signal {
        Signal::unhealthy(
            "shop",
            SignalSource::Probe {
                probe: "http".into(),
            },
            message,
        )
    }

    #[test]
    fn a_log_line_beats_the_probe_message() {
        let logs: Vec<String> = [
            "INFO starting",
            "ERROR db: connect to 127.0.0.1:5432 failed: Connection refused (os error 111)",
            "ERROR http: GET /buy -> 500 database unavailable",
            "ERROR db: connect to 127.0.0.1:5432 failed: Connection refused (os error 111)",
        ]
        .map(String::from)
        .to_vec();
        let s = signal("HTTP 500");
        let finding = RulesDiagnoser::default().diagnose(&Symptoms {
            signal: &s,
            log_lines: &logs,
        });
        assert_eq!(finding.diagnosis.category, Category::Network);
        assert!(
            finding
                .diagnosis
                .root_cause
                .starts_with("ERROR db: connect")
        );
        assert!(
            finding.diagnosis.confidence >= 0.8,
            "{}",
            finding.diagnosis.confidence
        );
        assert!(
            finding
                .diagnosis
                .evidence
                .iter()
                .any(|e| e == "probe: HTTP 500")
        );
        assert!(finding.fingerprint.starts_with("network:"));
    }

    #[test]
    fn the_same_failure_gets_the_same_fingerprint_whatever_the_numbers() {
        let d = RulesDiagnoser::default();
        let a = d.diagnose_text("ERROR connect to 10.0.0.1:5432 failed: Connection refused");
        let b = d.diagnose_text("ERROR connect to 10.0.0.7:6543 failed: Connection refused");
        assert_eq!(a.fingerprint, b.fingerprint);
    }

    #[test]
    fn without_logs_the_signal_decides_with_modest_confidence() {
        let s = signal("connection refused");
        let finding = RulesDiagnoser::default().diagnose(&Symptoms {
            signal: &s,
            log_lines: &[],
        });
        assert_eq!(finding.diagnosis.category, Category::Network);
        assert_eq!(finding.diagnosis.confidence, 0.6);
    }

    #[test]
    fn a_process_exit_is_a_confident_finding_even_when_its_cause_is_unknown() {
        let exit = Signal::unhealthy(
            "shop",
            SignalSource::Exit { code: Some(1) },
            "exited with status 1",
        );
        let finding = RulesDiagnoser::default().diagnose(&Symptoms {
            signal: &exit,
            log_lines: &[],
        });
        assert_eq!(finding.diagnosis.root_cause, "exited with status 1");
        assert_eq!(finding.diagnosis.confidence, 0.9);
    }

    #[test]
    fn user_rules_come_first() {
        let rule =
            ClassificationRule::new("payments-gateway", "gateway said no", Category::Dependency)
                .expect("valid rule");
        let d = RulesDiagnoser::with_rules([rule]);
        let finding = d.diagnose_text("WARN the gateway said no to order 42");
        assert_eq!(finding.diagnosis.category, Category::Dependency);
    }

    #[test]
    fn config_rules_reach_the_diagnoser() {
        let config = crate::config::parse(
            "[[diagnosis.rules]]\nname = \"ledger\"\npattern = \"ledger is sealed\"\ncategory = \"dependency\"\nseverity = \"critical\"\n",
            &Default::default(),
        )
        .expect("valid config");
        let d = RulesDiagnoser::from_config(&config.diagnosis);
        let finding = d.diagnose_text("ERROR the ledger is sealed until midnight");
        assert_eq!(finding.diagnosis.category, Category::Dependency);
        assert_eq!(finding.diagnosis.severity, Severity::Critical);
    }

    #[test]
    fn unknown_text_is_a_finding_with_zero_confidence() {
        let finding = RulesDiagnoser::default().diagnose_text("all quiet\nnothing to see");
        assert_eq!(finding.diagnosis.category, Category::Unknown);
        assert_eq!(finding.diagnosis.confidence, 0.0);
        assert_eq!(finding.diagnosis.root_cause, "nothing to see");
    }
}
