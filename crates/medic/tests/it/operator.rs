//! The operator CLI against a real `medic serve`: `medic status`,
//! `incidents`, `incident`, `approvals`, `approve`, `reject`, `ack`,
//! `resolve`, `stats`, tables and `--json`, and the exit codes scripts use.
//!
//! Deterministic by construction: every step waits, by polling the API
//! through the CLI with a generous deadline, for the state the next step
//! needs; nothing sleeps and hopes.

use std::process::Output;
use std::time::Duration;

use crate::chaos::Chaos;
use crate::support::{OPS_KEY, Served, TempDir, closed_port, poll};

const DEADLINE: Duration = Duration::from_secs(90);

/// `medic ARGS` against `url` with `key` as MEDIC_API_KEY.
fn cli(url: &str, key: Option<&str>, args: &[&str]) -> Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_medic"));
    command
        .args(args)
        .env("MEDIC_URL", url)
        .env_remove("MEDIC_API_KEY")
        .env_remove("MEDIC_CONFIG");
    if let Some(key) = key {
        command.env("MEDIC_API_KEY", key);
    }
    command.output().expect("medic runs")
}

fn json_of(url: &str, args: &[&str]) -> serde_json::Value {
    let mut args = args.to_vec();
    args.push("--json");
    let out = cli(url, Some(OPS_KEY), &args);
    assert!(
        out.status.success(),
        "medic {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("--json prints JSON")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Two targets on one chaos service, each with one high-risk remedy: every
/// fix waits for a human, so the test decides what happens and when.
fn start(dir: &TempDir, chaos: &Chaos) -> Served {
    let config = dir.0.join("medic.toml");
    let mut text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n[storage]\nurl = \"sqlite://{}\"\n\
         [auth]\nkeys = [{{ name = \"ops\", key_env = \"MEDIC_OPS_KEY\", scopes = [\"read\", \"write\", \"admin\"] }}]\n\
         [policy]\napproval_timeout = \"30m\"\n",
        dir.0.join("medic.db").display()
    );
    for target in ["shop", "orders"] {
        text.push_str(&format!(
            r#"
[[targets]]
name = "{target}"
probes = [{{ kind = "http", url = "http://{chaos}/health", interval = "300ms", timeout = "250ms" }}]
[[targets.remedies]]
name = "reconnect-db"
action = {{ kind = "http", method = "POST", url = "http://{chaos}/chaos/resolve" }}
risk = "high"
"#,
            chaos = chaos.address
        ));
    }
    std::fs::write(&config, text).expect("config");
    Served::start(&config, &[("MEDIC_OPS_KEY", OPS_KEY)])
}

/// The pending approval for `target`, once there is one.
fn pending_approval(url: &str, target: &str) -> serde_json::Value {
    poll(DEADLINE, || {
        json_of(url, &["approvals"])["approvals"]
            .as_array()
            .and_then(|all| all.iter().find(|a| a["target"] == target).cloned())
    })
    .unwrap_or_else(|| panic!("no approval for {target} within {DEADLINE:?}"))
}

/// The incident's status once `done` holds for it.
fn incident_status(url: &str, id: i64, done: impl Fn(&str) -> bool) -> String {
    let id = id.to_string();
    poll(DEADLINE, || {
        let full = json_of(url, &["incident", &id]);
        let status = full["incident"]["status"].as_str()?.to_string();
        done(&status).then_some(status)
    })
    .unwrap_or_else(|| panic!("incident {id} did not get there within {DEADLINE:?}"))
}

#[test]
fn an_operator_rejects_one_fix_approves_another_and_reads_the_history() {
    let dir = TempDir::new("operator");
    let chaos = Chaos::start("operator");
    let served = start(&dir, &chaos);
    let url = format!("http://{}", served.address);

    // Healthy to begin with, as a table and as JSON.
    let health = poll(DEADLINE, || {
        let status = json_of(&url, &["status"]);
        let components = status["components"].as_array()?;
        components
            .iter()
            .all(|c| c["state"] == "healthy")
            .then_some(status)
    })
    .expect("both targets healthy");
    assert_eq!(health["components"].as_array().map(Vec::len), Some(2));
    let table = stdout(&cli(&url, Some(OPS_KEY), &["status"]));
    assert!(
        table.contains("TARGET") && table.contains("shop"),
        "{table}"
    );
    assert!(table.contains("no approvals pending"), "{table}");

    let (status, body) = chaos.request("POST", "/chaos/trigger?mode=error");
    assert_eq!(status, 202, "{body}");

    // Both fixes wait for a human. Reject orders' first and wait until its
    // incident has ended, so approving shop's cannot race it.
    let orders = pending_approval(&url, "orders");
    let shop = pending_approval(&url, "shop");
    // The incident says what it waits for.
    let waiting = shop["incident_id"].as_i64().expect("incident id");
    incident_status(&url, waiting, |s| s == "awaiting_approval");
    let table = stdout(&cli(&url, Some(OPS_KEY), &["approvals"]));
    assert!(
        table.contains("reconnect-db") && table.contains("orders"),
        "{table}"
    );

    let rejected = cli(&url, Some(OPS_KEY), &["reject", &orders["id"].to_string()]);
    assert_eq!(rejected.status.code(), Some(0), "{rejected:?}");
    assert!(
        stdout(&rejected).contains("rejected"),
        "{}",
        stdout(&rejected)
    );
    let orders_incident = orders["incident_id"].as_i64().expect("incident id");
    let ended = incident_status(&url, orders_incident, |s| {
        matches!(s, "escalated" | "failed")
    });
    assert!(matches!(ended.as_str(), "escalated" | "failed"));

    // Deciding twice is refused by the API: exit 1 and its code on stderr.
    let again = cli(&url, Some(OPS_KEY), &["approve", &orders["id"].to_string()]);
    assert_eq!(again.status.code(), Some(1), "{again:?}");
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("conflict"),
        "{again:?}"
    );

    let approved = json_of(&url, &["approve", &shop["id"].to_string()]);
    assert_eq!(approved["status"], "approved", "{approved}");
    let shop_incident = shop["incident_id"].as_i64().expect("incident id");
    incident_status(&url, shop_incident, |s| s == "resolved");

    // The history, filtered, as a table and as JSON.
    let resolved = json_of(&url, &["incidents", "--status", "resolved"]);
    let ids: Vec<i64> = resolved["incidents"]
        .as_array()
        .expect("incidents")
        .iter()
        .filter_map(|i| i["id"].as_i64())
        .collect();
    assert_eq!(ids, vec![shop_incident]);
    let orders_only = json_of(&url, &["incidents", "--target", "orders"]);
    assert!(
        orders_only["incidents"]
            .as_array()
            .expect("incidents")
            .iter()
            .all(|i| i["target"] == "orders")
    );
    // Paging: one at a time, newest first, the table saying how to go on.
    let first = json_of(&url, &["incidents", "--limit", "1"]);
    let newest = first["incidents"][0]["id"].as_i64().expect("newest");
    let page = stdout(&cli(&url, Some(OPS_KEY), &["incidents", "--limit", "1"]));
    assert!(
        page.contains(&format!("(more: medic incidents --before {newest})")),
        "{page}"
    );
    let next = json_of(&url, &["incidents", "--before", &newest.to_string()]);
    let older: Vec<i64> = next["incidents"]
        .as_array()
        .expect("incidents")
        .iter()
        .filter_map(|i| i["id"].as_i64())
        .collect();
    assert!(
        !older.is_empty() && older.iter().all(|id| *id < newest),
        "{next}"
    );

    let table = stdout(&cli(&url, Some(OPS_KEY), &["incidents"]));
    assert!(table.starts_with("ID"), "{table}");
    assert!(
        table.contains("resolved") && table.contains("orders"),
        "{table}"
    );

    let timeline = stdout(&cli(
        &url,
        Some(OPS_KEY),
        &["incident", &shop_incident.to_string()],
    ));
    assert!(timeline.contains("timeline:"), "{timeline}");
    assert!(timeline.contains("approved by ops"), "{timeline}");
    assert!(timeline.contains("reconnect-db"), "{timeline}");

    // An ended incident can still be acknowledged (a human saw it).
    let acked = json_of(&url, &["ack", &orders_incident.to_string()]);
    assert_eq!(acked["acknowledged_by"], "ops", "{acked}");
    // ...and one medic gave up on can be resolved by the human who fixed it.
    let fixed = json_of(&url, &["resolve", &orders_incident.to_string()]);
    assert_eq!(fixed["status"], "resolved", "{fixed}");
    assert!(fixed["time_to_recover_ms"].as_i64().is_some(), "{fixed}");

    let stats = json_of(&url, &["stats"]);
    assert!(
        stats["overall"]["total_recoveries"].as_u64() >= Some(1),
        "{stats}"
    );
    let table = stdout(&cli(&url, Some(OPS_KEY), &["stats"]));
    assert!(
        table.contains("recoveries:") && table.contains("reconnect-db"),
        "{table}"
    );
}

#[test]
fn exit_codes_tell_a_script_what_went_wrong() {
    let dir = TempDir::new("operator-exit");
    let chaos = Chaos::start("operator-exit");
    let served = start(&dir, &chaos);
    let url = format!("http://{}", served.address);

    // No key: the API refuses (1) and the hint names the variable.
    let out = cli(&url, None, &["incidents"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("401") && stderr.contains("MEDIC_API_KEY"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    // Not found: 1.
    let out = cli(&url, Some(OPS_KEY), &["incident", "999999"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not_found"));

    // Usage: 2 (a bad id, a bad URL).
    let out = cli(&url, Some(OPS_KEY), &["incident", "twelve"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let out = cli("localhost:7400", Some(OPS_KEY), &["status"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");

    // Nobody listening: 3, with the cause.
    let nobody = format!("http://127.0.0.1:{}", closed_port());
    let out = cli(&nobody, Some(OPS_KEY), &["status"]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot reach the agent"), "{stderr}");
    assert!(stderr.to_lowercase().contains("refused"), "{stderr}");
}
