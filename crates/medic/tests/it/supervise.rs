//! A real third-party service supervised by `medic serve`: kill -9 it and
//! medic brings it back.

use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::{Served, TempDir, closed_port};

/// The pid of the process whose command line contains `needle`, via pgrep.
fn pid_of(needle: &str) -> Option<u32> {
    let out = Command::new("pgrep").args(["-f", needle]).output().ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn a_killed_redis_server_is_restarted_and_any_incident_resolves() {
    if Command::new("redis-server")
        .arg("--version")
        .output()
        .is_err()
    {
        let why = "redis-server is not installed (apt-get install redis-server)";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
        eprintln!("skipped: {why}");
        return;
    }
    let dir = TempDir::new("redis");
    let port = closed_port();
    let config = dir.0.join("medic.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[server]
listen = "127.0.0.1:0"
[storage]
url = "sqlite://{db}"
[policy]
cooldown = "0s"
[[targets]]
name = "redis"
supervise = {{ command = ["redis-server", "--port", "{port}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", "{dir}"] }}
probes = [{{ kind = "tcp", address = "127.0.0.1:{port}", interval = "200ms", timeout = "100ms" }}]
[[targets.remedies]]
name = "restart"
action = {{ kind = "restart" }}
"#,
            db = dir.0.join("medic.db").display(),
            dir = dir.0.display(),
        ),
    )
    .expect("config");
    let served = Served::start(&config, &[]);
    let address = format!("127.0.0.1:{port}");
    assert!(
        wait_until(Duration::from_secs(10), || TcpStream::connect(&address)
            .is_ok()),
        "redis never came up"
    );
    let needle = format!("redis-server 127.0.0.1:{port}");
    let first = pid_of(&needle).expect("redis pid");

    let killed = Instant::now();
    Command::new("kill")
        .args(["-9", &first.to_string()])
        .status()
        .expect("kill -9");
    assert!(
        wait_until(Duration::from_secs(10), || pid_of(&needle)
            .is_some_and(|pid| pid != first)
            && TcpStream::connect(&address).is_ok()),
        "redis was not restarted"
    );
    eprintln!(
        "redis back {} ms after kill -9",
        killed.elapsed().as_millis()
    );

    // Whatever incidents the outage opened must end resolved, with a timeline.
    let listed = served.wait_for("/api/v1/incidents", Duration::from_secs(10), |json| {
        json["incidents"]
            .as_array()
            .is_some_and(|all| all.iter().all(|i| i["status"] == "resolved"))
    });
    for incident in listed["incidents"].as_array().expect("incidents") {
        let id = incident["id"].as_i64().expect("id");
        let detail = served.get_json(&format!("/api/v1/incidents/{id}"));
        assert!(!detail["timeline"].as_array().expect("timeline").is_empty());
    }
}
