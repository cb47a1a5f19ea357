//! What the CI intakes (GitHub, GitLab, Jenkins) share once each has read
//! its platform's payload: failures are stored under their delivery keys
//! (a re-delivery is recognised and not acted on twice), the answer goes
//! out at once (202), and the work — fetching the log, classifying it,
//! re-running or escalating — happens after, in the agent.

use axum::Json as Reply;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use medic_agent::CiJob;
use medic_store::NewDelivery;
use serde_json::json;
use serde_json::value::RawValue;

use crate::ApiState;
use crate::error::{ApiError, ApiResult};

/// What one delivery from a CI platform means to medic.
pub(super) enum Reading {
    /// Nothing to act on (in progress, cancelled, a ping…): the reason.
    Ignored(String),
    /// Jobs that passed, each with the key its delivery is stored under:
    /// they may end the incidents their failures opened.
    Passed(Vec<(String, CiJob)>),
    /// Failed jobs, each with the key its delivery is stored under.
    Failed(Vec<(String, CiJob)>),
}

/// Stores and acts on a reading; answers 202 for failures, 200 otherwise.
pub(super) async fn act(
    state: &ApiState,
    source: &str,
    body: &[u8],
    reading: Reading,
) -> ApiResult<Response> {
    match reading {
        Reading::Ignored(why) => Ok(ignored(state, source, &why)),
        Reading::Passed(passes) => {
            // Stored like failures: a captured success replayed later must
            // not end an incident a newer failure opened.
            let payload = raw(body)?;
            let now = chrono::Utc::now();
            let deliveries = passes
                .iter()
                .map(|(key, _)| NewDelivery::new(source, key, payload.clone(), now))
                .collect();
            let fresh = super::store(state, source, deliveries).await?;
            let (mut count, mut duplicates) = (0, 0);
            for ((_, job), new) in passes.into_iter().zip(fresh) {
                if new {
                    count += 1;
                    state.agent.ci_succeeded(job);
                } else {
                    duplicates += 1;
                }
            }
            Ok((
                StatusCode::OK,
                Reply(json!({
                    "ignored": "the job passed: nothing to heal",
                    "passed": count,
                    "duplicates": duplicates,
                })),
            )
                .into_response())
        }
        Reading::Failed(failures) if failures.is_empty() => {
            Ok(ignored(state, source, "no failed job in this event"))
        }
        Reading::Failed(failures) => {
            let payload = raw(body)?;
            let now = chrono::Utc::now();
            let deliveries = failures
                .iter()
                .map(|(key, _)| NewDelivery::new(source, key, payload.clone(), now))
                .collect();
            let fresh = super::store(state, source, deliveries).await?;
            let mut jobs = Vec::new();
            let mut duplicates = 0;
            for ((key, job), new) in failures.into_iter().zip(fresh) {
                if !new {
                    duplicates += 1;
                    continue;
                }
                jobs.push(json!({"key": key, "project": job.project, "job": job.job_name}));
                state.agent.ci_failed(state.ci.clone(), job);
            }
            Ok((
                StatusCode::ACCEPTED,
                Reply(json!({"accepted": jobs.len(), "duplicates": duplicates, "jobs": jobs})),
            )
                .into_response())
        }
    }
}

fn ignored(state: &ApiState, source: &str, why: &str) -> Response {
    state.agent.metrics().intake(source, "ignored");
    (StatusCode::OK, Reply(json!({"ignored": why}))).into_response()
}

/// The body as stored: the sender's JSON text, normalised.
fn raw(body: &[u8]) -> Result<Box<RawValue>, ApiError> {
    let text = crate::normalise::json_text(body)?;
    RawValue::from_string(text.into_owned())
        .map_err(|e| ApiError::new("invalid_json", e.to_string()))
}

/// A GitHub `owner/repo` or a similar path that ends up in API URLs: plain
/// name characters in `/`-separated segments, none of them `.` or `..`.
pub(super) fn is_plain_path(path: &str, max_segments: usize) -> bool {
    let segments: Vec<&str> = path.split('/').collect();
    !path.is_empty()
        && path.len() <= 512
        && segments.len() <= max_segments
        && segments.iter().all(|s| {
            !s.is_empty()
                && *s != "."
                && *s != ".."
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
}
