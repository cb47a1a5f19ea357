//! `POST /webhooks/generic`: any tool that can post JSON reports a failure.
//!
//! The least it sends is `{"data":{"message":"…"}}`; the richer form adds
//! `target`, `severity`, `labels`, `logs` (lines diagnosis reads like the
//! target's own logs), `status` (`firing`, the default, or `resolved`) and a
//! top-level `id` (the sender's identity of the report: the same id twice is
//! one report). The answer says what medic made of it:
//! `{status, incident_id, diagnosis, plan, execution}`.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Json as Reply;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use medic_agent::AlertNotice;
use serde_json::{Value, json};

use crate::ApiState;
use crate::error::{ApiError, ApiResult};
use crate::extract::Body;

const SOURCE: &str = "generic";

/// How long the answer waits for the incident task's diagnosis.
pub(super) const TRIAGE_WAIT: Duration = Duration::from_secs(2);

#[derive(Debug, serde::Deserialize)]
struct Report {
    data: Data,
    #[serde(default)]
    id: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
struct Data {
    message: String,
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    logs: Vec<String>,
    #[serde(default)]
    status: Status,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    #[default]
    Firing,
    Resolved,
}

/// Lines of `logs` read, at most: the newest.
const MAX_LOG_LINES: usize = 200;

pub(in crate::routes) async fn receive(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<impl IntoResponse> {
    let report: Report = super::accept(&state, SOURCE, &headers, &body, check).await?;
    let data = report.data;
    let mut labels = data.labels;
    if let Some(severity) = &data.severity {
        labels.insert("severity".into(), severity.clone());
    }
    // The report's identity is the sender's id: the same id twice is one
    // report (a retry), and its `resolved` ends it. Without an id every
    // report is new and none can be resolved.
    let fingerprint = match &report.id {
        Some(id) => id.clone(),
        None => super::unique_key(&body),
    };
    let status = match data.status {
        Status::Firing => "firing",
        Status::Resolved => "resolved",
    };
    // A JSON array: no two different (id, status) pairs make the same key.
    let key = json!([fingerprint, status]).to_string();
    let notice = AlertNotice {
        sender: SOURCE.to_string(),
        fingerprint,
        firing: data.status == Status::Firing,
        labels,
        annotations: BTreeMap::new(),
        summary: Some(data.message),
        evidence: tail(data.logs),
        resolvable: report.id.is_some(),
    };
    let target = match &data.target {
        Some(name) if state.agent.has_target(name) => name.clone(),
        _ => state
            .agent
            .alert_target(&notice.labels, &state.alert_target_labels),
    };
    let reply = super::act(&state, SOURCE, key, &body, target, notice).await?;
    Ok((StatusCode::OK, Reply(reply)))
}

fn check(report: Report) -> Result<Report, ApiError> {
    let bad = |what: &str| Err(ApiError::new("invalid_body", what.to_string()));
    if report.data.message.trim().is_empty() {
        return bad("data.message: must not be empty");
    }
    if report.data.message.len() > 4096 {
        return bad("data.message: longer than 4096 bytes");
    }
    if report
        .id
        .as_ref()
        .is_some_and(|id| id.is_empty() || id.len() > 200)
    {
        return bad("id: must be 1 to 200 bytes");
    }
    if report.id.is_none() && report.data.status == Status::Resolved {
        return bad("data.status: \"resolved\" needs the id of the report it resolves");
    }
    Ok(report)
}

fn tail(mut logs: Vec<String>) -> Vec<String> {
    let skip = logs.len().saturating_sub(MAX_LOG_LINES);
    logs.drain(..skip);
    logs
}

/// The answer's shape, shared with `/webhooks/pipeline`.
pub(super) fn answer(status: &str, triage: Option<medic_agent::Triage>) -> Value {
    match triage {
        None => json!({
            "status": status,
            "incident_id": null,
            "diagnosis": null,
            "plan": [],
            "execution": {"state": "none", "actions": []},
        }),
        Some(triage) => json!({
            "status": status,
            "incident_id": triage.incident.id,
            "target": triage.incident.target,
            "diagnosis": triage.diagnosis,
            "plan": triage.plan,
            "execution": {"state": triage.incident.status, "actions": triage.actions},
        }),
    }
}
