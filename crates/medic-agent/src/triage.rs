//! What a webhook's sender is told at once about the failure it reported:
//! the incident it opened or joined, its diagnosis, the remedies the plan
//! would try in order, and what has run so far. Everything is read from the
//! incident task's own records, so the answer is what medic actually does.

use std::time::Duration;

use chrono::{DateTime, Utc};
use medic_engine::plan::{Decision, plan};
use medic_model::{ActionRecord, Diagnosis, Incident};
use medic_store::{IncidentFilter, StoreError};
use serde::Serialize;

use crate::agent::Agent;
use crate::incident::PlanningFacts;

/// One remedy the plan would try, in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedRemedy {
    /// The remedy's name.
    pub remedy: String,
    /// Its action kind (`http`, `exec`, `escalate`, …).
    pub kind: String,
    /// `run`, `dry_run`, `needs_approval`, `defer` or `skip`.
    pub decision: &'static str,
    /// Why, when it does not simply run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The incident a report led to, as far as it has got.
#[derive(Debug, Clone, Serialize)]
pub struct Triage {
    /// The incident.
    pub incident: Incident,
    /// Its diagnosis.
    pub diagnosis: Diagnosis,
    /// The remedies still to try, in order.
    pub plan: Vec<PlannedRemedy>,
    /// What has run (or was recorded) so far.
    pub actions: Vec<ActionRecord>,
}

/// How often the incident is looked for while its task starts.
const POLL: Duration = Duration::from_millis(25);

impl Agent {
    /// The incident of `target` updated since `since` whose title holds
    /// `message` (the report's own), once its task has diagnosed it, with
    /// its plan and actions; after `wait`, the target's live incident;
    /// `None` if there is none (it was healthy again, say).
    pub async fn triage(
        &self,
        target: &str,
        message: &str,
        since: DateTime<Utc>,
        wait: Duration,
    ) -> Result<Option<Triage>, StoreError> {
        let deadline = tokio::time::Instant::now() + wait;
        // A few: another report's incident on the same target may be newer.
        let filter = IncidentFilter::default().with_target(target).with_limit(5);
        loop {
            let late = tokio::time::Instant::now() >= deadline;
            let newest = self.inner.store.list_incidents(&filter).await?;
            // A report that joined an incident already being worked on does
            // not touch it: after the wait, the live one is the answer.
            let ours = newest
                .iter()
                .position(|i| i.updated_at >= since && i.title.contains(message));
            let live = || newest.iter().position(|i| !i.status.is_terminal());
            if let Some(incident) = ours
                .or_else(|| if late { live() } else { None })
                .map(|at| newest[at].clone())
                && let Some(diagnosis) = self.inner.store.diagnosis(incident.id).await?
            {
                return self.triage_of(incident, diagnosis).await.map(Some);
            }
            if late {
                return Ok(None);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn triage_of(
        &self,
        incident: Incident,
        diagnosis: Diagnosis,
    ) -> Result<Triage, StoreError> {
        let actions = self.inner.store.actions(incident.id).await?;
        let config = self
            .inner
            .targets()
            .get(&incident.target)
            .map(|t| t.config.clone());
        let plan = match config {
            Some(config) if !incident.status.is_terminal() => {
                let facts =
                    PlanningFacts::read(&self.inner, &incident, &incident.fingerprint).await?;
                plan(
                    &config,
                    &self.inner.config.policy,
                    &facts.situation(&diagnosis, &incident.fingerprint),
                )
                .iter()
                .map(|step| planned(step.remedy, &step.decision))
                .collect()
            }
            _ => Vec::new(),
        };
        Ok(Triage {
            incident,
            diagnosis,
            plan,
            actions,
        })
    }
}

fn planned(remedy: &medic_engine::config::Remedy, decision: &Decision) -> PlannedRemedy {
    let (decision, reason) = match decision {
        Decision::Run => ("run", None),
        Decision::DryRun => ("dry_run", None),
        Decision::NeedsApproval { reason } => ("needs_approval", Some(reason.clone())),
        Decision::Defer { wait_ms } => ("defer", Some(format!("cooldown: {wait_ms} ms left"))),
        Decision::Skip { reason, .. } => ("skip", Some(reason.clone())),
    };
    PlannedRemedy {
        remedy: remedy.name.clone(),
        kind: remedy.action.kind().to_string(),
        decision,
        reason,
    }
}
