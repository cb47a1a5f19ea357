//! Webhook intakes: each authenticates its sender its own way
//! (`webhook_auth.rs`), stores what it received durably (group commit, with
//! re-deliveries recognised by the sender's own key), and only then answers
//! 2xx and acts.

pub(super) mod alertmanager;
mod ci;
pub(super) mod generic;
pub(super) mod github;
pub(super) mod gitlab;
pub(super) mod jenkins;
pub(super) mod pipeline;

use axum::http::HeaderMap;
use medic_agent::AlertNotice;
use medic_store::NewDelivery;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::ApiState;
use crate::error::ApiError;

/// A delivery to `source`, authenticated, parsed as `T` and checked by
/// `validate` (what serde cannot say); every refusal is counted.
fn accept<T: DeserializeOwned, R>(
    state: &ApiState,
    source: &str,
    headers: &HeaderMap,
    body: &[u8],
    validate: impl FnOnce(T) -> Result<R, ApiError>,
) -> Result<R, ApiError> {
    authenticate(state, source, headers, body)?;
    let parsed = parse(state, source, body)?;
    validate(parsed).inspect_err(|_| state.agent.metrics().intake(source, "rejected"))
}

/// Authenticates a delivery to `source`, counting refusals.
fn authenticate(
    state: &ApiState,
    source: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<String, ApiError> {
    state
        .webhooks
        .check(source, headers, body, &state.keys)
        .inspect_err(|_| state.agent.metrics().intake(source, "rejected"))
}

/// Parses a delivery's JSON: syntax errors are `invalid_json`, shape errors
/// `invalid_body`, each naming where it went wrong.
fn parse<T: DeserializeOwned>(state: &ApiState, source: &str, body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        state.agent.metrics().intake(source, "rejected");
        let code = if e.is_data() {
            "invalid_body"
        } else {
            "invalid_json"
        };
        ApiError::new(code, e.to_string())
    })
}

/// Stores deliveries durably; for each, whether it is new. A store that
/// cannot take them now answers 503, so the sender retries.
async fn store(
    state: &ApiState,
    source: &str,
    deliveries: Vec<NewDelivery>,
) -> Result<Vec<bool>, ApiError> {
    let fresh = state
        .agent
        .record_deliveries(deliveries)
        .await
        .map_err(|error| {
            tracing::error!(%source, %error, "webhook delivery not stored");
            state.agent.metrics().intake(source, "unavailable");
            ApiError::new("store_unavailable", error.to_string())
        })?;
    let metrics = state.agent.metrics();
    for new in &fresh {
        metrics.intake(source, if *new { "accepted" } else { "duplicate" });
    }
    Ok(fresh)
}

/// A delivery's identity from its content, for senders that give none.
fn content_key(body: &[u8]) -> String {
    crate::auth::hex(&crate::auth::sha256(body)[..16])
}

/// Stores one report (parsed already, so `body` is JSON), hands it to the
/// agent as an alert on `target` unless it is a re-delivery, and answers
/// with the incident it led to: `{status, incident_id, diagnosis, plan,
/// execution}`.
async fn act(
    state: &ApiState,
    source: &str,
    key: &str,
    body: &[u8],
    target: &str,
    notice: &AlertNotice,
) -> Result<Value, ApiError> {
    let text = String::from_utf8_lossy(body).into_owned();
    let payload =
        RawValue::from_string(text).map_err(|e| ApiError::new("invalid_json", e.to_string()))?;
    let since = chrono::Utc::now() - chrono::Duration::milliseconds(1);
    let fresh = store(
        state,
        source,
        vec![NewDelivery::new(source, key, payload, chrono::Utc::now())],
    )
    .await?;
    let new = fresh.first().copied().unwrap_or(false);
    let (status, wait) = match (new, notice.firing) {
        (false, _) => ("duplicate", std::time::Duration::ZERO),
        (true, true) => ("accepted", generic::TRIAGE_WAIT),
        (true, false) => ("resolved", std::time::Duration::from_millis(200)),
    };
    if new && let Err(error) = state.agent.alert(target, notice).await {
        tracing::error!(%target, %error, "report stored but not acted on");
    }
    let triage = state
        .agent
        .triage(target, since, wait)
        .await
        .map_err(ApiError::from)?;
    Ok(generic::answer(status, triage))
}
