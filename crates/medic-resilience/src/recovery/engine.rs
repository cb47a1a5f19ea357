//! The recovery engine: each component's policies applied by name, with
//! health tracking and recovery statistics kept on the way.

use std::any::{Any, TypeId};
use std::cell::{Cell, OnceCell};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Display;
use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use super::stats::{RecoveryLog, RecoveryRecord};
use crate::breaker::CircuitBreaker;
use crate::classify::{Classify, ErrorClassifier};
use crate::error::Error;
use crate::fallback::Fallback;
use crate::health::HealthRegistry;
use crate::pipeline::Pipeline;
use crate::retry::Retry;
use crate::timeout::Timeout;

/// The policies registered for one component.
#[derive(Clone, Default)]
pub struct ComponentPolicy {
    pipeline: Pipeline,
    /// `Fallback<T, E>` chains keyed by their `(T, E)` types.
    fallbacks: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
}

impl std::fmt::Debug for ComponentPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComponentPolicy")
            .field("pipeline", &self.pipeline)
            .field("fallbacks", &self.fallbacks.len())
            .finish()
    }
}

/// Builds a [`ComponentPolicy`].
#[derive(Debug, Clone, Default)]
pub struct ComponentPolicyBuilder {
    retry: Option<Retry>,
    breaker: Option<CircuitBreaker>,
    timeout: Option<Timeout>,
    policy: ComponentPolicy,
}

impl ComponentPolicyBuilder {
    /// Retries the component's failed calls.
    pub fn retry(mut self, retry: Retry) -> Self {
        self.retry = Some(retry);
        self
    }
    /// Guards the component with a breaker.
    pub fn breaker(mut self, breaker: CircuitBreaker) -> Self {
        self.breaker = Some(breaker);
        self
    }
    /// Bounds each attempt.
    pub fn timeout(mut self, timeout: Timeout) -> Self {
        self.timeout = Some(timeout);
        self
    }
    /// Adds the fallback chain used for operations returning `Result<T, E>`.
    ///
    /// Chains are found by their exact `(T, E)` types, so name them
    /// (`Fallback::<Price, std::io::Error>::new()`): a chain registered for other
    /// types is never used for this operation.
    pub fn fallback<T, E>(mut self, chain: Fallback<T, E>) -> Self
    where
        T: Send + 'static,
        E: Send + 'static,
    {
        self.policy
            .fallbacks
            .insert(TypeId::of::<(T, E)>(), Arc::new(chain));
        self
    }
    /// The policy.
    pub fn build(mut self) -> ComponentPolicy {
        let mut pipeline = Pipeline::builder();
        if let Some(retry) = self.retry {
            pipeline = pipeline.retry(retry);
        }
        if let Some(breaker) = self.breaker {
            pipeline = pipeline.breaker(breaker);
        }
        if let Some(timeout) = self.timeout {
            pipeline = pipeline.timeout(timeout);
        }
        self.policy.pipeline = pipeline.build();
        self.policy
    }
}

impl ComponentPolicy {
    /// Starts a builder with no policies.
    pub fn builder() -> ComponentPolicyBuilder {
        ComponentPolicyBuilder::default()
    }

    fn fallback<T: 'static, E: 'static>(&self) -> Option<&Fallback<T, E>> {
        self.fallbacks
            .get(&TypeId::of::<(T, E)>())
            .and_then(|chain| chain.downcast_ref::<Fallback<T, E>>())
    }
}

/// Applies each component's registered policies and records what happened.
///
/// ```
/// use medic_resilience::recovery::{ComponentPolicy, RecoveryEngine};
/// use medic_resilience::{fallback::Fallback, retry::Retry};
/// use std::time::Duration;
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() -> Result<(), medic_resilience::ConfigError> {
/// let engine = RecoveryEngine::default();
/// engine.register("pricing", ComponentPolicy::builder()
///     .retry(Retry::builder().max_attempts(2).initial_delay(Duration::from_millis(5)).build()?)
///     .fallback(Fallback::<u32, std::io::Error>::new().value("list-price", 100))
///     .build());
/// let refused = || async { Err::<u32, _>(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)) };
/// let price = engine.execute_with_recovery("pricing", "quote", refused).await;
/// assert_eq!(price.unwrap(), 100);
/// let stats = engine.stats(None);
/// assert_eq!(stats.by_action["fallback"].successful_recoveries, 1);
/// # Ok(()) }
/// ```
#[derive(Debug, Default)]
pub struct RecoveryEngine {
    components: RwLock<BTreeMap<String, Arc<ComponentPolicy>>>,
    health: Arc<HealthRegistry>,
    log: Arc<RecoveryLog>,
    classifier: ErrorClassifier,
}

impl RecoveryEngine {
    /// An engine reporting into the given health registry and recovery log.
    pub fn new(
        health: Arc<HealthRegistry>,
        log: Arc<RecoveryLog>,
        classifier: ErrorClassifier,
    ) -> Self {
        Self {
            components: RwLock::default(),
            health,
            log,
            classifier,
        }
    }

    /// Registers (or replaces) a component's policies.
    pub fn register(&self, component: &str, policy: ComponentPolicy) {
        self.components
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(component.to_string(), Arc::new(policy));
    }

    /// Removes a component's policies; returns whether it had any.
    pub fn unregister(&self, component: &str) -> bool {
        self.components
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(component)
            .is_some()
    }

    /// Every registered breaker, by component.
    pub fn breakers(&self) -> Vec<(String, CircuitBreaker)> {
        self.components
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter_map(|(name, p)| p.pipeline.breaker().map(|b| (name.clone(), b.clone())))
            .collect()
    }

    /// The health registry fed by every call.
    pub fn health(&self) -> &Arc<HealthRegistry> {
        &self.health
    }

    /// Recovery statistics, for all components or one.
    pub fn stats(&self, component: Option<&str>) -> super::RecoveryStats {
        self.log.stats(component)
    }

    /// The newest `count` recoveries.
    pub fn recent(&self, count: usize) -> Vec<RecoveryRecord> {
        self.log.recent(count)
    }

    fn policy(&self, component: &str) -> Option<Arc<ComponentPolicy>> {
        self.components
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(component)
            .cloned()
    }

    /// Runs `op` with the component's breaker, retry, timeout and fallbacks;
    /// records the outcome before any fallback in the component's health and, when any recovery
    /// was needed, in the recovery statistics. Unknown components run `op` once.
    pub async fn execute_with_recovery<T, E, F, Fut>(
        &self,
        component: &str,
        operation: &str,
        mut op: F,
    ) -> Result<T, Error<E>>
    where
        T: Send + 'static,
        E: Classify + Display + Send + 'static,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let policy = self.policy(component);
        let started = Instant::now();
        let attempts = Cell::new(0u32);
        let first_error = OnceCell::new();
        let counted = || {
            attempts.set(attempts.get() + 1);
            let attempt = op();
            let first_error = &first_error;
            async move {
                let result = attempt.await;
                if let Err(e) = &result {
                    first_error.get_or_init(|| e.to_string());
                }
                result
            }
        };
        let result = match &policy {
            Some(policy) => policy.pipeline.call(counted).await,
            None => Pipeline::default().call(counted).await,
        };
        let attempts = attempts.get();

        // Health follows the component itself, not what the fallback covered up.
        let elapsed = started.elapsed();
        let health = self.health.component(component);
        match &result {
            Ok(_) => health.record_success(elapsed),
            Err(e) => health.record_failure(elapsed, &e.to_string()),
        }

        let fallback = policy.as_deref().and_then(|p| p.fallback::<T, E>());
        let (result, served_by) = match (&result, fallback) {
            (Err(_), Some(chain)) => chain.execute(std::future::ready(result)).await,
            _ => (result, None),
        };
        let elapsed = started.elapsed();

        let action = if served_by.is_some() {
            Some("fallback")
        } else if attempts > 1 {
            Some("retry")
        } else if matches!(result, Err(Error::CircuitOpen { .. })) {
            Some("circuit_breaker")
        } else {
            None
        };
        if let Some(action) = action {
            let last_error = result.as_ref().err().map(ToString::to_string);
            let category = first_error
                .get()
                .or(last_error.as_ref())
                .map(|message| {
                    self.classifier
                        .classify_message(message)
                        .category
                        .to_string()
                })
                .unwrap_or_else(|| "unknown".to_string());
            self.log.record(RecoveryRecord {
                component: component.to_string(),
                operation: operation.to_string(),
                action: action.to_string(),
                success: result.is_ok(),
                attempts,
                duration_ms: elapsed.as_secs_f64() * 1_000.0,
                error_category: category,
                error: last_error,
                timestamp: chrono::Utc::now(),
            });
        }
        result
    }
}
