//! The listener cannot be starved (issue 12): `medic serve` with a file
//! limit of 1,024 and 2,000 idle connections (no bytes sent) keeps
//! answering `/health` within a second, and webhooks are still acknowledged.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::support::{Served, TempDir};

const FILE_LIMIT: u64 = 1024;
const IDLE_CONNECTIONS: usize = 2000;
const HEALTH_LIMIT: Duration = Duration::from_secs(1);

/// One request on a fresh connection; the status and how long it took, or
/// why it failed.
fn timed(address: &str, head: &str, body: &str) -> Result<(u16, Duration), String> {
    let started = Instant::now();
    let mut stream = TcpStream::connect(address).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "{head}\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| format!("write: {e}"))?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| format!("read: {e}"))?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status in {response:?}"))?;
    Ok((status, started.elapsed()))
}

#[test]
fn two_thousand_idle_connections_do_not_starve_the_listener() {
    // The test itself holds 2,000 sockets: raise its own soft limit.
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard).expect("raise the test's own limit");
    assert!(
        hard >= 3 * IDLE_CONNECTIONS as u64,
        "the test needs a hard file limit of at least {}",
        3 * IDLE_CONNECTIONS
    );

    let dir = TempDir::new("flood");
    let config = dir.0.join("medic.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n[storage]\nurl = \"sqlite://{}\"\n",
            dir.0.join("medic.db").display()
        ),
    )
    .expect("config");
    // prlimit(1) sets the limit, then runs medic in its own place (same pid).
    let mut command = std::process::Command::new("prlimit");
    command
        .arg(format!("--nofile={FILE_LIMIT}:{FILE_LIMIT}"))
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_medic"))
        .args(["serve", "--config"])
        .arg(&config)
        .env("MEDIC_LOG", "error")
        .stdout(std::process::Stdio::piped());
    let served = Served::spawn(command);
    let address = served.address.clone();

    // /health, every 50 ms, from before the flood until after it.
    let flooding = Arc::new(AtomicBool::new(true));
    let prober = {
        let (address, flooding) = (address.clone(), flooding.clone());
        std::thread::spawn(move || {
            let mut worst = Duration::ZERO;
            let mut probes = 0;
            let mut failures = Vec::new();
            while flooding.load(Ordering::Acquire) || probes < 10 {
                match timed(&address, "GET /health HTTP/1.1", "") {
                    Ok((200, took)) => worst = worst.max(took),
                    Ok((status, took)) => failures.push(format!("{status} after {took:?}")),
                    Err(why) => failures.push(why),
                }
                probes += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            (probes, worst, failures)
        })
    };

    let mut idle = Vec::with_capacity(IDLE_CONNECTIONS);
    for i in 0..IDLE_CONNECTIONS {
        match TcpStream::connect(&address) {
            Ok(stream) => idle.push(stream),
            Err(e) => panic!("idle connection {i}: {e}"),
        }
    }
    // Let the accept loop work through the backlog with the flood in place.
    std::thread::sleep(Duration::from_secs(2));

    // A webhook is still acknowledged while the flood holds.
    let report = r#"{"data":{"message":"checkout: connection refused","target":"checkout"}}"#;
    let (status, took) =
        timed(&address, "POST /webhooks/generic HTTP/1.1", report).expect("the webhook answers");
    assert!(
        (200..300).contains(&status),
        "webhook answered {status} after {took:?}"
    );
    flooding.store(false, Ordering::Release);
    let (probes, worst, failures) = prober.join().expect("prober");
    assert!(failures.is_empty(), "/health failed: {failures:?}");
    assert!(
        worst < HEALTH_LIMIT,
        "/health took {worst:?} at worst over {probes} probes"
    );
    eprintln!(
        "{IDLE_CONNECTIONS} idle connections: {probes} /health probes, slowest {worst:?}; webhook {status} in {took:?}"
    );
    drop(idle);
}
