//! The http probe: one request, judged by status, body and latency.

use std::time::Duration;

use chrono::{DateTime, Utc};
use medic_engine::config::{HttpProbe, JsonPath, json_equals};
use medic_model::{Signal, SignalSource};
use regex::Regex;
use reqwest::{Client, Method, Url};
use tokio::time::Instant;

use crate::error::ProbeBuildError;
use crate::excerpt::{duration_text, first_lines, millis};
use crate::io_error::{describe_io_error, find_io_error, root_cause};

/// Bodies are read up to this size: enough for any health page, and a huge
/// or endless body cannot exhaust memory. Body checks see only this prefix.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Body lines shown as evidence when the answer is not what was expected.
const EVIDENCE_LINES: usize = 3;

/// A built http probe.
#[derive(Debug, Clone)]
pub struct HttpCheck {
    name: String,
    client: Client,
    method: Method,
    url: Url,
    expect_status: Vec<u16>,
    body_contains: Option<String>,
    body_regex: Option<Regex>,
    max_latency: Option<Duration>,
    cert_expires_within: Option<Duration>,
    json: Vec<(JsonPath, Option<toml::Value>)>,
    timeout: Duration,
}

/// What came back, before it is judged.
struct Answer {
    status: u16,
    body: String,
    /// When the server's certificate expires (https only).
    certificate_expiry: Option<DateTime<Utc>>,
}

impl HttpCheck {
    /// Builds the probe on a shared `client` (so probes reuse pooled
    /// keep-alive connections); `name` becomes the signal's probe name.
    /// Parses the URL and method and compiles `body_regex` once, here.
    pub fn new(
        probe: &HttpProbe,
        client: Client,
        name: impl Into<String>,
    ) -> Result<Self, ProbeBuildError> {
        let url = Url::parse(&probe.url).map_err(|error| ProbeBuildError::InvalidUrl {
            url: probe.url.clone(),
            reason: error.to_string(),
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ProbeBuildError::UnsupportedScheme {
                url: probe.url.clone(),
                scheme: url.scheme().to_string(),
            });
        }
        let method =
            Method::from_bytes(probe.method.to_ascii_uppercase().as_bytes()).map_err(|_| {
                ProbeBuildError::InvalidMethod {
                    method: probe.method.clone(),
                }
            })?;
        let body_regex = probe
            .body_regex
            .as_deref()
            .map(|pattern| {
                Regex::new(pattern).map_err(|source| ProbeBuildError::InvalidBodyRegex {
                    pattern: pattern.to_string(),
                    source,
                })
            })
            .transpose()?;
        let json = probe
            .json
            .iter()
            .map(|condition| {
                JsonPath::parse(&condition.path)
                    .map(|path| (path, condition.equals.clone()))
                    .map_err(ProbeBuildError::JsonPath)
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            name: name.into(),
            client,
            method,
            url,
            expect_status: probe.expect_status.clone(),
            body_contains: probe.body_contains.clone(),
            body_regex,
            max_latency: probe.max_latency.map(|d| d.get()),
            cert_expires_within: probe.cert_expires_within.map(|d| d.get()),
            json,
            timeout: probe.timeout.get(),
        })
    }

    /// Sends the request once and judges the answer; the whole exchange,
    /// body included, is bounded by the probe's timeout.
    pub async fn check(&self, target: &str) -> Signal {
        let source = SignalSource::Probe {
            probe: self.name.clone(),
        };
        let started = Instant::now();
        let exchanged = tokio::time::timeout(self.timeout, self.exchange()).await;
        let latency = started.elapsed();
        let signal = match exchanged {
            Ok(Ok(answer)) => self.judge(target, source, &answer, latency),
            Ok(Err(error)) => Signal::unhealthy(target, source, &describe_request_error(&error))
                .with_evidence(vec![format!("{} {}: {}", self.method, self.url, error)]),
            Err(_elapsed) => Signal::unhealthy(
                target,
                source,
                &format!("timed out after {}", duration_text(self.timeout)),
            )
            .with_evidence(vec![format!("{} {}", self.method, self.url)]),
        };
        signal.with_latency_ms(millis(latency))
    }

    async fn exchange(&self) -> Result<Answer, reqwest::Error> {
        let mut response = self
            .client
            .request(self.method.clone(), self.url.clone())
            .send()
            .await?;
        let status = response.status().as_u16();
        let certificate_expiry = medic_client::peer_certificate_expiry(&response);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            let room = MAX_BODY_BYTES - body.len();
            if chunk.len() >= room {
                // Stop reading: the rest is not needed, and dropping the
                // response closes the connection rather than draining it.
                body.extend_from_slice(&chunk[..room]);
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
            certificate_expiry,
        })
    }

    fn judge(
        &self,
        target: &str,
        source: SignalSource,
        answer: &Answer,
        latency: Duration,
    ) -> Signal {
        // An expiring certificate is reported whatever the page says: it
        // is the failure that is coming, and the one to act on first.
        if let Some(problem) = self.certificate_problem(answer.certificate_expiry) {
            return Signal::unhealthy(target, source, &problem).with_evidence(vec![format!(
                "{} {}: the server's certificate expires {}",
                self.method,
                self.url,
                answer
                    .certificate_expiry
                    .map_or("(unknown)".to_string(), |at| at.to_rfc3339())
            )]);
        }
        let failure = if self.status_is_expected(answer.status) {
            self.body_problem(&answer.body)
        } else {
            Some(format!("HTTP {}", answer.status))
        };
        if let Some(message) = failure {
            return Signal::unhealthy(target, source, &message)
                .with_evidence(first_lines(&answer.body, EVIDENCE_LINES));
        }
        match self.max_latency {
            Some(limit) if latency > limit => Signal::unhealthy(
                target,
                source,
                &format!("slow: {}ms > {}", latency.as_millis(), duration_text(limit)),
            ),
            _ => Signal::healthy(target, source),
        }
    }

    /// Whether the certificate expires within `cert_expires_within`. The
    /// message names the date (not the days left) so that it, and the
    /// incident's fingerprint, stay the same from one check to the next.
    fn certificate_problem(&self, expiry: Option<DateTime<Utc>>) -> Option<String> {
        let within = self.cert_expires_within?;
        let Some(expiry) = expiry else {
            return Some(
                "certificate expiry unknown: the server sent no readable certificate".into(),
            );
        };
        let left = expiry.signed_duration_since(Utc::now());
        let limit = chrono::Duration::from_std(within).unwrap_or(chrono::Duration::MAX);
        (left <= limit).then(|| {
            format!(
                "certificate expires {} (within {})",
                expiry.format("%Y-%m-%d %H:%M UTC"),
                duration_text(within)
            )
        })
    }

    /// What is wrong with the body, if anything.
    fn body_problem(&self, body: &str) -> Option<String> {
        if let Some(needle) = &self.body_contains
            && !body.contains(needle.as_str())
        {
            return Some(format!("body does not contain {needle:?}"));
        }
        if let Some(regex) = &self.body_regex
            && !regex.is_match(body)
        {
            return Some(format!("body does not match /{}/", regex.as_str()));
        }
        if self.json.is_empty() {
            return None;
        }
        let Ok(document) = serde_json::from_str::<serde_json::Value>(body) else {
            return Some("body is not JSON".to_string());
        };
        for (path, expected) in &self.json {
            match (path.find(&document), expected) {
                (None, _) => return Some(format!("{} is missing from the body", path.as_str())),
                (Some(actual), Some(expected)) if !json_equals(expected, actual) => {
                    return Some(format!(
                        "{} is {actual}, expected {}",
                        path.as_str(),
                        toml_text(expected)
                    ));
                }
                _ => {}
            }
        }
        None
    }

    fn status_is_expected(&self, status: u16) -> bool {
        if self.expect_status.is_empty() {
            (200..300).contains(&status)
        } else {
            self.expect_status.contains(&status)
        }
    }
}

/// An expected value as its JSON reader would see it (`"ok"`, `1`, `true`).
fn toml_text(value: &toml::Value) -> String {
    match value {
        toml::Value::String(text) => format!("{text:?}"),
        other => other.to_string(),
    }
}

/// A short, stable message for a failed request: `connection refused`
/// rather than reqwest's nested wording, so that fingerprints stay stable.
fn describe_request_error(error: &reqwest::Error) -> String {
    if let Some(tls) = medic_client::describe_tls_error(error) {
        return tls;
    }
    if error.is_connect() {
        return match find_io_error(error) {
            Some(io_error) => describe_io_error(io_error),
            None => format!("connection failed: {}", root_cause(error)),
        };
    }
    if error.is_timeout() {
        return "timed out".to_string();
    }
    if error.is_redirect() {
        return "too many redirects".to_string();
    }
    match find_io_error(error) {
        Some(io_error) => describe_io_error(io_error),
        None => format!("request failed: {}", root_cause(error)),
    }
}
