use std::time::Duration;

use medic_resilience::Error;
use medic_resilience::breaker::CircuitBreaker;
use medic_resilience::fallback::Fallback;
use medic_resilience::health::HealthStatus;
use medic_resilience::recovery::{ComponentPolicy, RecoveryEngine};
use medic_resilience::retry::Retry;

fn reset() -> std::io::Error {
    std::io::Error::from(std::io::ErrorKind::ConnectionReset)
}

#[tokio::test(start_paused = true)]
async fn a_healed_retry_is_recorded_with_the_first_errors_category() {
    let engine = RecoveryEngine::default();
    engine.register(
        "db",
        ComponentPolicy::builder()
            .retry(
                Retry::builder()
                    .max_attempts(3)
                    .initial_delay(Duration::from_millis(10))
                    .build()
                    .expect("valid"),
            )
            .build(),
    );
    let mut calls = 0;
    let rows = engine
        .execute_with_recovery("db", "select", || {
            calls += 1;
            let first = calls == 1;
            async move { if first { Err(reset()) } else { Ok(5) } }
        })
        .await;
    assert_eq!(rows.expect("healed"), 5);
    let recent = engine.recent(10);
    assert_eq!(recent.len(), 1);
    let record = &recent[0];
    assert_eq!(
        (record.action.as_str(), record.success, record.attempts),
        ("retry", true, 2)
    );
    assert_eq!(record.error_category, "network");
    assert_eq!(engine.stats(Some("db")).overall.success_rate, 1.0);
    assert_eq!(
        engine.health().component("db").snapshot().status,
        HealthStatus::Healthy
    );
}

#[tokio::test(start_paused = true)]
async fn breaker_rejections_and_fallbacks_are_recorded() {
    let engine = RecoveryEngine::default();
    engine.register(
        "search",
        ComponentPolicy::builder()
            .breaker(
                CircuitBreaker::builder("search")
                    .consecutive_failures(1)
                    .build()
                    .expect("valid"),
            )
            .build(),
    );
    engine.register(
        "prices",
        ComponentPolicy::builder()
            .fallback(Fallback::<u32, std::io::Error>::new().value("list", 10))
            .build(),
    );
    let first: Result<(), _> = engine
        .execute_with_recovery("search", "q", || async { Err(reset()) })
        .await;
    assert!(matches!(first, Err(Error::Inner(_))));
    let rejected: Result<(), _> = engine
        .execute_with_recovery("search", "q", || async { Err(reset()) })
        .await;
    assert!(matches!(rejected, Err(Error::CircuitOpen { .. })));
    let price = engine
        .execute_with_recovery("prices", "quote", || async { Err::<u32, _>(reset()) })
        .await;
    assert_eq!(price.expect("fallback"), 10);

    let stats = engine.stats(None);
    assert_eq!(stats.by_action["circuit_breaker"].failed_recoveries, 1);
    assert_eq!(stats.by_action["fallback"].successful_recoveries, 1);
    assert_eq!(
        stats.overall.total_recoveries, 2,
        "a plain first failure is not a recovery"
    );
    assert_eq!(engine.breakers().len(), 1);
    assert_eq!(engine.health().component("search").snapshot().errors, 2);
}

#[tokio::test]
async fn unknown_components_run_once_and_are_still_tracked() {
    let engine = RecoveryEngine::default();
    let mut calls = 0;
    let result: Result<(), _> = engine
        .execute_with_recovery("unregistered", "op", || {
            calls += 1;
            async { Err(reset()) }
        })
        .await;
    assert!(result.is_err());
    assert_eq!(calls, 1);
    assert_eq!(
        engine.health().component("unregistered").snapshot().calls,
        1
    );
    assert!(engine.recent(5).is_empty());
}
