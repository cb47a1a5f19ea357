//! The `http` step: a request to each URL in turn. 429, 5xx, connection
//! errors and timeouts are retried with backoff (a `Retry-After` is honoured,
//! capped at the step's `retry.max`); when a URL has used its attempts the
//! next one is tried (failover). Any other status means the request itself is
//! wrong, and another URL would say the same: the step fails at once.

use std::time::{Duration, SystemTime};

use medic_resilience::classify::parse_retry_after;
use reqwest::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use reqwest::{Client, StatusCode, Url};
use serde_json::Value;

use super::flow::{HttpStep, RetryPolicy};
use super::steps::{Done, progress};
use super::values::Scope;

/// How much of an error body a message quotes.
const EXCERPT_CHARS: usize = 200;

/// Why one attempt failed, and whether another attempt may help.
struct Failure {
    text: String,
    retryable: bool,
    retry_after: Option<Duration>,
}

pub(crate) async fn run(
    client: &Client,
    step_name: &str,
    step: &HttpStep,
    retry: &RetryPolicy,
    scope: Scope<'_>,
) -> Result<Done, String> {
    let body = step
        .body
        .as_ref()
        .map(|template| scope.render_value(template))
        .transpose()
        .map_err(|e| format!("cannot build the body: {e}"))?;
    let mut failed_urls = Vec::new();
    for (index, template) in step.urls.iter().enumerate() {
        let url = scope
            .render_text(template, true)
            .map_err(|e| format!("cannot build URL {template:?}: {e}"))
            .and_then(|url| parse_url(&url))?;
        let mut delays = retry.backoff.delays();
        let mut last = String::new();
        for attempt in 1..=retry.attempts {
            match send(client, step, &url, body.as_ref()).await {
                Ok(output) => {
                    let mut note = format!("{} {url}", step.method);
                    if attempt > 1 {
                        note.push_str(&format!(", attempt {attempt}"));
                    }
                    if !failed_urls.is_empty() {
                        note.push_str(&format!(", failed over from {}", failed_urls.join(", ")));
                    }
                    return Ok(Done { output, note });
                }
                Err(failure) if !failure.retryable => {
                    return Err(format!("{} {url}: {}", step.method, failure.text));
                }
                Err(failure) => {
                    last = failure.text.clone();
                    if attempt == retry.attempts {
                        break;
                    }
                    let backoff = delays.next().unwrap_or(retry.backoff.max());
                    let wait = failure
                        .retry_after
                        .map_or(backoff, |asked| asked.min(retry.backoff.max()));
                    progress(
                        step_name,
                        &format!(
                            "{} {url}: {}; retrying in {} (attempt {attempt}/{})",
                            step.method,
                            failure.text,
                            human(wait),
                            retry.attempts
                        ),
                    );
                    tokio::time::sleep(wait).await;
                }
            }
        }
        let next = step.urls.get(index + 1).map_or(String::new(), |_| {
            "; failing over to the next URL".to_string()
        });
        progress(
            step_name,
            &format!(
                "{} {url}: {last} after {} attempt(s){next}",
                step.method, retry.attempts
            ),
        );
        failed_urls.push(format!("{url} ({last})"));
    }
    Err(format!("every URL failed: {}", failed_urls.join("; ")))
}

fn parse_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        other => Err(format!(
            "{text:?}: the scheme must be http or https, not {other}"
        )),
    }
}

async fn send(
    client: &Client,
    step: &HttpStep,
    url: &Url,
    body: Option<&Value>,
) -> Result<Value, Failure> {
    let mut request = client
        .request(step.method.clone(), url.clone())
        .timeout(step.timeout);
    if let Some(body) = body {
        request = request
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(body.to_string());
    }
    let response = request.send().await.map_err(|error| Failure {
        text: describe(&error, step.timeout),
        // A request that cannot even be built will not build next time.
        retryable: !error.is_builder(),
        retry_after: None,
    })?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| parse_retry_after(value, SystemTime::now()));
    let text = response.text().await.map_err(|error| Failure {
        text: format!("reading the answer: {}", describe(&error, step.timeout)),
        retryable: true,
        retry_after: None,
    })?;
    if status.is_success() {
        // A JSON answer is kept as JSON; anything else as its text.
        return Ok(serde_json::from_str(&text).unwrap_or(Value::String(text)));
    }
    let excerpt: String = text.trim().chars().take(EXCERPT_CHARS).collect();
    Err(Failure {
        text: format!(
            "HTTP {status}{}",
            if excerpt.is_empty() {
                String::new()
            } else {
                format!(": {excerpt}")
            }
        ),
        retryable: status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error(),
        retry_after,
    })
}

/// A transport error in a few words: the innermost cause says the most.
fn describe(error: &reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        return format!("no answer within {}", human(timeout));
    }
    let mut cause: &dyn std::error::Error = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    if error.is_connect() {
        format!("cannot connect: {cause}")
    } else {
        cause.to_string()
    }
}

fn human(duration: Duration) -> String {
    if duration.as_millis() < 1000 {
        format!("{}ms", duration.as_millis())
    } else {
        format!("{:.1}s", duration.as_secs_f64())
    }
}
