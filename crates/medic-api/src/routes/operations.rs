//! Liveness, system health, breakers, monitoring, metrics, the OpenAPI document.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::{Extension, Json as Reply};
use serde_json::json;

use crate::ApiState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::Path;

pub(super) async fn liveness() -> impl IntoResponse {
    Reply(json!({"status": "ok"}))
}

/// Longer than a healthy store ever takes, short enough for a load
/// balancer's readiness probe.
const READY_WITHIN: std::time::Duration = std::time::Duration::from_secs(2);

/// Ready when the store answers and, with replicas, this one's leases are
/// current: without them nothing can be recorded or acted on, so a load
/// balancer should send webhooks to a replica that is ready.
pub(super) async fn readiness(State(state): State<ApiState>) -> ApiResult<impl IntoResponse> {
    let backend = state.store.backend();
    let why = match tokio::time::timeout(READY_WITHIN, state.store.ping()).await {
        Ok(Ok(())) => match state.agent.unready() {
            None => return Ok(Reply(json!({"status": "ready", "store": backend}))),
            Some(why) => why,
        },
        Ok(Err(error)) => error.to_string(),
        Err(_) => format!("no answer within {READY_WITHIN:?}"),
    };
    Err(ApiError::new("store_unavailable", format!("{backend} store: {why}")).with_retry_after(5))
}

pub(super) async fn system_health(State(state): State<ApiState>) -> impl IntoResponse {
    let mut health = json!(state.agent.system_health());
    health["host"] = json!(state.agent.host());
    health["replica"] = state.agent.replica();
    Reply(health)
}

pub(super) async fn breakers(State(state): State<ApiState>) -> impl IntoResponse {
    Reply(json!({ "breakers": state.agent.breakers() }))
}

pub(super) async fn reset_breaker(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    Path(name): Path<String>,
) -> ApiResult<impl IntoResponse> {
    if state.agent.reset_breaker(&name, &principal.name) {
        Ok(Reply(json!({"name": name, "state": "closed"})))
    } else {
        Err(ApiError::not_found("breaker", format!("{name:?}")))
    }
}

pub(super) async fn start_monitoring(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
) -> ApiResult<impl IntoResponse> {
    state.agent.start_monitoring(&principal.name).await?;
    Ok(Reply(json!(state.agent.monitoring_status())))
}

pub(super) async fn stop_monitoring(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
) -> ApiResult<impl IntoResponse> {
    state.agent.stop_monitoring(&principal.name).await?;
    Ok(Reply(json!(state.agent.monitoring_status())))
}

pub(super) async fn monitoring_status(State(state): State<ApiState>) -> impl IntoResponse {
    Reply(json!(state.agent.monitoring_status()))
}

pub(super) async fn metrics(State(state): State<ApiState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.agent.metrics_text(),
    )
}

pub(super) async fn openapi() -> impl IntoResponse {
    Reply(crate::openapi::document())
}
