//! Outside text at the boundary, on SQLite and PostgreSQL: alerts, reports
//! and log lines carrying NUL, shell syntax (`$(…)`, backticks, `;`, `|`,
//! `&&`) and newlines are acknowledged, recorded and acted on — and flow
//! through every placeholder and `MEDIC_*` fact of argv remedies as data:
//! nothing they name is ever run.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::child_env::alert;
use crate::planted::{Agent, PgSchema};
use crate::support::{TempDir, poll};

const WAIT: Duration = Duration::from_secs(40);
const AM_TOKEN: &str = "am-token-Zq7Vx93LmP";

/// Shell syntax that would create a `pwned-*` file in `dir` if any of it ran.
fn hostile(dir: &Path) -> String {
    let d = dir.display();
    format!(
        "$(touch {d}/pwned-dollar) `touch {d}/pwned-tick`; touch {d}/pwned-semi | touch {d}/pwned-pipe \
         && touch {d}/pwned-and\ntouch {d}/pwned-newline \u{0} nul"
    )
}

fn config(dir: &Path, store: &str) -> String {
    let d = dir.display();
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
[storage]
url = "{store}"
[webhooks]
alertmanager = {{ token_env = "MEDIC_AM_TOKEN", target_labels = ["service"] }}
[[targets]]
name = "payments"
logs = [{{ path = "{d}/app.log" }}]
health = {{ verify_window = "1s" }}
[[targets.remedies]]
name = "quote"
action = {{ kind = "exec", command = ["sh", "-c", "printf '%s\n' \"$MEDIC_ROOT_CAUSE\" \"$MEDIC_TITLE\" \"$MEDIC_EVIDENCE\" \"$MEDIC_ALERT_SUMMARY\" \"$MEDIC_ALERT_EXTRA\" \"$1\" \"$2\" \"$3\"", "medic", "{{{{diagnosis.root_cause}}}}", "{{{{incident.title}}}}", "{{{{incident.fingerprint}}}}"] }}
[[targets.remedies]]
name = "plain"
action = {{ kind = "exec", command = ["printf", "%s|%s|%s|%s\n", "{{{{diagnosis.root_cause}}}}", "{{{{incident.title}}}}", "{{{{diagnosis.category}}}}", "{{{{remedy.name}}}}"] }}
[[targets]]
name = "orders"
health = {{ verify_window = "1s" }}
[[targets.remedies]]
name = "plain"
action = {{ kind = "exec", command = ["printf", "%s|%s\n", "{{{{diagnosis.root_cause}}}}", "{{{{incident.title}}}}"] }}
"#
    )
}

/// The incident of `target`, once its actions are done (`count` of them finished).
fn finished_incident(agent: &Agent, target: &str, count: usize) -> Value {
    poll(WAIT, || {
        let (_, list) = agent.call(
            "GET",
            &format!("/api/v1/incidents?target={target}"),
            &[],
            "",
        );
        let list: Value = serde_json::from_str(&list).ok()?;
        let id = list["incidents"].as_array()?.first()?["id"].as_i64()?;
        let (_, incident) = agent.call("GET", &format!("/api/v1/incidents/{id}"), &[], "");
        let incident: Value = serde_json::from_str(&incident).ok()?;
        let done = incident["actions"]
            .as_array()?
            .iter()
            .filter(|a| a["finished_at"].is_string())
            .count();
        (done >= count).then_some(incident)
    })
    .unwrap_or_else(|| {
        panic!(
            "{target}'s actions never finished; agent log:\n{}",
            agent.stderr()
        )
    })
}

fn hostile_text_is_recorded_and_never_run(store: &str, dir: &TempDir) {
    let payload = hostile(&dir.0);
    let log = dir.0.join("app.log");
    std::fs::write(&log, "").expect("log file");
    let config_path = dir.0.join("medic.toml");
    std::fs::write(&config_path, config(&dir.0, store)).expect("config");
    let agent = Agent::start(&config_path, &[("MEDIC_AM_TOKEN", AM_TOKEN)]);

    // A log line (raw NUL and all), then an alert carrying NUL in a label
    // and in annotations, then a generic report with NUL in data.message.
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .expect("log");
    writeln!(
        file,
        "ERROR db: connect to db:5432 failed: connection refused {}",
        payload.replace('\n', " ")
    )
    .expect("write log");
    let body = alert(
        json!({"alertname": "Disk\u{0}Full", "service": "payments", "extra": payload}),
        json!({
            "summary": format!("payments: connect to db:5432: connection refused {payload}"),
            "description": payload,
        }),
    );
    assert!(
        body.contains("\\u0000"),
        "NUL is sent as JSON writes it: {body}"
    );
    let auth = format!("Bearer {AM_TOKEN}");
    let (status, answer) = agent.call(
        "POST",
        "/webhooks/alertmanager",
        &[("Authorization", &auth)],
        &body,
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        serde_json::from_str::<Value>(&answer).expect("JSON")["new"],
        1,
        "{answer}"
    );
    let report = json!({
        "data": {
            "message": format!("orders: connect to db:5432: connection refused \u{0} {payload}"),
            "target": "orders",
            "labels": {"note": "a\u{0}b"},
            "logs": [payload],
        }
    })
    .to_string();
    let (status, answer) = agent.call("POST", "/webhooks/generic", &[], &report);
    assert_eq!(status, 200, "{answer}");

    // Both are acted on: every remedy ran, with the text as data.
    let payments = finished_incident(&agent, "payments", 2);
    let orders = finished_incident(&agent, "orders", 1);
    std::thread::sleep(Duration::from_millis(300));
    let planted: Vec<_> = std::fs::read_dir(&dir.0)
        .expect("dir")
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("pwned"))
        .collect();
    assert!(planted.is_empty(), "outside text ran: {planted:?}");

    let title = payments["incident"]["title"].as_str().unwrap_or_default();
    assert!(
        title.contains("Disk\u{FFFD}Full"),
        "NUL became U+FFFD: {title}"
    );
    for (name, incident) in [("payments", &payments), ("orders", &orders)] {
        let actions = incident["actions"].as_array().expect("actions");
        for action in actions {
            assert_eq!(action["state"], "succeeded", "{name}: {action}");
            let output = action["output"].as_str().unwrap_or_default();
            assert!(
                output.contains("$(touch") && output.contains("`touch"),
                "{name}: {output}"
            );
            assert!(!output.contains('\0'), "{name}: {output:?}");
        }
        assert!(
            incident["timeline"]
                .as_array()
                .is_some_and(|t| t.len() >= 4),
            "{incident}"
        );
    }
    // The quoting remedy saw the facts and the placeholders, each verbatim.
    let quoted = payments["actions"][0]["output"]
        .as_str()
        .unwrap_or_default();
    assert!(
        quoted.contains("touch") && quoted.matches("$(touch").count() >= 4,
        "{quoted}"
    );

    // Recorded: the same alert again is a duplicate, not a second incident.
    let (status, answer) = agent.call(
        "POST",
        "/webhooks/alertmanager",
        &[("Authorization", &auth)],
        &body,
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        serde_json::from_str::<Value>(&answer).expect("JSON")["new"],
        0,
        "{answer}"
    );
}

#[test]
fn hostile_text_is_recorded_and_never_run_on_sqlite() {
    let dir = TempDir::new("boundary-sqlite");
    let store = format!("sqlite://{}", dir.0.join("medic.db").display());
    hostile_text_is_recorded_and_never_run(&store, &dir);
}

#[test]
fn hostile_text_is_recorded_and_never_run_on_postgres() {
    let Some(schema) = PgSchema::create("boundary") else {
        return;
    };
    let dir = TempDir::new("boundary-postgres");
    hostile_text_is_recorded_and_never_run(&schema.url(), &dir);
}
