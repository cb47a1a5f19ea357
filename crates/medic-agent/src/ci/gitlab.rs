//! GitLab's REST API (v4): a job's log (`GET …/jobs/{id}/trace`) and its
//! retry (`POST …/jobs/{id}/retry`, which answers 201 with the new job).

use super::client::{ApiClient, Credentials};

/// GitLab.com; a self-hosted instance is its own base URL.
pub(crate) const DEFAULT_API_URL: &str = "https://gitlab.com";

pub(crate) struct Gitlab {
    api: ApiClient,
    base: String,
}

impl Gitlab {
    pub(crate) fn new(
        base: &str,
        token: Option<String>,
        tls: &medic_client::ClientTls,
    ) -> Result<Gitlab, String> {
        let credentials = token.map_or(Credentials::None, Credentials::PrivateToken);
        Ok(Gitlab {
            api: ApiClient::new("webhooks.gitlab", credentials, &[], tls)?,
            base: base.trim_end_matches('/').to_string(),
        })
    }

    pub(crate) async fn trace(&self, project_id: u64, job_id: u64) -> Result<String, String> {
        let url = format!(
            "{}/api/v4/projects/{project_id}/jobs/{job_id}/trace",
            self.base
        );
        self.api.get_text(&url, "text/plain").await
    }

    pub(crate) async fn retry(&self, project_id: u64, job_id: u64) -> Result<String, String> {
        let url = format!(
            "{}/api/v4/projects/{project_id}/jobs/{job_id}/retry",
            self.base
        );
        self.api.post(&url).await
    }
}
