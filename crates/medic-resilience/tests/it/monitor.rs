use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use medic_resilience::clock::Clock;
use medic_resilience::health::{HealthMonitor, HealthRegistry, HealthStatus, HealthThresholds};

#[tokio::test(start_paused = true)]
async fn the_monitor_checks_on_its_interval_alerts_on_changes_and_stops() {
    // A few ticks are all this test has: every call counts.
    let registry = Arc::new(HealthRegistry::new(
        Duration::from_secs(60),
        1_000,
        HealthThresholds::default().with_min_calls(1),
        Clock::Std,
    ));
    let monitor = HealthMonitor::try_new(
        registry.clone(),
        Duration::from_secs(1),
        Duration::from_millis(100),
    )
    .expect("valid");
    let broken = Arc::new(AtomicBool::new(false));
    let flag = broken.clone();
    monitor.register("queue", move || {
        let broken = flag.load(Ordering::SeqCst);
        async move {
            if broken {
                Err("connection refused".into())
            } else {
                Ok(())
            }
        }
    });
    monitor.register("hangs", std::future::pending);
    let alerts = Arc::new(Mutex::new(Vec::new()));
    let sink = alerts.clone();
    monitor.on_alert(move |alert| {
        sink.lock()
            .expect("lock")
            .push((alert.component.clone(), alert.from, alert.to));
    });

    monitor.start();
    monitor.start(); // idempotent
    assert!(monitor.is_running());
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(
        registry.component("queue").snapshot().calls,
        3,
        "ticks at 0, 1 s, 2 s"
    );
    let hangs = registry.component("hangs").snapshot();
    assert_eq!(hangs.status, HealthStatus::Critical);
    assert!(
        hangs
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("timed out"))
    );

    broken.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        registry.component("queue").snapshot().status,
        HealthStatus::Unhealthy
    );

    monitor.stop().await;
    assert!(!monitor.is_running());
    let calls = registry.component("queue").snapshot().calls;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        registry.component("queue").snapshot().calls,
        calls,
        "no checks after stop"
    );

    let alerts = alerts.lock().expect("lock").clone();
    assert!(alerts.contains(&(
        "hangs".to_string(),
        HealthStatus::Healthy,
        HealthStatus::Critical
    )));
    assert!(alerts.contains(&(
        "queue".to_string(),
        HealthStatus::Healthy,
        HealthStatus::Unhealthy
    )));
}
