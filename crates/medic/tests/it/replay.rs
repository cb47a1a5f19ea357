//! Replays (issue 12): a captured, validly signed delivery sent again is
//! acknowledged but acts on nothing — a GitHub delivery under a fresh
//! `X-GitHub-Delivery` (the signature does not cover it), a medic-signed
//! report under the same signature — and a restart does not forget it, on
//! SQLite and on PostgreSQL.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Served, TempDir, closed_port};

const GITHUB_SECRET: &str = "github-secret-for-replays";
const MEDIC_SECRET: &str = "medic-secret-for-replays";
/// Used when `MEDIC_TEST_POSTGRES_URL` is not set (as in medic-store's suite).
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// One POST with extra headers; the status and the JSON answer.
fn post(address: &str, path: &str, headers: &[(&str, String)], body: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(address).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let extra: String = headers
        .iter()
        .map(|(name, value)| format!("{name}: {value}\r\n"))
        .collect();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
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
    let json = response
        .split_once("\r\n\r\n")
        .and_then(|(_, b)| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    (status, json)
}

fn github_delivery(address: &str, delivery: &str, body: &str) -> (u16, Value) {
    let signature = medic_api::hub_signature(GITHUB_SECRET.as_bytes(), body.as_bytes());
    post(
        address,
        "/webhooks/github",
        &[
            ("X-GitHub-Event", "workflow_job".into()),
            ("X-GitHub-Delivery", delivery.into()),
            ("X-Hub-Signature-256", signature),
        ],
        body,
    )
}

fn signed_report(address: &str, signature: &str, body: &str) -> (u16, Value) {
    post(
        address,
        "/webhooks/generic",
        &[("X-Medic-Signature", signature.into())],
        body,
    )
}

fn serve(dir: &TempDir, store_url: &str) -> Served {
    let config = dir.0.join("medic.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[server]
listen = "127.0.0.1:0"
[storage]
url = "{store_url}"
[webhooks]
generic = {{ secret_env = "T_MEDIC_SECRET" }}
github = {{ secret_env = "T_GITHUB_SECRET", api_url = "http://127.0.0.1:{closed}" }}
"#,
            closed = closed_port()
        ),
    )
    .expect("config");
    Served::start(
        &config,
        &[
            ("T_GITHUB_SECRET", GITHUB_SECRET),
            ("T_MEDIC_SECRET", MEDIC_SECRET),
        ],
    )
}

/// The whole scenario against one store.
fn replays_act_on_nothing_even_after_a_restart(store_url: &str, name: &str) {
    let dir = TempDir::new(name);
    let failed = json!({
        "action": "completed",
        "workflow_job": {
            "id": 7001, "run_id": 9001, "run_attempt": 1, "name": "build",
            "conclusion": "failure",
            "html_url": "https://github.com/octo-org/octo-repo/actions/runs/9001/job/7001"
        },
        "repository": {"full_name": "octo-org/octo-repo"}
    })
    .to_string();
    let now = chrono::Utc::now().timestamp();
    let report = r#"{"id":"replay-1","data":{"message":"checkout: connection refused"}}"#;
    let signature = format!(
        "t={now},v1={}",
        medic_api::hex(&medic_api::sign(
            MEDIC_SECRET.as_bytes(),
            now,
            report.as_bytes()
        ))
    );

    let served = serve(&dir, store_url);
    let (status, reply) = github_delivery(&served.address, "delivery-1", &failed);
    assert_eq!(status, 202, "{reply}");
    assert_eq!(reply["accepted"], 1, "{reply}");
    // Replayed with a fresh delivery header: the signed body is the same job attempt.
    let (status, reply) = github_delivery(&served.address, "delivery-forged-1", &failed);
    assert_eq!(status, 202, "{reply}");
    assert_eq!(
        (reply["accepted"].as_u64(), reply["duplicates"].as_u64()),
        (Some(0), Some(1)),
        "{reply}"
    );
    let (status, reply) = signed_report(&served.address, &signature, report);
    assert!((200..300).contains(&status), "{status} {reply}");
    let (status, reply) = signed_report(&served.address, &signature, report);
    assert_eq!(status, 401, "{reply}");
    assert_eq!(reply["error"]["code"], "replayed_signature", "{reply}");
    drop(served);

    // After a restart (or on another replica sharing the store): still replays.
    let served = serve(&dir, store_url);
    let (status, reply) = github_delivery(&served.address, "delivery-forged-2", &failed);
    assert_eq!(status, 202, "{reply}");
    assert_eq!(
        (reply["accepted"].as_u64(), reply["duplicates"].as_u64()),
        (Some(0), Some(1)),
        "{reply}"
    );
    let (status, reply) = signed_report(&served.address, &signature, report);
    assert_eq!(status, 401, "{reply}");
    assert_eq!(reply["error"]["code"], "replayed_signature", "{reply}");
    // A captured success is no more use to a replayer than a failure.
    let passed = failed
        .replace("\"id\":7001", "\"id\":7002")
        .replace("\"failure\"", "\"success\"");
    assert_ne!(passed, failed);
    let (status, reply) = github_delivery(&served.address, "delivery-3", &passed);
    assert_eq!(
        (status, reply["passed"].as_u64()),
        (200, Some(1)),
        "{reply}"
    );
    let (status, reply) = github_delivery(&served.address, "delivery-forged-3", &passed);
    assert_eq!(
        (
            status,
            reply["passed"].as_u64(),
            reply["duplicates"].as_u64()
        ),
        (200, Some(0), Some(1)),
        "{reply}"
    );
    // The next attempt of the job is a new event, and is acted on.
    let retried = failed.replace("\"run_attempt\":1", "\"run_attempt\":2");
    assert_ne!(retried, failed);
    let (status, reply) = github_delivery(&served.address, "delivery-2", &retried);
    assert_eq!(status, 202, "{reply}");
    assert_eq!(reply["accepted"], 1, "{reply}");
}

#[test]
fn replays_act_on_nothing_even_after_a_restart_on_sqlite() {
    let dir = TempDir::new("replay-store");
    let url = format!("sqlite://{}", dir.0.join("medic.db").display());
    replays_act_on_nothing_even_after_a_restart(&url, "replay-sqlite");
}

#[test]
fn replays_act_on_nothing_even_after_a_restart_on_postgres() {
    let base = std::env::var("MEDIC_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string());
    let schema = format!("medic_replay_{}", std::process::id());
    let psql = |sql: &str| {
        Command::new("psql")
            .args([base.as_str(), "-qc", sql])
            .output()
            .map(|out| out.status.success())
            .unwrap_or(false)
    };
    if !psql(&format!("CREATE SCHEMA IF NOT EXISTS {schema}")) {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "CI=true requires PostgreSQL at {base}"
        );
        eprintln!("skipped: PostgreSQL unreachable at {base} (set MEDIC_TEST_POSTGRES_URL)");
        return;
    }
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
    replays_act_on_nothing_even_after_a_restart(&url, "replay-postgres");
    psql(&format!("DROP SCHEMA {schema} CASCADE"));
}
