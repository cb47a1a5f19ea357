//! The `wait` action under paused time.

use std::time::Duration;

use crate::support::{action, context, executor, target};

#[tokio::test(start_paused = true)]
async fn wait_sleeps_exactly_its_duration() {
    let started = tokio::time::Instant::now();
    let outcome = executor()
        .run(
            &target(r#"name = "db""#),
            &action(r#"{ kind = "wait", duration = "5m" }"#),
            &context("db"),
        )
        .await;
    assert!(outcome.success);
    assert_eq!(outcome.duration_ms, 300_000);
    assert_eq!(outcome.output.as_deref(), Some("waited 5m"));
    assert_eq!(started.elapsed(), Duration::from_secs(300));
}
