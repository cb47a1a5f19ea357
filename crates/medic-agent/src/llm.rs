//! The optional second opinion: when `[llm]` names a provider, an incident's
//! rules diagnosis is shown to the model with the target's remedy names as
//! the only choices (see `medic-llm`). The rules' diagnosis is recorded
//! first (a webhook's sender sees it without waiting for the model); the
//! combined one replaces it when the model changed it. Planning uses the
//! combined category with the rules' (and history's) confidence, so the
//! model's agreement never lifts a step past `min_confidence`. The model's
//! opinion, accepted or not, goes on the timeline. It can only move a
//! remedy the plan already holds to the front, and only while the
//! fingerprint has no history (its own or lent by similar incidents).

use medic_engine::config::{ClientTls, Llm, effective_tls};
use medic_engine::diagnosis::{Finding, Symptoms};
use medic_engine::plan::Step;
use medic_llm::{LlmDiagnoser, Settings};
use medic_model::{Diagnosis, Incident, RemedyStats, TimelineKind};
use medic_store::StoreError;

use crate::agent::Inner;
use crate::incident::{note, record_diagnosis};

/// The diagnoser for `[llm]`, or none (no provider, or settings that cannot work).
pub(crate) fn build(config: &Llm, global_tls: &ClientTls) -> Option<LlmDiagnoser> {
    let mut settings = Settings::from_config(config)?;
    settings.tls = effective_tls(config.tls.as_ref(), global_tls);
    match LlmDiagnoser::new(settings) {
        Ok(llm) => Some(llm),
        Err(error) => {
            tracing::warn!(%error, "[llm] is configured but unusable; rules decide alone");
            None
        }
    }
}

/// The rules' `finding` (already recorded), refined by the model when one
/// is configured, and the remedy it prefers. A changed diagnosis is
/// recorded first, then the opinion is noted on the incident's timeline:
/// whoever reads the opinion (an API client polling the incident) then
/// reads the diagnosis it produced, never the one it replaced.
pub(crate) async fn consult(
    inner: &Inner,
    incident: &mut Incident,
    finding: Finding,
    symptoms: &Symptoms<'_>,
    remedies: &[String],
) -> Result<(Diagnosis, Option<String>), StoreError> {
    let Some(llm) = &inner.llm else {
        return Ok((finding.diagnosis, None));
    };
    let consultation = llm
        .consult(&finding, symptoms, remedies, &incident.target)
        .await;
    let opinion = &consultation.opinion;
    let message = format!(
        "llm ({}, {} ms{}): {}, {}",
        opinion.model,
        opinion.latency_ms,
        if opinion.cached { ", cached" } else { "" },
        opinion.verdict.as_str(),
        opinion.reason
    );
    let combined = consultation.finding.diagnosis;
    if combined != finding.diagnosis {
        let sources: Vec<&str> = combined.sources.iter().map(|s| s.as_str()).collect();
        let similar = combined
            .similar_to
            .as_ref()
            .map_or(String::new(), |s| format!("; {s}"));
        let summary = format!(
            "{} ({:.0}% sure, from {}): {}{similar}",
            combined.category,
            combined.confidence * 100.0,
            sources.join(" + "),
            combined.root_cause
        );
        record_diagnosis(inner, incident, &combined, &summary).await?;
    }
    note(
        inner,
        incident,
        TimelineKind::Diagnosis,
        &message,
        serde_json::json!({ "llm": opinion }),
    )
    .await?;
    Ok((combined, opinion.preferred_remedy.clone()))
}

/// Puts the model's remedy first when the fingerprint has no history yet
/// (what worked before outranks an opinion); nothing else changes.
pub(crate) fn reorder(steps: &mut Vec<Step<'_>>, preferred: Option<&str>, history: &[RemedyStats]) {
    if let Some(preferred) = preferred
        && history.iter().all(|h| h.attempts == 0)
    {
        medic_llm::prefer_remedy(steps, preferred);
    }
}
