//! Every auth failure, for every route that needs a key; signed events.

use axum::body::Body;
use axum::http::Request;
use medic_api::{ROUTES, hex, sign};

use crate::harness::{ADMIN, Api, OPS, READER, SECRET, WRITER, assert_error, request};

fn path_of(route: &medic_api::RouteDoc) -> String {
    route
        .path
        .replace("{name}", "db")
        .replace("{id}", "1")
        .replace("{file}", "app.js")
}

/// A key that lacks `scope` (each test key has exactly one scope).
fn key_without(scope: &str) -> &'static str {
    match scope {
        "read" => WRITER,
        "write" => ADMIN,
        _ => READER,
    }
}

#[tokio::test]
async fn every_keyed_route_refuses_missing_wrong_and_underscoped_keys() {
    let api = Api::start().await;
    for route in ROUTES {
        let Some(scope) = route.scope_name() else {
            continue;
        };
        let path = path_of(route);
        let json = (route.method == "POST").then_some("{}");
        let (status, body, _) = api.call(request(route.method, &path, None, json)).await;
        assert_error(status, &body, 401, "unauthorized");
        let (status, body, _) = api
            .call(request(
                route.method,
                &path,
                Some("not-a-real-key-at-all"),
                json,
            ))
            .await;
        assert_error(status, &body, 401, "invalid_key");
        let (status, body, _) = api
            .call(request(route.method, &path, Some(key_without(scope)), json))
            .await;
        assert_error(status, &body, 403, "forbidden");
    }
}

#[tokio::test]
async fn bearer_works_like_x_api_key() {
    let api = Api::start().await;
    let bearer = Request::builder()
        .uri("/api/v1/health")
        .header("authorization", format!("Bearer {READER}"))
        .body(Body::empty())
        .expect("request");
    let (status, body, _) = api.call(bearer).await;
    assert!(status.is_success(), "{body}");
    assert!(body["system_status"].is_string());
}

fn signed(body: &str, header: &str) -> Request<Body> {
    Request::builder()
        .method("POST")
        .uri("/api/v1/events")
        .header("content-type", "application/json")
        .header("x-medic-signature", header)
        .body(Body::from(body.to_string()))
        .expect("request")
}

#[tokio::test]
async fn signed_events_are_accepted_once_and_bad_ones_refused() {
    let api = Api::start().await;
    let body = r#"{"component":"checkout","operation":"charge","outcome":"error","error":"card service 503"}"#;
    let now = chrono::Utc::now().timestamp();
    let good = format!(
        "t={now},v1={}",
        hex(&sign(SECRET.as_bytes(), now, body.as_bytes()))
    );
    let (status, reply, _) = api.call(signed(body, &good)).await;
    assert_eq!(status.as_u16(), 202, "{reply}");

    let (status, reply, _) = api.call(signed(body, &good)).await;
    assert_error(status, &reply, 401, "replayed_signature");

    let stale_t = now - 600;
    let stale = format!(
        "t={stale_t},v1={}",
        hex(&sign(SECRET.as_bytes(), stale_t, body.as_bytes()))
    );
    let (status, reply, _) = api.call(signed(body, &stale)).await;
    assert_error(status, &reply, 401, "stale_signature");

    let wrong = format!(
        "t={now},v1={}",
        hex(&sign(b"not-the-secret", now, body.as_bytes()))
    );
    let (status, reply, _) = api.call(signed(body, &wrong)).await;
    assert_error(status, &reply, 401, "invalid_signature");

    let tampered = body.replace("503", "500");
    let (status, reply, _) = api.call(signed(&tampered, &good)).await;
    assert_error(status, &reply, 401, "invalid_signature");

    let (status, reply, _) = api.call(signed(body, "garbage")).await;
    assert_error(status, &reply, 401, "invalid_signature");

    // The signed event counted for system health.
    let (_, health) = api.get("/api/v1/components", OPS).await;
    assert!(health.is_object());
    let (_, stats) = api.get("/api/v1/components/checkout/stats", OPS).await;
    assert_eq!(stats["errors"], 1, "{stats}");
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after() {
    let api = Api::with_server_settings("rate_limit = 1\nrate_burst = 2").await;
    for _ in 0..2 {
        let (status, body) = api.get("/api/v1/health", OPS).await;
        assert!(status.is_success(), "{body}");
    }
    let (status, body, headers) = api
        .call(request("GET", "/api/v1/health", Some(OPS), None))
        .await;
    assert_error(status, &body, 429, "rate_limited");
    assert_eq!(
        headers.get("retry-after").and_then(|v| v.to_str().ok()),
        Some("1")
    );
    // Another key has its own budget.
    let (status, _) = api.get("/api/v1/health", READER).await;
    assert!(status.is_success());
}

#[tokio::test]
async fn serving_beyond_loopback_without_keys_is_refused() {
    let text = "[server]\nlisten = \"127.0.0.1:0\"\n";
    let mut config = medic_engine::config::parse(text, &Default::default()).expect("config");
    config.server.listen = "0.0.0.0:0".into();
    let store = medic_store::connect("sqlite::memory:")
        .await
        .expect("store");
    let agent = medic_agent::Agent::start(config.clone(), store, Default::default())
        .await
        .expect("agent");
    let error = medic_api::serve(agent, &config, &Default::default())
        .await
        .expect_err("refused");
    assert!(error.to_string().contains("[auth] keys"), "{error}");
}

fn with_headers(method: &str, path: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::empty()).expect("request")
}

#[tokio::test]
async fn the_open_mode_refuses_other_sites_and_rebound_names() {
    let api = Api::without_keys().await;
    let local = [("host", "127.0.0.1:7400")];
    let (status, body, _) = api
        .call(with_headers("GET", "/api/v1/health", &local))
        .await;
    assert!(status.is_success(), "{body}");
    let (status, body, _) = api
        .call(with_headers(
            "GET",
            "/api/v1/health",
            &[("host", "localhost:7400")],
        ))
        .await;
    assert!(status.is_success(), "{body}");
    let (status, body, _) = api
        .call(with_headers(
            "GET",
            "/api/v1/health",
            &[("host", "evil.example:7400")],
        ))
        .await;
    assert_error(status, &body, 403, "forbidden");
    let cross = [
        ("host", "127.0.0.1:7400"),
        ("origin", "http://evil.example"),
    ];
    let (status, body, _) = api
        .call(with_headers("POST", "/api/v1/monitoring/stop", &cross))
        .await;
    assert_error(status, &body, 403, "forbidden");
    let same = [
        ("host", "127.0.0.1:7400"),
        ("origin", "http://127.0.0.1:7400"),
    ];
    let (status, body, _) = api
        .call(with_headers("POST", "/api/v1/monitoring/stop", &same))
        .await;
    assert!(status.is_success(), "{body}");
}

#[tokio::test]
async fn guessing_keys_is_rate_limited_per_address() {
    let api = Api::with_server_settings("rate_limit = 1\nrate_burst = 3").await;
    let mut codes = Vec::new();
    for _ in 0..5 {
        let (status, body, _) = api
            .call(request(
                "GET",
                "/api/v1/health",
                Some("guess-guess-guess-guess"),
                None,
            ))
            .await;
        codes.push((status.as_u16(), body["error"]["code"].clone()));
    }
    assert_eq!(codes[0].0, 401);
    assert_eq!(codes[4].0, 429, "{codes:?}");
}

#[tokio::test]
async fn registrations_reach_no_further_than_their_key() {
    let api = Api::start().await;
    let runs = r#"{"name":"job","remedies":[{"name":"kick","action":{"kind":"exec","command":["true"]}}]}"#;
    let writer_only = crate::harness::WRITER;
    let (status, body) = api
        .post("/api/v1/components", writer_only, Some(runs))
        .await;
    assert_error(status, &body, 403, "forbidden");
    let (status, body) = api.post("/api/v1/components", OPS, Some(runs)).await;
    assert_eq!(status.as_u16(), 201, "{body}");
    let leaks = r#"{"name":"leak","remedies":[{"name":"page","action":{"kind":"escalate","webhook":"http://127.0.0.1:9/x","format":"pagerduty","routing_key_env":"T_OPS"}}]}"#;
    let (status, body) = api.post("/api/v1/components", OPS, Some(leaks)).await;
    assert_error(status, &body, 422, "invalid_body");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("routing_key_env")),
        "{body}"
    );
}
