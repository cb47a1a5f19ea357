//! Maintenance windows: list, open, end early.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Extension, Json as Reply};
use medic_agent::MaintenanceRequest;
use serde_json::json;

use crate::ApiState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};

pub(super) async fn list(State(state): State<ApiState>) -> impl IntoResponse {
    Reply(json!({ "windows": state.agent.maintenance_windows() }))
}

pub(super) async fn open(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    Json(request): Json<MaintenanceRequest>,
) -> ApiResult<impl IntoResponse> {
    let window = state
        .agent
        .open_maintenance(request, &principal.name)
        .await?;
    Ok((StatusCode::CREATED, Reply(json!(window))))
}

pub(super) async fn end(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    match state.agent.end_maintenance(id, &principal.name).await? {
        Some(window) => Ok(Reply(json!(window))),
        None => Err(ApiError::not_found("maintenance window", id.to_string())),
    }
}
