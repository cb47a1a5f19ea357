//! Health tiers and the error-rate thresholds between them.

use std::fmt;

use crate::error::{ConfigError, check_ratio};

/// How healthy a component is, from its recent error rate.
///
/// ```
/// use medic_resilience::health::{HealthStatus, HealthThresholds};
/// let t = HealthThresholds::default();
/// assert_eq!(t.status_for(0.01), HealthStatus::Healthy);
/// assert_eq!(t.status_for(0.10), HealthStatus::Degraded);
/// assert_eq!(t.status_for(0.30), HealthStatus::Unhealthy);
/// assert_eq!(t.status_for(0.60), HealthStatus::Critical);
/// ```
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    /// Error rate below the degraded threshold (default < 5 %).
    Healthy,
    /// Default 5–20 %.
    Degraded,
    /// Default 20–50 %.
    Unhealthy,
    /// Default > 50 %, or a critical error in the window.
    Critical,
}

impl HealthStatus {
    /// The lowercase name used in JSON and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Healthy => "healthy",
            HealthStatus::Degraded => "degraded",
            HealthStatus::Unhealthy => "unhealthy",
            HealthStatus::Critical => "critical",
        }
    }
}

impl fmt::Display for HealthStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Calls a window needs before its error rate decides (see
/// [`HealthThresholds::with_min_calls`]).
pub const DEFAULT_MIN_CALLS: u64 = 10;

/// Error rates at which a component enters each worse tier.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HealthThresholds {
    degraded: f64,
    unhealthy: f64,
    critical: f64,
    /// Calls in the window below which an error rate says nothing.
    min_calls: u64,
}

impl Default for HealthThresholds {
    fn default() -> Self {
        Self {
            degraded: 0.05,
            unhealthy: 0.20,
            critical: 0.50,
            min_calls: DEFAULT_MIN_CALLS,
        }
    }
}

impl HealthThresholds {
    /// Thresholds in `[0, 1]` with `degraded <= unhealthy <= critical`.
    ///
    /// ```
    /// use medic_resilience::health::HealthThresholds;
    /// assert_eq!(HealthThresholds::try_new(0.3, 0.2, 0.5).unwrap_err().field, "unhealthy");
    /// ```
    pub fn try_new(degraded: f64, unhealthy: f64, critical: f64) -> Result<Self, ConfigError> {
        check_ratio("degraded", degraded)?;
        check_ratio("unhealthy", unhealthy)?;
        check_ratio("critical", critical)?;
        if unhealthy < degraded {
            return Err(ConfigError::new("unhealthy", "is below degraded"));
        }
        if critical < unhealthy {
            return Err(ConfigError::new("critical", "is below unhealthy"));
        }
        Ok(Self {
            degraded,
            unhealthy,
            critical,
            min_calls: DEFAULT_MIN_CALLS,
        })
    }

    /// Calls a window must hold before its error rate can make a component
    /// degraded or worse (default 10): one failed call of one is not a 100 %
    /// outage. A critical error counts however few calls there were.
    ///
    /// ```
    /// use medic_resilience::health::HealthThresholds;
    /// let t = HealthThresholds::default().with_min_calls(3);
    /// assert_eq!(t.min_calls(), 3);
    /// ```
    pub fn with_min_calls(mut self, calls: u64) -> Self {
        self.min_calls = calls;
        self
    }

    /// See [`with_min_calls`](Self::with_min_calls).
    pub fn min_calls(&self) -> u64 {
        self.min_calls
    }

    /// The tier for an error rate: `[degraded, unhealthy)` is degraded,
    /// `[unhealthy, critical]` unhealthy, above `critical` critical; no errors
    /// at all is always healthy.
    pub fn status_for(&self, error_rate: f64) -> HealthStatus {
        if error_rate > self.critical {
            HealthStatus::Critical
        } else if error_rate >= self.unhealthy && error_rate > 0.0 {
            HealthStatus::Unhealthy
        } else if error_rate >= self.degraded && error_rate > 0.0 {
            HealthStatus::Degraded
        } else {
            HealthStatus::Healthy
        }
    }
}
