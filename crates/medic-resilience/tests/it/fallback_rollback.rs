use std::sync::{Arc, Mutex};
use std::time::Duration;

use medic_resilience::Error;
use medic_resilience::fallback::Fallback;
use medic_resilience::rollback::Rollback;

#[tokio::test]
async fn alternatives_run_in_order_and_predicates_filter_them() {
    let chain: Fallback<&str, &str> = Fallback::new()
        .then_when(
            "only-timeouts",
            |e| matches!(e, Error::Timeout(_)),
            || async { Ok("from timeout path") },
        )
        .then("replica", || async { Err("replica down too") })
        .then("cache", || async { Ok("cached") });
    let (value, served_by) = chain.call_traced(async { Err("primary down") }).await;
    assert_eq!(value.expect("cache serves"), "cached");
    assert_eq!(served_by.as_deref(), Some("cache"));

    let (value, served_by) = chain
        .execute(async { Err(Error::Timeout(Duration::from_secs(1))) })
        .await;
    assert_eq!(
        value.expect("first alternative serves"),
        "from timeout path"
    );
    assert_eq!(served_by.as_deref(), Some("only-timeouts"));
}

#[tokio::test]
async fn when_nothing_serves_the_last_error_is_returned() {
    let chain: Fallback<u8, &str> = Fallback::new()
        .then("a", || async { Err("a failed") })
        .then_when("never", |_| false, || async { Ok(1) });
    let result = chain.call(async { Err("primary failed") }).await;
    assert_eq!(
        result.expect_err("all failed").into_inner(),
        Some("a failed")
    );
}

#[tokio::test]
async fn success_skips_the_chain() {
    let chain: Fallback<u8, &str> = Fallback::new().then("x", || async { panic!("must not run") });
    assert_eq!(chain.call(async { Ok(3) }).await.expect("ok"), 3);
}

#[tokio::test]
async fn rollback_undoes_newest_first_and_attempts_every_undo() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut tx = Rollback::new();
    for step in ["reserve-stock", "charge-card", "book-courier"] {
        let log = log.clone();
        tx.step(
            step,
            async { Ok::<_, String>(step.len()) },
            move |_| async move {
                log.lock().expect("lock").push(step);
                if step == "charge-card" {
                    Err("refund API down".into())
                } else {
                    Ok(())
                }
            },
        )
        .await
        .expect("step works");
    }
    assert_eq!(tx.len(), 3);
    let report = tx.rollback().await;
    assert_eq!(
        *log.lock().expect("lock"),
        ["book-courier", "charge-card", "reserve-stock"]
    );
    assert!(!report.is_complete());
    let failures: Vec<_> = report.failures().map(|u| u.step.as_str()).collect();
    assert_eq!(failures, ["charge-card"]);
    assert_eq!(report.undone[1].error.as_deref(), Some("refund API down"));
}

#[tokio::test]
async fn a_failed_step_registers_no_compensation_and_commit_forgets_all() {
    let mut tx = Rollback::new();
    let failed: Result<(), &str> = tx
        .step("x", async { Err("no") }, |_| async { Ok(()) })
        .await;
    assert!(failed.is_err());
    assert!(tx.is_empty());
    tx.register("manual", || async { Ok(()) });
    assert_eq!(tx.len(), 1);
    tx.commit();
}
