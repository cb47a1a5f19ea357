//! CI/CD failures from GitHub Actions, GitLab CI and Jenkins: the intake
//! (medic-api) reads each platform's webhook into a [`CiJob`]; here medic
//! fetches the failed job's log through the platform's API, classifies it
//! with the pipeline failure catalog, and re-runs transient failures (at
//! most `max_reruns` per run) or escalates the rest with the evidence.
//!
//! `client.rs` is the HTTP plumbing; `github.rs`, `gitlab.rs`, `jenkins.rs`
//! each platform's endpoints; `work.rs` what happens to one failure.

mod client;
mod github;
mod gitlab;
mod jenkins;
mod work;

use std::collections::BTreeMap;

use medic_engine::config::{CiWebhook, Webhooks, effective_tls};
use medic_engine::pipeline::Catalog;

use github::Github;
use gitlab::Gitlab;
use jenkins::Jenkins;

/// A CI platform medic takes webhooks from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CiPlatform {
    /// GitHub Actions.
    Github,
    /// GitLab CI.
    Gitlab,
    /// Jenkins with the notification plugin.
    Jenkins,
}

impl CiPlatform {
    /// The name used in config keys, fingerprints and timelines.
    pub fn as_str(self) -> &'static str {
        match self {
            CiPlatform::Github => "github",
            CiPlatform::Gitlab => "gitlab",
            CiPlatform::Jenkins => "jenkins",
        }
    }
}

/// Where a job is, in the terms of its platform's API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CiLocator {
    /// A GitHub Actions job (`workflow_job`).
    GithubJob {
        /// `owner/repo`.
        repo: String,
        /// The job's id.
        job_id: u64,
    },
    /// A whole GitHub Actions run attempt (`workflow_run`): its failed jobs
    /// are listed through the API.
    GithubRun {
        /// `owner/repo`.
        repo: String,
        /// The run's id.
        run_id: u64,
        /// The run attempt (1 for the first).
        attempt: u32,
    },
    /// A GitLab CI job.
    GitlabJob {
        /// The project's numeric id.
        project_id: u64,
        /// The job's id.
        job_id: u64,
    },
    /// A Jenkins build.
    JenkinsBuild {
        /// Jenkins' root URL as the notification named it, if it did.
        root: Option<String>,
        /// The job's path under the root (`job/app/`).
        job_path: String,
        /// The build number.
        number: u64,
    },
}

/// A job that finished, as the intake read it from the webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiJob {
    /// The platform.
    pub platform: CiPlatform,
    /// `owner/repo`, GitLab's `path_with_namespace`, or the Jenkins job name.
    pub project: String,
    /// The run its re-runs stay in (GitHub run, GitLab pipeline); none for
    /// Jenkins, where each build is its own run.
    pub run: Option<String>,
    /// The job's (or workflow's) name.
    pub job_name: String,
    /// A link for humans, if the payload had one.
    pub url: Option<String>,
    /// Which attempt of the job this was (1 for the first).
    pub attempt: u32,
    /// The platform's word for the outcome (`failure`, `timed_out`, `failed`, `FAILURE`, `success`).
    pub conclusion: String,
    /// Where to fetch its log and how to re-run it.
    pub locator: CiLocator,
}

impl CiJob {
    /// Identifies the incident: the same job in the same run (and so its
    /// re-runs) joins one incident.
    pub(crate) fn fingerprint(&self) -> String {
        match &self.run {
            Some(run) => format!(
                "ci:{}:{}:{run}:{}",
                self.platform.as_str(),
                self.project,
                self.job_name
            ),
            None => format!(
                "ci:{}:{}:{}",
                self.platform.as_str(),
                self.project,
                self.job_name
            ),
        }
    }
}

/// A failed job's log.
#[derive(Debug, Clone)]
pub(crate) struct JobLog {
    pub name: String,
    pub text: String,
}

/// The CI platforms' API clients and the catalog that judges their logs,
/// built once from `[webhooks]` and the environment.
pub struct CiPlatforms {
    github: Github,
    gitlab: Gitlab,
    jenkins: Jenkins,
    max_reruns: BTreeMap<&'static str, u32>,
    verify_timeouts: BTreeMap<&'static str, std::time::Duration>,
    catalog: Catalog,
    /// Counting an incident's re-runs and recording the next is one step.
    rerun_lock: tokio::sync::Mutex<()>,
}

impl CiPlatforms {
    /// Reads `[webhooks.github|gitlab|jenkins]`, each API's TLS over the
    /// outbound `[tls]` (`global`); an API token variable that is named but
    /// unset fails the start, naming the key.
    pub fn load(
        webhooks: &Webhooks,
        global: &medic_client::ClientTls,
        env: &BTreeMap<String, String>,
    ) -> Result<Self, String> {
        let secret =
            |platform: &str, key: &str, var: &Option<String>| -> Result<Option<String>, String> {
                let Some(var) = var else { return Ok(None) };
                env.get(var)
                    .filter(|v| !v.is_empty())
                    .cloned()
                    .map(Some)
                    .ok_or_else(|| {
                        format!("webhooks.{platform}.{key}: environment variable {var} is not set")
                    })
            };
        let default = CiWebhook::default();
        let github = webhooks.github.as_ref().unwrap_or(&default);
        let gitlab = webhooks.gitlab.as_ref().unwrap_or(&default);
        let jenkins = webhooks.jenkins.as_ref().unwrap_or(&default);
        let jenkins_user = secret("jenkins", "api_user_env", &jenkins.api_user_env)?;
        let jenkins_token = secret("jenkins", "api_token_env", &jenkins.api_token_env)?;
        let catalog = Catalog::built_in().map_err(|errors| {
            let first = errors.first().map(ToString::to_string).unwrap_or_default();
            format!("the built-in pipeline catalog: {first}")
        })?;
        Ok(CiPlatforms {
            github: Github::new(
                github.api_url.as_deref().unwrap_or(github::DEFAULT_API_URL),
                secret("github", "api_token_env", &github.api_token_env)?,
                &effective_tls(github.tls.as_ref(), global),
            )?,
            gitlab: Gitlab::new(
                gitlab.api_url.as_deref().unwrap_or(gitlab::DEFAULT_API_URL),
                secret("gitlab", "api_token_env", &gitlab.api_token_env)?,
                &effective_tls(gitlab.tls.as_ref(), global),
            )?,
            jenkins: Jenkins::new(
                jenkins.api_url.as_deref(),
                jenkins_user.zip(jenkins_token),
                &effective_tls(jenkins.tls.as_ref(), global),
            )?,
            max_reruns: BTreeMap::from([
                ("github", github.max_reruns),
                ("gitlab", gitlab.max_reruns),
                ("jenkins", jenkins.max_reruns),
            ]),
            verify_timeouts: BTreeMap::from([
                ("github", github.verify_timeout.get()),
                ("gitlab", gitlab.verify_timeout.get()),
                ("jenkins", jenkins.verify_timeout.get()),
            ]),
            catalog,
            rerun_lock: tokio::sync::Mutex::new(()),
        })
    }

    /// How long a re-run's incident waits for a passing job.
    fn verify_timeout(&self, platform: CiPlatform) -> std::time::Duration {
        self.verify_timeouts
            .get(platform.as_str())
            .copied()
            .unwrap_or(std::time::Duration::from_secs(2 * 3600))
    }

    fn max_reruns(&self, platform: CiPlatform) -> u32 {
        self.max_reruns
            .get(platform.as_str())
            .copied()
            .unwrap_or(medic_engine::config::DEFAULT_MAX_RERUNS)
    }

    /// The failed job's log (a run's: each failed job's).
    async fn logs(&self, job: &CiJob) -> Result<Vec<JobLog>, String> {
        let one = |text: String| {
            vec![JobLog {
                name: job.job_name.clone(),
                text,
            }]
        };
        match &job.locator {
            CiLocator::GithubJob { repo, job_id } => {
                self.github.job_log(repo, *job_id).await.map(one)
            }
            CiLocator::GithubRun {
                repo,
                run_id,
                attempt,
            } => self.github.failed_job_logs(repo, *run_id, *attempt).await,
            CiLocator::GitlabJob { project_id, job_id } => {
                self.gitlab.trace(*project_id, *job_id).await.map(one)
            }
            CiLocator::JenkinsBuild {
                root,
                job_path,
                number,
            } => {
                let job_url = self.jenkins.job_url(root.as_deref(), job_path)?;
                self.jenkins.console_text(&job_url, *number).await.map(one)
            }
        }
    }

    /// Re-runs the job (a run's failed jobs; a new build for Jenkins).
    async fn rerun(&self, job: &CiJob) -> Result<String, String> {
        match &job.locator {
            CiLocator::GithubJob { repo, job_id } => self.github.rerun_job(repo, *job_id).await,
            CiLocator::GithubRun { repo, run_id, .. } => {
                self.github.rerun_failed_jobs(repo, *run_id).await
            }
            CiLocator::GitlabJob { project_id, job_id } => {
                self.gitlab.retry(*project_id, *job_id).await
            }
            CiLocator::JenkinsBuild { root, job_path, .. } => {
                let job_url = self.jenkins.job_url(root.as_deref(), job_path)?;
                self.jenkins.build(&job_url).await
            }
        }
    }
}
