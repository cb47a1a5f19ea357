//! Issue 16: dependencies through the real binary, with real processes. A
//! shop (`medic chaos --redis`) depends on a redis-server. Redis is killed:
//! the shop fails too, but only Redis is remedied; the shop's incident is
//! linked to Redis's, runs nothing, and resolves when the shop recovers.
//! Then the shop fails alone and gets its own remedy. The storm brake holds
//! disruptive remedies while too few of a group are healthy.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::{
    KillOnDrop, Served, TempDir, closed_port, missing_tools, poll, request, serve_config,
};

const REDIS: &str = "/usr/bin/redis-server";

fn incidents_of(served: &Served, target: &str) -> Vec<Value> {
    served.get_json(&format!("/api/v1/incidents?target={target}"))["incidents"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn detail(served: &Served, id: &Value) -> Value {
    served.get_json(&format!("/api/v1/incidents/{id}"))
}

/// Every action run for `target`, over all its incidents.
fn actions_of(served: &Served, target: &str) -> Vec<Value> {
    incidents_of(served, target)
        .iter()
        .flat_map(|i| {
            detail(served, &i["id"])["actions"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

fn start_redis(port: u16, dir: &std::path::Path) -> KillOnDrop {
    let child = Command::new(REDIS)
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server starts");
    let up = poll(Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    });
    assert!(up.is_some(), "redis-server did not listen on {port}");
    KillOnDrop(child)
}

#[test]
fn a_dead_redis_is_healed_and_its_victim_is_never_restarted() {
    if missing_tools(&[REDIS], "redis-server") {
        return;
    }
    let dir = TempDir::new("dependencies");
    let redis_port = closed_port();
    let shop_port = closed_port();
    let redis = start_redis(redis_port, &dir.0);
    let pidfile = dir.0.join("redis-again.pid");
    // The remedy starts Redis again, as a daemon, after 2 s: a database
    // takes its time to come back, long enough for the shop to be seen down.
    let config = serve_config(
        &dir,
        &format!(
            r#"
[policy]
cooldown = "1s"

[[targets]]
name = "cache"
probes = [{{ kind = "tcp", address = "127.0.0.1:{redis_port}", interval = "300ms", timeout = "250ms" }}]
[[targets.remedies]]
name = "start-redis"
action = {{ kind = "exec", command = ["sh", "-c", "sleep 2; exec {redis} --port {redis_port} --bind 127.0.0.1 --save '' --appendonly no --daemonize yes --pidfile {pidfile} --dir {dir}"], timeout = "10s" }}

[[targets]]
name = "shop"
depends_on = ["cache"]
supervise = {{ command = ["{medic}", "chaos", "--listen", "127.0.0.1:{shop_port}", "--redis", "127.0.0.1:{redis_port}"] }}
probes = [{{ kind = "http", url = "http://127.0.0.1:{shop_port}/health", interval = "300ms", timeout = "250ms" }}]
health = {{ verify_window = "5s" }}
[[targets.remedies]]
name = "restart"
action = {{ kind = "restart" }}
"#,
            redis = REDIS,
            pidfile = pidfile.display(),
            dir = dir.0.display(),
            medic = env!("CARGO_BIN_EXE_medic"),
        ),
    );
    let served = Served::start(&config, &[]);
    served.wait_for("/api/v1/components", Duration::from_secs(15), |json| {
        json["components"]
            .as_array()
            .is_some_and(|all| all.len() == 2 && all.iter().all(|c| c["state"] == "healthy"))
    });

    // Redis dies: both fail; only Redis is remedied.
    drop(redis);
    let resolved = |served: &Served, target: &str| {
        let all = incidents_of(served, target);
        (!all.is_empty() && all.iter().all(|i| i["status"] == "resolved")).then_some(all)
    };
    let cache = poll(Duration::from_secs(30), || resolved(&served, "cache"))
        .expect("Redis's incident resolved by its remedy");
    let shop = poll(Duration::from_secs(30), || resolved(&served, "shop"))
        .expect("the shop's incident resolved when the shop recovered");
    assert_eq!(cache.len(), 1, "{cache:?}");
    assert_eq!(shop.len(), 1, "{shop:?}");
    let cache_id = &cache[0]["id"];
    assert_eq!(
        &shop[0]["caused_by"], cache_id,
        "linked to its cause: {shop:?}"
    );
    assert_eq!(
        detail(&served, cache_id)["dependents"],
        serde_json::json!([shop[0]["id"]]),
        "the cause lists its victim"
    );
    let healed_by: Vec<Value> = actions_of(&served, "cache")
        .iter()
        .map(|a| a["remedy"].clone())
        .collect();
    assert_eq!(healed_by, ["start-redis"], "Redis was started again");
    assert_eq!(
        actions_of(&served, "shop"),
        Vec::<Value>::new(),
        "the victim was never restarted"
    );
    let notes = detail(&served, &shop[0]["id"])["timeline"].to_string();
    assert!(
        notes.contains("cache is down and shop depends on it"),
        "{notes}"
    );

    // The shop fails on its own: its own ladder runs.
    let shop_address = format!("127.0.0.1:{shop_port}");
    let (status, _) = request(&shop_address, "POST", "/chaos/trigger?mode=error", "");
    assert_eq!(status, 202);
    let healed = poll(Duration::from_secs(30), || {
        let all = incidents_of(&served, "shop");
        (all.len() == 2 && all.iter().all(|i| i["status"] == "resolved")).then_some(all)
    })
    .expect("the shop's own failure healed");
    let own = healed
        .iter()
        .find(|i| i["id"] != shop[0]["id"])
        .expect("the new incident");
    assert_eq!(own["caused_by"], Value::Null, "{own}");
    let actions = detail(&served, &own["id"])["actions"].clone();
    assert_eq!(actions[0]["remedy"], "restart", "{actions}");
    assert_eq!(actions[0]["verified"], true, "{actions}");

    // The daemon the remedy started goes with the test.
    if let Ok(pid) = std::fs::read_to_string(&pidfile) {
        let _ = Command::new("kill").arg(pid.trim()).status();
    }
}

#[test]
fn the_storm_brake_holds_restarts_while_most_of_a_group_is_down() {
    let dir = TempDir::new("storm-brake");
    let ports: Vec<u16> = (0..3).map(|_| closed_port()).collect();
    let mut text = String::from(
        "[policy]\ncooldown = \"1s\"\nmin_healthy = \"50%\"\nmin_healthy_by = \"service\"\n",
    );
    for (i, port) in ports.iter().enumerate() {
        text.push_str(&format!(
            r#"
[[targets]]
name = "web-{i}"
labels = {{ service = "web" }}
supervise = {{ command = ["{medic}", "chaos", "--listen", "127.0.0.1:{port}"] }}
probes = [{{ kind = "http", url = "http://127.0.0.1:{port}/health", interval = "300ms", timeout = "250ms" }}]
[[targets.remedies]]
name = "restart"
action = {{ kind = "restart" }}
"#,
            medic = env!("CARGO_BIN_EXE_medic"),
        ));
    }
    let config = serve_config(&dir, &text);
    let served = Served::start(&config, &[]);
    served.wait_for("/api/v1/components", Duration::from_secs(15), |json| {
        json["components"]
            .as_array()
            .is_some_and(|all| all.len() == 3 && all.iter().all(|c| c["state"] == "healthy"))
    });

    // Two of three fail: one healthy in three is under 50 %.
    for port in &ports[..2] {
        let (status, _) = request(
            &format!("127.0.0.1:{port}"),
            "POST",
            "/chaos/trigger?mode=error",
            "",
        );
        assert_eq!(status, 202);
    }
    let braked = poll(Duration::from_secs(15), || {
        let held: Vec<Value> = ["web-0", "web-1"]
            .iter()
            .filter_map(|t| incidents_of(&served, t).first().cloned())
            .filter(|i| {
                detail(&served, &i["id"])["timeline"]
                    .to_string()
                    .contains("storm brake")
            })
            .collect();
        (held.len() == 2).then_some(held)
    })
    .expect("both failing targets' restarts held by the storm brake");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(actions_of(&served, "web-0"), Vec::<Value>::new());
    assert_eq!(actions_of(&served, "web-1"), Vec::<Value>::new());
    assert_eq!(braked.len(), 2);

    // One comes back by hand: two in three are healthy, the brake lets go.
    let (status, _) = request(
        &format!("127.0.0.1:{}", ports[0]),
        "POST",
        "/chaos/resolve",
        "",
    );
    assert_eq!(status, 200);
    let restarted = poll(Duration::from_secs(20), || {
        let actions = actions_of(&served, "web-1");
        actions
            .iter()
            .any(|a| a["remedy"] == "restart" && a["verified"] == true)
            .then_some(actions)
    })
    .expect("web-1 restarted once the group was healthy enough");
    assert_eq!(restarted.len(), 1, "{restarted:?}");
    assert_eq!(
        actions_of(&served, "web-0"),
        Vec::<Value>::new(),
        "web-0 healed by hand"
    );
}
