//! The `escalate` action: tell a human through a webhook.
//!
//! Unlike a remedy, a page is safe to send twice (PagerDuty deduplicates by
//! `dedup_key`, and a duplicate message beats a lost one), so transient
//! failures — 5xx, 429, connection errors, timeouts — are retried with
//! backoff. A 4xx other than 429 means the request itself is wrong and fails
//! at once.

mod payload;

pub use payload::{escalation_payload, incident_link};

use medic_engine::config::{EscalateAction, EscalationFormat, HumanDuration};
use medic_engine::safety::{Escape, render};
use medic_resilience::Error as PolicyError;
use medic_resilience::classify::Verdict;
use medic_resilience::retry::Retry;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use reqwest::{Client, StatusCode, Url};

use crate::context::ActionContext;
use crate::http::{BODY_EXCERPT_BYTES, parse_http_url, read_excerpt};
use crate::outcome::{ActionOutcome, error_chain};

/// Why one delivery attempt failed.
#[derive(Debug, thiserror::Error)]
enum DeliveryError {
    #[error("HTTP {status}: {body}")]
    Status { status: StatusCode, body: String },
    #[error("{}", error_chain(.0))]
    Transport(reqwest::Error),
}

impl DeliveryError {
    fn verdict(&self) -> Verdict {
        match self {
            DeliveryError::Status { status, .. }
                if status.is_server_error() || *status == StatusCode::TOO_MANY_REQUESTS =>
            {
                Verdict::Retry
            }
            DeliveryError::Status { .. } => Verdict::Stop,
            // A request that cannot even be built will not build next time.
            DeliveryError::Transport(error) if error.is_builder() => Verdict::Stop,
            DeliveryError::Transport(_) => Verdict::Retry,
        }
    }
}

/// POSTs the escalation in its format, retrying transient failures with
/// `retry`; `link` is the incident on the dashboard, if `public_url` is set.
pub(crate) async fn run(
    client: &Client,
    retry: &Retry,
    action: &EscalateAction,
    ctx: &ActionContext,
    link: Option<&str>,
) -> ActionOutcome {
    let url = match webhook_url(action, ctx) {
        Ok(url) => url,
        Err(error) => return ActionOutcome::failed(error),
    };
    let routing_key = routing_key(action);
    let body = escalation_payload(action.format, ctx, &routing_key, link).to_string();
    post(client, retry, url, body).await
}

/// For a PagerDuty escalation: the Events API v2 `resolve` of the alert
/// its `trigger` opened (same `dedup_key`), sent when the incident resolves.
/// Other formats have nothing to take back: `None`.
pub(crate) async fn resolve(
    client: &Client,
    retry: &Retry,
    action: &EscalateAction,
    ctx: &ActionContext,
) -> Option<ActionOutcome> {
    if action.format != EscalationFormat::Pagerduty {
        return None;
    }
    let url = match webhook_url(action, ctx) {
        Ok(url) => url,
        Err(error) => return Some(ActionOutcome::failed(error)),
    };
    let body = payload::pagerduty_resolve(ctx, &routing_key(action)).to_string();
    Some(post(client, retry, url, body).await)
}

fn webhook_url(action: &EscalateAction, ctx: &ActionContext) -> Result<Url, String> {
    render(&action.webhook, &ctx.values(), Escape::Url)
        .map_err(|error| format!("cannot fill the webhook URL: {error}"))
        .and_then(|url| parse_http_url(&url))
}

/// POSTs `body` as JSON, retrying transient failures; the outcome says how
/// many attempts it took.
async fn post(client: &Client, retry: &Retry, url: Url, body: String) -> ActionOutcome {
    let mut attempts = 0u32;
    let result = retry
        .call_with(
            || {
                attempts += 1;
                deliver(client, url.clone(), body.clone())
            },
            DeliveryError::verdict,
        )
        .await;
    let tries = match attempts {
        1 => "1 attempt".to_string(),
        n => format!("{n} attempts"),
    };
    match result {
        Ok((status, excerpt)) => ActionOutcome::succeeded()
            .with_output(format!("HTTP {status} from {url} after {tries}\n{excerpt}")),
        Err(PolicyError::Timeout(after)) => ActionOutcome::failed(format!(
            "escalation to {url} failed after {tries}: timed out after {}",
            HumanDuration::new(after)
        )),
        Err(error) => {
            ActionOutcome::failed(format!("escalation to {url} failed after {tries}: {error}"))
        }
    }
}

/// The PagerDuty routing key from the environment; empty (PagerDuty will
/// refuse it, loudly) when the variable is unset.
fn routing_key(action: &EscalateAction) -> String {
    let Some(variable) = &action.routing_key_env else {
        return String::new();
    };
    std::env::var(variable).unwrap_or_else(|_| {
        tracing::warn!(
            variable,
            "the escalation's routing key variable is not set; sending an empty key"
        );
        String::new()
    })
}

async fn deliver(
    client: &Client,
    url: Url,
    body: String,
) -> Result<(StatusCode, String), DeliveryError> {
    let mut response = client
        .post(url)
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .body(body)
        .send()
        .await
        .map_err(DeliveryError::Transport)?;
    let status = response.status();
    let excerpt = read_excerpt(&mut response, BODY_EXCERPT_BYTES)
        .await
        .unwrap_or_default();
    if status.is_success() {
        Ok((status, excerpt))
    } else {
        Err(DeliveryError::Status {
            status,
            body: excerpt,
        })
    }
}
