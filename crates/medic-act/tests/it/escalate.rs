//! The `escalate` action: the three shapes, and retries of transient failures.

use std::time::Duration;

use medic_act::{ActionContext, Executor};

use crate::support::{RecordingServer, Reply, action, context, target};

/// Fast retries, so the tests do not wait on production backoff.
fn executor() -> Executor {
    Executor::builder()
        .escalation_delivery(3, Duration::from_millis(10), Duration::from_secs(2))
        .build()
        .expect("executor")
}

async fn escalate(format: &str, extra: &str, ctx: &ActionContext) -> (serde_json::Value, String) {
    let server = RecordingServer::start().await;
    let remedy = action(&format!(
        r#"{{ kind = "escalate", webhook = "{}", format = "{format}"{extra} }}"#,
        server.url("/page")
    ));
    let outcome = executor()
        .run(&target(r#"name = "payments""#), &remedy, ctx)
        .await;
    assert!(outcome.success, "{outcome:?}");
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].path, "/page");
    assert_eq!(requests[0].header("content-type"), Some("application/json"));
    (requests[0].json(), outcome.output.unwrap_or_default())
}

#[tokio::test]
async fn generic_carries_every_field() {
    let mut ctx = context("payments");
    ctx.title = "db \"down\"\nagain".into();
    let (body, output) = escalate("generic", "", &ctx).await;
    assert_eq!(body["source"], "medic");
    assert_eq!(body["target"], "payments");
    assert_eq!(body["incident_id"], 42);
    assert_eq!(body["title"], "db \"down\"\nagain");
    assert_eq!(body["category"], "database");
    assert_eq!(body["severity"], "critical");
    assert_eq!(body["root_cause"], "connection refused by 127.0.0.1:5432");
    assert_eq!(
        body["evidence"],
        serde_json::json!(["ERROR db: connection refused", "retrying in 1s"])
    );
    assert_eq!(body["fingerprint"], "fp-db-refused");
    assert_eq!(body["remedy"], "fix");
    // Without [server] public_url there is no dashboard to link to.
    assert_eq!(body["dashboard_url"], serde_json::Value::Null);
    assert_eq!(body.as_object().map(|o| o.len()), Some(11));
    assert!(
        output.starts_with("HTTP 200 OK from http://127.0.0.1:"),
        "{output}"
    );
    assert!(output.contains("after 1 attempt"), "{output}");
}

#[tokio::test]
async fn pagerduty_is_an_events_v2_trigger() {
    // PATH is set in every test process; setting a variable of our own would
    // need `unsafe` in edition 2024.
    let (body, _) = escalate(
        "pagerduty",
        r#", routing_key_env = "PATH""#,
        &context("payments"),
    )
    .await;
    assert_eq!(
        body["routing_key"],
        std::env::var("PATH").expect("PATH is set")
    );
    assert_eq!(body["event_action"], "trigger");
    assert_eq!(body["dedup_key"], "medic-42");
    let payload = &body["payload"];
    assert_eq!(payload["summary"], "payments cannot reach its database");
    assert_eq!(payload["source"], "payments");
    assert_eq!(payload["severity"], "critical");
    let details = &payload["custom_details"];
    assert_eq!(details["incident_id"], 42);
    assert_eq!(details["category"], "database");
    assert_eq!(
        details["root_cause"],
        "connection refused by 127.0.0.1:5432"
    );
    assert_eq!(details["fingerprint"], "fp-db-refused");
    assert_eq!(details["evidence"][0], "ERROR db: connection refused");
}

#[tokio::test]
async fn pagerduty_maps_severities_and_tolerates_a_missing_key() {
    let mut ctx = context("payments");
    ctx.severity = "medium".into();
    let (body, _) = escalate(
        "pagerduty",
        r#", routing_key_env = "MEDIC_ACT_TEST_SURELY_UNSET""#,
        &ctx,
    )
    .await;
    assert_eq!(body["routing_key"], "");
    assert_eq!(body["payload"]["severity"], "warning");
}

#[tokio::test]
async fn slack_has_text_a_section_and_a_context() {
    let mut ctx = context("payments");
    ctx.root_cause = "pool exhausted <!here> & more".into();
    let (body, _) = escalate("slack", "", &ctx).await;
    let text = body["text"].as_str().expect("text");
    assert!(
        text.contains("payments cannot reach its database"),
        "{text}"
    );
    assert!(text.contains("#42"), "{text}");
    let blocks = body["blocks"].as_array().expect("blocks");
    assert_eq!(blocks[0]["type"], "section");
    assert_eq!(blocks[0]["text"]["type"], "mrkdwn");
    assert!(
        blocks[0]["text"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("*payments cannot reach its database*"))
    );
    assert_eq!(blocks[1]["type"], "context");
    let elements: Vec<&str> = blocks[1]["elements"]
        .as_array()
        .expect("elements")
        .iter()
        .map(|e| e["text"].as_str().expect("text"))
        .collect();
    assert_eq!(
        elements,
        [
            "category: *database*",
            "severity: *critical*",
            "root cause: pool exhausted &lt;!here&gt; &amp; more"
        ]
    );
}

#[tokio::test]
async fn transient_failures_are_retried_until_delivered() {
    let server = RecordingServer::answering(|_, n| match n {
        0 => Reply::status(503),
        1 => Reply::status(502),
        _ => Reply::status(202).body("accepted"),
    })
    .await;
    let remedy = action(&format!(
        r#"{{ kind = "escalate", webhook = "{}" }}"#,
        server.url("/page")
    ));
    let outcome = executor()
        .run(
            &target(r#"name = "payments""#),
            &remedy,
            &context("payments"),
        )
        .await;
    assert!(outcome.success, "{outcome:?}");
    assert_eq!(server.requests().len(), 3);
    let output = outcome.output.expect("output");
    assert!(
        output.contains("HTTP 202 Accepted") && output.contains("after 3 attempts"),
        "{output}"
    );
    let bodies: Vec<_> = server.requests().iter().map(|r| r.body.clone()).collect();
    assert!(
        bodies.windows(2).all(|pair| pair[0] == pair[1]),
        "every attempt sends the same page"
    );
}

#[tokio::test]
async fn a_client_error_is_not_retried() {
    let server =
        RecordingServer::answering(|_, _| Reply::status(400).body("bad routing key")).await;
    let remedy = action(&format!(
        r#"{{ kind = "escalate", webhook = "{}" }}"#,
        server.url("/page")
    ));
    let outcome = executor()
        .run(
            &target(r#"name = "payments""#),
            &remedy,
            &context("payments"),
        )
        .await;
    assert!(!outcome.success);
    assert_eq!(server.requests().len(), 1);
    let error = outcome.error.expect("error");
    assert!(
        error.contains("after 1 attempt: HTTP 400 Bad Request: bad routing key"),
        "{error}"
    );
}

#[tokio::test]
async fn a_webhook_that_stays_down_fails_after_three_attempts() {
    let server = RecordingServer::answering(|_, _| Reply::status(500)).await;
    let remedy = action(&format!(
        r#"{{ kind = "escalate", webhook = "{}" }}"#,
        server.url("/page")
    ));
    let outcome = executor()
        .run(
            &target(r#"name = "payments""#),
            &remedy,
            &context("payments"),
        )
        .await;
    assert!(!outcome.success);
    assert_eq!(server.requests().len(), 3);
    assert!(
        outcome
            .error
            .as_deref()
            .is_some_and(|e| e.contains("after 3 attempts")),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_refused_connection_is_retried_too() {
    let address = crate::support::closed_port().await;
    let remedy = action(&format!(
        r#"{{ kind = "escalate", webhook = "http://{address}/page" }}"#
    ));
    let outcome = executor()
        .run(
            &target(r#"name = "payments""#),
            &remedy,
            &context("payments"),
        )
        .await;
    assert!(!outcome.success);
    let error = outcome.error.expect("error");
    assert!(error.contains("after 3 attempts"), "{error}");
}
