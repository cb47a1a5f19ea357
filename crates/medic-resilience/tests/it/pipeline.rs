use std::time::Duration;

use medic_resilience::Error;
use medic_resilience::backoff::Jitter;
use medic_resilience::breaker::{CircuitBreaker, State};
use medic_resilience::bulkhead::Bulkhead;
use medic_resilience::clock::Clock;
use medic_resilience::pipeline::Pipeline;
use medic_resilience::retry::Retry;
use medic_resilience::timeout::Timeout;

fn refused() -> std::io::Error {
    std::io::Error::from(std::io::ErrorKind::ConnectionRefused)
}

#[tokio::test(start_paused = true)]
async fn an_open_breaker_stops_the_retry_loop() {
    let pipeline = Pipeline::builder()
        .retry(
            Retry::builder()
                .max_attempts(10)
                .initial_delay(Duration::from_millis(1))
                .jitter(Jitter::None)
                .build()
                .expect("valid"),
        )
        .breaker(
            CircuitBreaker::builder("dep")
                .consecutive_failures(3)
                .clock(Clock::Tokio)
                .build()
                .expect("valid"),
        )
        .build();
    let mut calls = 0;
    let result: Result<(), _> = pipeline
        .call(|| {
            calls += 1;
            async { Err(refused()) }
        })
        .await;
    assert_eq!(calls, 3, "the breaker opened after three failures");
    assert!(matches!(result, Err(Error::CircuitOpen { .. })));
}

#[tokio::test(start_paused = true)]
async fn timeouts_count_as_breaker_failures() {
    let breaker = CircuitBreaker::builder("slow")
        .consecutive_failures(2)
        .clock(Clock::Tokio)
        .build()
        .expect("valid");
    let pipeline = Pipeline::builder()
        .breaker(breaker.clone())
        .timeout(Timeout::try_new(Duration::from_millis(50)).expect("valid"))
        .build();
    for _ in 0..2 {
        let result: Result<(), Error<std::io::Error>> = pipeline.call(std::future::pending).await;
        assert!(matches!(result, Err(Error::Timeout(_))));
    }
    assert_eq!(breaker.state(), State::Open);
}

#[tokio::test(start_paused = true)]
async fn bulkhead_rejections_do_not_count_against_the_dependency() {
    let breaker = CircuitBreaker::builder("busy")
        .consecutive_failures(1)
        .build()
        .expect("valid");
    let bulkhead = Bulkhead::try_new(1, 0).expect("valid");
    let pipeline = Pipeline::builder()
        .breaker(breaker.clone())
        .bulkhead(bulkhead.clone())
        .build();
    let _held = bulkhead.try_enter().expect("free");
    let result: Result<(), Error<std::io::Error>> = pipeline.call(|| async { Ok(()) }).await;
    assert!(matches!(result, Err(Error::BulkheadFull)));
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(breaker.snapshot().calls, 0);
}

#[tokio::test]
async fn an_empty_pipeline_just_runs_the_call() {
    let pipeline = Pipeline::default();
    let value: Result<u8, Error<std::io::Error>> = pipeline.call(|| async { Ok(7) }).await;
    assert_eq!(value.expect("ok"), 7);
    let failed: Result<u8, _> = pipeline.call(|| async { Err(refused()) }).await;
    assert!(matches!(failed, Err(Error::Inner(_))));
}
