//! Diagnosis by rules: from the failing signal and the last log lines to a
//! category, a root-cause line with its evidence, and a confidence.
//!
//! The root cause is the line [`logs::choose_root_cause`] picks (the first
//! line that names its failure precisely and is not routine; an INFO line
//! that mentions "timeout" does not outrank an ERROR), else the signal
//! itself. Confidence grows with specificity and agreement (see
//! [`logs::confidence`]): a signal alone says little (`HTTP 500`), a log line
//! that names the cause says more, several agreeing lines more still. The
//! fingerprint is the category and the hash of the root cause's template
//! ([`logs::template_of`]), so the same failure gets the same fingerprint
//! whatever ids, numbers or addresses it mentions.
//! [`Diagnoser`] is the seam where history and a language model join later.

use medic_model::{Category, Diagnosis, DiagnosisSource, Grounds, Severity, Signal, SignalSource};
use medic_resilience::classify::{Basis, ClassificationRule, ErrorClassifier};

use crate::logs;

/// The version of the fingerprint scheme: raised whenever
/// [`Finding::fingerprint_of`] names a failure differently than before, so
/// the agent renames stored fingerprints at start (medic-agent's
/// `fingerprints.rs`). 2: issue 17's templates (hosts, accounts, dates,
/// lists of values masked).
pub const FINGERPRINT_VERSION: u32 = 2;

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
    /// The root cause's template ([`logs::template_of`]): its words with
    /// values masked as `<*>`. For comparing failures by their words.
    pub template: String,
}

impl Finding {
    /// The fingerprint of `category` and the template of `root_cause`.
    ///
    /// ```
    /// use medic_engine::diagnosis::Finding;
    /// use medic_model::Category;
    /// let (a, _) = Finding::fingerprint_of(Category::Network, "connect to 10.0.0.1:80 refused");
    /// let (b, template) = Finding::fingerprint_of(Category::Network, "connect to 10.0.0.9:81 refused");
    /// assert_eq!(a, b);
    /// assert!(a.starts_with("network:"));
    /// assert_eq!(template, "connect to <*> refused");
    /// ```
    pub fn fingerprint_of(category: Category, root_cause: &str) -> (String, String) {
        let template = logs::template_of(root_cause);
        let fingerprint = format!("{category}:{:016x}", logs::template_hash(&template));
        (fingerprint, template)
    }
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
/// // A database client that cannot reach its server: the database.
/// assert_eq!(finding.diagnosis.category, Category::Database);
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
            None => {
                let last = lines.last().map_or("", |l| l.trim());
                let (fingerprint, template) = Finding::fingerprint_of(Category::Unknown, last);
                Finding {
                    fingerprint,
                    template,
                    diagnosis: Diagnosis {
                        category: Category::Unknown,
                        severity: Severity::Medium,
                        root_cause: last.to_string(),
                        evidence: tail(&lines),
                        confidence: 0.0,
                        sources: vec![DiagnosisSource::Rules],
                        rule: None,
                        similar_to: None,
                        grounds: Grounds::Text,
                    },
                }
            }
        }
    }

    /// The root-cause line (see [`logs::choose_root_cause`]), its
    /// neighbours as evidence, and the confidence they earn.
    fn recognise_lines(&self, lines: &[String]) -> Option<Finding> {
        let facts = logs::read_lines(&self.classifier, lines);
        let index = logs::choose_root_cause(&facts)?;
        let root = lines.get(index)?.trim();
        let recognition = facts.get(index)?.recognition;
        let (category, severity) = recognition.map_or((Category::Unknown, Severity::Medium), |r| {
            (r.category, r.severity)
        });
        let rule = recognition.map(|r| match r.basis {
            Basis::Rule(n) => self
                .classifier
                .rules()
                .get(n)
                .map_or_else(|| r.name(), |rule| format!("rule:{}", rule.name)),
            _ => r.name(),
        });
        let start = index.saturating_sub(EVIDENCE_LINES / 2);
        let end = (start + EVIDENCE_LINES).min(lines.len());
        let mut evidence = lines[start..end].to_vec();
        // The rule's own reason, so a reader sees why (say) a refused
        // connection on 5432 is the database rather than the network.
        if let Some(why) = recognition.and_then(|r| r.reason()) {
            evidence.push(format!("why: {why}"));
        }
        let (fingerprint, template) = Finding::fingerprint_of(category, root);
        Some(Finding {
            fingerprint,
            template,
            diagnosis: Diagnosis {
                category,
                severity,
                root_cause: root.to_string(),
                evidence,
                confidence: logs::confidence(&facts, index),
                sources: vec![DiagnosisSource::Rules],
                rule,
                similar_to: None,
                grounds: Grounds::Text,
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
        // An alert's summary, a report's message or a log match's line is
        // outside text like a log line, so it is read with them as one more
        // line (a log match's line only when the window lacks it): the most
        // specific line explains the failure and earns what its wording
        // earns.
        let sent = match &signal.source {
            SignalSource::Alert { .. } | SignalSource::Event { .. } => true,
            SignalSource::Log { .. } => !symptoms.log_lines.contains(&signal.message),
            _ => false,
        };
        let with_message;
        let lines = if sent {
            with_message = [symptoms.log_lines, std::slice::from_ref(&signal.message)].concat();
            &with_message[..]
        } else {
            symptoms.log_lines
        };
        // A line that explains the failure wins; an error line nothing
        // explains does not outrank what the signal itself says.
        if let Some(mut finding) = self
            .recognise_lines(lines)
            .filter(|f| f.diagnosis.category != Category::Unknown)
        {
            if signal.source.grounds() == Grounds::Observed {
                finding
                    .diagnosis
                    .evidence
                    .push(format!("probe: {}", signal.message));
            }
            return finding;
        }
        // No log line says why: the signal alone. A process exit, or a
        // unit systemd reports down, is a plain fact (the process is gone)
        // even when its cause is unknown; any other signal alone (`HTTP 500`)
        // earns modest confidence. A log match's or an alert's text was read
        // above as a line and explained nothing: classifying it again as a
        // call's error would bring back the broad words' guess (`not
        // found`) that reading refused. A probe's message and an in-process
        // report are a call's error, and classified as one.
        let (category, severity) = match &signal.source {
            SignalSource::Log { .. } | SignalSource::Alert { .. } => {
                (Category::Unknown, Category::Unknown.default_severity())
            }
            _ => {
                let ctx = self.classifier.classify_message(&signal.message);
                (ctx.category, ctx.severity)
            }
        };
        let exited = match &signal.source {
            SignalSource::Exit { .. } => true,
            SignalSource::Probe { probe } => probe.starts_with("systemd:"),
            _ => false,
        };
        let mut evidence = signal.evidence.clone();
        evidence.extend(tail(symptoms.log_lines));
        let (fingerprint, template) = Finding::fingerprint_of(category, &signal.message);
        Finding {
            fingerprint,
            template,
            diagnosis: Diagnosis {
                category,
                severity,
                root_cause: signal.message.clone(),
                evidence,
                confidence: match (exited, category) {
                    (true, _) => 0.9,
                    (false, Category::Unknown) => 0.3,
                    (false, _) => 0.6,
                },
                sources: vec![DiagnosisSource::Rules],
                rule: None,
                similar_to: None,
                grounds: signal.source.grounds(),
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
    fn a_unit_systemd_reports_down_is_a_plain_fact_like_an_exit() {
        let d = RulesDiagnoser::default();
        let unit = Signal::unhealthy(
            "shop",
            SignalSource::Probe {
                probe: "systemd:shop.service".into(),
            },
            "shop.service is failed (failed): its main process crashed and dumped core (core-dump)",
        );
        let symptoms = |signal| Symptoms {
            signal,
            log_lines: &[],
        };
        let finding = d.diagnose(&symptoms(&unit));
        assert_eq!(finding.diagnosis.confidence, 0.9);
        let http = d.diagnose(&symptoms(&signal("HTTP 500")));
        assert!(http.diagnosis.confidence < 0.9);
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
        // A refusal on PostgreSQL's port is the database (issue 17).
        assert_eq!(finding.diagnosis.category, Category::Database);
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
        assert!(finding.fingerprint.starts_with("database:"));
    }

    #[test]
    fn the_same_failure_gets_the_same_fingerprint_whatever_the_numbers() {
        let d = RulesDiagnoser::default();
        let a = d.diagnose_text("ERROR connect to 10.0.0.1:8080 failed: Connection refused");
        let b = d.diagnose_text("ERROR connect to 10.0.0.7:9443 failed: Connection refused");
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
    fn grounds_follow_the_signal_and_text_earns_what_its_wording_earns() {
        let d = RulesDiagnoser::default();
        let diagnose = |source: SignalSource, message: &str| {
            let s = Signal::unhealthy("shop", source, message);
            d.diagnose(&Symptoms {
                signal: &s,
                log_lines: &[],
            })
            .diagnosis
        };
        let alert = || SignalSource::Alert {
            sender: "alertmanager".into(),
        };
        // medic's own probe: observed, modest.
        let probed = diagnose(
            SignalSource::Probe {
                probe: "tcp".into(),
            },
            "connection refused",
        );
        assert_eq!(
            (probed.grounds, probed.confidence),
            (Grounds::Observed, 0.6)
        );
        // An alert naming a specific failure clears the bar for text ...
        let specific = diagnose(alert(), "payments: connect to db:5432: connection refused");
        assert_eq!(specific.category, Category::Database);
        assert_eq!(specific.grounds, Grounds::Text);
        assert!(specific.confidence >= 0.7, "{specific:?}");
        // ... one with a broad word alone does not.
        let broad = diagnose(alert(), "upstream request failed: timeout");
        assert_ne!(broad.category, Category::Unknown);
        assert!(broad.confidence < 0.7, "{broad:?}");
        // A broad word in an attached line does not outweigh the alert's
        // own specific summary: the most specific line is the root cause.
        let s = Signal::unhealthy(
            "shop",
            alert(),
            "payments: connect to db:5432: connection refused",
        );
        let attached = d.diagnose(&Symptoms {
            signal: &s,
            log_lines: &["copying /var/lib/sqlite/cache.db".to_string()],
        });
        assert_eq!(attached.diagnosis.root_cause, s.message);
        assert!(attached.diagnosis.confidence >= 0.7, "{attached:?}");
        // Log lines decide as text.
        let logged =
            d.diagnose_text("ERROR db: connect to 127.0.0.1:5432 failed: Connection refused");
        assert_eq!(logged.diagnosis.grounds, Grounds::Text);
    }

    #[test]
    fn outside_text_that_explains_nothing_stays_unknown_and_a_calls_error_does_not() {
        let d = RulesDiagnoser::default();
        let diagnose = |source: SignalSource| {
            let s = Signal::unhealthy(
                "pve",
                source,
                "TASK ERROR: storage 'local-zfs' does not exist",
            );
            d.diagnose(&Symptoms {
                signal: &s,
                log_lines: &[],
            })
            .diagnosis
        };
        // A log match or an alert: read as a line, and `does not exist`
        // alone explains no line, so no guess.
        let logged = diagnose(SignalSource::Log {
            path: "/var/log/pve/tasks.log".into(),
        });
        let alerted = diagnose(SignalSource::Alert {
            sender: "alertmanager".into(),
        });
        for diagnosis in [&logged, &alerted] {
            assert_eq!(diagnosis.category, Category::Unknown, "{diagnosis:?}");
            assert!(!diagnosis.evidence.iter().any(|e| e.starts_with("probe:")));
        }
        // An in-process report is a call's error: classified as one.
        let reported = diagnose(SignalSource::Event {
            component: "pve-client".into(),
        });
        assert_eq!(reported.category, Category::Validation);
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
    fn a_routine_line_that_mentions_a_timeout_is_not_the_root_cause() {
        let finding = RulesDiagnoser::default().diagnose_text(
            "2026-11-26T08:00:00Z INFO  pool: max_connections=20 idle_timeout=30s\n\
             2026-11-26T08:00:01Z ERROR write /data/seg-7.log: no space left on device\n\
             2026-11-26T08:00:02Z INFO  pool: max_connections=20 idle_timeout=30s\n",
        );
        assert_eq!(finding.diagnosis.category, Category::Resource);
        assert!(finding.fingerprint.starts_with("resource:"));
        assert!(
            finding
                .template
                .ends_with("write <*>: no space left on device"),
            "{}",
            finding.template
        );
        assert_eq!(
            finding.diagnosis.rule.as_deref(),
            Some("catalog:out_of_memory_or_disk")
        );
    }

    #[test]
    fn a_refused_database_connection_says_why_it_is_the_database() {
        let finding = RulesDiagnoser::default().diagnose_text(
            "2026-12-07T08:00:00Z INFO  starting worker\n\
             psql: error: connection to server at \"db-1\" (10.0.0.7), port 5432 failed: Connection refused\n",
        );
        assert_eq!(finding.diagnosis.category, Category::Database);
        let why = finding.diagnosis.evidence.last().expect("evidence");
        assert!(
            why.starts_with("why: ") && why.contains("database"),
            "{why}"
        );
    }

    #[test]
    fn a_general_catalog_match_adds_no_reason_line() {
        let finding = RulesDiagnoser::default()
            .diagnose_text("ERROR write /data/seg-7.log: no space left on device");
        assert!(
            finding
                .diagnosis
                .evidence
                .iter()
                .all(|line| !line.starts_with("why: ")),
            "{:?}",
            finding.diagnosis.evidence
        );
    }

    #[test]
    fn an_error_nothing_explains_leaves_the_finding_unknown() {
        let finding = RulesDiagnoser::default().diagnose_text(
            "TASK [app : render config] ****\nfatal: [web-1]: FAILED! => {\"rc\": 1}",
        );
        assert_eq!(finding.diagnosis.category, Category::Unknown);
        assert!(finding.diagnosis.root_cause.starts_with("fatal:"));
        assert_eq!(finding.diagnosis.confidence, 0.0);
    }

    /// Windows in the wordings of tools the eval corpus does not use, written
    /// apart from it: a check that the rules are not fitted to the corpus.
    #[test]
    fn windows_from_other_tools_get_the_category_a_reader_would_give() {
        let cases: &[(&str, Category)] = &[
            (
                "2026/11/26 08:00:00 [notice] 1#1: start worker processes\n\
                 2026/11/26 08:00:09 [error] 31#31: *5 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 10.0.0.1",
                Category::Timeout,
            ),
            (
                "Traceback (most recent call last):\n  File \"app.py\", line 9, in <module>\n\
                 ConnectionRefusedError: [Errno 111] Connection refused",
                Category::Network,
            ),
            (
                "Error: connect ETIMEDOUT 10.0.0.5:443\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)",
                Category::Timeout,
            ),
            (
                "{\"level\":\"info\",\"msg\":\"client ready\",\"timeout\":\"30s\"}\n\
                 {\"level\":\"error\",\"msg\":\"dial tcp 10.0.0.5:5432: i/o timeout\"}",
                Category::Timeout,
            ),
            (
                "OSError: [Errno 28] No space left on device: '/tmp/upload-7'",
                Category::Resource,
            ),
            (
                "ssh: connect to host 10.0.0.9 port 22: Connection timed out",
                Category::Timeout,
            ),
            (
                "app.service: Main process exited, code=killed, status=9/KILL\n\
                 kernel: Out of memory: Killed process 4242 (app) total-vm:812345kB",
                Category::Resource,
            ),
            (
                "An error occurred (ExpiredTokenException) when calling the GetObject operation: The provided token has expired.",
                Category::Authentication,
            ),
            (
                "level=info msg=\"cache warm\" ttl=5m timeout=2s\n\
                 level=error msg=\"query failed\" err=\"pq: could not serialize access due to concurrent update\"",
                Category::Database,
            ),
            // Docker asks for a login: credentials, as both blind sets read it.
            (
                "Error response from daemon: pull access denied for acme/app, repository does not exist or may require 'docker login'",
                Category::Authentication,
            ),
        ];
        let d = RulesDiagnoser::default();
        for (text, expected) in cases {
            let finding = d.diagnose_text(text);
            assert_eq!(finding.diagnosis.category, *expected, "{text}");
        }
    }

    #[test]
    fn unknown_text_is_a_finding_with_zero_confidence() {
        let finding = RulesDiagnoser::default().diagnose_text("all quiet\nnothing to see");
        assert_eq!(finding.diagnosis.category, Category::Unknown);
        assert_eq!(finding.diagnosis.confidence, 0.0);
        assert_eq!(finding.diagnosis.root_cause, "nothing to see");
    }
}

/// Property tests: the same failure with other values shares a fingerprint,
/// different failures never do (issue 17 item 3).
#[cfg(test)]
#[path = "diagnosis/fingerprint_props.rs"]
mod fingerprint_props;
