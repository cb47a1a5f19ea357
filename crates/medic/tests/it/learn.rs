//! Learning end to end: a reopened incident counts against its remedy, and
//! `medic learn export|import` moves the fix catalog between stores.

use std::path::{Path, PathBuf};
use std::time::Duration;

use medic_engine::diagnosis::FINGERPRINT_VERSION;
use serde_json::{Value, json};

use crate::chaos::Chaos;
use crate::medic;
use crate::support::{Served, TempDir};

fn write_config(dir: &Path, name: &str, body: &str) -> PathBuf {
    let db = dir.join(format!("{name}.db"));
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(
        &path,
        format!("[storage]\nurl = \"sqlite://{}\"\n{body}", db.display()),
    )
    .expect("config");
    path
}

fn export(config: &Path) -> Value {
    let out = medic(
        &[
            "learn",
            "export",
            "--config",
            config.to_str().expect("utf-8"),
        ],
        &[],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("export is JSON")
}

fn import(file: &Path, config: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["learn", "import", file.to_str().expect("utf-8"), "--config"];
    args.push(config.to_str().expect("utf-8"));
    args.extend_from_slice(extra);
    medic(&args, &[], None)
}

#[test]
fn learn_export_then_import_moves_the_catalog() {
    let dir = TempDir::new("learn-move");
    let (a, b) = (write_config(&dir.0, "a", ""), write_config(&dir.0, "b", ""));
    let seed = dir.0.join("seed.json");
    let catalog = json!({"version": 1, "fingerprint_version": FINGERPRINT_VERSION, "remedies": [
        {"fingerprint": "database:1f", "remedy": "reconnect-db", "attempts": 5, "successes": 4, "total_recover_ms": 4000},
        {"fingerprint": "database:1f", "remedy": "restart", "attempts": 2, "successes": 0, "total_recover_ms": 0},
        {"fingerprint": "network:2e", "remedy": "failover", "attempts": 1, "successes": 1, "total_recover_ms": 700},
    ]});
    std::fs::write(&seed, catalog.to_string()).expect("seed");
    let out = import(&seed, &a, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // From one installation's store to another's.
    let exported = export(&a);
    assert_eq!(exported, catalog);
    let file = dir.0.join("exported.json");
    std::fs::write(&file, exported.to_string()).expect("export file");
    let out = import(&file, &b, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(export(&b), catalog);

    // Importing again replaces (same counts); --add adds.
    assert!(import(&file, &b, &[]).status.success());
    assert_eq!(export(&b), catalog);
    assert!(import(&file, &b, &["--add"]).status.success());
    assert_eq!(export(&b)["remedies"][0]["attempts"], 10);
    assert_eq!(export(&b)["remedies"][0]["successes"], 8);

    // A bad file changes nothing: exit 2, one line naming the entry.
    let bad = dir.0.join("bad.json");
    std::fs::write(
        &bad,
        json!({"version": 1, "fingerprint_version": FINGERPRINT_VERSION, "remedies": [
            {"fingerprint": "x", "remedy": "ok", "attempts": 1, "successes": 1},
            {"fingerprint": "database:1f", "remedy": "restart", "attempts": 2, "successes": 3},
        ]})
        .to_string(),
    )
    .expect("bad");
    let out = import(&bad, &a, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("remedies[1] (database:1f / restart): 3 successes of only 2 attempts"),
        "{stderr}"
    );
    std::fs::write(&bad, "{not json").expect("bad");
    let out = import(&bad, &a, &[]);
    assert_eq!(out.status.code(), Some(2));
    // Names made under an older fingerprint scheme would never match again.
    let mut old_scheme = catalog.clone();
    old_scheme["fingerprint_version"] = json!(FINGERPRINT_VERSION - 1);
    std::fs::write(&bad, old_scheme.to_string()).expect("bad");
    let out = import(&bad, &a, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("export it again"), "{stderr}");
    assert_eq!(export(&a), catalog, "nothing imported from bad files");
}

#[test]
fn a_reopened_incident_counts_against_its_remedy() {
    let dir = TempDir::new("learn-reopen");
    let chaos = Chaos::start("learn-reopen");
    let config = write_config(
        &dir.0,
        "medic",
        &format!(
            r#"[server]
listen = "127.0.0.1:0"
[policy]
cooldown = "100ms"
reopen_window = "10m"
[[targets]]
name = "shop"
probes = [{{ kind = "http", url = "http://{chaos}/health", interval = "300ms", timeout = "250ms", expect_status = [200] }}]
health = {{ failure_threshold = 2, success_threshold = 1 }}
[[targets.remedies]]
name = "reconnect-db"
action = {{ kind = "http", method = "POST", url = "http://{chaos}/chaos/resolve" }}
"#,
            chaos = chaos.address
        ),
    );
    let served = Served::start(&config, &[]);
    let resolved = |n: usize| {
        move |json: &Value| {
            json["incidents"]
                .as_array()
                .is_some_and(|all| all.len() == n && all.iter().all(|i| i["status"] == "resolved"))
        }
    };
    let catalog = |served: &Served| served.get_json("/api/v1/learning")["remedies"][0].clone();

    let (status, body) = chaos.request("POST", "/chaos/trigger?mode=error");
    assert_eq!(status, 202, "{body}");
    served.wait_for("/api/v1/incidents", Duration::from_secs(20), resolved(1));
    let first = catalog(&served);
    assert_eq!(
        (first["attempts"].as_u64(), first["successes"].as_u64()),
        (Some(1), Some(1)),
        "{first}"
    );

    // The same failure again, well within the window: the fix did not hold.
    let (status, body) = chaos.request("POST", "/chaos/trigger?mode=error");
    assert_eq!(status, 202, "{body}");
    let listed = served.wait_for("/api/v1/incidents", Duration::from_secs(20), resolved(2));
    let second = catalog(&served);
    // Two runs, and only the second one's success stands.
    assert_eq!(
        (second["attempts"].as_u64(), second["successes"].as_u64()),
        (Some(2), Some(1)),
        "{second}"
    );
    let id = listed["incidents"][0]["id"].as_i64().expect("id");
    let detail = served.get_json(&format!("/api/v1/incidents/{id}"));
    let timeline = detail["timeline"].as_array().expect("timeline");
    assert!(
        timeline.iter().any(|e| e["message"]
            .as_str()
            .is_some_and(|m| m.contains("counts as a failure"))),
        "{timeline:#?}"
    );

    // The catalog as exported matches what the API says.
    let exported = export(&config);
    assert_eq!(exported["remedies"][0]["attempts"], 2);
    assert_eq!(exported["remedies"][0]["successes"], 1);
}

#[test]
fn a_new_failure_like_a_resolved_one_says_so_and_borrows_its_fix() {
    let dir = TempDir::new("learn-similar");
    let chaos = Chaos::start("learn-similar");
    let log = dir.0.join("shop.log");
    std::fs::write(&log, "").expect("log");
    let config = write_config(
        &dir.0,
        "medic",
        &format!(
            r#"[server]
listen = "127.0.0.1:0"
[policy]
cooldown = "100ms"
[[targets]]
name = "shop"
probes = [{{ kind = "http", url = "http://{chaos}/health", interval = "300ms", timeout = "250ms", expect_status = [200] }}]
logs = [{{ path = "{log}", tail_lines = 1 }}]
health = {{ failure_threshold = 2, success_threshold = 1 }}
[[targets.remedies]]
name = "reconnect-db"
action = {{ kind = "http", method = "POST", url = "http://{chaos}/chaos/resolve" }}
"#,
            chaos = chaos.address,
            log = log.display()
        ),
    );
    let served = Served::start(&config, &[]);
    // The tail starts at the file's end once the agent watches the target:
    // give it that moment, or the first line is never read.
    std::thread::sleep(Duration::from_secs(2));
    let append = |line: &str| {
        use std::io::Write as _;
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&log)
            .expect("open log");
        writeln!(file, "{line}").expect("append");
    };
    let fail = |line: &str| {
        append(line);
        std::thread::sleep(Duration::from_millis(600));
        let (status, body) = chaos.request("POST", "/chaos/trigger?mode=error");
        assert_eq!(status, 202, "{body}");
    };
    let resolved = |n: usize| {
        move |json: &Value| {
            json["incidents"]
                .as_array()
                .is_some_and(|all| all.len() == n && all.iter().all(|i| i["status"] == "resolved"))
        }
    };

    fail("ERROR orders: connect to 10.0.0.1:5432 failed: connection refused by the primary pool");
    served.wait_for("/api/v1/incidents", Duration::from_secs(20), resolved(1));
    fail("ERROR orders: connect to 10.0.0.2:5432 failed: connection refused by the standby pool");
    let listed = served.wait_for("/api/v1/incidents", Duration::from_secs(20), resolved(2));
    let (newer, older) = (&listed["incidents"][0], &listed["incidents"][1]);
    assert_ne!(newer["fingerprint"], older["fingerprint"], "{listed:#}");

    let id = newer["id"].as_i64().expect("id");
    let detail = served.get_json(&format!("/api/v1/incidents/{id}"));
    let similar = &detail["diagnosis"]["similar_to"];
    let first = served.get_json(&format!("/api/v1/incidents/{}", older["id"]));
    assert_eq!(
        similar["incident_id"], older["id"],
        "{detail:#}\nfirst: {first:#}"
    );
    assert!(
        similar["similarity"].as_f64().is_some_and(|s| s >= 0.5),
        "{detail:#}"
    );
    let timeline = detail["timeline"].as_array().expect("timeline");
    let wanted = format!("similar to incident #{}", older["id"]);
    assert!(
        timeline
            .iter()
            .any(|e| e["message"].as_str().is_some_and(|m| m.contains(&wanted))),
        "{timeline:#?}"
    );
}
