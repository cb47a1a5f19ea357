//! Approvals: what waits for a human, and the human's answer.

use axum::extract::State;
use axum::response::IntoResponse;
use axum::{Extension, Json as Reply};
use serde_json::json;

use crate::ApiState;
use crate::auth::Principal;
use crate::error::ApiResult;
use crate::extract::{Path, Query};

#[derive(serde::Deserialize, Default, PartialEq)]
#[serde(rename_all = "snake_case")]
pub(super) enum Which {
    #[default]
    Pending,
    All,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListQuery {
    #[serde(default)]
    status: Which,
    limit: Option<u32>,
}

pub(super) async fn list(
    State(state): State<ApiState>,
    Query(query): Query<ListQuery>,
) -> ApiResult<impl IntoResponse> {
    let limit = query.limit.unwrap_or(100).clamp(1, 500);
    let approvals = state
        .store
        .approvals(query.status == Which::Pending, limit)
        .await?;
    Ok(Reply(json!({ "approvals": approvals })))
}

pub(super) async fn approve(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    Ok(Reply(json!(
        state.agent.decide(id, true, &principal.name).await?
    )))
}

pub(super) async fn reject(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    Ok(Reply(json!(
        state.agent.decide(id, false, &principal.name).await?
    )))
}
