//! Each endpoint's behaviour, through the router.

use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use crate::harness::{Api, OPS, assert_error, request};

#[tokio::test]
async fn liveness_and_system_health() {
    let api = Api::start().await;
    let (status, body) = api.get("/health", "").await;
    assert!(status.is_success());
    assert_eq!(body["status"], "ok");
    let body = api
        .wait_for("/api/v1/health", |b| b["details"]["components"] == 1)
        .await;
    for key in [
        "system_status",
        "error_rate",
        "success_rate",
        "message",
        "issues",
    ] {
        assert!(!body[key].is_null(), "{key} missing: {body}");
    }
    for key in ["components", "healthy", "degraded", "unhealthy", "critical"] {
        assert!(body["details"][key].is_u64(), "details.{key}: {body}");
    }
    // The host, as read at start (this machine: a Debian with apt).
    assert!(body["host"]["os"].is_string(), "{body}");
    assert!(body["host"]["init"].is_string(), "{body}");
    if std::fs::read_to_string("/etc/os-release").is_ok_and(|r| r.contains("ID=debian")) {
        assert_eq!(body["host"]["package_manager"], "apt", "{body}");
    }
}

#[tokio::test]
async fn components_register_inspect_reset_and_remove() {
    let api = Api::start().await;
    let (status, body) = api.get("/api/v1/components", OPS).await;
    assert!(status.is_success());
    assert_eq!(body["components"][0]["name"], "db");
    assert_eq!(body["components"][0]["source"], "config");

    let spec = r#"{"name":"billing","health_url":"http://127.0.0.1:9/health","webhook_url":"http://127.0.0.1:9/page",
        "tags":["pay"],"metadata":{"team":"pay"},"interval":"1s",
        "remedies":[{"name":"reconnect","action":{"kind":"http","url":"http://127.0.0.1:9/fix"}}]}"#;
    let (status, body) = api.post("/api/v1/components", OPS, Some(spec)).await;
    assert_eq!(status.as_u16(), 201, "{body}");
    assert_eq!(body["source"], "api");
    assert_eq!(
        body["remedies"],
        serde_json::json!(["reconnect", "webhook"])
    );
    assert_eq!(body["labels"]["team"], "pay");
    assert_eq!(body["labels"]["tag.pay"], "true");

    let (status, body) = api.post("/api/v1/components", OPS, Some(spec)).await;
    assert_error(status, &body, 409, "conflict");

    let (status, body) = api.get("/api/v1/components/billing", OPS).await;
    assert!(status.is_success(), "{body}");
    assert_eq!(body["spec"]["health_url"], "http://127.0.0.1:9/health");

    let stats = api
        .wait_for("/api/v1/components/billing/stats", |b| {
            b["calls"].as_u64() >= Some(1)
        })
        .await;
    assert_eq!(stats["errors"], stats["calls"], "port 9 refuses: {stats}");
    for key in ["p50_ms", "p95_ms", "p99_ms"] {
        assert!(stats["latency"][key].is_number(), "{stats}");
    }
    let (status, _) = api
        .post("/api/v1/components/billing/reset", OPS, None)
        .await;
    assert!(status.is_success());

    let (status, body, _) = api
        .call(request("DELETE", "/api/v1/components/db", Some(OPS), None))
        .await;
    assert_error(status, &body, 409, "conflict");
    let (status, _, _) = api
        .call(request(
            "DELETE",
            "/api/v1/components/billing",
            Some(OPS),
            None,
        ))
        .await;
    assert_eq!(status.as_u16(), 204);
    let (status, body) = api.get("/api/v1/components/billing", OPS).await;
    assert_error(status, &body, 404, "not_found");
    let (status, body) = api.get("/api/v1/components/billing/stats", OPS).await;
    assert_error(status, &body, 404, "not_found");
}

#[tokio::test]
async fn removing_a_target_ends_its_open_incident() {
    let api = Api::start().await;
    // Port 9 refuses: both fixes fail; the second waits out the target's
    // cooldown (30 s), so the incident is open when the target goes.
    let spec = r#"{"name":"billing","health_url":"http://127.0.0.1:9/health","interval":"200ms",
        "remedies":[{"name":"reconnect","action":{"kind":"http","url":"http://127.0.0.1:9/fix"}},
                    {"name":"reconnect-again","action":{"kind":"http","url":"http://127.0.0.1:9/fix"}}]}"#;
    let (status, body) = api.post("/api/v1/components", OPS, Some(spec)).await;
    assert_eq!(status.as_u16(), 201, "{body}");
    let list = api
        .wait_for("/api/v1/incidents?target=billing", |b| {
            b["incidents"].as_array().is_some_and(|a| !a.is_empty())
        })
        .await;
    let id = list["incidents"][0]["id"].as_i64().expect("id");
    let detail_path = format!("/api/v1/incidents/{id}");
    api.wait_for(&detail_path, |b| {
        b["timeline"].to_string().contains("deferred")
    })
    .await;

    let (status, _, _) = api
        .call(request(
            "DELETE",
            "/api/v1/components/billing",
            Some(OPS),
            None,
        ))
        .await;
    assert_eq!(status.as_u16(), 204);
    let detail = api
        .wait_for(&detail_path, |b| b["incident"]["status"] == "failed")
        .await;
    let timeline = detail["timeline"].as_array().expect("timeline");
    assert!(
        detail["timeline"]
            .to_string()
            .contains("target was removed"),
        "{detail:#}"
    );
    // No busy loop of deferrals once nothing is watched any more.
    assert!(
        timeline.len() < 30,
        "{} entries: {detail:#}",
        timeline.len()
    );
    let runs = detail["actions"].as_array().expect("actions");
    assert_eq!(runs.len(), 1, "only the first fix ran: {detail:#}");
}

#[tokio::test]
async fn registration_runs_the_config_validation() {
    let api = Api::start().await;
    let cases = [
        // The destructive-command guard applies to API registrations too.
        (
            r#"{"name":"x","remedies":[{"name":"wipe","action":{"kind":"exec","command":["rm","-rf","/"]}}]}"#,
            "remedies[0]",
        ),
        (r#"{"name":"bad name!"}"#, "name"),
        (r#"{"name":"x","health_url":"ftp://x"}"#, "health_url"),
        (r#"{"name":"x","interval":"soon"}"#, ""),
    ];
    for (spec, path) in cases {
        let (status, body) = api.post("/api/v1/components", OPS, Some(spec)).await;
        assert_error(status, &body, 422, "invalid_body");
        if !path.is_empty() {
            let details = body["error"]["details"].as_array().expect("details");
            assert!(
                details
                    .iter()
                    .any(|d| d["path"].as_str().is_some_and(|p| p.starts_with(path))),
                "{spec}: {body}"
            );
        }
    }
}

#[tokio::test]
async fn incidents_filters_detail_ack_and_resolve() {
    let api = Api::start().await;
    let list = api
        .wait_for("/api/v1/incidents", |b| {
            b["incidents"].as_array().is_some_and(|a| !a.is_empty())
        })
        .await;
    let incident = &list["incidents"][0];
    let id = incident["id"].as_i64().expect("id");
    assert_eq!(incident["target"], "db");

    let (_, filtered) = api.get("/api/v1/incidents?target=nobody", OPS).await;
    assert_eq!(filtered["incidents"], serde_json::json!([]));
    let (_, filtered) = api
        .get("/api/v1/incidents?status=resolved&limit=5", OPS)
        .await;
    assert_eq!(filtered["incidents"], serde_json::json!([]));
    let (_, page) = api
        .get(&format!("/api/v1/incidents?cursor={id}"), OPS)
        .await;
    assert_eq!(page["incidents"], serde_json::json!([]));

    let (status, detail) = api.get(&format!("/api/v1/incidents/{id}"), OPS).await;
    assert!(status.is_success());
    assert_eq!(detail["incident"]["id"], id);
    assert!(detail["timeline"].as_array().is_some_and(|t| !t.is_empty()));
    assert!(detail["diagnosis"].is_object(), "{detail}");

    let (status, acked) = api
        .post(&format!("/api/v1/incidents/{id}/ack"), OPS, None)
        .await;
    assert!(status.is_success(), "{acked}");
    assert_eq!(acked["acknowledged_by"], "ops");

    let (status, resolved) = api
        .post(&format!("/api/v1/incidents/{id}/resolve"), OPS, None)
        .await;
    assert!(status.is_success(), "{resolved}");
    assert_eq!(resolved["status"], "resolved");
    let (status, body) = api
        .post(&format!("/api/v1/incidents/{id}/resolve"), OPS, None)
        .await;
    assert_error(status, &body, 409, "conflict");
    // The list answers from a cache; a change shows at once all the same.
    let (_, list) = api.get("/api/v1/incidents", OPS).await;
    let listed = list["incidents"]
        .as_array()
        .expect("incidents")
        .iter()
        .find(|i| i["id"] == id)
        .expect("still listed")
        .clone();
    assert_eq!(listed["status"], "resolved", "{list}");
    assert_eq!(listed["acknowledged_by"], "ops", "{list}");
    let (status, body) = api.get("/api/v1/incidents/999999", OPS).await;
    assert_error(status, &body, 404, "not_found");
    let (_, detail) = api.get(&format!("/api/v1/incidents/{id}"), OPS).await;
    let notes: Vec<&str> = detail["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter_map(|e| e["message"].as_str())
        .collect();
    assert!(notes.contains(&"acknowledged by ops"), "{notes:?}");
    assert!(notes.contains(&"resolved by ops"), "{notes:?}");
}

#[tokio::test]
async fn an_approved_action_runs_and_is_decided_once() {
    let api = Api::start().await;
    let approval = api.pending_approval().await;
    assert_eq!(approval["status"], "pending");
    assert_eq!(approval["remedy"], "restart-db");
    let id = approval["id"].as_i64().expect("id");

    let (status, decided) = api
        .post(&format!("/api/v1/approvals/{id}/approve"), OPS, None)
        .await;
    assert!(status.is_success(), "{decided}");
    assert_eq!(decided["status"], "approved");
    assert_eq!(decided["decided_by"], "ops");
    let (status, body) = api
        .post(&format!("/api/v1/approvals/{id}/reject"), OPS, None)
        .await;
    assert_error(status, &body, 409, "conflict");
    let (status, body) = api
        .post("/api/v1/approvals/999999/approve", OPS, None)
        .await;
    assert_error(status, &body, 404, "not_found");

    // The approved action ran (and the closed port did not open: it failed to heal).
    let incident = approval["incident_id"].as_i64().expect("incident");
    let detail = api
        .wait_for(&format!("/api/v1/incidents/{incident}"), |b| {
            b["actions"][0]["state"] == "succeeded"
        })
        .await;
    assert_eq!(detail["actions"][0]["remedy"], "restart-db");
    let (_, all) = api.get("/api/v1/approvals?status=all", OPS).await;
    assert_eq!(all["approvals"][0]["status"], "approved");
    let (_, pending) = api.get("/api/v1/approvals", OPS).await;
    assert_eq!(pending["approvals"], serde_json::json!([]));

    let recent = api
        .wait_for("/api/v1/recovery/recent?count=5", |b| {
            b["recoveries"].as_array().is_some_and(|r| !r.is_empty())
        })
        .await;
    assert_eq!(recent["recoveries"][0]["action"], "restart-db");
    assert_eq!(recent["recoveries"][0]["component"], "db");
    let (_, stats) = api.get("/api/v1/recovery/stats", OPS).await;
    assert_eq!(stats["overall"]["total_recoveries"], 1, "{stats}");
    assert!(stats["by_action"]["restart-db"].is_object());
    assert!(stats["by_component"]["db"].is_object());
    let (_, stats) = api
        .get("/api/v1/recovery/stats?component=nobody", OPS)
        .await;
    assert_eq!(stats["overall"]["total_recoveries"], 0);
    let learning = api
        .wait_for("/api/v1/learning", |b| {
            b["remedies"].as_array().is_some_and(|r| !r.is_empty())
        })
        .await;
    assert_eq!(learning["remedies"][0]["remedy"], "restart-db");
    assert_eq!(
        learning["remedies"][0]["successes"], 0,
        "verification failed: {learning}"
    );
    // The action answered 2xx and healed nothing: not a recovery, anywhere.
    let (_, stats) = api.get("/api/v1/recovery/stats", OPS).await;
    assert_eq!(stats["overall"]["successful_recoveries"], 0, "{stats}");
    assert_eq!(stats["overall"]["success_rate"], 0.0, "{stats}");
    let (_, recent) = api.get("/api/v1/recovery/recent?count=5", OPS).await;
    let shown = &recent["recoveries"][0];
    assert_eq!(shown["action_state"], "succeeded", "{recent}");
    assert_eq!(shown["verified"], false, "{recent}");
    assert_eq!(shown["success"], false, "{recent}");
    // The posterior under a neutral prior: Beta(2, 2 + failures).
    let row = &learning["remedies"][0];
    let attempts = row["attempts"].as_f64().expect("attempts");
    let mean = row["posterior"]["mean"].as_f64().expect("posterior mean");
    assert!((mean - 2.0 / (4.0 + attempts)).abs() < 1e-9, "{row}");
    let interval = &row["posterior"]["interval95"];
    let (low, high) = (
        interval[0].as_f64().expect("low"),
        interval[1].as_f64().expect("high"),
    );
    assert!(
        0.0 <= low && low < mean && mean < high && high <= 1.0,
        "{row}"
    );
}

#[tokio::test]
async fn a_rejected_action_never_runs() {
    let api = Api::start().await;
    let approval = api.pending_approval().await;
    let id = approval["id"].as_i64().expect("id");
    let (status, decided) = api
        .post(&format!("/api/v1/approvals/{id}/reject"), OPS, None)
        .await;
    assert!(status.is_success(), "{decided}");
    assert_eq!(decided["status"], "rejected");
    let incident = approval["incident_id"].as_i64().expect("incident");
    let detail = api
        .wait_for(&format!("/api/v1/incidents/{incident}"), |b| {
            b["actions"][0]["state"] == "skipped"
        })
        .await;
    assert_eq!(detail["actions"][0]["error"], "rejected by ops");
    assert_eq!(detail["actions"][0]["started_at"], Value::Null);
}

#[tokio::test]
async fn breakers_monitoring_metrics_and_dashboard() {
    let api = Api::start().await;
    let (status, body) = api.get("/api/v1/circuit-breakers", OPS).await;
    assert!(status.is_success());
    assert!(body["breakers"].is_array());
    let (status, body) = api
        .post("/api/v1/circuit-breakers/nope/reset", OPS, None)
        .await;
    assert_error(status, &body, 404, "not_found");

    let (_, stopped) = api.post("/api/v1/monitoring/stop", OPS, None).await;
    assert_eq!(stopped["running"], false);
    let (_, status_body) = api.get("/api/v1/monitoring/status", OPS).await;
    assert_eq!(status_body["running"], false);
    assert_eq!(status_body["probes"], 1);
    let (_, started) = api.post("/api/v1/monitoring/start", OPS, None).await;
    assert_eq!(started["running"], true);

    api.wait_for("/api/v1/incidents", |b| {
        b["incidents"].as_array().is_some_and(|a| !a.is_empty())
    })
    .await;
    let (status, text) = api.get("/metrics", OPS).await;
    assert!(status.is_success());
    let text = text.as_str().expect("text");
    for series in [
        "medic_incidents_total{",
        "medic_target_health_status{",
        "medic_probe_duration_seconds_bucket{",
        "medic_target_latency_seconds{",
        "medic_time_to_recover_seconds_bucket",
        "medic_remediation_success_ratio",
    ] {
        assert!(text.contains(series), "{series} missing from:\n{text}");
    }
    assert!(text.contains(r#"target="db""#));

    let (status, _, headers) = api.call(request("GET", "/", None, None)).await;
    assert!(status.is_success());
    let csp = headers.get("content-security-policy").expect("csp");
    assert!(csp.to_str().expect("ascii").contains("script-src 'self'"));
    let (status, script, headers) = api.call(request("GET", "/assets/app.js", None, None)).await;
    assert!(status.is_success());
    assert!(
        headers["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/javascript")
    );
    assert!(script.as_str().is_some_and(|s| s.contains("X-API-Key")));
    let (status, body, _) = api
        .call(request("GET", "/assets/../../etc/passwd", None, None))
        .await;
    assert!(status.is_client_error(), "{body}");
}

#[tokio::test]
async fn the_event_stream_carries_changes_live() {
    let api = Api::start().await;
    let response = api
        .router
        .clone()
        .oneshot(request("GET", "/api/v1/events/stream", Some(OPS), None))
        .await
        .expect("stream");
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut body = response.into_body();
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    // The failing probe produces probe, target and incident events by itself.
    while !(seen.contains("event: probe") && seen.contains("event: incident")) {
        let frame = tokio::time::timeout_at(deadline, body.frame())
            .await
            .expect("events within 20 s")
            .expect("stream open")
            .expect("frame");
        if let Some(data) = frame.data_ref() {
            seen.push_str(&String::from_utf8_lossy(data));
        }
    }
    assert!(seen.contains("data: {"), "{seen}");
}

#[tokio::test]
async fn application_events_feed_component_health() {
    let api = Api::start().await;
    // Issue 14: one error event is not a 100 % error rate of a critical
    // system: a rate needs 10 calls in the window before it decides.
    let one =
        r#"{"component":"checkout","operation":"charge","outcome":"error","error":"card 503"}"#;
    let (status, body) = api.post("/api/v1/events", OPS, Some(one)).await;
    assert_eq!(status.as_u16(), 202, "{body}");
    let (_, health) = api.get("/api/v1/health", OPS).await;
    assert_eq!(health["system_status"], "healthy", "{health}");
    for i in 1..10 {
        let outcome = if i % 2 == 0 { "error" } else { "success" };
        let event = format!(
            r#"{{"component":"checkout","operation":"charge","outcome":"{outcome}","error":"card 503","latency_ms":12.5}}"#
        );
        let (status, body) = api.post("/api/v1/events", OPS, Some(&event)).await;
        assert_eq!(status.as_u16(), 202, "{body}");
    }
    let (_, stats) = api.get("/api/v1/components/checkout/stats", OPS).await;
    assert_eq!(stats["calls"], 10);
    assert_eq!(stats["errors"], 5);
    assert!(
        stats["status"] == "unhealthy" || stats["status"] == "critical",
        "50 % errors: {stats}"
    );
    let (_, health) = api.get("/api/v1/health", OPS).await;
    assert!(
        health["issues"].to_string().contains("checkout"),
        "{health}"
    );
    let (_, metrics) = api.get("/metrics", OPS).await;
    assert!(
        metrics
            .as_str()
            .is_some_and(|m| m
                .contains(r#"medic_intake_requests_total{source="events",outcome="accepted"} 10"#)),
        "{metrics}"
    );

    // Events on a target count through its error rate.
    let bad = r#"{"component":"db","outcome":"error","latency_ms":-1}"#;
    let (status, body) = api.post("/api/v1/events", OPS, Some(bad)).await;
    assert_error(status, &body, 422, "invalid_body");
}

#[tokio::test]
async fn body_limit_is_413_in_the_error_model() {
    let api = Api::with_server_settings("max_body_bytes = 1024").await;
    let big = format!(
        r#"{{"component":"x","outcome":"error","error":"{}"}}"#,
        "a".repeat(4096)
    );
    for path in ["/api/v1/events", "/api/v1/components"] {
        let (status, body) = api.post(path, OPS, Some(&big)).await;
        assert_error(status, &body, 413, "body_too_large");
    }
}

#[tokio::test]
async fn an_unanswered_approval_expires_and_the_incident_escalates() {
    let api = Api::with_approval_timeout("300ms").await;
    let approval = api.pending_approval().await;
    let id = approval["id"].as_i64().expect("id");
    let incident = approval["incident_id"].as_i64().expect("incident");
    let detail = api
        .wait_for(&format!("/api/v1/incidents/{incident}"), |b| {
            b["incident"]["status"] == "escalated"
        })
        .await;
    // The high-risk action never ran; the escalation was attempted (its
    // webhook port is closed, which the timeline says).
    assert_eq!(detail["actions"][0]["state"], "skipped", "{detail}");
    assert_eq!(detail["actions"][0]["started_at"], Value::Null);
    let timeline = detail["timeline"].to_string();
    assert!(
        timeline.contains("expired: nobody answered in time"),
        "{timeline}"
    );
    assert!(timeline.contains("page:"), "{timeline}");
    let (_, all) = api.get("/api/v1/approvals?status=all", OPS).await;
    let expired = all["approvals"]
        .as_array()
        .expect("approvals")
        .iter()
        .find(|a| a["id"] == id)
        .expect("listed")
        .clone();
    assert_eq!(expired["status"], "expired");
    assert_eq!(expired["decided_by"], Value::Null);
    let (status, body) = api
        .post(&format!("/api/v1/approvals/{id}/approve"), OPS, None)
        .await;
    assert_error(status, &body, 409, "conflict");
}
