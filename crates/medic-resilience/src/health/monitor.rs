//! A background loop that runs health checks on an interval and raises alerts.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use super::registry::HealthRegistry;
use super::status::HealthStatus;
use crate::error::{ConfigError, check_nonzero};
use crate::fallback::BoxFuture;
use crate::rollback::BoxError;

type CheckFn = Arc<dyn Fn() -> BoxFuture<'static, Result<(), BoxError>> + Send + Sync>;
type AlertFn = Arc<dyn Fn(&HealthAlert) + Send + Sync>;

/// A component changed health tier.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HealthAlert {
    /// The component.
    pub component: String,
    /// Its previous tier.
    pub from: HealthStatus,
    /// Its new tier.
    pub to: HealthStatus,
    /// Its error rate now.
    pub error_rate: f64,
    /// The check's error, if the last check failed.
    pub error: Option<String>,
}

struct Inner {
    registry: Arc<HealthRegistry>,
    interval: Duration,
    check_timeout: Duration,
    checks: Mutex<BTreeMap<String, CheckFn>>,
    alerts: Mutex<Vec<AlertFn>>,
    last_status: Mutex<BTreeMap<String, HealthStatus>>,
    running: Mutex<Option<(watch::Sender<bool>, JoinHandle<()>)>>,
}

/// Runs registered async checks every `interval`, feeds their outcomes into a
/// [`HealthRegistry`], and calls the alert callbacks when a tier changes.
///
/// ```
/// use medic_resilience::health::{HealthMonitor, HealthRegistry};
/// use std::{sync::Arc, time::Duration};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), medic_resilience::ConfigError> {
/// let registry = Arc::new(HealthRegistry::default());
/// let monitor = HealthMonitor::try_new(registry.clone(), Duration::from_secs(5), Duration::from_secs(1))?;
/// monitor.register("disk", || async { Ok(()) });
/// monitor.run_once().await;
/// assert_eq!(registry.component("disk").snapshot().calls, 1);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct HealthMonitor {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for HealthMonitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthMonitor")
            .field("interval", &self.inner.interval)
            .field("running", &self.is_running())
            .finish_non_exhaustive()
    }
}

impl HealthMonitor {
    /// A stopped monitor checking every `interval`, each check bounded by `check_timeout`.
    pub fn try_new(
        registry: Arc<HealthRegistry>,
        interval: Duration,
        check_timeout: Duration,
    ) -> Result<Self, ConfigError> {
        check_nonzero("interval", interval)?;
        check_nonzero("check_timeout", check_timeout)?;
        Ok(Self {
            inner: Arc::new(Inner {
                registry,
                interval,
                check_timeout,
                checks: Mutex::new(BTreeMap::new()),
                alerts: Mutex::new(Vec::new()),
                last_status: Mutex::new(BTreeMap::new()),
                running: Mutex::new(None),
            }),
        })
    }

    /// Adds (or replaces) the check for `component`. `Ok` is healthy.
    pub fn register<F, Fut>(&self, component: &str, check: F)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        let check: CheckFn = Arc::new(move || Box::pin(check()));
        lock(&self.inner.checks).insert(component.to_string(), check);
    }

    /// Removes the check for `component`.
    pub fn unregister(&self, component: &str) {
        lock(&self.inner.checks).remove(component);
    }

    /// Calls `alert` whenever a component changes tier.
    pub fn on_alert<F>(&self, alert: F)
    where
        F: Fn(&HealthAlert) + Send + Sync + 'static,
    {
        lock(&self.inner.alerts).push(Arc::new(alert));
    }

    /// Runs every check once, concurrently, and records the outcomes.
    pub async fn run_once(&self) {
        let checks: Vec<(String, CheckFn)> = lock(&self.inner.checks)
            .iter()
            .map(|(name, check)| (name.clone(), check.clone()))
            .collect();
        let mut running = JoinSet::new();
        for (name, check) in checks {
            let limit = self.inner.check_timeout;
            running.spawn(async move {
                let started = Instant::now();
                let outcome = match tokio::time::timeout(limit, check()).await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err(format!("check timed out after {limit:?}")),
                };
                (name, started.elapsed(), outcome)
            });
        }
        while let Some(joined) = running.join_next().await {
            let (name, latency, outcome) = match joined {
                Ok(result) => result,
                Err(e) => {
                    tracing::warn!(target: "medic_resilience", error = %e, "health check task failed");
                    continue;
                }
            };
            let health = self.inner.registry.component(&name);
            match &outcome {
                Ok(()) => health.record_success(latency),
                Err(e) => health.record_failure(latency, e),
            }
            self.compare_and_alert(&name, outcome.err());
        }
    }

    fn compare_and_alert(&self, name: &str, error: Option<String>) {
        let Some(health) = self.inner.registry.get(name) else {
            return;
        };
        let snapshot = health.snapshot();
        let previous = lock(&self.inner.last_status).insert(name.to_string(), snapshot.status);
        let from = previous.unwrap_or(HealthStatus::Healthy);
        if from == snapshot.status {
            return;
        }
        let alert = HealthAlert {
            component: name.to_string(),
            from,
            to: snapshot.status,
            error_rate: snapshot.error_rate,
            error,
        };
        tracing::warn!(target: "medic_resilience", component = name, %from, to = %alert.to, "health changed");
        let callbacks = lock(&self.inner.alerts).clone();
        for callback in callbacks {
            callback(&alert);
        }
    }

    /// Starts the background loop on the current tokio runtime; a no-op if running.
    pub fn start(&self) {
        let mut running = lock(&self.inner.running);
        if running.is_some() {
            return;
        }
        let (stop, mut stopped) = watch::channel(false);
        let monitor = self.clone();
        let handle = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(monitor.inner.interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticks.tick() => monitor.run_once().await,
                    _ = stopped.changed() => break,
                }
            }
        });
        *running = Some((stop, handle));
    }

    /// Stops the loop and waits for it to finish; a no-op if stopped.
    pub async fn stop(&self) {
        let running = lock(&self.inner.running).take();
        if let Some((stop, handle)) = running {
            let _ = stop.send(true);
            let _ = handle.await;
        }
    }

    /// Whether the loop is running.
    pub fn is_running(&self) -> bool {
        lock(&self.inner.running).is_some()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
