//! `POST /webhooks/jenkins`: the Notification plugin's JSON. Only the
//! `FINALIZED` phase is judged (earlier phases say nothing final):
//! `FAILURE` is acted on, `SUCCESS` may end an incident, `UNSTABLE`,
//! `ABORTED` and the rest are answered 200 `{"ignored": why}`. Each failed
//! build is stored under `{job}/{number}/{phase}` (a passed one with
//! `/SUCCESS` after it), from the authenticated body, so a replay is
//! recognised and not acted on twice.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use medic_agent::{CiJob, CiLocator, CiPlatform};

use super::ci::{Reading, is_plain_path};
use crate::ApiState;
use crate::error::{ApiError, ApiResult};
use crate::extract::Body;

const SOURCE: &str = "jenkins";

#[derive(Debug, serde::Deserialize)]
struct Notification {
    name: String,
    /// The job's path under Jenkins' root: `job/app/`.
    url: String,
    build: Build,
}

#[derive(Debug, serde::Deserialize)]
struct Build {
    number: u64,
    phase: String,
    #[serde(default)]
    status: Option<String>,
    /// The build's path under the root: `job/app/18/`.
    #[serde(default)]
    url: Option<String>,
    /// The build's absolute URL, when Jenkins knows its own root URL.
    #[serde(default)]
    full_url: Option<String>,
}

pub(in crate::routes) async fn receive(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<Response> {
    super::authenticate(&state, SOURCE, &headers, &body).await?;
    let notification: Notification = super::parse(&state, SOURCE, &body)?;
    let reading =
        read(notification).inspect_err(|_| state.agent.metrics().intake(SOURCE, "rejected"))?;
    super::ci::act(&state, SOURCE, &body, reading).await
}

fn read(notification: Notification) -> Result<Reading, ApiError> {
    let build = &notification.build;
    if build.phase != "FINALIZED" {
        return Ok(Reading::Ignored(format!(
            "phase {:?}: only FINALIZED builds are judged",
            build.phase
        )));
    }
    let job_path = notification.url.trim_matches('/');
    if !is_plain_path(job_path, 32) {
        return Err(ApiError::new(
            "invalid_body",
            format!(
                "url: {:?} is not a job path like job/app/",
                notification.url
            ),
        ));
    }
    // Jenkins' root: the build's absolute URL without its relative one.
    let root = build
        .full_url
        .as_deref()
        .zip(build.url.as_deref())
        .and_then(|(full, relative)| full.strip_suffix(relative))
        .map(str::to_string);
    let status = build.status.clone().unwrap_or_default();
    let job = CiJob {
        platform: CiPlatform::Jenkins,
        project: notification.name.clone(),
        run: None,
        job_name: notification.name.clone(),
        url: build.full_url.clone(),
        attempt: 1,
        conclusion: status.clone(),
        locator: CiLocator::JenkinsBuild {
            root,
            job_path: format!("{job_path}/"),
            number: build.number,
        },
    };
    let key = format!("{}/{}/{}", notification.name, build.number, build.phase);
    Ok(match status.as_str() {
        "FAILURE" => Reading::Failed(vec![(key, job)]),
        "SUCCESS" => Reading::Passed(vec![(format!("{key}/SUCCESS"), job)]),
        other => Reading::Ignored(format!("status {other:?}: nothing to heal")),
    })
}
