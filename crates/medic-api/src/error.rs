//! One error model for the whole API: a stable code, its HTTP status, and
//! `{"error":{"code","message"}}` (plus `details` where there is a list).
//! The table below is the reference; `docs/api.md` and the OpenAPI document
//! are generated from it.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use medic_agent::ControlError;
use medic_store::StoreError;
use serde_json::json;

/// Every error code the API answers with: code, status, when.
pub const ERROR_CODES: &[(&str, u16, &str)] = &[
    (
        "invalid_json",
        400,
        "the body is not JSON (syntax error, truncated, invalid UTF-8, nested too deep)",
    ),
    (
        "invalid_query",
        400,
        "a query parameter is missing, unknown or of the wrong type",
    ),
    (
        "invalid_path",
        400,
        "a path segment is not of the expected type (e.g. a non-numeric id)",
    ),
    ("unauthorized", 401, "no API key was given"),
    (
        "invalid_key",
        401,
        "the API key is not one of the configured keys",
    ),
    (
        "invalid_signature",
        401,
        "the signature header (X-Medic-Signature, X-Hub-Signature-256) is missing, malformed or does not match",
    ),
    (
        "stale_signature",
        401,
        "the signature's timestamp is more than 5 minutes away from now",
    ),
    ("replayed_signature", 401, "this signature was already used"),
    (
        "forbidden",
        403,
        "the key lacks the scope the endpoint needs",
    ),
    (
        "not_found",
        404,
        "no such route, incident, approval, component or breaker",
    ),
    (
        "method_not_allowed",
        405,
        "the route exists, with other methods",
    ),
    (
        "conflict",
        409,
        "the change clashes with the current state (decided approval, taken name, ended incident)",
    ),
    (
        "body_too_large",
        413,
        "the body is larger than server.max_body_bytes",
    ),
    (
        "unsupported_media_type",
        415,
        "a JSON body was sent without Content-Type: application/json",
    ),
    (
        "invalid_body",
        422,
        "the JSON is well formed but does not fit: wrong type, unknown or missing field, invalid value",
    ),
    (
        "rate_limited",
        429,
        "the key made too many requests; Retry-After says when to try again",
    ),
    ("internal", 500, "the agent failed; its log has the cause"),
    (
        "timeout",
        503,
        "the request took longer than server.request_timeout",
    ),
    (
        "store_unavailable",
        503,
        "the store cannot be reached or is too busy now (a webhook delivery was not stored); try again after Retry-After",
    ),
];

/// An API error: a code from [`ERROR_CODES`] and a message for humans.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: Option<serde_json::Value>,
    retry_after: Option<u64>,
}

impl ApiError {
    /// An error with `code`; its status comes from [`ERROR_CODES`].
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        let status = ERROR_CODES
            .iter()
            .find(|(c, _, _)| *c == code)
            .and_then(|(_, status, _)| StatusCode::from_u16(*status).ok())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Self {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    /// Adds a list of problems (validation errors by key).
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    /// Adds `Retry-After` (seconds).
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// `not_found` naming what was looked for.
    pub fn not_found(what: &str, name: impl std::fmt::Display) -> Self {
        Self::new("not_found", format!("{what} {name} not found"))
    }

    /// `internal`, logging the cause (the client never sees it).
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "API request failed");
        Self::new("internal", "the agent failed; see its log")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(details) = self.details {
            error["details"] = details;
        }
        let mut response = (self.status, Json(json!({ "error": error }))).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { what, id } => ApiError::not_found(what, id),
            StoreError::AlreadyDecided { .. }
            | StoreError::Duplicate { .. }
            | StoreError::InvalidTransition(_) => ApiError::new("conflict", error.to_string()),
            other if other.is_unavailable() => {
                tracing::warn!(error = %other, "store unavailable");
                ApiError::new("store_unavailable", other.to_string()).with_retry_after(5)
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<ControlError> for ApiError {
    fn from(error: ControlError) -> Self {
        match error {
            ControlError::NotFound { what, name } => ApiError::not_found(what, name),
            ControlError::Conflict(message) => ApiError::new("conflict", message),
            ControlError::Invalid(errors) => {
                let details: Vec<serde_json::Value> = errors
                    .iter()
                    .map(|e| json!({"path": e.path, "message": e.message}))
                    .collect();
                let message = errors
                    .first()
                    .map(ToString::to_string)
                    .unwrap_or_else(|| "invalid".into());
                ApiError::new("invalid_body", message).with_details(json!(details))
            }
            ControlError::Store(e) => ApiError::from(e),
        }
    }
}

/// The API's result type.
pub type ApiResult<T> = Result<T, ApiError>;
