//! One redactor, everywhere: one secret of each kind, planted in a log line
//! and in alerts, is found on no surface — the API's incidents (diagnosis,
//! timeline, actions), the live feed, the escalations a stand-in receives
//! (generic, Slack, PagerDuty) and the agent's own log. The PagerDuty
//! routing key still goes where it is meant to.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::child_env::alert;
use crate::planted::Agent;
use crate::support::{TempDir, Webhook, poll};

const WAIT: Duration = Duration::from_secs(40);
const AM_TOKEN: &str = "am-token-Zq7Vx93LmP";
const ROUTING_KEY: &str = "pd-routing-key-77aa88bb";

/// What must never be seen: one of each kind the redactor knows.
const PLANTED: &[(&str, &str)] = &[
    ("URL credentials", "S3cretPw9"),
    ("bearer token", "tok3nValue1234567"),
    ("basic credentials", "dXNlcjpwYXNzd29yZDEyMw=="),
    ("password=", "hunter2xyz"),
    ("AWS key", "AKIAIOSFODNN7EXAMPLE"),
    ("GitHub token", "ghp_0123456789abcdefABCDEF0123456789abcd"),
    ("Slack token", "xoxb-1234567890-abcdefghijkl"),
    ("JWT", "eyJzdWIiOiIxMjM0In0"),
    ("PEM body", "MIIEvgIBADANBgkqhkiG9w0BAQEFAASC"),
    ("configured secret (webhook token)", AM_TOKEN),
];

/// One line carrying every kind but the PEM block.
fn leaky_line() -> String {
    format!(
        "ERROR db: connect to postgres://app:S3cretPw9@db:5432/shop failed: connection refused; \
         Authorization: Bearer tok3nValue1234567; Authorization: Basic dXNlcjpwYXNzd29yZDEyMw==; \
         password=hunter2xyz; key AKIAIOSFODNN7EXAMPLE; ghp_0123456789abcdefABCDEF0123456789abcd; \
         xoxb-1234567890-abcdefghijkl; jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlX2hlcmU; \
         sent with {AM_TOKEN} and {ROUTING_KEY}"
    )
}

fn target(name: &str, log: &str, remedies: &str) -> String {
    format!(
        r#"
[[targets]]
name = "{name}"
logs = [{{ path = "{log}" }}]
health = {{ verify_window = "1s" }}
{remedies}
"#
    )
}

#[test]
fn planted_secrets_are_redacted_on_every_surface() {
    let dir = TempDir::new("redaction");
    let hook = Webhook::start();
    let log = dir.0.join("app.log");
    let pem = "-----BEGIN PRIVATE KEY-----\nMIIEvgIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n";
    std::fs::write(&log, "").expect("log file");
    let log_path = log.display().to_string();
    let escalate = |format: &str| {
        format!(
            "[[targets.remedies]]\nname = \"tell-{format}\"\naction = {{ kind = \"escalate\", webhook = \"{}\", format = \"{format}\"{} }}\n",
            hook.url,
            if format == "pagerduty" {
                ", routing_key_env = \"MEDIC_PD_KEY\""
            } else {
                ""
            }
        )
    };
    // payments: a remedy that prints a secret (action output), then a
    // generic escalation; billing: Slack; ledger: PagerDuty.
    let print = format!(
        "[[targets.remedies]]\nname = \"print\"\naction = {{ kind = \"exec\", command = [\"printf\", \"%s\\n\", \"{}\"] }}\n{}",
        leaky_line().replace('"', "\\\""),
        escalate("generic")
    );
    let config = dir.0.join("medic.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[server]
listen = "127.0.0.1:0"
[storage]
url = "sqlite://{db}"
[webhooks]
alertmanager = {{ token_env = "MEDIC_AM_TOKEN", target_labels = ["service"] }}
{payments}{billing}{ledger}"#,
            db = dir.0.join("medic.db").display(),
            payments = target("payments", &log_path, &print),
            billing = target("billing", &log_path, &escalate("slack")),
            ledger = target("ledger", &log_path, &escalate("pagerduty")),
        ),
    )
    .expect("config");
    let agent = Agent::start(
        &config,
        &[("MEDIC_AM_TOKEN", AM_TOKEN), ("MEDIC_PD_KEY", ROUTING_KEY)],
    );
    let feed = live_feed(&agent.served.address);

    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .expect("log");
    writeln!(file, "{}\n{pem}", leaky_line()).expect("write log");
    for service in ["payments", "billing", "ledger"] {
        let body = alert(
            json!({"alertname": "Leak", "service": service, "dsn": "postgres://app:S3cretPw9@db:5432/shop"}),
            json!({
                "summary": format!("{service}: connect to db:5432: connection refused (password=hunter2xyz)"),
                "description": format!("{}\n{pem}", leaky_line()),
            }),
        );
        let (status, answer) = agent.call(
            "POST",
            "/webhooks/alertmanager",
            &[("Authorization", &format!("Bearer {AM_TOKEN}"))],
            &body,
        );
        assert_eq!(status, 200, "{answer}");
    }

    // Three escalations: one per target.
    let bodies = poll(WAIT, || {
        let bodies = hook.bodies.lock().expect("lock").clone();
        (bodies.len() >= 3).then_some(bodies)
    })
    .unwrap_or_else(|| panic!("escalations missing; agent log:\n{}", agent.stderr()));
    let mut escalations = String::new();
    let mut routing_keys = Vec::new();
    for body in &bodies {
        let mut value: Value = serde_json::from_str(body).expect("JSON escalation");
        if let Some(key) = value.as_object_mut().and_then(|o| o.remove("routing_key")) {
            routing_keys.push(key);
        }
        escalations.push_str(&value.to_string());
    }
    assert_eq!(
        routing_keys,
        [json!(ROUTING_KEY)],
        "PagerDuty gets its key: {bodies:?}"
    );

    let (status, list) = agent.call("GET", "/api/v1/incidents", &[], "");
    assert_eq!(status, 200, "{list}");
    let list: Value = serde_json::from_str(&list).expect("JSON");
    let mut incidents = list.to_string();
    let ids: Vec<i64> = list["incidents"]
        .as_array()
        .or(list.as_array())
        .expect("a list")
        .iter()
        .filter_map(|i| i["id"].as_i64())
        .collect();
    assert_eq!(ids.len(), 3, "{list}");
    let mut saw_output = false;
    for id in ids {
        let (status, incident) = agent.call("GET", &format!("/api/v1/incidents/{id}"), &[], "");
        assert_eq!(status, 200, "{incident}");
        saw_output |= incident.contains("[REDACTED]") && incident.contains("\"output\"");
        incidents.push_str(&incident);
    }
    assert!(incidents.contains("[REDACTED]"), "{incidents}");
    assert!(
        saw_output,
        "the printing remedy's output is recorded: {incidents}"
    );
    std::thread::sleep(Duration::from_millis(500));
    let live = feed.lock().expect("lock").clone();
    assert!(
        live.contains("timeline"),
        "the live feed carried events: {live}"
    );
    let stderr = agent.stderr();
    assert!(
        stderr.contains("action finished"),
        "the agent logged: {stderr}"
    );
    // The text got to every surface, redacted.
    for (surface, text) in [("escalations", &escalations), ("live feed", &live)] {
        assert!(
            text.contains("postgres://app:[REDACTED]@db:5432/shop"),
            "{surface}: {text}"
        );
    }

    for (surface, text) in [
        ("API incidents", &incidents),
        ("escalations", &escalations),
        ("live feed", &live),
        ("agent log", &stderr),
    ] {
        for (kind, secret) in PLANTED {
            assert!(
                !text.contains(secret),
                "{kind} on {surface}: {secret}\n{text}"
            );
        }
        assert!(!text.contains(ROUTING_KEY), "the routing key on {surface}");
    }
}

/// Reads `/api/v1/events/stream` (server-sent events) into a buffer, in the background.
fn live_feed(address: &str) -> Arc<Mutex<String>> {
    let mut stream = TcpStream::connect(address).expect("connects");
    write!(
        stream,
        "GET /api/v1/events/stream HTTP/1.1\r\nHost: {address}\r\nAccept: text/event-stream\r\n\r\n"
    )
    .expect("writes");
    let buffer = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&buffer);
    std::thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        while let Ok(n) = stream.read(&mut chunk) {
            if n == 0 {
                break;
            }
            sink.lock()
                .expect("lock")
                .push_str(&String::from_utf8_lossy(&chunk[..n]));
        }
    });
    buffer
}
