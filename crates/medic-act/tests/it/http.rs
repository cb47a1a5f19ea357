//! The `http` action against a recording loopback server.

use std::time::Duration;

use crate::support::{RecordingServer, Reply, action, closed_port, context, executor, target};

const AWKWARD_NAME: &str = "pay ments \"blue\"/x&y=1";

#[tokio::test]
async fn placeholders_are_url_encoded_in_urls_plain_in_headers_and_json_escaped_in_bodies() {
    let server = RecordingServer::start().await;
    let remedy = action(&format!(
        r#"{{ kind = "http", url = "{}", headers = {{ "X-Target" = "{{{{target.name}}}}" }}, body = '{{"target":"{{{{target.name}}}}","cause":"{{{{diagnosis.root_cause}}}}"}}' }}"#,
        server.url("/fix/{{target.name}}?incident={{incident.id}}")
    ));
    let mut ctx = context(AWKWARD_NAME);
    ctx.root_cause = "said \"no\"\nthen hung up\\".into();

    let outcome = executor()
        .run(&target(r#"name = "payments""#), &remedy, &ctx)
        .await;

    assert!(outcome.success, "{outcome:?}");
    let output = outcome.output.expect("output");
    assert!(output.starts_with("HTTP 200 OK\nok"), "{output:?}");
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST", "POST is the default method");
    assert_eq!(
        request.path,
        "/fix/pay%20ments%20%22blue%22%2Fx%26y%3D1?incident=42"
    );
    assert_eq!(request.header("x-target"), Some(AWKWARD_NAME));
    assert_eq!(request.header("content-type"), Some("application/json"));
    let body = request.json();
    assert_eq!(body["target"], AWKWARD_NAME);
    assert_eq!(body["cause"], "said \"no\"\nthen hung up\\");
}

#[tokio::test]
async fn method_and_explicit_content_type_are_honoured() {
    let server = RecordingServer::start().await;
    let remedy = action(&format!(
        r#"{{ kind = "http", method = "put", url = "{}", headers = {{ "Content-Type" = "text/plain" }}, body = "drain {{{{target.name}}}}" }}"#,
        server.url("/drain")
    ));
    let outcome = executor()
        .run(&target(r#"name = "db""#), &remedy, &context("db"))
        .await;
    assert!(outcome.success, "{outcome:?}");
    let request = &server.requests()[0];
    assert_eq!(request.method, "PUT");
    assert_eq!(request.header("content-type"), Some("text/plain"));
    assert_eq!(request.body, "drain db");
}

#[tokio::test]
async fn expect_status_decides_success() {
    let server = RecordingServer::answering(|_, _| Reply::status(202).body("queued")).await;
    let target = target(r#"name = "db""#);
    let ctx = context("db");
    let run = |expect: &str| {
        let remedy = action(&format!(
            r#"{{ kind = "http", url = "{}", expect_status = [{expect}] }}"#,
            server.url("/x")
        ));
        let executor = executor();
        let target = target.clone();
        let ctx = ctx.clone();
        async move { executor.run(&target, &remedy, &ctx).await }
    };

    assert!(run("").await.success, "202 is a 2xx");
    assert!(run("202, 204").await.success);
    let refused = run("200").await;
    assert!(!refused.success);
    let error = refused.error.expect("error");
    assert!(
        error.ends_with("expected HTTP 200, got 202 Accepted"),
        "{error}"
    );
    assert!(error.starts_with("POST http://127.0.0.1:"), "{error}");
    assert_eq!(refused.output.as_deref(), Some("HTTP 202 Accepted\nqueued"));
}

#[tokio::test]
async fn a_5xx_fails_once_and_is_not_retried() {
    let server = RecordingServer::answering(|_, _| Reply::status(503).body("overloaded")).await;
    let remedy = action(&format!(
        r#"{{ kind = "http", url = "{}" }}"#,
        server.url("/x")
    ));
    let outcome = executor()
        .run(&target(r#"name = "db""#), &remedy, &context("db"))
        .await;
    assert!(!outcome.success);
    assert!(
        outcome
            .error
            .as_deref()
            .is_some_and(|e| e.contains("expected HTTP 2xx, got 503")),
        "{outcome:?}"
    );
    assert_eq!(
        server.requests().len(),
        1,
        "a remedy is never retried automatically"
    );
}

#[tokio::test]
async fn a_slow_answer_times_out() {
    let server =
        RecordingServer::answering(|_, _| Reply::status(200).after(Duration::from_secs(5))).await;
    let remedy = action(&format!(
        r#"{{ kind = "http", url = "{}", timeout = "200ms" }}"#,
        server.url("/slow")
    ));
    let outcome = executor()
        .run(&target(r#"name = "db""#), &remedy, &context("db"))
        .await;
    assert!(!outcome.success);
    assert!(
        outcome
            .error
            .as_deref()
            .is_some_and(|e| e.ends_with("timed out after 200ms")),
        "{outcome:?}"
    );
    assert!(
        (200..2000).contains(&outcome.duration_ms),
        "{}",
        outcome.duration_ms
    );
}

#[tokio::test]
async fn a_refused_connection_is_a_failed_outcome() {
    let address = closed_port().await;
    let remedy = action(&format!(
        r#"{{ kind = "http", url = "http://{address}/x" }}"#
    ));
    let outcome = executor()
        .run(&target(r#"name = "db""#), &remedy, &context("db"))
        .await;
    assert!(!outcome.success);
    let error = outcome.error.expect("error");
    assert!(error.contains(&address.to_string()), "{error}");
    assert!(error.to_lowercase().contains("refused"), "{error}");
}

#[tokio::test]
async fn a_value_cannot_inject_a_header() {
    let server = RecordingServer::start().await;
    let remedy = action(&format!(
        r#"{{ kind = "http", url = "{}", headers = {{ "X-Target" = "{{{{target.name}}}}" }} }}"#,
        server.url("/x")
    ));
    let outcome = executor()
        .run(
            &target(r#"name = "db""#),
            &remedy,
            &context("db\r\nX-Admin: yes"),
        )
        .await;
    assert!(!outcome.success);
    assert!(
        outcome
            .error
            .as_deref()
            .is_some_and(|e| e.contains("header X-Target")),
        "{outcome:?}"
    );
    assert!(server.requests().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn only_the_first_kib_of_the_body_is_kept() {
    let server =
        RecordingServer::answering(|_, _| Reply::status(200).body("z".repeat(10_000))).await;
    let remedy = action(&format!(
        r#"{{ kind = "http", url = "{}" }}"#,
        server.url("/big")
    ));
    let outcome = executor()
        .run(&target(r#"name = "db""#), &remedy, &context("db"))
        .await;
    let output = outcome.output.expect("output");
    assert_eq!(output, format!("HTTP 200 OK\n{}", "z".repeat(1024)));
}
