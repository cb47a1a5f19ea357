//! Waiting for a human: an action the policy will not run alone is recorded
//! as intended, an approval is requested, and the incident task waits for
//! the decision, the expiry, or the target's recovery, whichever comes first.

use std::time::Duration;

use chrono::Utc;
use medic_engine::health::TargetState;
use medic_model::{ActionRecord, Approval, ApprovalStatus, Incident, TimelineKind};
use medic_store::StoreError;
use serde_json::json;
use tokio::sync::{oneshot, watch};

use crate::agent::Inner;
use crate::incident::{note, wait_for_health};
use crate::live::LiveEvent;

/// How a wait for approval ended.
pub(crate) enum Verdict {
    /// Run it; a human said so.
    Approved,
    /// Do not run it; a human said so.
    Rejected(String),
    /// Nobody answered in time.
    Expired,
    /// The target recovered while waiting.
    NotNeeded,
}

/// Requests approval for `action` and waits for the verdict.
pub(crate) async fn wait(
    inner: &Inner,
    incident: &Incident,
    state: &mut watch::Receiver<TargetState>,
    action: &ActionRecord,
    reason: &str,
) -> Result<Verdict, StoreError> {
    let timeout = inner.config.policy.approval_timeout.get();
    let now = Utc::now();
    let requested = inner
        .store
        .request_approval(&Approval {
            id: 0,
            incident_id: incident.id,
            action_id: action.id,
            target: action.target.clone(),
            remedy: action.remedy.clone(),
            reason: reason.to_string(),
            status: ApprovalStatus::Pending,
            requested_at: now,
            expires_at: now + chrono::Duration::from_std(timeout).unwrap_or(chrono::Duration::MAX),
            decided_by: None,
            decided_at: None,
        })
        .await?;
    let (decision, decided) = oneshot::channel();
    inner.waiting().insert(requested.id, decision);
    inner.metrics.approval(&action.remedy, "requested");
    inner.live.send(LiveEvent::Approval(requested.clone()));
    note(
        inner,
        incident,
        TimelineKind::Approval,
        &format!(
            "{} awaits approval #{} ({reason}); expires in {}",
            action.remedy,
            requested.id,
            medic_engine::config::HumanDuration::new(timeout)
        ),
        json!(requested),
    )
    .await?;

    let (answered, recovered) = tokio::select! {
        answer = decided => (answer.ok(), false),
        answer = decided_elsewhere(inner, requested.id) => (Some(answer), false),
        _ = tokio::time::sleep(timeout) => (None, false),
        _ = wait_for_health(state, Duration::MAX) => (None, true),
    };
    inner.waiting().remove(&requested.id);
    let approval = match answered {
        Some(approval) => approval,
        None => expire(inner, requested.id).await?,
    };
    inner.live.send(LiveEvent::Approval(approval.clone()));
    let by = approval.decided_by.clone().unwrap_or_default();
    let (verdict, message) = match approval.status {
        ApprovalStatus::Approved => (Verdict::Approved, format!("approved by {by}")),
        ApprovalStatus::Rejected => (Verdict::Rejected(by.clone()), format!("rejected by {by}")),
        _ if recovered => (
            Verdict::NotNeeded,
            "not needed: the target recovered while it waited".to_string(),
        ),
        _ => (
            Verdict::Expired,
            "expired: nobody answered in time".to_string(),
        ),
    };
    inner
        .metrics
        .approval(&action.remedy, approval.status.as_str());
    note(
        inner,
        incident,
        TimelineKind::Approval,
        &format!("approval #{} for {}: {message}", approval.id, action.remedy),
        json!(approval),
    )
    .await?;
    Ok(verdict)
}

/// With replicas, a human may decide through another replica's API: that
/// decision reaches this one through the store, looked at every second.
/// Never returns on a single node (the decision comes in memory).
async fn decided_elsewhere(inner: &Inner, id: i64) -> Approval {
    if !inner.leases.shared() {
        return std::future::pending().await;
    }
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    loop {
        ticks.tick().await;
        match inner.store.approval(id).await {
            Ok(approval) if approval.status != ApprovalStatus::Pending => return approval,
            Ok(_) => {}
            Err(error) => tracing::debug!(%error, approval = id, "approval not readable now"),
        }
    }
}

/// Marks the approval expired, unless a human decided it a moment before:
/// then their decision stands.
async fn expire(inner: &Inner, id: i64) -> Result<Approval, StoreError> {
    match inner
        .store
        .decide_approval(id, ApprovalStatus::Expired, None, Utc::now())
        .await
    {
        Ok(expired) => Ok(expired),
        Err(StoreError::AlreadyDecided { .. }) => inner.store.approval(id).await,
        Err(e) => Err(e),
    }
}
