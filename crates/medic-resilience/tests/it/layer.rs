use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use medic_resilience::Error;
use medic_resilience::breaker::{CircuitBreaker, State};
use medic_resilience::bulkhead::Bulkhead;
use medic_resilience::layer::{BulkheadLayer, CircuitBreakerLayer, RetryLayer, TimeoutLayer};
use medic_resilience::retry::Retry;
use medic_resilience::timeout::Timeout;
use tower::{ServiceBuilder, ServiceExt, service_fn};

#[tokio::test(start_paused = true)]
async fn retry_layer_resends_the_request() {
    let calls = Arc::new(AtomicU32::new(0));
    let counter = calls.clone();
    let flaky = service_fn(move |request: u32| {
        let attempt = counter.fetch_add(1, Ordering::SeqCst) + 1;
        async move {
            if attempt < 3 {
                Err(std::io::Error::from(std::io::ErrorKind::ConnectionReset))
            } else {
                Ok(request * 2)
            }
        }
    });
    let retry = Retry::builder()
        .max_attempts(3)
        .initial_delay(Duration::from_millis(5))
        .build()
        .expect("valid");
    let service = ServiceBuilder::new()
        .layer(RetryLayer::new(retry))
        .service(flaky);
    assert_eq!(service.oneshot(21).await.expect("third attempt"), 42);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn breaker_timeout_and_bulkhead_layers_compose() {
    let breaker = CircuitBreaker::builder("svc")
        .consecutive_failures(2)
        .build()
        .expect("valid");
    let hanging = service_fn(|_: ()| std::future::pending::<Result<(), std::io::Error>>());
    let service = ServiceBuilder::new()
        .layer(CircuitBreakerLayer::new(breaker.clone()))
        .layer(BulkheadLayer::new(Bulkhead::try_new(4, 0).expect("valid")))
        .layer(TimeoutLayer::new(
            Timeout::try_new(Duration::from_millis(20)).expect("valid"),
        ))
        .service(hanging);
    for _ in 0..2 {
        let result = service.clone().oneshot(()).await;
        assert!(matches!(
            result,
            Err(Error::Inner(Error::Inner(Error::Timeout(_))))
        ));
    }
    assert_eq!(breaker.state(), State::Open);
    let rejected = service.oneshot(()).await;
    assert!(matches!(rejected, Err(Error::CircuitOpen { .. })));
}
