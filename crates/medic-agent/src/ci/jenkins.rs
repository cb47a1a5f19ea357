//! Jenkins' remote API: a build's `consoleText` and a new build of the job
//! (`POST {job}/build`, 201). With an API token no CSRF crumb is needed.
//! The job's URL comes from the notification unless `api_url` is set, in
//! which case the notification's relative paths are resolved against it.

use super::client::{ApiClient, Credentials};

pub(crate) struct Jenkins {
    api: ApiClient,
    /// `webhooks.jenkins.api_url`: overrides the host the notification names.
    base: Option<String>,
}

impl Jenkins {
    pub(crate) fn new(
        base: Option<&str>,
        user_and_token: Option<(String, String)>,
        tls: &medic_client::ClientTls,
    ) -> Result<Jenkins, String> {
        let credentials = user_and_token.map_or(Credentials::None, |(user, token)| {
            Credentials::Basic { user, token }
        });
        Ok(Jenkins {
            api: ApiClient::new("webhooks.jenkins", credentials, &[], tls)?,
            base: base.map(|b| format!("{}/", b.trim_end_matches('/'))),
        })
    }

    /// The job's absolute URL (ending in `/`): `job_path` (`job/app/`)
    /// against `api_url` when set, else the root the notification named.
    pub(crate) fn job_url(&self, root: Option<&str>, job_path: &str) -> Result<String, String> {
        let root = self.base.as_deref().or(root).ok_or_else(|| {
            "the notification carries no absolute URL (build.full_url) and \
             webhooks.jenkins.api_url is not set"
                .to_string()
        })?;
        let path = job_path.trim_start_matches('/');
        let mut url = format!("{}/{path}", root.trim_end_matches('/'));
        if !url.ends_with('/') {
            url.push('/');
        }
        Ok(url)
    }

    pub(crate) async fn console_text(&self, job_url: &str, number: u64) -> Result<String, String> {
        self.api
            .get_text(&format!("{job_url}{number}/consoleText"), "text/plain")
            .await
    }

    pub(crate) async fn build(&self, job_url: &str) -> Result<String, String> {
        self.api.post(&format!("{job_url}build")).await
    }
}
