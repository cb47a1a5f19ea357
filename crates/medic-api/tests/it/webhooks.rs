//! The webhook intakes through the router: each sender's own auth, durable
//! deduplicated intake, and what the agent makes of it.

use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};

use crate::harness::{AM_TOKEN, Api, OPS, SECRET, WRITER, assert_error};

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
async fn alerts_with_nul_are_acted_on() {
    let api = Api::start().await;
    let labels = json!({"alertname": "Disk\u{0}Full", "instance": "host-9\u{0}"});
    let mut body: Value = serde_json::from_str(&notification("firing", labels)).expect("json");
    body["alerts"][0]["annotations"]["summary"] =
        json!("/var:\u{0} No space left on device\u{1b}[0m");
    let body = body.to_string();
    assert!(body.contains("\\u0000"), "{body}");
    let (status, reply, _) = api.call(alertmanager(Some(AM_TOKEN), &body)).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["new"], 1, "{reply}");
    let incidents = api
        .wait_for("/api/v1/incidents?target=alerts", |b| {
            b["incidents"][0]["status"] == "escalated"
        })
        .await;
    let title = incidents["incidents"][0]["title"]
        .as_str()
        .unwrap_or_default();
    assert!(
        title.contains("Disk\u{FFFD}Full")
            && title.contains("/var:\u{FFFD} No space")
            && !title.contains('\u{1b}'),
        "{title}"
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
    // Not UTF-8: refused, naming the first bad byte (a NUL escape is not
    // refused: it is replaced, see `alerts_with_nul_are_acted_on`).
    let mut bytes = br#"{"version":"4","alerts":[{"labels":{"a":""#.to_vec();
    let offset = bytes.len();
    bytes.extend_from_slice(b"\xff\xfe\"}}]}");
    let request = Request::builder()
        .method("POST")
        .uri("/webhooks/alertmanager")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {AM_TOKEN}"))
        .body(Body::from(bytes))
        .expect("request");
    let (status, reply, _) = api.call(request).await;
    assert_error(status, &reply, 400, "invalid_json");
    let message = reply["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(&format!("offset {offset}")), "{message}");
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

/// A delivery signed with the generic scheme at `timestamp`.
fn signed(path: &str, body: &str, timestamp: i64) -> Request<Body> {
    let signature = medic_api::hex(&medic_api::sign(
        SECRET.as_bytes(),
        timestamp,
        body.as_bytes(),
    ));
    Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/json")
        .header("x-medic-signature", format!("t={timestamp},v1={signature}"))
        .body(Body::from(body.to_string()))
        .expect("request")
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[tokio::test]
async fn generic_reports_answer_with_incident_diagnosis_plan_and_execution() {
    let api = Api::start().await;
    let minimal =
        r#"{"data":{"message":"checkout: connect to 10.0.0.7:5432 failed: Connection refused"}}"#;
    let (status, reply, _) = api.call(signed("/webhooks/generic", minimal, now())).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["status"], "accepted", "{reply}");
    assert_eq!(reply["target"], "alerts", "{reply}");
    // A refusal on PostgreSQL's port is the database (issue 17).
    assert_eq!(reply["diagnosis"]["category"], "database", "{reply}");
    let id = reply["incident_id"].as_i64().expect("an incident");
    // The pseudo-target has no remedies: nothing planned, left for a human.
    assert_eq!(reply["plan"], json!([]), "{reply}");
    assert!(reply["execution"]["state"].is_string(), "{reply}");

    // The same report again without an id: a new report, a new incident
    // (the first one ended, escalated, and nothing was left firing).
    let (status, again, _) = api
        .call(signed("/webhooks/generic", minimal, now() + 1))
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["status"], "accepted", "{again}");
    assert!(
        again["incident_id"].as_i64().is_some_and(|i| i > id),
        "{again}"
    );

    // With an id, a retry is the same report.
    let retried = r#"{"id":"nightly-backup-2026-11-26","data":{"message":"backup: write failed: No space left on device"}}"#;
    let (status, first, _) = api.call(signed("/webhooks/generic", retried, now())).await;
    assert_eq!(
        (status.as_u16(), &first["status"]),
        (200, &json!("accepted")),
        "{first}"
    );
    let (status, second, _) = api
        .call(signed("/webhooks/generic", retried, now() + 1))
        .await;
    assert_eq!(
        (status.as_u16(), &second["status"]),
        (200, &json!("duplicate")),
        "{second}"
    );
    assert_eq!(second["incident_id"], first["incident_id"], "{second}");

    // The richer form: a known target, its logs, an id.
    let rich = json!({
        "id": "deploy-42",
        "data": {
            "message": "db health check failing",
            "target": "db",
            "severity": "critical",
            "labels": {"team": "payments"},
            "logs": ["INFO starting", "ERROR pool: too many connections (max 100)"],
        }
    })
    .to_string();
    let (status, reply, _) = api.call(signed("/webhooks/generic", &rich, now())).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["target"], "db", "{reply}");
    assert_ne!(reply["incident_id"].as_i64(), Some(id), "{reply}");
    // db's only remedy is high-risk: the plan says it waits for a human.
    let planned = reply["plan"].as_array().expect("plan");
    assert!(
        planned
            .iter()
            .any(|p| p["remedy"] == "restart-db" && p["decision"] == "needs_approval")
            || reply["execution"]["actions"]
                .as_array()
                .is_some_and(|a| !a.is_empty()),
        "{reply}"
    );
}

#[tokio::test]
async fn generic_signatures_are_checked_once_and_in_time() {
    let api = Api::start().await;
    let body = r#"{"data":{"message":"queue consumer stalled"}}"#;
    let unsigned = Request::builder()
        .method("POST")
        .uri("/webhooks/generic")
        .header("content-type", "application/json")
        .body(Body::from(body))
        .expect("request");
    let (status, reply, _) = api.call(unsigned).await;
    assert_error(status, &reply, 401, "invalid_signature");
    let (status, reply, _) = api
        .call(signed("/webhooks/generic", body, now() - 3600))
        .await;
    assert_error(status, &reply, 401, "stale_signature");
    let at = now();
    let (status, reply, _) = api.call(signed("/webhooks/generic", body, at)).await;
    assert_eq!(status, 200, "{reply}");
    let (status, reply, _) = api.call(signed("/webhooks/generic", body, at)).await;
    assert_error(status, &reply, 401, "replayed_signature");
    // Signed for another body: refused.
    let mut forged = signed("/webhooks/generic", body, now());
    *forged.body_mut() = Body::from(r#"{"data":{"message":"rm -rf /"}}"#);
    let (status, reply, _) = api.call(forged).await;
    assert_error(status, &reply, 401, "invalid_signature");
}

#[tokio::test]
async fn pipeline_failures_are_classified_by_the_catalog() {
    let api = Api::start().await;
    let failure = |build: u32, message: &str| {
        json!({
            "source": "jenkins",
            "job_name": "deploy-web",
            "build_number": build,
            "stage": "install",
            "error_message": message,
            "target_hosts": ["web-1", "web-2"],
        })
        .to_string()
    };
    let transient = failure(
        7,
        "npm ERR! code E503\nnpm ERR! 503 Service Unavailable - GET https://registry.npmjs.org/left-pad",
    );
    let (status, reply, _) = api
        .call(signed("/webhooks/pipeline", &transient, now()))
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["classification"]["kind"], "transient", "{reply}");
    assert_eq!(
        reply["classification"]["entry"], "registry-unavailable",
        "{reply}"
    );
    assert_eq!(reply["classification"]["retry_advised"], true, "{reply}");
    assert!(reply["incident_id"].is_i64(), "{reply}");

    let compile = failure(
        8,
        "error[E0425]: cannot find value `x` in this scope\nerror: could not compile `web`",
    );
    let (status, reply, _) = api
        .call(signed("/webhooks/pipeline", &compile, now()))
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["classification"]["kind"], "deterministic", "{reply}");
    assert_eq!(reply["classification"]["retry_advised"], false, "{reply}");

    let (status, reply, _) = api
        .call(signed("/webhooks/pipeline", &compile, now() + 1))
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["status"], "duplicate", "{reply}");

    let (status, reply, _) = api
        .call(signed(
            "/webhooks/pipeline",
            r#"{"source":"ci","job_name":"","build_number":1,"error_message":"x"}"#,
            now(),
        ))
        .await;
    assert_error(status, &reply, 422, "invalid_body");
    assert!(
        reply["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("job_name")),
        "{reply}"
    );
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 48, ..Default::default() })]

    /// Whatever reaches an intake, raw bytes or well-formed payloads with
    /// arbitrary values, the answer is a 2xx or a 4xx: never a 5xx.
    #[test]
    fn intakes_never_answer_5xx(
        bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
        text in "\\PC{0,40}",
        status in "(firing|resolved|[a-z]{0,8})",
        starts in "(2026-11-26T06:00:00Z|[0-9:TZ-]{0,24})",
        number in proptest::prelude::any::<i64>(),
    ) {
        runtime().block_on(async {
            let api = Api::start().await;
            let alert = json!({"version": "4", "alerts": [{"status": status, "labels": {"alertname": text, "service": text},
                "annotations": {"summary": text}, "startsAt": starts, "fingerprint": text}]}).to_string();
            let generic = json!({"id": text, "data": {"message": text, "target": text, "logs": [text], "status": status}}).to_string();
            let pipeline = json!({"source": text, "job_name": text, "build_number": number, "stage": text,
                "error_message": text, "target_hosts": [text]}).to_string();
            let raw = String::from_utf8_lossy(&bytes).into_owned();
            let t = now();
            let requests = [
                alertmanager(Some(AM_TOKEN), &alert),
                alertmanager(Some(AM_TOKEN), &raw),
                signed("/webhooks/generic", &generic, t),
                signed("/webhooks/generic", &raw, t),
                signed("/webhooks/pipeline", &pipeline, t),
                signed("/webhooks/pipeline", &raw, t),
            ];
            for request in requests {
                let path = request.uri().path().to_string();
                let (code, reply, _) = api.call(request).await;
                proptest::prop_assert!(code.as_u16() < 500, "{path}: {code} {reply}");
            }
            Ok(())
        })?;
    }
}
