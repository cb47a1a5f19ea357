//! Application events in, live events out.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::{Extension, Json as Reply};
use futures_util::Stream;
use medic_agent::AppEvent;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use crate::ApiState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::Body;

/// Authenticated by a key with the write scope (checked before), or by a
/// valid `X-Medic-Signature` over the body (checked here, on the bytes).
pub(super) async fn report(
    State(state): State<ApiState>,
    principal: Option<Extension<Principal>>,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<impl IntoResponse> {
    let metrics = state.agent.metrics();
    if principal.is_none() {
        let header = headers
            .get("x-medic-signature")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let Some(verifier) = &state.events_signature else {
            metrics.intake("events", "rejected");
            return Err(ApiError::new(
                "invalid_signature",
                "signed events need [webhooks] generic.secret_env; send an API key instead",
            ));
        };
        let claim = verifier
            .verify(header, &body, chrono::Utc::now().timestamp())
            .inspect_err(|_| metrics.intake("events", "rejected"))?;
        crate::replay::claim(&state, "events", &claim).await?;
    }
    crate::content_type::require_json(&headers, "")
        .inspect_err(|_| metrics.intake("events", "rejected"))?;
    let event = parse_event(&body)
        .and_then(|event| check_event(&event).map(|()| event))
        .inspect_err(|_| metrics.intake("events", "rejected"))?;
    metrics.intake("events", "accepted");
    let component = event.component.clone();
    state.agent.report_event(event);
    Ok((
        StatusCode::ACCEPTED,
        Reply(json!({"accepted": true, "component": component})),
    ))
}

/// The longest operation an event may report: a day.
const MAX_LATENCY_MS: f64 = 86_400_000.0;

/// What types cannot say about an event.
fn check_event(event: &AppEvent) -> Result<(), ApiError> {
    if event.component.trim().is_empty() {
        return Err(ApiError::new(
            "invalid_body",
            "component: must not be empty",
        ));
    }
    if event.component.len() > 200 {
        return Err(ApiError::new(
            "invalid_body",
            "component: longer than 200 bytes",
        ));
    }
    if let Some(ms) = event.latency_ms
        && !(0.0..=MAX_LATENCY_MS).contains(&ms)
    {
        return Err(ApiError::new(
            "invalid_body",
            format!("latency_ms: {ms} is outside 0 … {MAX_LATENCY_MS} (one day)"),
        ));
    }
    Ok(())
}

/// JSON text → an event: syntax errors are `invalid_json`, shape errors `invalid_body`.
pub(crate) fn parse_event(body: &[u8]) -> Result<AppEvent, ApiError> {
    let text = crate::normalise::json_text(body)?;
    serde_json::from_str(&text).map_err(|e| {
        let code = if e.is_data() {
            "invalid_body"
        } else {
            "invalid_json"
        };
        ApiError::new(code, e.to_string())
    })
}

pub(super) async fn stream(
    State(state): State<ApiState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let receiver = state.agent.subscribe();
    let events = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let event = match receiver.recv().await {
            Ok(live) => Event::default()
                .event(live.kind())
                .json_data(live.data())
                .unwrap_or_else(|_| Event::default().event("error")),
            // A slow reader missed some: say how many, so it can refetch.
            Err(RecvError::Lagged(missed)) => {
                Event::default().event("lagged").data(missed.to_string())
            }
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(event), receiver))
    });
    Sse::new(events).keep_alive(
        KeepAlive::new()
            .interval(Duration::from_secs(15))
            .text("keep-alive"),
    )
}
