//! `POST /webhooks/gitlab`: GitLab's Job Hook and Pipeline Hook. A job
//! with status `failed` (not `allow_failure`) is acted on; a `success` may
//! end an incident; anything else is answered 200 `{"ignored": why}`.
//!
//! GitLab disables a hook that keeps getting 4xx, so a well-formed event
//! is never refused: one medic cannot read is ignored (200), and only a
//! body that is not JSON at all (or not declared `application/json`, which
//! GitLab always sends), or a wrong `X-Gitlab-Token`, gets a 4xx. Each
//! failed job is stored under `{project}/jobs/{job}/failed` (a passed one
//! under `…/success`), which GitLab's retries of the delivery share and
//! which the Job Hook and the Pipeline Hook reporting the same job share
//! too: one job, one action.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use medic_agent::{CiJob, CiLocator, CiPlatform};

use super::ci::Reading;
use crate::ApiState;
use crate::error::ApiResult;
use crate::extract::Body;

const SOURCE: &str = "gitlab";

#[derive(Debug, serde::Deserialize)]
#[serde(tag = "object_kind", rename_all = "snake_case")]
enum Event {
    /// The Job Hook.
    Build(JobEvent),
    /// The Pipeline Hook.
    Pipeline(PipelineEvent),
}

#[derive(Debug, serde::Deserialize)]
struct JobEvent {
    build_id: u64,
    build_name: String,
    build_status: String,
    #[serde(default)]
    build_allow_failure: bool,
    #[serde(default)]
    pipeline_id: Option<u64>,
    project_id: u64,
    #[serde(default)]
    project_name: Option<String>,
    #[serde(default)]
    project: Option<Project>,
    #[serde(default)]
    retries_count: Option<u32>,
}

#[derive(Debug, serde::Deserialize)]
struct PipelineEvent {
    object_attributes: PipelineAttributes,
    project: Project,
    #[serde(default)]
    builds: Vec<PipelineJob>,
}

#[derive(Debug, serde::Deserialize)]
struct PipelineAttributes {
    id: u64,
    status: String,
}

#[derive(Debug, serde::Deserialize)]
struct PipelineJob {
    id: u64,
    name: String,
    status: String,
    #[serde(default)]
    allow_failure: bool,
}

#[derive(Debug, Default, serde::Deserialize)]
struct Project {
    #[serde(default)]
    id: Option<u64>,
    #[serde(default)]
    path_with_namespace: Option<String>,
    #[serde(default)]
    web_url: Option<String>,
}

pub(in crate::routes) async fn receive(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<Response> {
    super::authenticate(&state, SOURCE, &headers, &body).await?;
    // Only a body that is not JSON at all is refused (GitLab never sends one).
    let value: serde_json::Value = super::parse(&state, SOURCE, &body)?;
    let reading = match serde_json::from_value::<Event>(value) {
        Ok(Event::Build(job)) => job_reading(job),
        Ok(Event::Pipeline(pipeline)) => pipeline_reading(pipeline),
        Err(e) => Reading::Ignored(format!(
            "not a Job Hook or Pipeline Hook medic can read: {e}"
        )),
    };
    super::ci::act(&state, SOURCE, &body, reading).await
}

/// A job's identity with its outcome (`failed` or `success`).
fn key(project_id: u64, job_id: u64, status: &str) -> String {
    format!("{project_id}/jobs/{job_id}/{status}")
}

fn job_url(project: Option<&Project>, job_id: u64) -> Option<String> {
    project
        .and_then(|p| p.web_url.as_ref())
        .map(|web| format!("{}/-/jobs/{job_id}", web.trim_end_matches('/')))
}

fn job_reading(event: JobEvent) -> Reading {
    let project_path = event
        .project
        .as_ref()
        .and_then(|p| p.path_with_namespace.clone())
        .or(event.project_name.clone())
        .unwrap_or_else(|| event.project_id.to_string());
    let job = CiJob {
        platform: CiPlatform::Gitlab,
        project: project_path,
        run: event.pipeline_id.map(|id| id.to_string()),
        job_name: event.build_name.clone(),
        url: job_url(event.project.as_ref(), event.build_id),
        attempt: event.retries_count.unwrap_or(0).saturating_add(1),
        conclusion: event.build_status.clone(),
        locator: CiLocator::GitlabJob {
            project_id: event.project_id,
            job_id: event.build_id,
        },
    };
    match event.build_status.as_str() {
        "failed" if event.build_allow_failure => {
            Reading::Ignored("the job failed but is allowed to".into())
        }
        "failed" => Reading::Failed(vec![(key(event.project_id, event.build_id, "failed"), job)]),
        "success" => Reading::Passed(vec![(
            key(event.project_id, event.build_id, "success"),
            job,
        )]),
        other => Reading::Ignored(format!("build_status {other:?}: nothing to heal")),
    }
}

fn pipeline_reading(event: PipelineEvent) -> Reading {
    let Some(project_id) = event.project.id else {
        return Reading::Ignored("project.id: missing, so its jobs cannot be reached".into());
    };
    let status = event.object_attributes.status.as_str();
    let wanted = match status {
        "failed" => "failed",
        "success" => "success",
        other => return Reading::Ignored(format!("pipeline status {other:?}: nothing to heal")),
    };
    let project_path = event
        .project
        .path_with_namespace
        .clone()
        .unwrap_or_else(|| project_id.to_string());
    let jobs: Vec<(String, CiJob)> = event
        .builds
        .iter()
        .filter(|b| b.status == wanted && !(wanted == "failed" && b.allow_failure))
        .map(|b| {
            let job = CiJob {
                platform: CiPlatform::Gitlab,
                project: project_path.clone(),
                run: Some(event.object_attributes.id.to_string()),
                job_name: b.name.clone(),
                url: job_url(Some(&event.project), b.id),
                attempt: 1,
                conclusion: b.status.clone(),
                locator: CiLocator::GitlabJob {
                    project_id,
                    job_id: b.id,
                },
            };
            (key(project_id, b.id, wanted), job)
        })
        .collect();
    if wanted == "failed" {
        Reading::Failed(jobs)
    } else {
        Reading::Passed(jobs)
    }
}
