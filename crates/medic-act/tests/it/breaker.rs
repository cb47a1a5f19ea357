//! The per-(target, remedy) circuit breakers around actions.

use std::time::Duration;

use medic_act::{BreakerSettings, Executor};
use medic_resilience::breaker::State;

use crate::support::{action, context, target};

#[tokio::test]
async fn an_action_that_keeps_failing_is_skipped_until_its_trial() {
    let executor = Executor::builder()
        .breakers(BreakerSettings {
            consecutive_failures: 2,
            open_for: Duration::from_millis(300),
            max_open_for: Duration::from_secs(5),
        })
        .build()
        .expect("executor");
    let dir = tempfile::tempdir().expect("tempdir");
    let runs = dir.path().join("runs");
    let failing = action(&format!(
        r#"{{ kind = "exec", command = ["sh", "-c", "echo run >> {}; exit 1"] }}"#,
        runs.display()
    ));
    let db = target(r#"name = "db""#);
    let ctx = context("db");
    let count_runs = || {
        std::fs::read_to_string(&runs)
            .unwrap_or_default()
            .lines()
            .count()
    };

    for _ in 0..2 {
        assert!(!executor.run(&db, &failing, &ctx).await.success);
    }
    assert!(executor.is_open("db", "fix"));
    assert!(!executor.is_open("db", "other-remedy"));
    let skipped = executor.run(&db, &failing, &ctx).await;
    assert!(!skipped.success);
    let error = skipped.error.expect("error");
    assert!(
        error.starts_with("skipped: remedy fix of db kept failing"),
        "{error}"
    );
    assert_eq!(count_runs(), 2, "a skipped action does not run");

    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(!executor.is_open("db", "fix"), "the trial is due");
    assert!(!executor.run(&db, &failing, &ctx).await.success);
    assert_eq!(count_runs(), 3, "the trial ran");
    assert!(
        executor.is_open("db", "fix"),
        "a failed trial opens it again"
    );

    let snapshots = executor.breakers();
    assert_eq!(snapshots.len(), 1);
    assert_eq!(snapshots[0].name, "db/fix");
    assert!(executor.reset_breaker("db/fix"));
    assert!(!executor.reset_breaker("db/unknown"));
    assert_eq!(executor.breakers()[0].state, State::Closed);
    assert!(!executor.is_open("db", "fix"));
}

#[tokio::test]
async fn successes_keep_the_breaker_closed() {
    let executor = crate::support::executor();
    let ok = action(r#"{ kind = "exec", command = ["true"] }"#);
    let db = target(r#"name = "db""#);
    for _ in 0..5 {
        assert!(executor.run(&db, &ok, &context("db")).await.success);
    }
    assert!(!executor.is_open("db", "fix"));
}
