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
async fn accept<T: DeserializeOwned, R>(
    state: &ApiState,
    source: &str,
    headers: &HeaderMap,
    body: &[u8],
    validate: impl FnOnce(T) -> Result<R, ApiError>,
) -> Result<R, ApiError> {
    authenticate(state, source, headers, body).await?;
    let parsed = parse(state, source, body)?;
    validate(parsed).inspect_err(|_| state.agent.metrics().intake(source, "rejected"))
}

/// Authenticates a delivery to `source`, checks that it is declared JSON,
/// then claims its signature (if it has one that must be used once) in the
/// store; counts refusals.
async fn authenticate(
    state: &ApiState,
    source: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), ApiError> {
    let rejected = |_: &ApiError| state.agent.metrics().intake(source, "rejected");
    let claim = state
        .webhooks
        .check(source, headers, body, &state.keys)
        .inspect_err(rejected)?;
    crate::content_type::require_json(headers, content_type_hint(source)).inspect_err(rejected)?;
    match claim {
        Some(key) => crate::replay::claim(state, source, &key).await,
        None => Ok(()),
    }
}

/// How a sender is told to send JSON, where it has a setting for it.
fn content_type_hint(source: &str) -> &'static str {
    match source {
        "github" => "; in the repository's webhook settings, set Content type to application/json",
        _ => "",
    }
}

/// Parses a delivery's JSON, normalised first (`crate::normalise`): syntax
/// errors are `invalid_json`, shape errors `invalid_body`, each naming where
/// it went wrong.
fn parse<T: DeserializeOwned>(state: &ApiState, source: &str, body: &[u8]) -> Result<T, ApiError> {
    let text = crate::normalise::json_text(body)
        .inspect_err(|_| state.agent.metrics().intake(source, "rejected"))?;
    serde_json::from_str(&text).map_err(|e| {
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
    mut deliveries: Vec<NewDelivery>,
) -> Result<Vec<bool>, ApiError> {
    for delivery in &mut deliveries {
        delivery.key = storable_key(std::mem::take(&mut delivery.key));
        redact_payload(&mut delivery.payload);
    }
    let fresh = state
        .agent
        .record_deliveries(deliveries)
        .await
        .map_err(|error| {
            tracing::error!(%source, %error, "webhook delivery not stored");
            state.agent.metrics().intake(source, "unavailable");
            ApiError::new(
                "store_unavailable",
                "the delivery could not be stored now; send it again",
            )
        })?;
    let metrics = state.agent.metrics();
    for new in &fresh {
        metrics.intake(source, if *new { "accepted" } else { "duplicate" });
    }
    Ok(fresh)
}

/// What is kept of a delivery holds no secret a sender quoted (a DSN in an
/// annotation, a token in a log line); most hold none and are kept as sent.
fn redact_payload(payload: &mut Box<RawValue>) {
    if matches!(
        medic_engine::redact::redacted(payload.get()),
        std::borrow::Cow::Borrowed(_)
    ) {
        return;
    }
    let Ok(mut value) = serde_json::from_str::<Value>(payload.get()) else {
        return;
    };
    medic_engine::redact::redact_json(&mut value);
    if let Ok(clean) = serde_json::value::to_raw_value(&value) {
        *payload = clean;
    }
}

/// Keys are the senders' own text: one too long for an index, or holding a
/// NUL (which PostgreSQL's text refuses), is stored as its hash.
fn storable_key(key: String) -> String {
    if key.len() <= 200 && !key.contains('\0') {
        return key;
    }
    format!(
        "sha256:{}",
        crate::auth::hex(&crate::auth::sha256(key.as_bytes()))
    )
}

/// A key no other delivery has: for reports whose sender gives no identity
/// (every such report is new).
fn unique_key(body: &[u8]) -> String {
    let now = chrono::Utc::now();
    let nanos = now
        .timestamp_nanos_opt()
        .unwrap_or_else(|| now.timestamp_micros());
    format!(
        "{nanos}/{}",
        crate::auth::hex(&crate::auth::sha256(body)[..8])
    )
}

/// Stores one report (parsed already, so `body` is JSON), hands it to the
/// agent as an alert on `target` unless it is a re-delivery, and answers
/// with the incident it led to: `{status, incident_id, diagnosis, plan,
/// execution}`.
async fn act(
    state: &ApiState,
    source: &'static str,
    key: String,
    body: &[u8],
    target: String,
    notice: AlertNotice,
) -> Result<Value, ApiError> {
    let text = crate::normalise::json_text(body)?.into_owned();
    let payload =
        RawValue::from_string(text).map_err(|e| ApiError::new("invalid_json", e.to_string()))?;
    let since = chrono::Utc::now() - chrono::Duration::milliseconds(1);
    let delivery = NewDelivery::new(source, &key, payload, chrono::Utc::now());
    let firing = notice.firing;
    let message = notice.message();
    let acting_on = target.clone();
    let new = store_then_act(
        state,
        source,
        vec![delivery],
        move |agent, fresh| async move {
            let new = fresh.first().copied().unwrap_or(false);
            if new && let Err(error) = agent.alert(&acting_on, &notice).await {
                tracing::error!(target = %acting_on, %error, "report stored but not acted on");
            }
            new
        },
    )
    .await?;
    let (status, wait) = match (new, firing) {
        (false, _) => ("duplicate", std::time::Duration::ZERO),
        (true, true) => ("accepted", generic::TRIAGE_WAIT),
        (true, false) => ("resolved", std::time::Duration::from_millis(200)),
    };
    // A re-delivery is answered with the incident the first delivery led to.
    let since = if new {
        since
    } else {
        chrono::DateTime::<chrono::Utc>::MIN_UTC
    };
    // Stored and acted on already: a failure to describe it must not make
    // the sender send it again (it would be a duplicate).
    let triage = match state.agent.triage(&target, &message, since, wait).await {
        Ok(triage) => triage,
        Err(error) => {
            tracing::warn!(%target, %error, "the report's incident could not be read back");
            None
        }
    };
    Ok(generic::answer(status, triage))
}

/// Stores deliveries, then runs `then` with which were new, in a task of
/// its own: a request cancelled after the commit (the client went away, the
/// time limit) must not leave deliveries stored but never acted on — their
/// re-delivery would be dropped as a duplicate.
async fn store_then_act<F, Fut, R>(
    state: &ApiState,
    source: &'static str,
    deliveries: Vec<NewDelivery>,
    then: F,
) -> Result<R, ApiError>
where
    F: FnOnce(medic_agent::Agent, Vec<bool>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = R> + Send,
    R: Send + 'static,
{
    let state = state.clone();
    tokio::spawn(async move {
        let fresh = store(&state, source, deliveries).await?;
        Ok(then(state.agent.clone(), fresh).await)
    })
    .await
    .unwrap_or_else(|error| {
        tracing::error!(%source, %error, "a webhook task failed");
        Err(ApiError::internal(error))
    })
}
