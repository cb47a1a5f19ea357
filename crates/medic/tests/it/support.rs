//! Helpers shared by the end-to-end tests: a running `medic serve`, plain
//! HTTP/1.1 over loopback, a webhook receiver, JSON over reqwest for
//! third-party tools, and a keyed medic watching `medic chaos`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::chaos::Chaos;

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("medic-e2e-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("temp dir");
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes `dir/medic.toml`: an API on a free loopback port, a SQLite store
/// in `dir`, then `body` (the targets and whatever else the test needs).
pub fn serve_config(dir: &TempDir, body: &str) -> PathBuf {
    let config = dir.0.join("medic.toml");
    let header = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n[storage]\nurl = \"sqlite://{}\"\n",
        dir.0.join("medic.db").display()
    );
    std::fs::write(&config, header + body).expect("config");
    config
}

/// `medic serve` with a config file; killed on drop.
pub struct Served {
    pub child: Child,
    pub address: String,
}

impl Served {
    pub fn start(config: &Path, env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_medic"));
        command
            .env("MEDIC_LOG", "error")
            .args(["serve", "--config"])
            .arg(config)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            command.env(k, v);
        }
        Self::spawn(command)
    }

    /// Runs `command` (a `medic serve`) and reads the address it prints.
    pub fn spawn(mut command: Command) -> Self {
        let mut child = command.spawn().expect("medic serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("reads the address line");
        let address = line
            .trim()
            .rsplit("http://")
            .next()
            .expect("address")
            .to_string();
        Self { child, address }
    }

    pub fn get_json(&self, path: &str) -> serde_json::Value {
        let (status, body) = request(&self.address, "GET", path, "");
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).expect("JSON body")
    }

    /// Polls `path` until `done` holds for its JSON, or panics after `limit`.
    pub fn wait_for(
        &self,
        path: &str,
        limit: Duration,
        done: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + limit;
        loop {
            let json = self.get_json(path);
            if done(&json) {
                return json;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting on {path}: {json:#}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Served {
    /// SIGKILL, as a crash would: supervised processes are left behind.
    pub fn kill_hard(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Served {
    /// SIGTERM first, so medic stops what it supervises; SIGKILL after 5 s.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request; returns the status and the body.
pub fn request(address: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("writes");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("reads");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// A loopback HTTP server that answers 200 and keeps every request body.
pub struct Webhook {
    pub url: String,
    pub bodies: Arc<Mutex<Vec<String>>>,
}

impl Webhook {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("address"));
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let sink = bodies.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let body = read_request_body(&stream);
                sink.lock().expect("lock").push(body);
                let mut stream = stream;
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                );
            }
        });
        Self { url, bodies }
    }
}

/// The body of one HTTP/1.1 request read from `stream` (by Content-Length).
pub fn read_request_body(stream: &TcpStream) -> String {
    let mut reader = BufReader::new(stream);
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    String::from_utf8_lossy(&body).into_owned()
}

/// A loopback port with nothing listening.
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

/// Calls `probe` every 100 ms until it gives a value, for at most `limit`.
pub fn poll<T>(limit: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = probe() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Whether a test must skip because a tool it drives is not installed.
/// Under CI=true that fails instead, so CI never passes by skipping.
pub fn missing_tools(binaries: &[&str], package: &str) -> bool {
    let missing: Vec<&str> = binaries
        .iter()
        .copied()
        .filter(|binary| !Path::new(binary).exists())
        .collect();
    if missing.is_empty() {
        return false;
    }
    let why = format!(
        "{} not installed (apt-get install {package})",
        missing.join(" and ")
    );
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
    eprintln!("skipped: {why}");
    true
}

/// Where screenshots and other artifacts for a human go: the target dir.
pub fn artifact(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target/tmp has a parent")
        .join(name)
}

/// A child process, killed and reaped on drop, also when the test panics.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// JSON over HTTP with reqwest, for third-party tools (ChromeDriver,
/// Prometheus). The workspace builds reqwest without its `blocking`
/// feature, so a current-thread runtime drives the async client.
pub struct Http {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl Http {
    pub fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        // Same TLS set-up as medic's own clients (rustls has no default provider here).
        let client = medic_client::builder(&Default::default())
            .expect("client TLS")
            .timeout(Duration::from_secs(60))
            .build()
            .expect("reqwest client");
        Self { runtime, client }
    }

    /// One request: the status and the body as JSON (a JSON string when
    /// the body is not JSON). Err only when no answer came.
    pub fn call(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&serde_json::Value>,
    ) -> Result<(u16, serde_json::Value), String> {
        let verb = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
        let mut request = self.client.request(verb, url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        self.runtime.block_on(async {
            let response = request
                .send()
                .await
                .map_err(|e| format!("{method} {url}: {e}"))?;
            let status = response.status().as_u16();
            let text = response
                .text()
                .await
                .map_err(|e| format!("{method} {url}: {e}"))?;
            let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
            Ok((status, json))
        })
    }
}

/// The API key the keyed setups below configure, as `MEDIC_OPS_KEY`.
pub const OPS_KEY: &str = "ops-key-0123456789abcdef";

/// `medic chaos` watched by a `medic serve` that requires [`OPS_KEY`]:
/// target `shop` probes chaos's /health every 500 ms and is healed by
/// `reconnect-db`, a POST to /chaos/resolve with the given risk.
pub struct Watched {
    // Field order is drop order: medic stops before what it watches.
    pub served: Served,
    pub chaos: Chaos,
    _dir: TempDir,
}

impl Watched {
    pub fn start(name: &str, risk: &str) -> Self {
        let dir = TempDir::new(&format!("{name}-medic"));
        let chaos = Chaos::start(name);
        let config = dir.0.join("medic.toml");
        std::fs::write(
            &config,
            format!(
                r#"
[server]
listen = "127.0.0.1:0"
[storage]
url = "sqlite://{db}"
[auth]
keys = [{{ name = "ops", key_env = "MEDIC_OPS_KEY", scopes = ["read", "write", "admin"] }}]
[policy]
approval_timeout = "10m"
[[targets]]
name = "shop"
probes = [{{ kind = "http", url = "http://{chaos}/health", interval = "500ms", timeout = "400ms", expect_status = [200] }}]
health = {{ failure_threshold = 2 }}
[[targets.remedies]]
name = "reconnect-db"
action = {{ kind = "http", method = "POST", url = "http://{chaos}/chaos/resolve" }}
risk = "{risk}"
"#,
                db = dir.0.join("medic.db").display(),
                chaos = chaos.address,
            ),
        )
        .expect("config");
        let served = Served::start(&config, &[("MEDIC_OPS_KEY", OPS_KEY)]);
        Self {
            served,
            chaos,
            _dir: dir,
        }
    }

    /// Puts chaos in error mode: /health answers 500 until /chaos/resolve.
    pub fn break_service(&self) {
        let (status, body) = self.chaos.request("POST", "/chaos/trigger?mode=error");
        assert_eq!(status, 202, "chaos refused the trigger: {body}");
    }
}

/// A schema of its own on the test PostgreSQL (`MEDIC_TEST_POSTGRES_URL`,
/// default the local server's `test` database), dropped at the end; `None`
/// (after saying why) when PostgreSQL is unreachable outside CI.
pub struct PgSchema {
    /// The database's URL, without the schema.
    pub base: String,
    pub name: String,
}

impl PgSchema {
    pub fn create(test: &str) -> Option<Self> {
        let base = std::env::var("MEDIC_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let name = format!("medic_{test}_{}", std::process::id());
        if !psql(&base, &format!("CREATE SCHEMA IF NOT EXISTS {name}")) {
            assert_ne!(
                std::env::var("CI").as_deref(),
                Ok("true"),
                "CI=true requires PostgreSQL at {base}"
            );
            eprintln!("skipped: PostgreSQL unreachable at {base} (set MEDIC_TEST_POSTGRES_URL)");
            return None;
        }
        Some(Self { base, name })
    }

    /// `base` (or another server's URL) with this schema as the search path.
    pub fn url(&self, base: &str) -> String {
        format!("{base}?options=-c%20search_path%3D{}", self.name)
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        psql(&self.base, &format!("DROP SCHEMA {} CASCADE", self.name));
    }
}

fn psql(base: &str, sql: &str) -> bool {
    Command::new("psql")
        .args([base, "-qc", sql])
        .output()
        .is_ok_and(|out| out.status.success())
}
