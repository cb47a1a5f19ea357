//! Strict shapes (issue 12, item 9): registrations keep HTTP methods and
//! headers to their RFC syntax (registrations have no HTTP probes of their
//! own; a probe's method is checked with the config, `http_shape.rs`), and every JSON intake takes a body only
//! when it is declared `application/json` (optionally `charset=utf-8`).

use axum::body::Body;
use axum::http::Request;
use serde_json::json;

use crate::harness::{AM_TOKEN, Api, GITHUB_SECRET, GITLAB_TOKEN, OPS, SECRET, assert_error};

#[tokio::test]
async fn registrations_refuse_bad_methods_and_header_injection() {
    let api = Api::start().await;
    let cases = [
        (
            json!({"name":"a","remedies":[{"name":"n","action":{"kind":"http","url":"http://127.0.0.1:9/","headers":{"X-Note":"ok\r\nX-Injected: 1"}}}]}),
            "remedies[0].action.headers.X-Note",
        ),
        (
            json!({"name":"b","remedies":[{"name":"n","action":{"kind":"http","url":"http://127.0.0.1:9/","headers":{"X Bad":"v"}}}]}),
            "not a header name",
        ),
        (
            json!({"name":"c","remedies":[{"name":"n","action":{"kind":"http","method":"POST /x HTTP/1.1\r\n","url":"http://127.0.0.1:9/"}}]}),
            "remedies[0].action.method",
        ),
    ];
    for (spec, words) in cases {
        let text = spec.to_string();
        let (status, body) = api.post("/api/v1/components", OPS, Some(&text)).await;
        assert_error(status, &body, 422, "invalid_body");
        assert!(body.to_string().contains(words), "{words}: {body}");
    }
    let fine = json!({"name":"e","remedies":[{"name":"n","action":{"kind":"http","method":"PURGE","url":"http://127.0.0.1:9/","headers":{"X-Id":"{{incident.id}}"}}}]});
    let (status, body) = api
        .post("/api/v1/components", OPS, Some(&fine.to_string()))
        .await;
    assert_eq!(status.as_u16(), 201, "{body}");
}

/// A request to `path` with `content_type` and whatever credentials the
/// intake takes, so only the content type can be wrong.
fn to_intake(path: &str, content_type: Option<&str>, body: &str) -> Request<Body> {
    let mut builder = Request::builder().method("POST").uri(path);
    if let Some(content_type) = content_type {
        builder = builder.header("content-type", content_type);
    }
    builder = match path {
        "/webhooks/alertmanager" => builder.header("authorization", format!("Bearer {AM_TOKEN}")),
        "/webhooks/github" => builder.header("x-github-event", "ping").header(
            "x-hub-signature-256",
            medic_api::hub_signature(GITHUB_SECRET.as_bytes(), body.as_bytes()),
        ),
        "/webhooks/gitlab" => builder.header("x-gitlab-token", GITLAB_TOKEN),
        "/webhooks/jenkins" => builder.header(
            "authorization",
            format!("Basic {}", base64_encode(b"jenkins:jenkins-password")),
        ),
        "/webhooks/generic" | "/webhooks/pipeline" => {
            let now = chrono::Utc::now().timestamp();
            let signature = medic_api::sign(SECRET.as_bytes(), now, body.as_bytes());
            builder.header(
                "x-medic-signature",
                format!("t={now},v1={}", medic_api::hex(&signature)),
            )
        }
        _ => builder.header("x-api-key", OPS),
    };
    builder.body(Body::from(body.to_string())).expect("request")
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test]
async fn every_json_intake_refuses_a_body_not_declared_json() {
    let api = Api::start().await;
    let intakes = [
        "/webhooks/alertmanager",
        "/webhooks/github",
        "/webhooks/gitlab",
        "/webhooks/jenkins",
        "/webhooks/generic",
        "/webhooks/pipeline",
        "/api/v1/events",
        "/api/v1/components",
    ];
    for path in intakes {
        for content_type in [
            Some("application/jsonx"),
            Some("text/plain"),
            Some("application/vnd.api+json"),
            Some("application/x-www-form-urlencoded"),
            Some("application/json; charset=latin-1"),
            None,
        ] {
            let (status, body, _) = api.call(to_intake(path, content_type, r#"{"a":1}"#)).await;
            assert_error(status, &body, 415, "unsupported_media_type");
            assert!(
                body["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("application/json")),
                "{path} {content_type:?}: {body}"
            );
        }
    }
}

#[tokio::test]
async fn declared_json_is_taken_in_any_case_with_a_utf8_charset() {
    let api = Api::start().await;
    // Jenkins' Notification plugin sends exactly this.
    let notice =
        json!({"name":"app","url":"job/app/","build":{"number":1,"phase":"STARTED"}}).to_string();
    for content_type in [
        "application/json",
        "application/json;charset=UTF-8",
        "Application/JSON; charset=\"utf-8\"",
    ] {
        let (status, body, _) = api
            .call(to_intake("/webhooks/jenkins", Some(content_type), &notice))
            .await;
        assert_eq!(status.as_u16(), 200, "{content_type}: {body}");
        let (status, body, _) = api
            .call(to_intake("/webhooks/github", Some(content_type), "{}"))
            .await;
        assert_eq!(status.as_u16(), 200, "{content_type}: {body}");
    }
}

#[tokio::test]
async fn github_form_encoded_deliveries_are_told_which_setting_to_change() {
    let api = Api::start().await;
    let (status, body, _) = api
        .call(to_intake(
            "/webhooks/github",
            Some("application/x-www-form-urlencoded"),
            "payload=%7B%7D",
        ))
        .await;
    assert_error(status, &body, 415, "unsupported_media_type");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("set Content type to application/json")),
        "{body}"
    );
}
