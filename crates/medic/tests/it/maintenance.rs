//! Issue 16: maintenance windows through the real binary. A window opened
//! through the API (`medic maintenance start`) holds a fault's incident and
//! remedy back while probes go on; ending it (`medic maintenance end`) with
//! the target still down opens the incident within one probe interval, and
//! the remedy heals it. A window in the config covers targets by label.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::chaos::Chaos;
use crate::support::{Served, TempDir, poll, request, serve_config};

fn cli(served: &Served, args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_medic"))
        .args(args)
        .env("MEDIC_URL", format!("http://{}", served.address))
        .env_remove("MEDIC_API_KEY")
        .output()
        .expect("medic runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

fn incidents(served: &Served) -> Vec<Value> {
    served.get_json("/api/v1/incidents")["incidents"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn state_of(served: &Served, target: &str) -> String {
    served.get_json(&format!("/api/v1/components/{target}"))["state"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn write_config(dir: &TempDir, chaos: &Chaos, extra: &str) -> std::path::PathBuf {
    serve_config(
        dir,
        &format!(
            r#"
[[targets]]
name = "shop"
labels = {{ team = "orders" }}
probes = [{{ kind = "http", url = "http://{chaos}/health", interval = "1s", timeout = "500ms" }}]
[[targets.remedies]]
name = "reconnect-db"
action = {{ kind = "http", method = "POST", url = "http://{chaos}/chaos/resolve" }}
{extra}
"#,
            chaos = chaos.address,
        ),
    )
}

#[test]
fn a_window_holds_healing_back_and_its_end_opens_the_incident_at_once() {
    let dir = TempDir::new("maintenance-api");
    let chaos = Chaos::start("maintenance-api");
    let served = Served::start(&write_config(&dir, &chaos, ""), &[]);
    served.wait_for("/api/v1/components/shop", Duration::from_secs(10), |c| {
        c["state"] == "healthy"
    });

    let (ok, said) = cli(
        &served,
        &[
            "maintenance",
            "start",
            "--target",
            "shop",
            "--for",
            "10m",
            "--name",
            "db upgrade",
        ],
    );
    assert!(ok, "{said}");
    assert!(
        said.contains("db upgrade") && said.contains("covers shop"),
        "{said}"
    );
    let listed = served.get_json("/api/v1/maintenance");
    let window = &listed["windows"][0];
    assert_eq!(window["active"], true, "{listed}");
    assert_eq!(window["covers"], serde_json::json!(["shop"]), "{listed}");
    let id = window["id"].as_i64().expect("an API window has an id");

    // The fault: probes see it, nothing heals it.
    let (status, _) = chaos.request("POST", "/chaos/trigger?mode=error");
    assert_eq!(status, 202);
    poll(Duration::from_secs(10), || {
        (state_of(&served, "shop") == "unhealthy").then_some(())
    })
    .expect("the shop is seen down during the window");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(chaos.request("GET", "/health").0, 500, "no remedy ran");
    assert_eq!(
        incidents(&served),
        Vec::<Value>::new(),
        "no incident opened"
    );
    let probes = served.get_json("/api/v1/components/shop");
    assert_eq!(probes["state"], "unhealthy", "probes go on: {probes}");

    // The window ends with the shop still down: its incident opens within
    // one probe interval (1 s), and the remedy heals it.
    let (ok, said) = cli(&served, &["maintenance", "end", &id.to_string()]);
    let ended = Instant::now();
    assert!(ok, "{said}");
    let opened = poll(Duration::from_secs(5), || {
        incidents(&served).first().cloned()
    })
    .expect("an incident after the window");
    let took = ended.elapsed();
    assert!(
        took <= Duration::from_secs(1),
        "incident opened {took:?} after the end"
    );
    assert_eq!(opened["target"], "shop");
    poll(Duration::from_secs(15), || {
        (chaos.request("GET", "/health").0 == 200).then_some(())
    })
    .expect("healed once the window ended");
    let healed = served.wait_for("/api/v1/incidents", Duration::from_secs(15), |json| {
        json["incidents"][0]["status"] == "resolved"
    });
    assert_eq!(healed["incidents"].as_array().map(Vec::len), Some(1));
    let (ok, said) = cli(&served, &["maintenance", "list"]);
    assert!(ok && said.contains("no maintenance windows"), "{said}");
}

#[test]
fn a_config_window_covers_targets_by_label_and_healing_waits_for_its_end() {
    let dir = TempDir::new("maintenance-config");
    let chaos = Chaos::start("maintenance-config");
    // Starts at once and lasts 6 s; covers the shop by its label.
    let start = chrono::Utc::now() + chrono::Duration::seconds(1);
    let end = start + chrono::Duration::seconds(6);
    let extra = format!(
        "[[maintenance]]\nname = \"orders freeze\"\nlabels = {{ team = \"orders\" }}\n\
         start = \"{}\"\nend = \"{}\"\n",
        start.to_rfc3339(),
        end.to_rfc3339()
    );
    let config = write_config(&dir, &chaos, &extra);
    let checked = Command::new(env!("CARGO_BIN_EXE_medic"))
        .args(["check", "--offline", "--config"])
        .arg(&config)
        .output()
        .expect("check");
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    let served = Served::start(&config, &[]);
    poll(Duration::from_secs(10), || {
        let listed = served.get_json("/api/v1/maintenance");
        (listed["windows"][0]["active"] == true).then_some(())
    })
    .expect("the config's window comes into force");
    // Config windows have no id: the API ends only its own.
    let (status, body) = request(&served.address, "DELETE", "/api/v1/maintenance/1", "");
    assert_eq!(status, 404, "{body}");

    let (status, _) = chaos.request("POST", "/chaos/trigger?mode=error");
    assert_eq!(status, 202);
    poll(Duration::from_secs(10), || {
        (state_of(&served, "shop") == "unhealthy").then_some(())
    })
    .expect("seen down");
    assert_eq!(
        incidents(&served),
        Vec::<Value>::new(),
        "held by the window"
    );
    // After the window, the shop is healed without a new fault.
    poll(Duration::from_secs(20), || {
        (chaos.request("GET", "/health").0 == 200).then_some(())
    })
    .expect("healed after the window");
    assert!(
        chrono::Utc::now() >= end,
        "healed only once the window was over"
    );
}
