//! A real Alertmanager (Debian's `prometheus-alertmanager`) sends its webhook
//! to `medic serve`: a posted alert opens an incident on the target its
//! `service` label names, medic remedies it, Alertmanager's repeats are
//! dropped as re-deliveries, and the resolved notification closes it.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Http, KillOnDrop, Served, TempDir, closed_port, missing_tools, poll};

const ALERTMANAGER: &str = "/usr/bin/prometheus-alertmanager";
const WAIT: Duration = Duration::from_secs(30);
const TOKEN: &str = "alertmanager-token-for-medic";

/// Alertmanager routing every alert to medic's webhook. Killed on drop,
/// before its data dir goes.
struct Alertmanager {
    http: Http,
    url: String,
    _process: KillOnDrop,
    dir: TempDir,
}

impl Alertmanager {
    fn start(medic: &str) -> Self {
        let dir = TempDir::new("alertmanager");
        let config = dir.0.join("alertmanager.yml");
        // Short intervals so the test sees a first notification after 1 s
        // and repeats of it every 2 s.
        std::fs::write(
            &config,
            format!(
                r#"
route:
  receiver: medic
  group_by: [alertname, service]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 2s
receivers:
  - name: medic
    webhook_configs:
      - url: http://{medic}/webhooks/alertmanager
        send_resolved: true
        http_config:
          authorization: {{type: Bearer, credentials: {TOKEN}}}
"#
            ),
        )
        .expect("alertmanager.yml");
        let log = std::fs::File::create(dir.0.join("alertmanager.log")).expect("log file");
        let listen = format!("127.0.0.1:{}", closed_port());
        let process = KillOnDrop(
            Command::new(ALERTMANAGER)
                .arg(format!("--config.file={}", config.display()))
                .arg(format!("--storage.path={}", dir.0.join("data").display()))
                .arg(format!("--web.listen-address={listen}"))
                // No cluster: it would listen on 0.0.0.0:9094.
                .arg("--cluster.listen-address=")
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("alertmanager starts"),
        );
        let alertmanager = Self {
            http: Http::new(),
            url: format!("http://{listen}"),
            _process: process,
            dir,
        };
        let ready = poll(WAIT, || {
            let (status, _) = alertmanager.call("GET", "/-/ready", None).ok()?;
            (status == 200).then_some(())
        });
        if ready.is_none() {
            alertmanager.fail("Alertmanager to be ready");
        }
        alertmanager
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<(u16, Value), String> {
        self.http
            .call(method, &format!("{}{path}", self.url), &[], body)
    }

    /// Posts one alert as Prometheus would; `ends_at` in the past resolves it.
    fn post_alert(&self, labels: &Value, starts_at: &str, ends_at: &str) {
        let alert = json!([{
            "labels": labels,
            "annotations": {"summary": "payments: connect to db:5432: connection refused"},
            "startsAt": starts_at,
            "endsAt": ends_at,
            "generatorURL": "http://127.0.0.1:9090/graph",
        }]);
        match self.call("POST", "/api/v2/alerts", Some(&alert)) {
            Ok((200, _)) => {}
            other => self.fail(&format!("the alert to be accepted, got {other:?}")),
        }
    }

    fn fail(&self, what: &str) -> ! {
        let log = std::fs::read_to_string(self.dir.0.join("alertmanager.log")).unwrap_or_default();
        panic!("gave up waiting for {what}\nAlertmanager's log:\n{log}");
    }
}

#[test]
fn alertmanager_alerts_open_remedy_and_close_one_incident() {
    if missing_tools(&[ALERTMANAGER], "prometheus-alertmanager") {
        return;
    }
    let dir = TempDir::new("alertmanager-medic");
    let marker = dir.0.join("remedied");
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
# Known to medic only through alerts: no probes, so a resolved alert is
# what tells it the remedy held.
[[targets]]
name = "payments"
health = {{ verify_window = "60s" }}
[[targets.remedies]]
name = "reconnect-db"
action = {{ kind = "exec", command = ["touch", "{marker}"] }}
"#,
            db = dir.0.join("medic.db").display(),
            marker = marker.display(),
        ),
    )
    .expect("config");
    let medic = Served::start(&config, &[("MEDIC_AM_TOKEN", TOKEN)]);
    let alertmanager = Alertmanager::start(&medic.address);

    let labels = json!({"alertname": "PaymentsDown", "service": "payments", "severity": "page"});
    let starts_at = chrono::Utc::now();
    let starts = starts_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let ends = (starts_at + chrono::Duration::minutes(10))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    alertmanager.post_alert(&labels, &starts, &ends);

    let remedied = medic.wait_for("/api/v1/incidents?target=payments", WAIT, |b| {
        b["incidents"][0]["status"] == "verifying"
    });
    let id = remedied["incidents"][0]["id"].as_i64().expect("id");
    assert!(marker.exists(), "the remedy ran");
    let detail = medic.get_json(&format!("/api/v1/incidents/{id}"));
    assert_eq!(detail["actions"][0]["remedy"], "reconnect-db", "{detail:#}");
    assert_eq!(detail["actions"][0]["state"], "succeeded", "{detail:#}");
    // A refused connection to port 5432 is a database failure (issue 17).
    assert_eq!(detail["incident"]["category"], "database", "{detail:#}");

    // Alertmanager repeats the firing alert every 2 s: wait for a repeat.
    let duplicates = poll(WAIT, || {
        let (_, metrics) = crate::support::request(&medic.address, "GET", "/metrics", "");
        metrics
            .lines()
            .find(|l| {
                l.starts_with(
                    r#"medic_intake_requests_total{source="alertmanager",outcome="duplicate"}"#,
                )
            })
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .filter(|n| *n >= 1.0)
    });
    if duplicates.is_none() {
        alertmanager.fail("a repeated notification");
    }

    // Prometheus stops the alert: endsAt now. The resolved notification closes it.
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    alertmanager.post_alert(&labels, &starts, &now);
    let closed = medic.wait_for("/api/v1/incidents?target=payments", WAIT, |b| {
        b["incidents"][0]["status"] == "resolved"
    });
    assert_eq!(
        closed["incidents"].as_array().map(Vec::len),
        Some(1),
        "repeats opened no second incident: {closed:#}"
    );
    let detail = medic.get_json(&format!("/api/v1/incidents/{id}"));
    assert_eq!(
        detail["actions"].as_array().map(Vec::len),
        Some(1),
        "{detail:#}"
    );
    let verified = detail["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .any(|e| e["kind"] == "verification" && e["message"] == "healthy again after reconnect-db");
    assert!(verified, "{detail:#}");
}
