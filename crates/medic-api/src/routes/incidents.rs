//! Incidents: list with filters and cursor, one with everything, ack, resolve.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Uri, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json as Reply};
use medic_model::IncidentStatus;
use medic_store::IncidentFilter;
use serde_json::json;

use crate::ApiState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Path, Query};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListQuery {
    status: Option<IncidentStatus>,
    target: Option<String>,
    limit: Option<u32>,
    cursor: Option<i64>,
}

pub(super) async fn list(
    State(state): State<ApiState>,
    Query(query): Query<ListQuery>,
    uri: Uri,
) -> ApiResult<Response> {
    let key = uri.query().unwrap_or_default();
    // Taken before reading: a write after this makes the page stale at once.
    let version = state.agent.records_version();
    if let Some(page) = state.incident_pages.get(key, version, Instant::now()) {
        return Ok(json_bytes(page));
    }
    // Redacted once here, not on every hit: the cached bytes are final.
    let mut value = page(&state, query).await?;
    medic_engine::redact::redact_json(&mut value);
    let page = Bytes::from(serde_json::to_vec(&value).map_err(ApiError::internal)?);
    state
        .incident_pages
        .put(key, version, Instant::now(), page.clone());
    Ok(json_bytes(page))
}

fn json_bytes(body: Bytes) -> Response {
    let mut response = ([(header::CONTENT_TYPE, "application/json")], body).into_response();
    response
        .extensions_mut()
        .insert(crate::redact::AlreadyRedacted);
    response
}

async fn page(state: &ApiState, query: ListQuery) -> ApiResult<serde_json::Value> {
    let mut filter = IncidentFilter::default();
    if let Some(status) = query.status {
        filter = filter.with_status(status);
    }
    if let Some(target) = query.target.filter(|t| !t.is_empty()) {
        filter = filter.with_target(&target);
    }
    if let Some(limit) = query.limit {
        filter = filter.with_limit(limit);
    }
    if let Some(cursor) = query.cursor {
        filter = filter.before(cursor);
    }
    let incidents = state.store.list_incidents(&filter).await?;
    // A full page may have more behind it; a short one is the last.
    let full = incidents.len() == filter.effective_limit() as usize;
    let next_cursor = incidents
        .last()
        .filter(|_| full)
        .map(|incident| incident.id.to_string());
    Ok(json!({"incidents": incidents, "next_cursor": next_cursor}))
}

pub(super) async fn show(
    State(state): State<ApiState>,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    let store = &state.store;
    let incident = store.incident(id).await?;
    let diagnosis = store.diagnosis(id).await?;
    let timeline = store.timeline(id).await?;
    let actions = store.actions(id).await?;
    // The incidents of targets that depend on this one and failed with it.
    let dependents = store.incidents_caused_by(id).await?;
    Ok(Reply(json!({
        "incident": incident,
        "diagnosis": diagnosis,
        "timeline": timeline,
        "actions": actions,
        "dependents": dependents,
    })))
}

pub(super) async fn ack(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    Ok(Reply(json!(
        state.agent.acknowledge(id, &principal.name).await?
    )))
}

pub(super) async fn resolve(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    Ok(Reply(json!(
        state.agent.resolve(id, &principal.name).await?
    )))
}
