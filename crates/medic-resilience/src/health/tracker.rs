//! Per-component health from a sliding window of outcomes and latencies.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::status::{HealthStatus, HealthThresholds};
use crate::clock::Clock;

/// One call, in 16 bytes (a window of 10 000 targets' probes adds up):
/// times in microseconds, `at` counted from the tracker's `origin`.
#[derive(Debug, Clone, Copy)]
struct Sample {
    at_us: u64,
    /// Saturates at ~71 minutes.
    latency_us: u32,
    failed: bool,
    critical: bool,
}

/// Microseconds in `duration`, saturating.
fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

#[derive(Debug, Default)]
struct Samples {
    recent: VecDeque<Sample>,
    last_error: Option<String>,
}

impl Samples {
    /// Drops the calls older than `window_us` at `now_us`.
    fn forget_before(&mut self, now_us: u64, window_us: u64) {
        while (self.recent.front()).is_some_and(|s| now_us.saturating_sub(s.at_us) > window_us) {
            self.recent.pop_front();
        }
    }
}

/// Latency percentiles over the window, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct LatencyPercentiles {
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
    /// Mean.
    pub mean_ms: f64,
}

/// A component's health at one moment.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HealthSnapshot {
    /// The tier.
    pub status: HealthStatus,
    /// Failed calls over all calls in the window (0 with no calls).
    pub error_rate: f64,
    /// Calls in the window.
    pub calls: u64,
    /// Failed calls in the window.
    pub errors: u64,
    /// Latency percentiles over the window.
    pub latency: LatencyPercentiles,
    /// The most recent error message, if any was recorded.
    pub last_error: Option<String>,
}

/// Tracks one component's recent outcomes: a time window holding at most
/// `max_samples` calls (the oldest leave first).
///
/// ```
/// use medic_resilience::health::{ComponentHealth, HealthStatus};
/// use std::time::Duration;
/// let health = ComponentHealth::new(Duration::from_secs(60), 1_000);
/// for _ in 0..9 { health.record_success(Duration::from_millis(20)); }
/// health.record_failure(Duration::from_millis(900), "connection refused");
/// let snapshot = health.snapshot();
/// assert_eq!(snapshot.error_rate, 0.1);
/// assert_eq!(snapshot.status, HealthStatus::Degraded);
/// ```
#[derive(Debug)]
pub struct ComponentHealth {
    window_us: u64,
    max_samples: usize,
    thresholds: HealthThresholds,
    clock: Clock,
    /// Where sample times count from.
    origin: Instant,
    samples: Mutex<Samples>,
}

impl ComponentHealth {
    /// Default thresholds (5 / 20 / 50 %) over `window`, keeping at most `max_samples`.
    pub fn new(window: Duration, max_samples: usize) -> Self {
        Self::with(window, max_samples, HealthThresholds::default(), Clock::Std)
    }

    /// Full control over thresholds and clock.
    pub fn with(
        window: Duration,
        max_samples: usize,
        thresholds: HealthThresholds,
        clock: Clock,
    ) -> Self {
        Self {
            window_us: micros(window),
            max_samples: max_samples.max(1),
            thresholds,
            origin: clock.now(),
            clock,
            samples: Mutex::new(Samples::default()),
        }
    }

    fn push(&self, latency: Duration, failed: bool, critical: bool, error: Option<&str>) {
        let now = self.now_us();
        let mut samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        // Calls that left the window go now, not at the next snapshot: a
        // component nobody looks at must not hold `max_samples` of them.
        samples.forget_before(now, self.window_us);
        if samples.recent.len() == self.max_samples {
            samples.recent.pop_front();
        }
        samples.recent.push_back(Sample {
            at_us: now,
            latency_us: u32::try_from(micros(latency)).unwrap_or(u32::MAX),
            failed,
            critical,
        });
        if let Some(error) = error {
            samples.last_error = Some(error.to_string());
        }
    }

    /// Now, in microseconds since `origin`.
    fn now_us(&self) -> u64 {
        micros(self.clock.now().saturating_duration_since(self.origin))
    }

    /// Records a successful call.
    pub fn record_success(&self, latency: Duration) {
        self.push(latency, false, false, None);
    }

    /// Records a failed call.
    pub fn record_failure(&self, latency: Duration, error: &str) {
        self.push(latency, true, false, Some(error));
    }

    /// Records a critical failure: the component is critical while it is in the window.
    pub fn record_critical(&self, latency: Duration, error: &str) {
        self.push(latency, true, true, Some(error));
    }

    /// Forgets every recorded call.
    pub fn reset(&self) {
        let mut samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        *samples = Samples::default();
    }

    /// The current status, rates and percentiles.
    pub fn snapshot(&self) -> HealthSnapshot {
        let now = self.now_us();
        let mut samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        samples.forget_before(now, self.window_us);
        let calls = samples.recent.len() as u64;
        let errors = samples.recent.iter().filter(|s| s.failed).count() as u64;
        let critical = samples.recent.iter().any(|s| s.critical);
        let mut latencies: Vec<f64> = samples
            .recent
            .iter()
            .map(|s| f64::from(s.latency_us) / 1_000.0)
            .collect();
        let last_error = samples.last_error.clone();
        drop(samples);

        let error_rate = if calls == 0 {
            0.0
        } else {
            errors as f64 / calls as f64
        };
        let status = if critical {
            HealthStatus::Critical
        } else if calls < self.thresholds.min_calls() {
            // Too few calls for a rate to mean anything.
            HealthStatus::Healthy
        } else {
            self.thresholds.status_for(error_rate)
        };
        HealthSnapshot {
            status,
            error_rate,
            calls,
            errors,
            latency: percentiles(&mut latencies),
            last_error,
        }
    }
}

/// Nearest-rank percentiles.
fn percentiles(values: &mut [f64]) -> LatencyPercentiles {
    if values.is_empty() {
        return LatencyPercentiles::default();
    }
    values.sort_unstable_by(f64::total_cmp);
    let rank = |p: f64| {
        let index = ((p * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1;
        values[index]
    };
    LatencyPercentiles {
        p50_ms: rank(0.50),
        p95_ms: rank(0.95),
        p99_ms: rank(0.99),
        max_ms: values[values.len() - 1],
        mean_ms: values.iter().sum::<f64>() / values.len() as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn percentiles_use_nearest_rank() {
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        let p = percentiles(&mut v);
        assert_eq!(
            (p.p50_ms, p.p95_ms, p.p99_ms, p.max_ms),
            (50.0, 95.0, 99.0, 100.0)
        );
        assert_eq!(p.mean_ms, 50.5);
    }

    #[test]
    fn tiers_follow_the_error_rate() {
        let h = ComponentHealth::new(Duration::from_secs(60), 100);
        let rate_to_status = |failures: usize| {
            h.reset();
            for i in 0..100 {
                if i < failures {
                    h.record_failure(Duration::ZERO, "boom");
                } else {
                    h.record_success(Duration::ZERO);
                }
            }
            h.snapshot().status
        };
        assert_eq!(rate_to_status(0), HealthStatus::Healthy);
        assert_eq!(rate_to_status(4), HealthStatus::Healthy);
        assert_eq!(rate_to_status(5), HealthStatus::Degraded);
        assert_eq!(rate_to_status(19), HealthStatus::Degraded);
        assert_eq!(rate_to_status(20), HealthStatus::Unhealthy);
        assert_eq!(rate_to_status(50), HealthStatus::Unhealthy);
        assert_eq!(rate_to_status(51), HealthStatus::Critical);
    }

    #[test]
    fn a_critical_error_makes_the_component_critical_until_it_leaves_the_window() {
        let clock = ManualClock::new();
        let h = ComponentHealth::with(
            Duration::from_secs(10),
            100,
            HealthThresholds::default(),
            Clock::Manual(clock.clone()),
        );
        for _ in 0..99 {
            h.record_success(Duration::ZERO);
        }
        h.record_critical(Duration::ZERO, "disk full");
        assert_eq!(h.snapshot().status, HealthStatus::Critical);
        assert_eq!(h.snapshot().last_error.as_deref(), Some("disk full"));
        clock.advance(Duration::from_secs(11));
        h.record_success(Duration::ZERO);
        assert_eq!(h.snapshot().status, HealthStatus::Healthy);
        assert_eq!(h.snapshot().calls, 1);
    }

    #[test]
    fn a_sample_takes_16_bytes() {
        assert_eq!(std::mem::size_of::<Sample>(), 16);
    }

    #[test]
    fn the_window_keeps_at_most_max_samples() {
        let h = ComponentHealth::new(Duration::from_secs(60), 10);
        for _ in 0..10 {
            h.record_failure(Duration::ZERO, "x");
        }
        for _ in 0..10 {
            h.record_success(Duration::ZERO);
        }
        let s = h.snapshot();
        assert_eq!((s.calls, s.errors), (10, 0));
    }
}
