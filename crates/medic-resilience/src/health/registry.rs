//! All components' health, and the system's health derived from them.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use super::status::{HealthStatus, HealthThresholds};
use super::tracker::{ComponentHealth, HealthSnapshot};
use crate::clock::Clock;

/// Component trackers by name, created on first use.
///
/// ```
/// use medic_resilience::health::{HealthRegistry, HealthStatus};
/// use std::time::Duration;
/// let registry = HealthRegistry::default();
/// registry.component("db").record_success(Duration::from_millis(3));
/// // One failure of one call says nothing yet (fewer than 10 calls)…
/// registry.component("cache").record_failure(Duration::from_millis(1), "refused");
/// assert_eq!(registry.system().system_status, HealthStatus::Healthy);
/// // …ten do.
/// for _ in 0..9 {
///     registry.component("cache").record_failure(Duration::from_millis(1), "refused");
/// }
/// let system = registry.system();
/// assert_eq!(system.system_status, HealthStatus::Critical);
/// assert_eq!(system.details.components, 2);
/// ```
#[derive(Debug)]
pub struct HealthRegistry {
    window: Duration,
    max_samples: usize,
    thresholds: HealthThresholds,
    clock: Clock,
    components: RwLock<BTreeMap<String, Arc<ComponentHealth>>>,
}

impl Default for HealthRegistry {
    /// A 60 s window of at most 1 000 calls per component, default thresholds.
    fn default() -> Self {
        Self::new(
            Duration::from_secs(60),
            1_000,
            HealthThresholds::default(),
            Clock::Std,
        )
    }
}

/// Counts of components per tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct TierCounts {
    /// Components tracked.
    pub components: usize,
    /// Healthy ones.
    pub healthy: usize,
    /// Degraded ones.
    pub degraded: usize,
    /// Unhealthy ones.
    pub unhealthy: usize,
    /// Critical ones.
    pub critical: usize,
}

/// The whole system's health, in the shape of medic's `GET /api/v1/health`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SystemHealth {
    /// The worst component tier (healthy with no components).
    pub system_status: HealthStatus,
    /// Errors over calls, across all components.
    pub error_rate: f64,
    /// `1 - error_rate`.
    pub success_rate: f64,
    /// One sentence for humans.
    pub message: String,
    /// One line per component that is not healthy.
    pub issues: Vec<String>,
    /// Counts per tier.
    pub details: TierCounts,
}

impl HealthRegistry {
    /// A registry whose components share these settings.
    pub fn new(
        window: Duration,
        max_samples: usize,
        thresholds: HealthThresholds,
        clock: Clock,
    ) -> Self {
        Self {
            window,
            max_samples,
            thresholds,
            clock,
            components: RwLock::new(BTreeMap::new()),
        }
    }

    /// The tracker for `name`, created if new.
    pub fn component(&self, name: &str) -> Arc<ComponentHealth> {
        if let Some(existing) = self
            .components
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
        {
            return existing.clone();
        }
        let mut components = self.components.write().unwrap_or_else(|e| e.into_inner());
        components
            .entry(name.to_string())
            .or_insert_with(|| {
                Arc::new(ComponentHealth::with(
                    self.window,
                    self.max_samples,
                    self.thresholds,
                    self.clock.clone(),
                ))
            })
            .clone()
    }

    /// The tracker for `name`, if it exists.
    pub fn get(&self, name: &str) -> Option<Arc<ComponentHealth>> {
        self.components
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    /// Stops tracking `name`; returns whether it was tracked.
    pub fn remove(&self, name: &str) -> bool {
        self.components
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name)
            .is_some()
    }

    /// Every component's snapshot, by name.
    pub fn snapshots(&self) -> BTreeMap<String, HealthSnapshot> {
        let components: Vec<(String, Arc<ComponentHealth>)> = self
            .components
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(name, health)| (name.clone(), health.clone()))
            .collect();
        components
            .into_iter()
            .map(|(name, health)| (name, health.snapshot()))
            .collect()
    }

    /// The system's health: worst tier, overall rates and the issues.
    pub fn system(&self) -> SystemHealth {
        let snapshots = self.snapshots();
        let mut details = TierCounts {
            components: snapshots.len(),
            ..TierCounts::default()
        };
        let (mut calls, mut errors) = (0u64, 0u64);
        let mut issues = Vec::new();
        let mut worst = HealthStatus::Healthy;
        for (name, s) in &snapshots {
            calls += s.calls;
            errors += s.errors;
            worst = worst.max(s.status);
            match s.status {
                HealthStatus::Healthy => details.healthy += 1,
                HealthStatus::Degraded => details.degraded += 1,
                HealthStatus::Unhealthy => details.unhealthy += 1,
                HealthStatus::Critical => details.critical += 1,
            }
            if s.status != HealthStatus::Healthy {
                issues.push(format!(
                    "{name} is {} ({:.1}% errors{})",
                    s.status,
                    s.error_rate * 100.0,
                    s.last_error
                        .as_deref()
                        .map(|e| format!("; last: {e}"))
                        .unwrap_or_default()
                ));
            }
        }
        let error_rate = if calls == 0 {
            0.0
        } else {
            errors as f64 / calls as f64
        };
        let message = match worst {
            HealthStatus::Healthy => format!("all {} components healthy", details.components),
            _ => format!(
                "{} of {} components need attention",
                issues.len(),
                details.components
            ),
        };
        SystemHealth {
            system_status: worst,
            error_rate,
            success_rate: 1.0 - error_rate,
            message,
            issues,
            details,
        }
    }
}
