//! A real agent (SQLite in memory, a TCP probe to a closed port so incidents
//! happen) behind the real router, called without a socket.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use medic_agent::{Agent, AgentOptions};
use serde_json::Value;
use tower::ServiceExt;

pub const OPS: &str = "ops-key-0123456789abcdef";
pub const READER: &str = "reader-key-0123456789ab";
pub const WRITER: &str = "writer-key-0123456789ab";
pub const ADMIN: &str = "admin-key-0123456789abc";
pub const SECRET: &str = "generic-webhook-secret";
pub const AM_TOKEN: &str = "alertmanager-token-0123";
/// GitHub's documented test secret.
pub const GITHUB_SECRET: &str = "It's a Secret to Everybody";
pub const GITLAB_TOKEN: &str = "gitlab-token-0123456789";

/// A port nothing listens on: binds one, then lets it go.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

pub fn config_text(extra: &str) -> String {
    config_with(extra, "10m", "")
}

/// The test config with extra `[server]` lines, an approval timeout, and
/// extra remedies after the high-risk one.
pub fn config_with(extra: &str, approval_timeout: &str, remedies: &str) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
{extra}

[auth]
keys = [
  {{ name = "ops", key_env = "T_OPS", scopes = ["read", "write", "admin"] }},
  {{ name = "reader", key_env = "T_READER", scopes = ["read"] }},
  {{ name = "writer", key_env = "T_WRITER", scopes = ["write"] }},
  {{ name = "admin", key_env = "T_ADMIN", scopes = ["admin"] }},
]

[webhooks]
generic = {{ secret_env = "T_SECRET" }}
alertmanager = {{ token_env = "T_AM" }}
github = {{ secret_env = "T_GITHUB" }}
gitlab = {{ token_env = "T_GITLAB" }}
jenkins = {{ user_env = "T_JENKINS_USER", password_env = "T_JENKINS_PASSWORD" }}

[policy]
approval_timeout = "{approval_timeout}"

[[targets]]
name = "db"
probes = [{{ kind = "tcp", address = "127.0.0.1:{port}", interval = "100ms", timeout = "80ms" }}]
health = {{ failure_threshold = 2, verify_window = "1s", confirm_interval = "50ms" }}

[[targets.remedies]]
name = "restart-db"
action = {{ kind = "wait", duration = "10ms" }}
risk = "high"
{remedies}
"#,
        port = closed_port()
    )
}

pub fn env() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("T_OPS".into(), OPS.into()),
        ("T_READER".into(), READER.into()),
        ("T_WRITER".into(), WRITER.into()),
        ("T_ADMIN".into(), ADMIN.into()),
        ("T_SECRET".into(), SECRET.into()),
        ("T_AM".into(), AM_TOKEN.into()),
        ("T_GITHUB".into(), GITHUB_SECRET.into()),
        ("T_GITLAB".into(), GITLAB_TOKEN.into()),
        ("T_JENKINS_USER".into(), "jenkins".into()),
        ("T_JENKINS_PASSWORD".into(), "jenkins-password".into()),
    ])
}

pub struct Api {
    pub router: Router,
}

impl Api {
    pub async fn start() -> Api {
        Self::with_server_settings("").await
    }

    /// `server` is extra `[server]` lines (limits).
    pub async fn with_server_settings(server: &str) -> Api {
        Self::from_config(&config_text(server)).await
    }

    /// Approvals expire after `timeout`; an escalation follows the high-risk remedy.
    pub async fn with_approval_timeout(timeout: &str) -> Api {
        let page = "[[targets.remedies]]\nname = \"page\"\naction = { kind = \"escalate\", webhook = \"http://127.0.0.1:9/page\" }\n";
        Self::from_config(&config_with("", timeout, page)).await
    }

    /// No `[auth]` keys: the open, loopback-only mode.
    pub async fn without_keys() -> Api {
        Self::from_config("[server]\nlisten = \"127.0.0.1:0\"\n").await
    }

    async fn from_config(text: &str) -> Api {
        Self::from_config_and_env(text, env()).await
    }

    /// Any config, with `env` as the environment its `*_env` keys read.
    pub async fn from_config_and_env(text: &str, env: BTreeMap<String, String>) -> Api {
        let config =
            medic_engine::config::parse(text, &BTreeMap::new()).expect("test config parses");
        let store = medic_store::connect("sqlite::memory:")
            .await
            .expect("store");
        let agent = Agent::start(config.clone(), store, AgentOptions::default())
            .await
            .expect("agent starts");
        let state = medic_api::ApiState::new(agent, &config, &env).expect("api state");
        let max_body = usize::try_from(config.server.max_body_bytes).expect("fits");
        Api {
            router: medic_api::router(state, max_body),
        }
    }

    pub async fn call(&self, request: Request<Body>) -> (StatusCode, Value, axum::http::HeaderMap) {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("router answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, body, headers)
    }

    pub async fn get(&self, path: &str, key: &str) -> (StatusCode, Value) {
        let (status, body, _) = self.call(request("GET", path, Some(key), None)).await;
        (status, body)
    }

    pub async fn post(&self, path: &str, key: &str, json: Option<&str>) -> (StatusCode, Value) {
        let (status, body, _) = self.call(request("POST", path, Some(key), json)).await;
        (status, body)
    }

    /// Waits until `path` answers a body for which `ready` holds.
    pub async fn wait_for(&self, path: &str, ready: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..200 {
            let (status, body) = self.get(path, OPS).await;
            if status.is_success() && ready(&body) {
                return body;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{path} never became ready");
    }

    /// The first pending approval (the db target fails from the start).
    pub async fn pending_approval(&self) -> Value {
        let body = self
            .wait_for("/api/v1/approvals", |b| {
                b["approvals"].as_array().is_some_and(|a| !a.is_empty())
            })
            .await;
        body["approvals"][0].clone()
    }
}

/// A request with an optional key (X-API-Key) and JSON body.
pub fn request(method: &str, path: &str, key: Option<&str>, json: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(key) = key {
        builder = builder.header("x-api-key", key);
    }
    let body = match json {
        Some(json) => {
            builder = builder.header("content-type", "application/json");
            Body::from(json.to_string())
        }
        None => Body::empty(),
    };
    builder.body(body).expect("request")
}

/// Asserts the error model: status and `{"error":{"code","message"}}`.
pub fn assert_error(status: StatusCode, body: &Value, want_status: u16, want_code: &str) {
    assert_eq!(status.as_u16(), want_status, "{body}");
    assert_eq!(body["error"]["code"], want_code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}
