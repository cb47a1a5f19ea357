//! `medic diagnose`: classify a log or error text offline.

use std::io::Read as _;

use medic_model::{Category, Diagnosis, DiagnosisSource};
use medic_resilience::classify::ErrorClassifier;

use crate::UsageError;

/// Lines kept as evidence around the root cause.
const EVIDENCE_LINES: usize = 5;

pub(crate) fn run(input: &str) -> Result<(), UsageError> {
    let text = read(input)?;
    let report = diagnose(&text);
    let json = serde_json::to_string_pretty(&report)
        .map_err(|e| UsageError(vec![format!("cannot encode the diagnosis: {e}")]))?;
    println!("{json}");
    Ok(())
}

fn read(input: &str) -> Result<String, UsageError> {
    let bytes = if input == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| UsageError(vec![format!("stdin: cannot read: {e}")]))?;
        bytes
    } else {
        std::fs::read(input).map_err(|e| UsageError(vec![format!("{input}: cannot read: {e}")]))?
    };
    // Logs are not always UTF-8; a bad byte must not stop the diagnosis.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// A diagnosis with the failure's fingerprint, as printed.
#[derive(serde::Serialize)]
struct Report {
    /// Stable across runs for the same failure.
    fingerprint: Option<String>,
    #[serde(flatten)]
    diagnosis: Diagnosis,
}

/// The root cause is the first line the classifier recognises (the first
/// error usually causes the rest); the evidence is the lines around it.
fn diagnose(text: &str) -> Report {
    let classifier = ErrorClassifier::default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let found = lines.iter().enumerate().find_map(|(i, line)| {
        let ctx = classifier.classify_message(line);
        (ctx.category != Category::Unknown).then_some((i, ctx))
    });
    match found {
        Some((i, ctx)) => {
            let start = i.saturating_sub(EVIDENCE_LINES / 2);
            let end = (start + EVIDENCE_LINES).min(lines.len());
            let matched_lines = lines
                .iter()
                .filter(|l| classifier.classify_message(l).category == ctx.category)
                .count();
            let diagnosis = Diagnosis {
                category: ctx.category,
                severity: ctx.severity,
                root_cause: lines[i].trim().to_string(),
                evidence: lines[start..end].iter().map(|l| l.to_string()).collect(),
                // One matching line is a hint; several agreeing lines are evidence.
                confidence: (0.6 + 0.1 * (matched_lines as f64 - 1.0)).min(0.95),
                sources: vec![DiagnosisSource::Rules],
                rule: None,
            };
            Report {
                fingerprint: Some(ctx.fingerprint),
                diagnosis,
            }
        }
        None => Report {
            fingerprint: None,
            diagnosis: Diagnosis {
                category: Category::Unknown,
                severity: medic_model::Severity::Medium,
                root_cause: lines
                    .last()
                    .map(|l| l.trim().to_string())
                    .unwrap_or_default(),
                evidence: lines
                    .iter()
                    .rev()
                    .take(EVIDENCE_LINES)
                    .rev()
                    .map(|l| l.to_string())
                    .collect(),
                confidence: 0.0,
                sources: vec![DiagnosisSource::Rules],
                rule: None,
            },
        },
    }
}
