use std::time::Duration;

use medic_resilience::Error;
use medic_resilience::bulkhead::Bulkhead;

#[tokio::test(start_paused = true)]
async fn calls_beyond_the_limit_queue_and_the_queue_is_bounded() {
    let bulkhead = Bulkhead::try_new(1, 1).expect("valid");
    let held = bulkhead.try_enter().expect("first slot");

    let queued = {
        let bulkhead = bulkhead.clone();
        tokio::spawn(async move { bulkhead.call(async { Ok::<_, ()>("served") }).await })
    };
    tokio::task::yield_now().await;
    assert_eq!(bulkhead.queued(), 1);

    let overflow = bulkhead.call(async { Ok::<_, ()>("never") }).await;
    assert!(matches!(overflow, Err(Error::BulkheadFull)));

    drop(held);
    assert_eq!(queued.await.expect("task").expect("served"), "served");
    assert_eq!((bulkhead.in_flight(), bulkhead.queued()), (0, 0));
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_waiter_leaves_the_queue() {
    let bulkhead = Bulkhead::try_new(1, 1).expect("valid");
    let _held = bulkhead.try_enter().expect("slot");
    let gave_up = tokio::time::timeout(
        Duration::from_millis(10),
        bulkhead.call(async { Ok::<_, ()>(()) }),
    )
    .await;
    assert!(gave_up.is_err());
    assert_eq!(bulkhead.queued(), 0, "the queue slot came back");
}

#[tokio::test(start_paused = true)]
async fn queued_calls_give_up_after_max_wait() {
    let bulkhead = Bulkhead::builder(1)
        .max_queued(5)
        .max_wait(Duration::from_millis(100))
        .build()
        .expect("valid");
    let _held = bulkhead.try_enter().expect("slot");
    let start = tokio::time::Instant::now();
    let result = bulkhead.call(async { Ok::<_, ()>(()) }).await;
    assert!(matches!(result, Err(Error::BulkheadFull)));
    assert_eq!(start.elapsed(), Duration::from_millis(100));
}

#[test]
fn invalid_settings_name_the_field() {
    assert_eq!(
        Bulkhead::try_new(0, 1).expect_err("zero").field,
        "max_concurrent"
    );
    assert_eq!(
        Bulkhead::builder(1)
            .max_wait(Duration::ZERO)
            .build()
            .expect_err("zero")
            .field,
        "max_wait"
    );
}
