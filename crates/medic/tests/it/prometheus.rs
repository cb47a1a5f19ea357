//! A real Prometheus scrapes `medic serve`'s /metrics with a bearer key
//! while a target breaks and heals; the series arrive with their labels.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::{
    Http, KillOnDrop, OPS_KEY, TempDir, Watched, closed_port, missing_tools, poll,
};

const PROMETHEUS: &str = "/usr/bin/prometheus";
const WAIT: Duration = Duration::from_secs(30);

/// Prometheus scraping one medic every second. Killed on drop, before its
/// data dir goes.
struct Prometheus {
    http: Http,
    url: String,
    _process: KillOnDrop,
    dir: TempDir,
}

impl Prometheus {
    fn start(medic: &str) -> Self {
        let dir = TempDir::new("prometheus");
        let config = dir.0.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                r#"
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
scrape_configs:
  - job_name: medic
    authorization: {{type: Bearer, credentials: {OPS_KEY}}}
    static_configs: [{{targets: ["{medic}"]}}]
"#
            ),
        )
        .expect("prometheus.yml");
        let log = std::fs::File::create(dir.0.join("prometheus.log")).expect("log file");
        let listen = format!("127.0.0.1:{}", closed_port());
        let process = KillOnDrop(
            Command::new(PROMETHEUS)
                .arg(format!("--config.file={}", config.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.0.join("data").display()
                ))
                .arg(format!("--web.listen-address={listen}"))
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("prometheus starts"),
        );
        let prometheus = Self {
            http: Http::new(),
            url: format!("http://{listen}"),
            _process: process,
            dir,
        };
        let ready = poll(WAIT, || {
            let (status, _) = prometheus.get("/-/ready").ok()?;
            (status == 200).then_some(())
        });
        if ready.is_none() {
            prometheus.fail("Prometheus to be ready");
        }
        prometheus
    }

    fn get(&self, path: &str) -> Result<(u16, Value), String> {
        self.http
            .call("GET", &format!("{}{path}", self.url), &[], None)
    }

    /// The instant vector for `query`, empty while it has no series.
    fn query(&self, query: &str) -> Vec<Value> {
        let Ok((200, reply)) = self.get(&format!("/api/v1/query?query={}", encode(query))) else {
            return Vec::new();
        };
        reply["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Waits until `query` has a series for which `done` holds; returns it.
    fn wait_for(&self, query: &str, done: impl Fn(&Value) -> bool) -> Value {
        let mut last = Vec::new();
        poll(WAIT, || {
            last = self.query(query);
            last.iter().find(|s| done(s)).cloned()
        })
        .unwrap_or_else(|| self.fail(&format!("a matching series for {query} (last: {last:?})")))
    }

    /// Panics with what was awaited, what Prometheus last scraped and its log.
    fn fail(&self, what: &str) -> ! {
        let targets = self.get("/api/v1/targets").map(|(_, t)| t);
        let log = std::fs::read_to_string(self.dir.0.join("prometheus.log")).unwrap_or_default();
        panic!("timed out after {WAIT:?} waiting for {what}\ntargets: {targets:#?}\nlog:\n{log}");
    }
}

/// Percent-encodes a query parameter: PromQL's `{`, `"` and `+` must not
/// reach Prometheus raw (a raw `+` would read as a space).
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A sample's value as a number; Prometheus sends `[time, "value"]`.
fn value(series: &Value) -> f64 {
    series["value"][1]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

#[test]
fn prometheus_scrapes_medic_with_a_bearer_key_and_sees_an_incident_heal() {
    if missing_tools(&[PROMETHEUS], "prometheus") {
        return;
    }
    let started = std::time::Instant::now();
    let watched = Watched::start("prometheus", "low");
    let prometheus = Prometheus::start(&watched.served.address);

    let shop = |s: &Value| s["metric"]["target"] == "shop";
    prometheus.wait_for(r#"medic_target_health_status{state="healthy"}"#, |s| {
        shop(s) && value(s) == 1.0
    });
    watched.break_service();

    let incident = prometheus.wait_for("medic_incidents_total", |s| shop(s) && value(s) >= 1.0);
    assert!(
        incident["metric"]["category"].is_string(),
        "no category label: {incident}"
    );
    prometheus.wait_for("medic_actions_total", |s| {
        s["metric"]["action"] == "reconnect-db"
            && s["metric"]["kind"] == "http"
            && s["metric"]["outcome"] == "success"
            && value(s) >= 1.0
    });
    prometheus.wait_for("medic_time_to_recover_seconds_count", |s| value(s) >= 1.0);
    prometheus.wait_for("medic_remediation_success_ratio", |s| value(s) == 1.0);
    // Healed: healthy again after the incident, per Prometheus's latest scrape.
    prometheus.wait_for(r#"medic_target_health_status{state="healthy"}"#, |s| {
        shop(s) && value(s) == 1.0
    });
    let buckets = prometheus.wait_for(r#"medic_probe_duration_seconds_bucket{le="+Inf"}"#, |s| {
        shop(s) && value(s) > 0.0
    });
    assert_eq!(buckets["metric"]["job"], "medic", "{buckets}");
    prometheus.wait_for("medic_target_latency_seconds", |s| {
        shop(s) && value(s) > 0.0
    });

    let (_, targets) = prometheus.get("/api/v1/targets").expect("targets");
    let active = targets["data"]["activeTargets"]
        .as_array()
        .expect("active targets");
    let medic = active
        .iter()
        .find(|t| t["labels"]["job"] == "medic")
        .unwrap_or_else(|| panic!("no medic job: {targets:#}"));
    assert_eq!(medic["health"], "up", "{medic:#}");
    assert_eq!(medic["lastError"], "", "{medic:#}");
    eprintln!("prometheus test took {:?}", started.elapsed());
}
