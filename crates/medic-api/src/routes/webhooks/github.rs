//! `POST /webhooks/github`: GitHub Actions' `workflow_job` and
//! `workflow_run` events. Only `action: completed` with conclusion
//! `failure` or `timed_out` is acted on (a `success` may end an incident);
//! everything else, `ping` included, is answered 200 `{"ignored": why}`.
//! Deliveries are stored under the event's identity inside the signed body
//! (`{repo}/jobs/{job id}/{run attempt}`, `{repo}/runs/{run id}/{run
//! attempt}`), never under `X-GitHub-Delivery`: the signature does not
//! cover that header, so a captured delivery replayed with a fresh one
//! would otherwise be acted on again. GitHub's own redeliveries share the
//! identity too. GitHub gives up after 10 s: the answer (202) never waits
//! for its API.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use medic_agent::{CiJob, CiLocator, CiPlatform};

use super::ci::{Reading, is_plain_path};
use crate::ApiState;
use crate::error::{ApiError, ApiResult};
use crate::extract::Body;

const SOURCE: &str = "github";

#[derive(Debug, serde::Deserialize)]
struct WorkflowJobEvent {
    action: String,
    workflow_job: WorkflowJob,
    repository: Repository,
}

#[derive(Debug, serde::Deserialize)]
struct WorkflowJob {
    id: u64,
    run_id: u64,
    #[serde(default)]
    run_attempt: Option<u32>,
    name: String,
    #[serde(default)]
    conclusion: Option<String>,
    #[serde(default)]
    html_url: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
struct WorkflowRunEvent {
    action: String,
    workflow_run: WorkflowRun,
    repository: Repository,
}

#[derive(Debug, serde::Deserialize)]
struct WorkflowRun {
    id: u64,
    #[serde(default)]
    run_attempt: Option<u32>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    conclusion: Option<String>,
    #[serde(default)]
    html_url: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
struct Repository {
    full_name: String,
}

pub(in crate::routes) async fn receive(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<Response> {
    super::authenticate(&state, SOURCE, &headers, &body).await?;
    let event = headers
        .get("x-github-event")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let reading = read(&state, &event, &body)?;
    super::ci::act(&state, SOURCE, &body, reading).await
}

fn read(state: &ApiState, event: &str, body: &[u8]) -> Result<Reading, ApiError> {
    let reading = match event {
        "workflow_job" => {
            let event: WorkflowJobEvent = super::parse(state, SOURCE, body)?;
            job_reading(event)
        }
        "workflow_run" => {
            let event: WorkflowRunEvent = super::parse(state, SOURCE, body)?;
            run_reading(event)
        }
        "ping" => Ok(Reading::Ignored("ping".into())),
        "" => Err(ApiError::new(
            "invalid_body",
            "X-GitHub-Event: missing (workflow_job or workflow_run)",
        )),
        other => Ok(Reading::Ignored(format!(
            "{other} events are not acted on (send workflow_job or workflow_run)"
        ))),
    };
    reading.inspect_err(|_| state.agent.metrics().intake(SOURCE, "rejected"))
}

/// What a conclusion means: `Some(true)` failed, `Some(false)` passed.
fn failed(action: &str, conclusion: Option<&str>) -> Result<bool, String> {
    if action != "completed" {
        return Err(format!("action {action:?}: only completed ones are judged"));
    }
    match conclusion {
        Some("failure" | "timed_out") => Ok(true),
        Some("success") => Ok(false),
        other => Err(format!(
            "conclusion {:?}: nothing to heal",
            other.unwrap_or("none")
        )),
    }
}

fn check_repo(repository: &Repository) -> Result<(), ApiError> {
    if is_plain_path(&repository.full_name, 2) && repository.full_name.contains('/') {
        Ok(())
    } else {
        Err(ApiError::new(
            "invalid_body",
            format!(
                "repository.full_name: {:?} is not owner/repo",
                repository.full_name
            ),
        ))
    }
}

fn job_reading(event: WorkflowJobEvent) -> Result<Reading, ApiError> {
    check_repo(&event.repository)?;
    let job = event.workflow_job;
    let failed = match failed(&event.action, job.conclusion.as_deref()) {
        Ok(failed) => failed,
        Err(why) => return Ok(Reading::Ignored(why)),
    };
    let repo = event.repository.full_name;
    let attempt = job.run_attempt.unwrap_or(1);
    // One attempt of a job has one conclusion: it is part of the identity.
    let key = format!("{repo}/jobs/{}/{attempt}", job.id);
    let ci_job = CiJob {
        platform: CiPlatform::Github,
        project: repo.clone(),
        run: Some(job.run_id.to_string()),
        job_name: job.name,
        url: job.html_url,
        attempt,
        conclusion: job.conclusion.unwrap_or_default(),
        locator: CiLocator::GithubJob {
            repo,
            job_id: job.id,
        },
    };
    Ok(if failed {
        Reading::Failed(vec![(key, ci_job)])
    } else {
        Reading::Passed(vec![(key, ci_job)])
    })
}

fn run_reading(event: WorkflowRunEvent) -> Result<Reading, ApiError> {
    check_repo(&event.repository)?;
    let run = event.workflow_run;
    let failed = match failed(&event.action, run.conclusion.as_deref()) {
        Ok(failed) => failed,
        Err(why) => return Ok(Reading::Ignored(why)),
    };
    let repo = event.repository.full_name;
    let attempt = run.run_attempt.unwrap_or(1);
    let key = format!("{repo}/runs/{}/{attempt}", run.id);
    let ci_job = CiJob {
        platform: CiPlatform::Github,
        project: repo.clone(),
        run: Some(run.id.to_string()),
        job_name: run.name.unwrap_or_else(|| "workflow".into()),
        url: run.html_url,
        attempt,
        conclusion: run.conclusion.unwrap_or_default(),
        locator: CiLocator::GithubRun {
            repo,
            run_id: run.id,
            attempt,
        },
    };
    Ok(if failed {
        Reading::Failed(vec![(key, ci_job)])
    } else {
        Reading::Passed(vec![(key, ci_job)])
    })
}
