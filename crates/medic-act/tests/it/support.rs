//! What the tests act on: a loopback HTTP server that records every request
//! and answers as scripted, targets written as config, and process checks.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use medic_act::{ActionContext, Executor};
use medic_engine::config::{Action, Target};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// The raw request target: path and query, still percent-encoded.
    pub path: String,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("the body is JSON")
    }
}

/// How the server answers one request.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub delay: Duration,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Self {
            status,
            body: format!("status {status}\n"),
            delay: Duration::ZERO,
        }
    }

    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = body.into();
        self
    }

    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

type Responder = Arc<dyn Fn(&Recorded, usize) -> Reply + Send + Sync>;

/// An HTTP/1.1 server on loopback; one request per connection.
pub struct RecordingServer {
    address: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    task: JoinHandle<()>,
}

impl RecordingServer {
    /// Answers every request `200 ok`.
    pub async fn start() -> Self {
        Self::answering(|_, _| Reply::status(200).body("ok\n")).await
    }

    /// Answers with `respond(request, index of the request)`.
    pub async fn answering(
        respond: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let respond: Responder = Arc::new(respond);
        let recorded = Arc::clone(&requests);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, Arc::clone(&recorded), Arc::clone(&respond)));
            }
        });
        Self {
            address,
            requests,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("lock").clone()
    }
}

impl Drop for RecordingServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(stream: TcpStream, requests: Arc<Mutex<Vec<Recorded>>>, respond: Responder) {
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).await.unwrap_or(0) == 0 {
        return;
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    if reader.read_exact(&mut body).await.is_err() {
        return;
    }
    let request = Recorded {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let index = {
        let mut all = requests.lock().expect("lock");
        all.push(request.clone());
        all.len() - 1
    };
    let reply = respond(&request, index);
    tokio::time::sleep(reply.delay).await;
    let answer = format!(
        "HTTP/1.1 {} Scripted\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
        reply.status,
        reply.body.len(),
        reply.body
    );
    let _ = writer.write_all(answer.as_bytes()).await;
    let _ = writer.shutdown().await;
}

/// A loopback address nobody listens on (bound, then released).
pub async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    drop(listener);
    address
}

/// A target from its config text.
pub fn target(toml_text: &str) -> Target {
    toml::from_str(toml_text).expect("a valid target")
}

/// An action from its inline config text, e.g. `{ kind = "wait", duration = "1s" }`.
pub fn action(inline: &str) -> Action {
    #[derive(serde::Deserialize)]
    struct Holder {
        action: Action,
    }
    let holder: Holder = toml::from_str(&format!("action = {inline}")).expect("a valid action");
    holder.action
}

/// The incident context the tests act for.
pub fn context(target: &str) -> ActionContext {
    ActionContext {
        target: target.to_string(),
        endpoint: String::new(),
        incident_id: 42,
        fingerprint: "fp-db-refused".into(),
        title: "payments cannot reach its database".into(),
        category: "database".into(),
        severity: "critical".into(),
        root_cause: "connection refused by 127.0.0.1:5432".into(),
        evidence: vec![
            "ERROR db: connection refused".into(),
            "retrying in 1s".into(),
        ],
        remedy: "fix".into(),
        alert: Default::default(),
    }
}

pub fn executor() -> Executor {
    Executor::builder().build().expect("executor")
}

/// Whether a process is gone: no `/proc` entry, or a zombie (dead, waiting
/// for a parent — init here does not reap orphans).
pub fn is_dead(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state == "Z" || state == "X"),
    }
}

/// Polls until the process is dead or `within` passes.
pub async fn dies_within(pid: u32, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if is_dead(pid) {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The numbers after `pid ` in a command's output.
pub fn pids_in(output: &str) -> Vec<u32> {
    output
        .lines()
        .filter_map(|line| line.strip_prefix("pid "))
        .map(|pid| pid.trim().parse().expect("a pid"))
        .collect()
}
