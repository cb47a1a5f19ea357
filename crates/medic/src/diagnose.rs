//! `medic diagnose`: diagnose a log or error text offline.
//!
//! Without a config: the built-in rules. With `--config`: the config's own
//! rules too, what the store has learned about the failure's fingerprint
//! (when the store exists; it is never created here), and, when `[llm]`
//! names a provider, the model's opinion with the target's remedy names as
//! the only choices. The printed diagnosis is the combined one; `llm` says
//! what the model answered and how it counted.

use std::io::Read as _;
use std::path::Path;

use medic_engine::config::Config;
use medic_engine::diagnosis::{RulesDiagnoser, Symptoms};
use medic_llm::{LlmDiagnoser, Opinion, Settings};
use medic_model::{Diagnosis, DiagnosisSource, RemedyStats, Signal, SignalSource};

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
    /// What the store has learned about this fingerprint, per remedy.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    history: Vec<Learned>,
    /// The model's opinion, when `[llm]` is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    llm: Option<Opinion>,
}

#[derive(serde::Serialize)]
struct Learned {
    remedy: String,
    attempts: u64,
    successes: u64,
}

pub(crate) fn run(
    input: &str,
    config: Option<&Path>,
    target: Option<&str>,
) -> Result<(), UsageError> {
    let text = read(input)?;
    let report = match config {
        None => {
            let finding = RulesDiagnoser::default().diagnose_text(&text);
            Report {
                fingerprint: finding.fingerprint,
                template: finding.template,
                diagnosis: finding.diagnosis,
                history: Vec::new(),
                llm: None,
            }
        }
        Some(path) => with_config(&text, input, &crate::check::load(path)?, target)?,
    };
    let json = serde_json::to_string_pretty(&report)
        .map_err(|e| UsageError(vec![format!("cannot encode the diagnosis: {e}")]))?;
    crate::out::println(&json);
    Ok(())
}

fn with_config(
    text: &str,
    input: &str,
    config: &Config,
    target: Option<&str>,
) -> Result<Report, UsageError> {
    let finding = RulesDiagnoser::from_config(&config.diagnosis).diagnose_text(text);
    let target = match target {
        Some(name) => Some(
            config
                .targets
                .iter()
                .find(|t| t.name == name)
                .ok_or_else(|| UsageError(vec![format!("--target: no target named {name:?}")]))?,
        ),
        None => config.targets.first(),
    };
    let remedies: Vec<String> = target
        .map(|t| t.remedies.iter().map(|r| r.name.clone()).collect())
        .unwrap_or_default();
    let target_name = target.map_or("input", |t| t.name.as_str());
    let runtime = crate::runtime()?;
    let history = runtime.block_on(history(&config.storage.url, &finding.fingerprint));
    let llm = Settings::from_config(&config.llm)
        .map(LlmDiagnoser::new)
        .transpose()
        .map_err(|e| UsageError(vec![format!("llm: {e}")]))?;
    let (mut finding, opinion) = match llm {
        None => (finding, None),
        Some(llm) => {
            let lines: Vec<String> = text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string)
                .collect();
            let signal = Signal::unhealthy(
                target_name,
                SignalSource::Log {
                    path: input.to_string(),
                },
                &finding.diagnosis.root_cause,
            );
            let symptoms = Symptoms {
                signal: &signal,
                log_lines: &lines,
            };
            let consultation =
                runtime.block_on(llm.consult(&finding, &symptoms, &remedies, target_name));
            (consultation.finding, Some(consultation.opinion))
        }
    };
    if history.iter().any(|h| h.attempts > 0)
        && !finding
            .diagnosis
            .sources
            .contains(&DiagnosisSource::History)
    {
        finding.diagnosis.sources.push(DiagnosisSource::History);
    }
    Ok(Report {
        fingerprint: finding.fingerprint,
        template: finding.template,
        diagnosis: finding.diagnosis,
        history: history
            .into_iter()
            .map(|h| Learned {
                remedy: h.remedy,
                attempts: h.attempts,
                successes: h.successes,
            })
            .collect(),
        llm: opinion,
    })
}

/// What the store learned about `fingerprint`; nothing when there is no
/// store yet (a missing SQLite file is not created) or it cannot be read.
async fn history(url: &str, fingerprint: &str) -> Vec<RemedyStats> {
    if !crate::check::store_exists(url) {
        return Vec::new();
    }
    let Ok(store) = medic_store::connect(url).await else {
        return Vec::new();
    };
    let stats = store.remedy_stats(fingerprint).await.unwrap_or_default();
    store.close().await;
    stats
}

pub(crate) fn read(input: &str) -> Result<String, UsageError> {
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
