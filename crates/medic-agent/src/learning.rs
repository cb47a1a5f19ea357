//! Learning around an incident, beyond counting outcomes: a reopened
//! incident takes its remedy's success back, a new fingerprint borrows the
//! remedies of similar past incidents, and plans explore from a fresh seed.

use std::time::{SystemTime, UNIX_EPOCH};

use chrono::Utc;
use medic_engine::config::{Mode, Policy, Target};
use medic_engine::plan::{Borrowed, Explorer, Situation, Step, plan, plan_explored};
use medic_engine::similar::{Candidate, most_similar};
use medic_model::{
    Diagnosis, DiagnosisSource, Incident, RemedyStats, SimilarIncident, TimelineKind,
};
use medic_store::StoreError;
use serde_json::json;

use crate::agent::Inner;
use crate::incident::note;

/// How many resolved incidents similarity search reads: recent ones are the
/// relevant ones, and the scan stays cheap.
const CANDIDATES: u32 = 500;

/// How many similar incidents lend their remedies' outcomes.
const LENDERS: usize = 3;

/// What one lent observation is worth, times the similarity: a neighbour's
/// experience is a hint, the fingerprint's own outcomes soon outweigh it.
const LENT_WEIGHT: f64 = 0.5;

/// An explorer seeded from the clock and a per-process counter: plans
/// differ run to run; the engine's tests seed it with constants instead.
pub(crate) fn explorer() -> Explorer {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let salt = SEQUENCE.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    Explorer::seeded(nanos ^ salt ^ u64::from(std::process::id()))
}

/// The plan the agent follows: explored (Thompson) when it acts, greedy in
/// dry-run, so what a dry run records is the order `medic check` shows.
pub(crate) fn ladder<'a>(
    target: &'a Target,
    policy: &Policy,
    situation: &Situation<'_>,
    explorer: &mut Explorer,
) -> Vec<Step<'a>> {
    if policy.mode == Mode::DryRun {
        plan(target, policy, situation)
    } else {
        plan_explored(target, policy, situation, explorer)
    }
}

/// `incident` was just opened: if its failure came back within the reopen
/// window of the previous incident's resolution, that remedy's success
/// becomes a failure; the timeline says so.
pub(crate) async fn on_open(inner: &Inner, incident: &Incident) -> Result<(), StoreError> {
    let window = inner.config.policy.reopen_window.get();
    if window.is_zero() {
        return Ok(());
    }
    // Validated to at most 24h; an impossible one reaches back to the epoch.
    let since = chrono::Duration::from_std(window)
        .ok()
        .and_then(|window| Utc::now().checked_sub_signed(window))
        .unwrap_or(chrono::DateTime::UNIX_EPOCH);
    let Some(reopened) = inner.store.revoke_reopened_success(incident, since).await? else {
        return Ok(());
    };
    let message = format!(
        "reopened within {} of incident #{}: its fix by {} counts as a failure",
        medic_engine::config::HumanDuration::new(window),
        reopened.previous,
        reopened.remedy
    );
    note(
        inner,
        incident,
        TimelineKind::Note,
        &message,
        json!({"previous": reopened.previous, "remedy": reopened.remedy, "stats": reopened.stats}),
    )
    .await
}

/// Outcomes lent by similar past incidents, for a fingerprint that has
/// none of its own.
#[derive(Debug, Default)]
pub(crate) struct Lent {
    stats: Vec<RemedyStats>,
    weight: f64,
}

impl Lent {
    pub(crate) fn borrowed(&self) -> Borrowed<'_> {
        Borrowed {
            stats: &self.stats,
            weight: self.weight,
        }
    }
}

/// When `fingerprint` has no history, the most similar resolved incidents'
/// remedy stats (down-weighted) and, on `diagnosis`, the closest of them.
pub(crate) async fn borrow(
    inner: &Inner,
    fingerprint: &str,
    diagnosis: &mut Diagnosis,
) -> Result<Lent, StoreError> {
    if !inner.store.remedy_stats(fingerprint).await?.is_empty() {
        return Ok(Lent::default());
    }
    let past = inner.store.resolved_incidents(CANDIDATES).await?;
    let candidates: Vec<Candidate<'_>> = past
        .iter()
        .map(|p| Candidate {
            id: p.id,
            fingerprint: &p.fingerprint,
            category: p.diagnosis.category,
            root_cause: &p.diagnosis.root_cause,
        })
        .collect();
    let found = most_similar(
        Some(diagnosis.category),
        fingerprint,
        &diagnosis.root_cause,
        &candidates,
        LENDERS,
    );
    let Some(best) = found.first() else {
        return Ok(Lent::default());
    };
    let mut stats = Vec::new();
    for lender in &found {
        stats.extend(
            inner
                .store
                .remedy_stats(lender.candidate.fingerprint)
                .await?,
        );
    }
    diagnosis.similar_to = Some(SimilarIncident {
        incident_id: best.candidate.id,
        similarity: (best.similarity * 100.0).round() / 100.0,
        fingerprint: best.candidate.fingerprint.to_string(),
    });
    if !stats.is_empty() && !diagnosis.sources.contains(&DiagnosisSource::History) {
        diagnosis.sources.push(DiagnosisSource::History);
    }
    Ok(Lent {
        stats,
        weight: best.similarity * LENT_WEIGHT,
    })
}
