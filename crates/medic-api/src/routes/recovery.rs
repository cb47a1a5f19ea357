//! Recovery statistics and the fix catalog, computed from the store, so they
//! survive restarts and agree with the incident history.

use std::collections::HashMap;

use axum::Json as Reply;
use axum::extract::State;
use axum::response::IntoResponse;
use medic_engine::plan::Posterior;
use medic_model::ActionRecord;
use medic_resilience::recovery::{RecoveryLog, RecoveryRecord};
use serde_json::json;

use crate::ApiState;
use crate::error::ApiResult;
use crate::extract::Query;

/// How many recent actions the statistics look at.
const STATS_WINDOW: u32 = 5_000;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StatsQuery {
    component: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RecentQuery {
    count: Option<u32>,
    component: Option<String>,
}

/// One finished remedy action as a recovery record. A recovery "succeeded"
/// only when its fix was verified (the target healthy within its verify
/// window): an action that answered 200 and healed nothing is a failed
/// recovery here, whatever its own state says.
fn record(action: &ActionRecord, category: String) -> RecoveryRecord {
    let duration_ms = match (action.started_at, action.finished_at) {
        (Some(start), Some(end)) => (end - start).num_milliseconds().max(0) as f64,
        _ => 0.0,
    };
    RecoveryRecord {
        component: action.target.clone(),
        operation: format!("incident {}", action.incident_id),
        action: action.remedy.clone(),
        success: action.verified == Some(true),
        attempts: 1,
        duration_ms,
        error_category: category,
        error: action.error.clone(),
        timestamp: action.finished_at.unwrap_or(action.intended_at),
    }
}

/// Pages tell a human; they are not recoveries.
fn is_remedy(action: &ActionRecord) -> bool {
    action.kind != "escalate"
}

pub(super) async fn stats(
    State(state): State<ApiState>,
    Query(query): Query<StatsQuery>,
) -> ApiResult<impl IntoResponse> {
    let component = query.component.filter(|c| !c.is_empty());
    let actions = state
        .store
        .recent_actions(component.as_deref(), STATS_WINDOW)
        .await?;
    let log = RecoveryLog::new(1);
    for action in actions.iter().rev().filter(|a| is_remedy(a)) {
        log.record(record(action, String::new()));
    }
    Ok(Reply(json!(log.stats(component.as_deref()))))
}

pub(super) async fn recent(
    State(state): State<ApiState>,
    Query(query): Query<RecentQuery>,
) -> ApiResult<impl IntoResponse> {
    let count = query.count.unwrap_or(20).clamp(1, 200);
    let component = query.component.filter(|c| !c.is_empty());
    let actions = state
        .store
        .recent_actions(component.as_deref(), count)
        .await?;
    // Each incident's category, read once.
    let mut categories: HashMap<i64, String> = HashMap::new();
    let mut recoveries = Vec::with_capacity(actions.len());
    for action in actions.iter().filter(|a| is_remedy(a)) {
        let category = match categories.get(&action.incident_id) {
            Some(category) => category.clone(),
            None => {
                let incident = state.store.incident(action.incident_id).await?;
                let category = incident
                    .category
                    .map_or_else(|| "unknown".into(), |c| c.to_string());
                categories.insert(action.incident_id, category.clone());
                category
            }
        };
        // The action's own result beside the verified outcome (`success`).
        let mut shown = json!(record(action, category));
        shown["action_state"] = json!(action.state);
        shown["verified"] = json!(action.verified);
        recoveries.push(shown);
    }
    Ok(Reply(json!({ "recoveries": recoveries })))
}

/// The catalog with, per row, the Beta posterior of success under a neutral
/// prior (Beta(2, 2)): the configured order the agent also uses as prior is
/// per target, and a row is per fingerprint.
pub(super) async fn learning(State(state): State<ApiState>) -> ApiResult<impl IntoResponse> {
    let remedies: Vec<serde_json::Value> = state
        .store
        .all_remedy_stats()
        .await?
        .iter()
        .map(|s| {
            let posterior = Posterior::new(0.5, s.successes, s.attempts);
            let (low, high) = posterior.interval95();
            json!({
                "fingerprint": s.fingerprint,
                "remedy": s.remedy,
                "attempts": s.attempts,
                "successes": s.successes,
                "total_recover_ms": s.total_recover_ms,
                "success_rate": s.success_rate(),
                "mean_recover_ms": s.mean_recover_ms(),
                "posterior": {
                    "alpha": posterior.alpha,
                    "beta": posterior.beta,
                    "mean": posterior.mean(),
                    "interval95": [low, high],
                },
            })
        })
        .collect();
    Ok(Reply(json!({ "remedies": remedies })))
}
