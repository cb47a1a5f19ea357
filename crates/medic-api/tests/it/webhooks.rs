//! The webhook intakes through the router: each sender's own auth, durable
//! deduplicated intake, and what the agent makes of it.

use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};

use crate::harness::{AM_TOKEN, Api, OPS, WRITER, assert_error};

fn alertmanager(token: Option<&str>, body: &str) -> Request<Body> {
    let mut builder = Request::builder()
        .method("POST")
        .uri("/webhooks/alertmanager")
        .header("content-type", "application/json");
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    builder.body(Body::from(body.to_string())).expect("request")
}

/// A version-4 notification of one alert, shaped as Alertmanager sends it.
fn notification(status: &str, labels: Value) -> String {
    let ends_at = if status == "firing" {
        "0001-01-01T00:00:00Z"
    } else {
        "2026-11-26T06:05:00Z"
    };
    json!({
        "version": "4",
        "groupKey": "{}:{alertname=\"DiskFull\"}",
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "medic",
        "groupLabels": {"alertname": "DiskFull"},
        "commonLabels": labels,
        "commonAnnotations": {"summary": "/var: No space left on device"},
        "externalURL": "http://127.0.0.1:9093",
        "alerts": [{
            "status": status,
            "labels": labels,
            "annotations": {"summary": "/var: No space left on device"},
            "startsAt": "2026-11-26T06:00:00.123456789Z",
            "endsAt": ends_at,
            "generatorURL": "http://127.0.0.1:9090/graph",
            "fingerprint": "a1b2c3d4e5f60718",
        }],
    })
    .to_string()
}

#[tokio::test]
async fn alertmanager_takes_its_own_token_only() {
    let api = Api::start().await;
    let body = notification("firing", json!({"alertname": "DiskFull"}));
    let (status, reply, _) = api.call(alertmanager(None, &body)).await;
    assert_error(status, &reply, 401, "unauthorized");
    let (status, reply, _) = api.call(alertmanager(Some("wrong-token"), &body)).await;
    assert_error(status, &reply, 401, "invalid_key");
    // An API key is not Alertmanager's credential once it has its own.
    let (status, reply, _) = api.call(alertmanager(Some(WRITER), &body)).await;
    assert_error(status, &reply, 401, "invalid_key");
    let (status, reply, _) = api.call(alertmanager(Some(AM_TOKEN), &body)).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["new"], 1, "{reply}");
}

#[tokio::test]
async fn unmatched_alerts_open_one_incident_on_the_alerts_target_and_resolve_it() {
    let api = Api::start().await;
    let labels = json!({"alertname": "DiskFull", "instance": "host-7:9100"});
    let firing = notification("firing", labels.clone());
    let (status, reply, _) = api.call(alertmanager(Some(AM_TOKEN), &firing)).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["alerts"][0]["target"], "alerts", "{reply}");
    // Alertmanager re-sends every repeat interval: the same alert is dropped.
    for _ in 0..3 {
        let (status, reply, _) = api.call(alertmanager(Some(AM_TOKEN), &firing)).await;
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["received"], 1, "{reply}");
        assert_eq!(reply["new"], 0, "{reply}");
    }
    // No remedies on the pseudo-target: diagnosed, then escalated to a human.
    let incidents = api
        .wait_for("/api/v1/incidents?target=alerts", |b| {
            b["incidents"][0]["status"] == "escalated"
        })
        .await;
    assert_eq!(incidents["incidents"].as_array().map(Vec::len), Some(1));
    let incident = &incidents["incidents"][0];
    assert!(
        incident["title"]
            .as_str()
            .is_some_and(|t| t.contains("DiskFull") && t.contains("No space left")),
        "{incident}"
    );
    // Diagnosed by the rules from the alert's summary.
    assert_eq!(incident["category"], "resource", "{incident}");

    let resolved = notification("resolved", labels);
    let (status, reply, _) = api.call(alertmanager(Some(AM_TOKEN), &resolved)).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["new"], 1, "the resolution is news: {reply}");
    api.wait_for("/api/v1/components/alerts", |b| b["state"] == "healthy")
        .await;
    let (_, metrics) = api.get("/metrics", OPS).await;
    let text = metrics.as_str().unwrap_or_default();
    assert!(
        text.contains(
            r#"medic_intake_requests_total{source="alertmanager",outcome="duplicate"} 3"#
        ),
        "{text}"
    );
}

#[tokio::test]
async fn alerts_find_their_target_by_label() {
    let api = Api::start().await;
    for (labels, target) in [
        (json!({"alertname": "Down", "service": "db"}), "db"),
        (json!({"alertname": "Down", "job": "db"}), "db"),
        (
            json!({"alertname": "Down", "service": "nope", "job": "db"}),
            "db",
        ),
        (json!({"alertname": "Down", "service": "nope"}), "alerts"),
    ] {
        let mut body: Value =
            serde_json::from_str(&notification("firing", labels.clone())).expect("json");
        // Another alert each time, so none is a re-delivery.
        body["alerts"][0]["fingerprint"] = json!(format!("{labels}"));
        let (status, reply, _) = api
            .call(alertmanager(Some(AM_TOKEN), &body.to_string()))
            .await;
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["alerts"][0]["target"], target, "{labels}: {reply}");
    }
}

#[tokio::test]
async fn unreadable_notifications_get_a_clear_4xx() {
    let api = Api::start().await;
    let cases = [
        (r#"{"version":"3","alerts":[]}"#, "version"),
        (r#"{"version":"4"}"#, "alerts"),
        (
            r#"{"version":"4","alerts":[{"status":"firing","labels":{},"startsAt":"soon"}]}"#,
            "startsAt",
        ),
        (
            r#"{"version":"4","alerts":[{"status":"pending","labels":{},"startsAt":"2026-11-26T06:00:00Z"}]}"#,
            "pending",
        ),
        (r#"{"version":"4","alerts":[{"#, "EOF"),
    ];
    for (body, named) in cases {
        let (status, reply, _) = api.call(alertmanager(Some(AM_TOKEN), body)).await;
        assert!(status.is_client_error(), "{body}: {status} {reply}");
        let message = reply["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(named), "{body}: {message}");
    }
    for (name, bytes) in crate::corpus::corpus() {
        let request = Request::builder()
            .method("POST")
            .uri("/webhooks/alertmanager")
            .header("authorization", format!("Bearer {AM_TOKEN}"))
            .body(Body::from(bytes))
            .expect("request");
        let (status, reply, _) = api.call(request).await;
        assert!(status.is_client_error(), "{name}: {status} {reply}");
    }
}
