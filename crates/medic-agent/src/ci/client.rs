//! The HTTP calls every CI platform client makes: plain-text GETs of logs
//! (only their tail is kept) and POSTs that trigger re-runs, each with the
//! platform's own credentials. Errors are one line naming the call; they
//! never contain a token.

use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderName, HeaderValue, USER_AGENT};
use reqwest::{Client, Method, RequestBuilder, StatusCode};

/// How long one API call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The end of a log is where a job's failure is: only this much of it is kept.
pub(crate) const LOG_TAIL_BYTES: usize = 1024 * 1024;

/// How a platform's API knows medic.
#[derive(Clone)]
pub(crate) enum Credentials {
    /// No credentials configured: calls go out unauthenticated.
    None,
    /// `Authorization: Bearer TOKEN` (GitHub).
    Bearer(String),
    /// `PRIVATE-TOKEN: TOKEN` (GitLab).
    PrivateToken(String),
    /// Basic auth with a user and an API token (Jenkins).
    Basic { user: String, token: String },
}

/// One platform's API: where it is and how to authenticate.
#[derive(Clone)]
pub(crate) struct ApiClient {
    http: Client,
    credentials: Credentials,
    /// Headers the platform wants on every call (GitHub's API version).
    headers: HeaderMap,
    /// For error messages: which `[webhooks]` key to fix.
    config_key: &'static str,
}

impl ApiClient {
    pub(crate) fn new(
        config_key: &'static str,
        credentials: Credentials,
        headers: &[(&'static str, &'static str)],
        tls: &medic_client::ClientTls,
    ) -> Result<ApiClient, String> {
        let mut fixed = HeaderMap::new();
        fixed.insert(USER_AGENT, HeaderValue::from_static("medic"));
        for (name, value) in headers {
            fixed.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        let http = medic_client::builder(tls)
            .map_err(|e| format!("{config_key}.tls: {e}"))?
            .timeout(CALL_TIMEOUT)
            // GitHub answers a log request with a redirect to storage.
            .redirect(reqwest::redirect::Policy::limited(5))
            .build()
            .map_err(|e| format!("{config_key}: cannot build an HTTP client: {e}"))?;
        Ok(ApiClient {
            http,
            credentials,
            headers: fixed,
            config_key,
        })
    }

    /// GETs `url` as text, keeping the last [`LOG_TAIL_BYTES`].
    pub(crate) async fn get_text(&self, url: &str, accept: &'static str) -> Result<String, String> {
        let request = self
            .request(Method::GET, url)?
            .header(ACCEPT, HeaderValue::from_static(accept));
        let mut response = self.send(request, url, "GET").await?;
        let mut tail: Vec<u8> = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| format!("GET {url}: reading the body: {}", chain(&e)))?
        {
            tail.extend_from_slice(&chunk);
            if tail.len() > 2 * LOG_TAIL_BYTES {
                tail.drain(..tail.len() - LOG_TAIL_BYTES);
            }
        }
        if tail.len() > LOG_TAIL_BYTES {
            tail.drain(..tail.len() - LOG_TAIL_BYTES);
        }
        Ok(String::from_utf8_lossy(&tail).into_owned())
    }

    /// GETs `url` as JSON.
    pub(crate) async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
    ) -> Result<T, String> {
        let response = self
            .send(self.request(Method::GET, url)?, url, "GET")
            .await?;
        let bytes = response
            .bytes()
            .await
            .map_err(|e| format!("GET {url}: reading the body: {}", chain(&e)))?;
        serde_json::from_slice(&bytes).map_err(|e| format!("GET {url}: unexpected answer: {e}"))
    }

    /// POSTs an empty body to `url`; the status line on success.
    pub(crate) async fn post(&self, url: &str) -> Result<String, String> {
        let request = self
            .request(Method::POST, url)?
            .header(reqwest::header::CONTENT_LENGTH, "0");
        let response = self.send(request, url, "POST").await?;
        Ok(format!("POST {url}: HTTP {}", response.status()))
    }

    fn request(&self, method: Method, url: &str) -> Result<RequestBuilder, String> {
        let parsed = reqwest::Url::parse(url).map_err(|e| format!("{url:?}: {e}"))?;
        match parsed.scheme() {
            "http" | "https" => {}
            other => return Err(format!("{url}: {other}:// is not an HTTP URL")),
        }
        let builder = self
            .http
            .request(method, parsed)
            .headers(self.headers.clone());
        Ok(match &self.credentials {
            Credentials::None => builder,
            Credentials::Bearer(token) => builder.header(AUTHORIZATION, format!("Bearer {token}")),
            Credentials::PrivateToken(token) => builder.header("PRIVATE-TOKEN", token.as_str()),
            Credentials::Basic { user, token } => builder.basic_auth(user, Some(token)),
        })
    }

    async fn send(
        &self,
        request: RequestBuilder,
        url: &str,
        method: &str,
    ) -> Result<reqwest::Response, String> {
        let response = request
            .send()
            .await
            .map_err(|e| format!("{method} {url}: {}", chain(&e)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let hint = match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                format!(
                    " (check {}.api_token_env and the token's scopes)",
                    self.config_key
                )
            }
            _ => String::new(),
        };
        let body = response.text().await.unwrap_or_default();
        let excerpt: String = body.chars().take(200).collect();
        Err(format!("{method} {url}: HTTP {status}{hint} {excerpt}")
            .trim_end()
            .to_string())
    }
}

/// An error with its causes, on one line.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    if let Some(tls) = medic_client::describe_tls_error(error) {
        return tls;
    }
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
