//! `medic diagnose`: diagnose a log or error text offline with the rules.

use std::io::Read as _;

use medic_engine::diagnosis::RulesDiagnoser;
use medic_model::Diagnosis;

use crate::UsageError;

/// A diagnosis with the failure's fingerprint, as printed.
#[derive(serde::Serialize)]
struct Report {
    /// Stable across runs for the same failure.
    fingerprint: String,
    /// The root cause with its values masked (`<*>`), what the fingerprint hashes.
    template: String,
    #[serde(flatten)]
    diagnosis: Diagnosis,
}

pub(crate) fn run(input: &str) -> Result<(), UsageError> {
    let text = read(input)?;
    let finding = RulesDiagnoser::default().diagnose_text(&text);
    let report = Report {
        fingerprint: finding.fingerprint,
        template: finding.template,
        diagnosis: finding.diagnosis,
    };
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
