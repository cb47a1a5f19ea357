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

/// The crash opened one incident, which the supervisor's restart resolved,
/// with its timeline in the store.
fn assert_crash_incident_resolved(served: &Served) {
    let listed = served.wait_for("/api/v1/incidents", Duration::from_secs(10), |json| {
        json["incidents"]
            .as_array()
            .is_some_and(|all| !all.is_empty() && all.iter().all(|i| i["status"] == "resolved"))
    });
    let id = listed["incidents"][0]["id"].as_i64().expect("id");
    let detail = served.get_json(&format!("/api/v1/incidents/{id}"));
    assert_eq!(
        detail["actions"][0]["remedy"], "supervisor-restart",
        "{detail:#}"
    );
    assert_eq!(detail["actions"][0]["state"], "succeeded");
    let kinds: Vec<&str> = detail["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    for kind in ["signal", "diagnosis", "action", "verification"] {
        assert!(
            kinds.contains(&kind),
            "no {kind} in the timeline: {kinds:?}"
        );
    }
}

/// Whether `GET path` answers 200; false on any connection or read error.
fn answers_200(address: &str, path: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = TcpStream::connect(address) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .is_err()
    {
        return false;
    }
    let mut response = String::new();
    stream.read_to_string(&mut response).is_ok() && response.starts_with("HTTP/1.1 200")
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

    assert_crash_incident_resolved(&served);
}

/// nginx's workers outlive a `kill -9`ed master and keep the port: the
/// supervisor must clear the whole process group before starting again.
#[test]
fn a_killed_nginx_master_is_replaced_without_its_orphaned_workers_blocking_the_port() {
    if Command::new("nginx").arg("-v").output().is_err() {
        let why = "nginx is not installed (apt-get install nginx-light)";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
        eprintln!("skipped: {why}");
        return;
    }
    let dir = TempDir::new("nginx");
    let port = closed_port();
    let root = dir.0.display().to_string();
    let nginx_conf = dir.0.join("nginx.conf");
    std::fs::write(
        &nginx_conf,
        format!(
            r#"
daemon off;
master_process on;
worker_processes 2;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location /health {{ return 200 "ok\n"; }}
    }}
}}
"#
        ),
    )
    .expect("nginx.conf");
    let config = dir.0.join("medic.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[server]
listen = "127.0.0.1:0"
[storage]
url = "sqlite://{root}/medic.db"
[policy]
cooldown = "0s"
[[targets]]
name = "web"
supervise = {{ command = ["nginx", "-p", "{root}", "-c", "{conf}"] }}
probes = [{{ kind = "http", url = "http://127.0.0.1:{port}/health", interval = "200ms", timeout = "100ms" }}]
[[targets.remedies]]
name = "restart"
action = {{ kind = "restart" }}
"#,
            conf = nginx_conf.display(),
        ),
    )
    .expect("config");
    let served = Served::start(&config, &[]);
    let address = format!("127.0.0.1:{port}");
    let answers = || answers_200(&address, "/health");
    let up = wait_until(Duration::from_secs(10), answers);
    assert!(up, "nginx never answered");
    let needle = format!("nginx: master process nginx -p {root}");
    let master = pid_of(&needle).expect("nginx master pid");

    Command::new("kill")
        .args(["-9", &master.to_string()])
        .status()
        .expect("kill -9");
    let back = wait_until(Duration::from_secs(10), || {
        pid_of(&needle).is_some_and(|pid| pid != master) && answers()
    });
    assert!(
        back,
        "nginx was not replaced: {}",
        std::fs::read_to_string(dir.0.join("error.log")).unwrap_or_default()
    );
    assert_crash_incident_resolved(&served);
}

/// Issue 13: `kill -9` of the agent leaves its supervised service running,
/// reparented. The next agent must not start a second copy beside it (which
/// would crash-loop on the busy port while the orphan runs unsupervised): it
/// adopts the orphan, watches it through a pidfd, and restarts it when it
/// dies like any process of its own.
#[test]
fn a_restarted_agent_never_runs_a_second_copy_of_a_supervised_service() {
    let dir = TempDir::new("orphan");
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
[[targets]]
name = "shop"
supervise = {{ command = ["{medic}", "chaos", "--listen", "127.0.0.1:{port}"] }}
probes = [{{ kind = "http", url = "http://127.0.0.1:{port}/health", interval = "200ms", timeout = "150ms" }}]
"#,
            db = dir.0.join("medic.db").display(),
            medic = env!("CARGO_BIN_EXE_medic"),
        ),
    )
    .expect("config");
    let needle = format!("chaos --listen 127.0.0.1:{port}");
    let copies = || {
        let out = Command::new("pgrep")
            .args(["-f", &needle])
            .output()
            .expect("pgrep");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.trim().parse::<u32>().ok())
            .collect::<Vec<_>>()
    };
    let address = format!("127.0.0.1:{port}");
    let first = Served::start(&config, &[]);
    assert!(
        wait_until(Duration::from_secs(10), || answers_200(&address, "/health")),
        "the shop never came up"
    );
    let orphan = copies();
    assert_eq!(orphan.len(), 1, "{orphan:?}");
    first.kill_hard();
    // The service outlives its agent.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(copies(), orphan, "the orphan should still run");

    let second = Served::start(&config, &[]);
    // Adopted, not restarted: the same process keeps serving.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(copies(), orphan, "the orphan was not adopted as it was");
    assert!(answers_200(&address, "/health"));
    let shown = second.get_json("/api/v1/components/shop");
    assert_eq!(shown["state"], "healthy", "{shown:#}");

    // Watched: when the adopted process dies, it is restarted, once.
    let status = Command::new("kill")
        .args(["-9", &orphan[0].to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    assert!(
        wait_until(Duration::from_secs(10), || {
            let now = copies();
            now.len() == 1 && now != orphan && answers_200(&address, "/health")
        }),
        "the adopted process was not restarted: {:?} (adopted {orphan:?})",
        copies()
    );
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(copies().len(), 1, "{:?}", copies());
    drop(second);
    assert!(
        wait_until(Duration::from_secs(5), || copies().is_empty()),
        "the agent's stop did not take its service along: {:?}",
        copies()
    );
}
