//! Issue 14: failover that fails over. Two real chaos services stand for a
//! primary and a backup; the target's probe follows `{{target.endpoint}}`.

use std::time::Duration;

use crate::chaos::Chaos;
use crate::support::{Served, TempDir, poll};

fn component(served: &Served) -> serde_json::Value {
    served.get_json("/api/v1/components/shop")
}

#[test]
fn a_broken_primary_fails_over_to_the_backup_which_survives_a_restart_then_fails_back() {
    let dir = TempDir::new("failover");
    let primary = Chaos::start("failover-primary");
    let backup = Chaos::start("failover-backup");
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
endpoints = ["{primary}", "{backup}"]
failback = "auto"
failback_after = "2s"
probes = [{{ kind = "http", url = "http://{{{{target.endpoint}}}}/health", interval = "300ms", timeout = "250ms" }}]
[[targets.remedies]]
name = "switch"
action = {{ kind = "failover" }}
"#,
            db = dir.0.join("medic.db").display(),
            primary = primary.address,
            backup = backup.address,
        ),
    )
    .expect("config");
    let on = |served: &Served, endpoint: &str| {
        let view = component(served);
        (view["state"] == "healthy" && view["active_endpoint"] == endpoint).then_some(view)
    };
    let served = Served::start(&config, &[]);
    let view = poll(Duration::from_secs(15), || on(&served, &primary.address))
        .expect("healthy on the primary");
    assert_eq!(view["endpoints"][1], backup.address.as_str(), "{view}");

    let (status, body) = primary.request("POST", "/chaos/trigger?mode=error");
    assert_eq!(status, 202, "{body}");
    let listed = served.wait_for("/api/v1/incidents", Duration::from_secs(20), |json| {
        json["incidents"]
            .as_array()
            .is_some_and(|all| all.iter().any(|i| i["status"] == "resolved"))
    });
    let id = listed["incidents"][0]["id"].as_i64().expect("id");
    let detail = served.get_json(&format!("/api/v1/incidents/{id}"));
    let action = &detail["actions"][0];
    assert_eq!(action["remedy"], "switch", "{detail:#}");
    assert_eq!(action["state"], "succeeded", "{detail:#}");
    assert_eq!(action["verified"], true, "{detail:#}");
    assert!(
        action["output"]
            .as_str()
            .is_some_and(|out| out.contains(&backup.address)),
        "{detail:#}"
    );
    // Healthy while the primary is still broken: the probe is on the backup.
    let view = on(&served, &backup.address).expect("on the backup");
    assert!(
        view["probes"][0]
            .as_str()
            .is_some_and(|p| p.contains(&backup.address)),
        "{view}"
    );
    assert_eq!(primary.request("GET", "/health").0, 500, "still broken");

    // A restart stays where the failover went.
    drop(served);
    let served = Served::start(&config, &[]);
    poll(Duration::from_secs(15), || on(&served, &backup.address))
        .expect("the backup stays active after a restart");

    // The primary recovers: after failback_after, it is active again.
    let (status, body) = primary.request("POST", "/chaos/resolve");
    assert!((200..300).contains(&status), "{status} {body}");
    poll(Duration::from_secs(20), || on(&served, &primary.address))
        .expect("failed back to the primary");
    let incidents = served.get_json("/api/v1/incidents");
    assert_eq!(
        incidents["incidents"].as_array().map(Vec::len),
        Some(1),
        "a failback is not an incident: {incidents:#}"
    );
}
