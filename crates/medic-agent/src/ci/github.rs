//! GitHub Actions' REST API: a job's log (`GET …/actions/jobs/{id}/logs`,
//! answered with a redirect to the log text), a run attempt's jobs, and
//! re-runs of one job or of a run's failed jobs.

use super::JobLog;
use super::client::{ApiClient, Credentials};

/// GitHub's documented default; GitHub Enterprise Server is `http(s)://HOST/api/v3`.
pub(crate) const DEFAULT_API_URL: &str = "https://api.github.com";

/// The headers GitHub's REST API documents for every call.
const HEADERS: &[(&str, &str)] = &[("x-github-api-version", "2022-11-28")];
const JSON: &str = "application/vnd.github+json";

pub(crate) struct Github {
    api: ApiClient,
    base: String,
}

/// `GET …/runs/{run_id}/attempts/{attempt}/jobs`, the parts medic reads.
#[derive(serde::Deserialize)]
struct JobList {
    jobs: Vec<Job>,
}

#[derive(serde::Deserialize)]
struct Job {
    id: u64,
    name: String,
    #[serde(default)]
    conclusion: Option<String>,
}

impl Github {
    pub(crate) fn new(
        base: &str,
        token: Option<String>,
        tls: &medic_client::ClientTls,
    ) -> Result<Github, String> {
        let credentials = token.map_or(Credentials::None, Credentials::Bearer);
        Ok(Github {
            api: ApiClient::new("webhooks.github", credentials, HEADERS, tls)?,
            base: base.trim_end_matches('/').to_string(),
        })
    }

    /// One job's log.
    pub(crate) async fn job_log(&self, repo: &str, job_id: u64) -> Result<String, String> {
        let url = format!("{}/repos/{repo}/actions/jobs/{job_id}/logs", self.base);
        self.api.get_text(&url, JSON).await
    }

    /// The logs of a run attempt's failed jobs.
    pub(crate) async fn failed_job_logs(
        &self,
        repo: &str,
        run_id: u64,
        attempt: u32,
    ) -> Result<Vec<JobLog>, String> {
        let url = format!(
            "{}/repos/{repo}/actions/runs/{run_id}/attempts/{attempt}/jobs?per_page=100",
            self.base
        );
        let list: JobList = self.api.get_json(&url).await?;
        let mut logs = Vec::new();
        for job in list.jobs {
            if matches!(job.conclusion.as_deref(), Some("failure" | "timed_out")) {
                let text = self.job_log(repo, job.id).await?;
                logs.push(JobLog {
                    name: job.name,
                    text,
                });
            }
        }
        Ok(logs)
    }

    /// Re-runs one job (`POST …/jobs/{id}/rerun`, 201).
    pub(crate) async fn rerun_job(&self, repo: &str, job_id: u64) -> Result<String, String> {
        let url = format!("{}/repos/{repo}/actions/jobs/{job_id}/rerun", self.base);
        self.api.post(&url).await
    }

    /// Re-runs a run's failed jobs (`POST …/runs/{id}/rerun-failed-jobs`, 201).
    pub(crate) async fn rerun_failed_jobs(
        &self,
        repo: &str,
        run_id: u64,
    ) -> Result<String, String> {
        let url = format!(
            "{}/repos/{repo}/actions/runs/{run_id}/rerun-failed-jobs",
            self.base
        );
        self.api.post(&url).await
    }
}
