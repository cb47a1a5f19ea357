//! Webhook intakes: each authenticates its sender its own way
//! (`webhook_auth.rs`), stores what it received durably (group commit, with
//! re-deliveries recognised by the sender's own key), and only then answers
//! 2xx and acts.

pub(super) mod alertmanager;
mod ci;
pub(super) mod github;
pub(super) mod gitlab;
pub(super) mod jenkins;

use axum::http::HeaderMap;
use medic_store::NewDelivery;
use serde::de::DeserializeOwned;

use crate::ApiState;
use crate::error::ApiError;

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
