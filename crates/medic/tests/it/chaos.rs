//! `medic chaos`, driven over real HTTP on loopback.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// `medic chaos` on a free loopback port; killed on drop. Shared with the
/// tests that need a service to break (see `support::Watched`).
pub(crate) struct Chaos {
    child: Child,
    pub(crate) address: String,
    log: std::path::PathBuf,
}

impl Chaos {
    pub(crate) fn start(name: &str) -> Self {
        let log =
            std::env::temp_dir().join(format!("medic-chaos-{}-{name}.log", std::process::id()));
        let _ = std::fs::remove_file(&log);
        let mut child = Command::new(env!("CARGO_BIN_EXE_medic"))
            .args(["chaos", "--listen", "127.0.0.1:0", "--log-file"])
            .arg(&log)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("medic chaos starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("reads the address line");
        let address = line
            .trim()
            .rsplit("http://")
            .next()
            .expect("an address")
            .to_string();
        Self {
            child,
            address,
            log,
        }
    }

    /// One HTTP/1.1 request; returns (status, headers and body as text).
    pub(crate) fn request(&self, method: &str, path: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(&self.address).expect("connects");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.address
        )
        .expect("writes");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("reads");
        let status = response
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status line");
        (status, response)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Chaos {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn error_mode_fails_requests_and_logs_a_database_outage_until_resolved() {
    let chaos = Chaos::start("error");
    assert_eq!(chaos.request("GET", "/health").0, 200);
    assert_eq!(chaos.request("POST", "/chaos/trigger?mode=error").0, 202);
    let (status, body) = chaos.request("GET", "/buy");
    assert_eq!(status, 500);
    assert!(body.contains("database connection refused"), "{body}");
    assert_eq!(chaos.request("GET", "/health").0, 500);
    assert!(
        chaos
            .log_text()
            .contains("ERROR db: connect to 127.0.0.1:5432 failed: Connection refused")
    );
    let (_, status_body) = chaos.request("GET", "/status");
    assert!(status_body.contains("\"mode\":\"error\""), "{status_body}");
    assert_eq!(chaos.request("POST", "/chaos/resolve").0, 200);
    assert_eq!(chaos.request("GET", "/buy").0, 200);
}

#[test]
fn ratelimit_answers_429_with_retry_after_and_bad_modes_get_400() {
    let chaos = Chaos::start("ratelimit");
    assert_eq!(
        chaos.request("POST", "/chaos/trigger?mode=ratelimit").0,
        202
    );
    let (status, response) = chaos.request("GET", "/buy");
    assert_eq!(status, 429);
    assert!(
        response.to_ascii_lowercase().contains("retry-after: 1"),
        "{response}"
    );
    let (status, body) = chaos.request("POST", "/chaos/trigger?mode=meltdown");
    assert_eq!(status, 400);
    assert!(
        body.contains("invalid_mode") && body.contains("meltdown"),
        "{body}"
    );
}

#[test]
fn hang_holds_requests_until_resolved() {
    let chaos = Chaos::start("hang");
    assert_eq!(chaos.request("POST", "/chaos/trigger?mode=hang").0, 202);
    let address = chaos.address.clone();
    let waiting = std::thread::spawn(move || {
        let started = std::time::Instant::now();
        let mut stream = TcpStream::connect(&address).expect("connects");
        write!(
            stream,
            "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .expect("writes");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("reads");
        (started.elapsed(), response)
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(chaos.request("POST", "/chaos/resolve").0, 200);
    let (waited, response) = waiting.join().expect("thread");
    assert!(
        waited >= Duration::from_millis(250),
        "answered after {waited:?}"
    );
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}

#[test]
fn crash_mode_exits_the_process() {
    let mut chaos = Chaos::start("crash");
    assert_eq!(chaos.request("POST", "/chaos/trigger?mode=crash").0, 202);
    let status = chaos.child.wait().expect("exits");
    assert_eq!(status.code(), Some(1));
}
