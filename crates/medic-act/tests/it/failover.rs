//! The `failover` action: round robin over a target's endpoints.

use crate::support::{action, context, executor, target};

#[tokio::test]
async fn failover_moves_round_robin_and_wraps() {
    let executor = executor();
    let db = target(
        r#"
        name = "db"
        endpoints = ["10.0.0.1:5432", "10.0.0.2:5432", "10.0.0.3:5432"]
        "#,
    );
    let failover = action(r#"{ kind = "failover" }"#);
    assert_eq!(
        executor.active_endpoint(&db).as_deref(),
        Some("10.0.0.1:5432")
    );

    let mut outputs = Vec::new();
    for _ in 0..3 {
        let outcome = executor.run(&db, &failover, &context("db")).await;
        assert!(outcome.success, "{outcome:?}");
        outputs.push(outcome.output.expect("output"));
    }
    assert_eq!(
        outputs,
        [
            "active endpoint: 10.0.0.2:5432 (was 10.0.0.1:5432)",
            "active endpoint: 10.0.0.3:5432 (was 10.0.0.2:5432)",
            "active endpoint: 10.0.0.1:5432 (was 10.0.0.3:5432)",
        ]
    );
}

#[tokio::test]
async fn targets_fail_over_independently_and_clones_share_the_state() {
    let executor = executor();
    let clone = executor.clone();
    let a = target(
        r#"name = "a"
        endpoints = ["a1", "a2"]"#,
    );
    let b = target(
        r#"name = "b"
        endpoints = ["b1", "b2"]"#,
    );
    let failover = action(r#"{ kind = "failover" }"#);
    assert!(clone.run(&a, &failover, &context("a")).await.success);
    assert_eq!(executor.active_endpoint(&a).as_deref(), Some("a2"));
    assert_eq!(executor.active_endpoint(&b).as_deref(), Some("b1"));
}

#[tokio::test]
async fn failover_needs_two_endpoints() {
    let executor = executor();
    let failover = action(r#"{ kind = "failover" }"#);
    let none = target(r#"name = "none""#);
    let one = target(
        r#"name = "one"
        endpoints = ["only"]"#,
    );
    assert_eq!(executor.active_endpoint(&none), None);
    let outcome = executor.run(&none, &failover, &context("none")).await;
    assert!(!outcome.success);
    let outcome = executor.run(&one, &failover, &context("one")).await;
    assert_eq!(
        outcome.error.as_deref(),
        Some("target one has 1 endpoint(s); failover needs at least two")
    );
    assert_eq!(executor.active_endpoint(&one).as_deref(), Some("only"));
}
