//! The agent's minimal HTTP API: liveness and incidents (the full API is
//! issue 4's). Errors are `{"error":{"code","message"}}`.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use medic_model::IncidentStatus;
use medic_store::{IncidentFilter, Store, StoreError};
use serde_json::json;

type Shared = Arc<dyn Store>;

/// An API error with a stable code.
struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        (self.status, Json(body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { .. } => ApiError {
                status: StatusCode::NOT_FOUND,
                code: "not_found",
                message: error.to_string(),
            },
            other => {
                tracing::error!(error = %other, "store error in the API");
                ApiError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    code: "internal",
                    message: "the store failed; see the agent's log".into(),
                }
            }
        }
    }
}

fn bad_request(message: String) -> ApiError {
    ApiError {
        status: StatusCode::BAD_REQUEST,
        code: "invalid_query",
        message,
    }
}

/// The router: `GET /health`, `GET /api/v1/incidents`, `GET /api/v1/incidents/{id}`.
pub fn router(store: Arc<dyn Store>) -> Router {
    Router::new()
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/api/v1/incidents", get(list))
        .route("/api/v1/incidents/{id}", get(show))
        .with_state(store)
}

#[derive(serde::Deserialize)]
struct ListQuery {
    status: Option<String>,
    target: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

async fn list(
    State(store): State<Shared>,
    Query(query): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let mut filter = IncidentFilter::default();
    if let Some(status) = query.status.filter(|s| !s.is_empty()) {
        let status: IncidentStatus = status
            .parse()
            .map_err(|e| bad_request(format!("status: {e}")))?;
        filter = filter.with_status(status);
    }
    if let Some(target) = query.target.filter(|t| !t.is_empty()) {
        filter = filter.with_target(&target);
    }
    if let Some(limit) = query.limit {
        let limit: u32 = limit
            .parse()
            .map_err(|_| bad_request(format!("limit: {limit:?} is not a whole number")))?;
        filter = filter.with_limit(limit);
    }
    if let Some(cursor) = query.cursor.filter(|c| !c.is_empty()) {
        let before: i64 = cursor
            .parse()
            .map_err(|_| bad_request(format!("cursor: {cursor:?} is not an incident id")))?;
        filter = filter.before(before);
    }
    let incidents = store.list_incidents(&filter).await?;
    let next_cursor = incidents.last().map(|i| i.id.to_string());
    Ok(Json(json!({"incidents": incidents, "next_cursor": next_cursor})).into_response())
}

async fn show(State(store): State<Shared>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| bad_request(format!("id: {id:?} is not an incident id")))?;
    let incident = store.incident(id).await?;
    let diagnosis = store.diagnosis(id).await?;
    let timeline = store.timeline(id).await?;
    let actions = store.actions(id).await?;
    Ok(Json(json!({
        "incident": incident,
        "diagnosis": diagnosis,
        "timeline": timeline,
        "actions": actions,
    }))
    .into_response())
}
