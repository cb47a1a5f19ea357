//! One HTTP call to the agent, and what can go wrong with it, sorted by
//! exit code: the API said no (1), the command was malformed (2), nobody
//! answered (3).

use std::time::Duration;

/// Why an operator command failed.
#[derive(Debug)]
pub(crate) enum ClientError {
    /// `--url` is not an http(s) URL.
    Usage(String),
    /// The agent answered with an error: its status, code and message.
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    /// No answer: refused connection, DNS, timeout, or not medic.
    Unreachable(String),
}

impl ClientError {
    /// The documented exit code (see `docs/cli.md`).
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            ClientError::Refused { .. } => 1,
            ClientError::Usage(_) => 2,
            ClientError::Unreachable(_) => 3,
        }
    }
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Usage(message) => write!(f, "{message}"),
            ClientError::Refused {
                status,
                code,
                message,
            } => {
                write!(f, "the agent answered {status} {code}: {message}")?;
                if *status == 401 && code == "unauthorized" {
                    write!(f, " (set MEDIC_API_KEY)")?;
                }
                Ok(())
            }
            ClientError::Unreachable(message) => write!(f, "{message}"),
        }
    }
}

/// A client of one agent's API.
pub(crate) struct Api {
    base: String,
    key: Option<String>,
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

impl Api {
    /// A client for `url` (`http://host:port`, no path), sending `key` as a bearer key.
    pub(crate) fn new(url: &str, key: Option<String>) -> Result<Self, ClientError> {
        let base = url.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ClientError::Usage(format!(
                "--url {url:?}: expected http://HOST:PORT"
            )));
        }
        // The system's roots, rustls with ring: the one TLS stack of the build.
        let client = medic_client::builder(&Default::default())
            .map_err(|e| ClientError::Usage(format!("cannot build an HTTP client: {e}")))?
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| ClientError::Usage(format!("cannot build an HTTP client: {e}")))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ClientError::Usage(format!("cannot start the runtime: {e}")))?;
        Ok(Self {
            base,
            key,
            client,
            runtime,
        })
    }

    /// GET `path`; the JSON body of a 2xx answer.
    pub(crate) fn get(&self, path: &str) -> Result<serde_json::Value, ClientError> {
        self.call(reqwest::Method::GET, path)
    }

    /// POST `path` without a body; the JSON body of a 2xx answer.
    pub(crate) fn post(&self, path: &str) -> Result<serde_json::Value, ClientError> {
        self.call(reqwest::Method::POST, path)
    }

    /// POST `path` with a JSON body; the JSON body of a 2xx answer.
    pub(crate) fn post_json(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, ClientError> {
        self.send(reqwest::Method::POST, path, Some(body))
    }

    /// DELETE `path`; the JSON body of a 2xx answer.
    pub(crate) fn delete(&self, path: &str) -> Result<serde_json::Value, ClientError> {
        self.call(reqwest::Method::DELETE, path)
    }

    fn call(&self, method: reqwest::Method, path: &str) -> Result<serde_json::Value, ClientError> {
        self.send(method, path, None)
    }

    fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value, ClientError> {
        let url = format!("{}{path}", self.base);
        let mut request = self.client.request(method.clone(), &url);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        if let Some(key) = &self.key {
            request = request.header("authorization", format!("Bearer {key}"));
        }
        self.runtime.block_on(async {
            let unreachable = |e: reqwest::Error| {
                ClientError::Unreachable(format!(
                    "cannot reach the agent at {}: {}",
                    self.base,
                    cause(&e)
                ))
            };
            let response = request.send().await.map_err(unreachable)?;
            let status = response.status().as_u16();
            let body = response.text().await.map_err(unreachable)?;
            let json: Option<serde_json::Value> = serde_json::from_str(&body).ok();
            if (200..300).contains(&status) {
                return json.ok_or_else(|| {
                    ClientError::Unreachable(format!(
                        "{method} {url}: the answer is not JSON; is {} a medic agent?",
                        self.base
                    ))
                });
            }
            let error = json.as_ref().map(|j| &j["error"]);
            let text = |field: &str| error.and_then(|e| e[field].as_str()).map(str::to_string);
            Err(ClientError::Refused {
                status,
                code: text("code").unwrap_or_else(|| "error".into()),
                message: text("message").unwrap_or_else(|| body.trim().chars().take(200).collect()),
            })
        })
    }
}

/// The innermost cause of a transport error, which is the one that says
/// what happened ("Connection refused", "dns error"), not "error sending request".
fn cause(error: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = error;
    while let Some(next) = source.source() {
        source = next;
    }
    if error.is_timeout() {
        return format!("timed out ({source})");
    }
    source.to_string()
}
