//! Secrets out of every JSON answer: what the store kept was redacted when
//! it was written, but an answer may also quote a request, a registration
//! or a model's text, and this is the last place to catch it.

use std::borrow::Cow;

use axum::body::Body;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::response::Response;
use medic_engine::redact::{redact_json, redacted};

/// Marks a response whose handler redacted it already (a cached page: scanning
/// 17 KB again on every hit cost the incident list more than half its speed).
#[derive(Clone, Copy)]
pub(crate) struct AlreadyRedacted;

/// Redacts a JSON response's strings; any other response passes untouched
/// (the event stream redacts each event itself).
pub(crate) async fn redact_answer(response: Response) -> Response {
    if response.extensions().get::<AlreadyRedacted>().is_some() {
        return response;
    }
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if !is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return Response::from_parts(parts, Body::empty());
    };
    // Most answers hold nothing to hide: one pass over the text says so.
    let needs_work = std::str::from_utf8(&bytes)
        .map(|text| matches!(redacted(text), Cow::Owned(_)))
        .unwrap_or(false);
    if !needs_work {
        return Response::from_parts(parts, Body::from(bytes));
    }
    let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    redact_json(&mut value);
    let text = value.to_string();
    parts.headers.remove(CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(text))
}
