//! Issue 14: a target that keeps failing and keeps being fixed. Flap
//! detection tells a human once ("recurring"); it does not stop the healing
//! (`on_flapping = "heal"`, the default).

use std::time::{Duration, Instant};

use crate::chaos::Chaos;
use crate::support::{Served, TempDir, Webhook, poll};

#[test]
fn five_faults_in_a_row_are_all_healed_and_a_human_is_told_once() {
    let dir = TempDir::new("flapping");
    let chaos = Chaos::start("flapping");
    let hook = Webhook::start();
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
cooldown = "1s"
[[targets]]
name = "shop"
probes = [{{ kind = "http", url = "http://{chaos}/health", interval = "300ms", timeout = "250ms" }}]
health = {{ flap_window = "30s" }}
[[targets.remedies]]
name = "reconnect-db"
action = {{ kind = "http", method = "POST", url = "http://{chaos}/chaos/resolve" }}
[[targets.remedies]]
name = "page"
action = {{ kind = "escalate", webhook = "{hook}" }}
"#,
            db = dir.0.join("medic.db").display(),
            chaos = chaos.address,
            hook = hook.url,
        ),
    )
    .expect("config");
    let served = Served::start(&config, &[]);
    let healthy = || chaos.request("GET", "/health").0 == 200;
    assert!(poll(Duration::from_secs(10), || healthy().then_some(())).is_some());
    // Seen healthy by medic before the first fault.
    served.wait_for("/api/v1/components", Duration::from_secs(10), |json| {
        json["components"]
            .as_array()
            .is_some_and(|all| all.iter().all(|c| c["state"] == "healthy"))
    });

    let mut healed_in = Vec::new();
    for fault in 1..=5 {
        let (status, body) = chaos.request("POST", "/chaos/trigger?mode=error");
        assert_eq!(status, 202, "{body}");
        let started = Instant::now();
        poll(Duration::from_secs(20), || (!healthy()).then_some(())).expect("broken");
        let healed = poll(Duration::from_secs(20), || healthy().then_some(()));
        assert!(healed.is_some(), "fault {fault} was left broken");
        healed_in.push(started.elapsed());
        std::thread::sleep(Duration::from_millis(2_500));
    }
    assert!(
        healed_in
            .iter()
            .all(|took| *took <= Duration::from_secs(15)),
        "{healed_in:?}"
    );

    let listed = served.wait_for("/api/v1/incidents", Duration::from_secs(15), |json| {
        json["incidents"]
            .as_array()
            .is_some_and(|all| all.iter().filter(|i| i["status"] == "resolved").count() >= 5)
    });
    let all = listed["incidents"].as_array().expect("incidents");
    let recurring: Vec<_> = all
        .iter()
        .filter(|i| i["title"].as_str().is_some_and(|t| t.contains("recurring")))
        .collect();
    assert_eq!(recurring.len(), 1, "one recurring escalation: {listed:#}");
    assert_eq!(recurring[0]["status"], "escalated", "{listed:#}");
    let pages = hook.bodies.lock().expect("lock").len();
    assert_eq!(pages, 1, "one page for the recurrence");
    // The fixes past the flap limit waited out a growing cooldown.
    let deferred = all.iter().any(|i| {
        let id = i["id"].as_i64().unwrap_or_default();
        served
            .get_json(&format!("/api/v1/incidents/{id}"))
            .to_string()
            .contains("reconnect-db deferred")
    });
    assert!(deferred, "no deferral noted: {healed_in:?}");

    // Quiet for the flap window and healthy: the recurrence is over, and
    // so is the incident that told a human about it.
    let id = recurring[0]["id"].as_i64().expect("id");
    let path = format!("/api/v1/incidents/{id}");
    let closed = served.wait_for(&path, Duration::from_secs(45), |json| {
        json["incident"]["status"] == "resolved"
    });
    assert!(
        closed["timeline"].to_string().contains("healthy again"),
        "{closed:#}"
    );
}
