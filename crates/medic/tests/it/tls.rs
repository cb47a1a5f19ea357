//! Outbound TLS through the real binary: `medic serve` probes an https
//! service (JSON condition), runs an https remedy against it, pages a
//! PagerDuty stand-in and a Slack stand-in over TLS in their documented
//! shapes, and resolves the PagerDuty alert when the service recovers. Every
//! server is on loopback with a CA made in the test; medic trusts it through
//! `[tls] ca_file` only.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;

use crate::support::{Served, TempDir, poll};

#[path = "../../../medic-client/tests/support/tls.rs"]
pub(crate) mod pki;

use pki::{TestCa, https_server, server_config};

#[test]
fn an_https_probe_remedy_and_pages_work_end_to_end() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let ca = TestCa::new("e2e CA");
    let leaf = ca.issue("localhost", &["localhost"], -1, 60);
    let healthy = Arc::new(AtomicBool::new(false));
    let shop_health = healthy.clone();
    let (shop, pagerduty, slack) = runtime.block_on(async {
        let shop = https_server(server_config(&leaf, None), move |request| {
            match request.path.as_str() {
                "/health" if shop_health.load(Ordering::SeqCst) => (200, r#"{"status":"ok"}"#.into()),
                "/health" => (200, r#"{"status":"degraded","db":"down"}"#.into()),
                // The remedy answers, but does not fix anything.
                _ => (200, r#"{"reset":true}"#.into()),
            }
        })
        .await;
        let pagerduty = https_server(server_config(&leaf, None), |request| {
            let dedup = request.json()["dedup_key"].clone();
            (
                202,
                serde_json::json!({"status": "success", "message": "Event processed", "dedup_key": dedup})
                    .to_string(),
            )
        })
        .await;
        let slack = https_server(server_config(&leaf, None), |_| (200, "ok".into())).await;
        (shop, pagerduty, slack)
    });

    let dir = TempDir::new("tls-e2e");
    let config = dir.0.join("medic.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[server]
listen = "127.0.0.1:0"
public_url = "https://medic.example.test"
[storage]
url = "sqlite://{db}"
[tls]
ca_file = "{ca}"
[policy]
cooldown = "0s"
min_confidence = 0.0
[[targets]]
name = "shop"
probes = [{{ kind = "http", url = "{health}", interval = "200ms", timeout = "150ms", cert_expires_within = "14d", json = [{{ path = "$.status", equals = "ok" }}] }}]
health = {{ failure_threshold = 2, success_threshold = 1, verify_window = "400ms" }}
[[targets.remedies]]
name = "reset-cache"
action = {{ kind = "http", url = "{reset}" }}
[[targets.remedies]]
name = "page"
action = {{ kind = "escalate", format = "pagerduty", webhook = "{pd}", routing_key_env = "PD_ROUTING_KEY" }}
[[targets]]
name = "storefront"
probes = [{{ kind = "http", url = "{health}", interval = "200ms", timeout = "150ms", json = [{{ path = "$.status", equals = "ok" }}] }}]
health = {{ failure_threshold = 2, success_threshold = 1, verify_window = "400ms" }}
[[targets.remedies]]
name = "chat"
action = {{ kind = "escalate", format = "slack", webhook = "{slack}" }}
"#,
            db = dir.0.join("medic.db").display(),
            ca = ca.ca_file(),
            health = shop.url("/health"),
            reset = shop.url("/reset"),
            pd = pagerduty.url("/v2/enqueue"),
            slack = slack.url("/services/T0/B0/X"),
        ),
    )
    .expect("config");

    let served = Served::start(&config, &[("PD_ROUTING_KEY", "R0UT1NGKEY")]);
    let listed = served.wait_for("/api/v1/incidents", Duration::from_secs(20), |json| {
        json["incidents"]
            .as_array()
            .is_some_and(|all| all.iter().filter(|i| i["status"] == "escalated").count() == 2)
    });
    let incident = listed["incidents"]
        .as_array()
        .and_then(|all| all.iter().find(|i| i["target"] == "shop"))
        .cloned()
        .expect("the shop's incident");
    let id = incident["id"].as_i64().expect("id");
    assert!(
        incident["title"]
            .as_str()
            .is_some_and(|t| t.contains("$.status")),
        "the probe's JSON condition is the failure: {incident}"
    );

    // The https remedy reached the service.
    let reset = shop.recorded();
    assert!(
        reset
            .iter()
            .any(|r| r.method == "POST" && r.path == "/reset"),
        "{reset:?}"
    );

    // PagerDuty Events API v2: trigger, routing key, dedup key, payload.
    let triggers: Vec<Value> = poll(Duration::from_secs(10), || {
        let events: Vec<Value> = pagerduty.recorded().iter().map(|r| r.json()).collect();
        (!events.is_empty()).then_some(events)
    })
    .unwrap_or_else(|| {
        let detail = served.get_json(&format!("/api/v1/incidents/{id}"));
        panic!("no PagerDuty trigger; the incident: {detail:#}")
    });
    let trigger = triggers
        .iter()
        .find(|t| t["event_action"] == "trigger")
        .unwrap_or_else(|| panic!("a trigger: {triggers:?}"));
    assert_eq!(trigger["routing_key"], "R0UT1NGKEY");
    assert_eq!(trigger["dedup_key"], format!("medic-{id}"));
    assert_eq!(trigger["payload"]["source"], "shop");
    assert!(
        trigger["payload"]["summary"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );
    assert!(
        ["critical", "error", "warning", "info"]
            .contains(&trigger["payload"]["severity"].as_str().unwrap_or_default()),
        "{trigger}"
    );
    let link = format!("https://medic.example.test/#incident={id}");
    let storefront_id = listed["incidents"]
        .as_array()
        .and_then(|all| all.iter().find(|i| i["target"] == "storefront"))
        .and_then(|i| i["id"].as_i64())
        .expect("the storefront's incident");
    let slack_link = format!("https://medic.example.test/#incident={storefront_id}");
    assert_eq!(trigger["links"][0]["href"], link.as_str());
    let request = &pagerduty.recorded()[0];
    assert_eq!(request.path, "/v2/enqueue");
    assert!(
        request
            .headers
            .iter()
            .any(|(k, v)| k == "content-type" && v == "application/json")
    );

    // Slack: blocks with the diagnosis, the evidence and the dashboard link.
    let message = poll(Duration::from_secs(10), || {
        slack.recorded().first().map(|r| r.json())
    })
    .unwrap_or_else(|| {
        let detail = served.get_json(&format!("/api/v1/incidents/{id}"));
        panic!("no Slack message; the incident: {detail:#}")
    });
    let blocks = message["blocks"].as_array().expect("blocks");
    let text = message.to_string();
    assert!(
        message["text"]
            .as_str()
            .is_some_and(|t| t.contains("storefront"))
    );
    assert!(text.contains("root cause:"), "{text}");
    assert!(text.contains("evidence:"), "{text}");
    assert!(
        blocks
            .iter()
            .any(|b| b["type"] == "actions" && b["elements"][0]["url"] == slack_link.as_str()),
        "{text}"
    );

    // The service recovers: the problem the page was about is gone, and
    // the PagerDuty alert is resolved.
    healthy.store(true, Ordering::SeqCst);
    let resolve = poll(Duration::from_secs(20), || {
        pagerduty
            .recorded()
            .iter()
            .map(|r| r.json())
            .find(|e| e["event_action"] == "resolve")
    })
    .expect("a resolve event");
    assert_eq!(resolve["dedup_key"], format!("medic-{id}"));
    assert_eq!(resolve["routing_key"], "R0UT1NGKEY");

    // Deliveries are on the timeline.
    let shown = served.wait_for(
        &format!("/api/v1/incidents/{id}"),
        Duration::from_secs(5),
        |json| json.to_string().contains("PagerDuty alert resolved"),
    );
    assert!(shown.to_string().contains("HTTP 202"), "{shown:#}");
    // The escalated incident itself ends resolved, with its time to recover.
    let incident = &shown["incident"];
    assert_eq!(incident["status"], "resolved", "{shown:#}");
    assert!(
        incident["time_to_recover_ms"]
            .as_i64()
            .is_some_and(|ms| ms > 0),
        "{shown:#}"
    );
    drop(runtime);
}
