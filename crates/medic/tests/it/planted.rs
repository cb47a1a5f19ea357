//! What the hostile-input tests share: an agent whose stderr is kept (its
//! own log is one of the surfaces searched for secrets), calls with
//! headers, and a private PostgreSQL schema per test.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::{AssertSqlSafe, Connection as _, Executor as _, PgConnection};

use crate::support::Served;

/// Used when `MEDIC_TEST_POSTGRES_URL` is not set (as in medic-store's suite).
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// `medic serve` logging at debug level, its stderr kept.
pub struct Agent {
    pub served: Served,
    stderr: Arc<Mutex<String>>,
}

impl Agent {
    pub fn start(config: &Path, env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_medic"));
        command
            .env("MEDIC_LOG", "debug")
            .args(["serve", "--config"])
            .arg(config)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("medic serve starts");
        let mut stderr_pipe = child.stderr.take().expect("stderr");
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            while let Ok(n) = stderr_pipe.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                let text = String::from_utf8_lossy(&chunk[..n]).into_owned();
                sink.lock().expect("lock").push_str(&text);
            }
        });
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("reads the address line");
        let Some(address) = line
            .trim()
            .rsplit("http://")
            .next()
            .filter(|a| !a.is_empty())
        else {
            panic!(
                "no address in {line:?}; stderr: {}",
                stderr.lock().expect("lock")
            );
        };
        let address = address.to_string();
        Self {
            served: Served { child, address },
            stderr,
        }
    }

    /// What the agent logged so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().expect("lock").clone()
    }

    /// One request with extra headers; the status and the body.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, String) {
        let address = &self.served.address;
        let mut stream = TcpStream::connect(address).expect("connects");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).expect("writes");
        stream.write_all(body.as_bytes()).expect("writes");
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
}

/// A fresh schema in the test PostgreSQL database, dropped on drop.
pub struct PgSchema {
    base_url: String,
    schema: String,
}

impl PgSchema {
    /// `None` (said on stderr) when PostgreSQL is unreachable and `CI` is not `true`.
    pub fn create(test: &str) -> Option<Self> {
        let base_url = std::env::var("MEDIC_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string());
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let schema = format!("medic_it_{test}_{}_{nanos}", std::process::id());
        let created = block_on(async {
            let mut admin = PgConnection::connect(&base_url).await?;
            admin
                .execute(AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                .await?;
            admin.close().await
        });
        match created {
            Ok(()) => Some(Self { base_url, schema }),
            Err(why) => {
                let message = format!("PostgreSQL unreachable at {base_url}: {why}");
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "{message}; CI=true requires the PostgreSQL half"
                );
                eprintln!("skipped: {test} on postgres: {message}");
                None
            }
        }
    }

    /// The storage URL medic connects to.
    pub fn url(&self) -> String {
        let separator = if self.base_url.contains('?') {
            '&'
        } else {
            '?'
        };
        format!(
            "{}{separator}options=-c%20search_path%3D{}",
            self.base_url, self.schema
        )
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let _ = block_on(async {
            let mut admin = PgConnection::connect(&self.base_url).await?;
            admin
                .execute(AssertSqlSafe(format!(
                    "DROP SCHEMA IF EXISTS {} CASCADE",
                    self.schema
                )))
                .await?;
            admin.close().await
        });
    }
}

fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future)
}
