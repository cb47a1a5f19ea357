//! What a breaker is told: when to open, for how long, and how to probe.

use std::sync::Arc;
use std::time::Duration;

use super::window::WindowKind;
use crate::clock::Clock;
use crate::error::{ConfigError, check_nonzero, check_ratio};
use crate::events::SharedListener;

/// When a closed breaker opens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TripRule {
    /// Open when at least `threshold` of the window's calls failed (or were
    /// slow, see [`SlowCalls`]) and the window holds at least `minimum_calls`.
    FailureRate {
        /// Failure ratio in `[0, 1]` that opens the breaker.
        threshold: f64,
        /// Calls the window must hold before the rate is trusted.
        minimum_calls: u32,
    },
    /// Open after this many failures in a row.
    ConsecutiveFailures(u32),
}

/// Calls slower than `duration` count as slow; too many slow calls open the breaker.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlowCalls {
    /// A call at least this long is slow.
    pub duration: Duration,
    /// Slow-call ratio in `[0, 1]` that opens the breaker.
    pub rate_threshold: f64,
}

/// The validated settings of a breaker.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Config {
    pub trip: TripRule,
    pub window: WindowKind,
    pub slow_calls: Option<SlowCalls>,
    pub open_duration: Duration,
    pub open_duration_growth: f64,
    pub max_open_duration: Duration,
    pub half_open_permits: u32,
    pub success_threshold: u32,
}

impl Config {
    /// How long the breaker stays open after its `opens_in_a_row`-th opening.
    pub(crate) fn open_duration_for(&self, opens_in_a_row: u32) -> Duration {
        let exponent = opens_in_a_row.saturating_sub(1).min(64) as i32;
        let secs = self.open_duration.as_secs_f64() * self.open_duration_growth.powi(exponent);
        if secs >= self.max_open_duration.as_secs_f64() {
            self.max_open_duration
        } else {
            Duration::from_secs_f64(secs)
        }
    }
}

/// Builds a [`super::CircuitBreaker`]; [`BreakerBuilder::build`] validates every field.
///
/// Defaults: failure rate 50 % over the last 100 calls with at least 20 calls,
/// open 30 s, one half-open trial that must succeed once.
pub struct BreakerBuilder {
    pub(crate) name: Arc<str>,
    trip: TripRule,
    window: WindowKind,
    slow_calls: Option<SlowCalls>,
    open_duration: Duration,
    open_duration_growth: f64,
    max_open_duration: Option<Duration>,
    half_open_permits: u32,
    success_threshold: u32,
    pub(crate) clock: Clock,
    pub(crate) listeners: Vec<SharedListener>,
}

impl std::fmt::Debug for BreakerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BreakerBuilder")
            .field("name", &self.name)
            .field("trip", &self.trip)
            .field("window", &self.window)
            .field("open_duration", &self.open_duration)
            .finish_non_exhaustive()
    }
}

impl BreakerBuilder {
    pub(crate) fn new(name: &str) -> Self {
        Self {
            name: Arc::from(name),
            trip: TripRule::FailureRate {
                threshold: 0.5,
                minimum_calls: 20,
            },
            window: WindowKind::Count(100),
            slow_calls: None,
            open_duration: Duration::from_secs(30),
            open_duration_growth: 1.0,
            max_open_duration: None,
            half_open_permits: 1,
            success_threshold: 1,
            clock: Clock::Std,
            listeners: Vec::new(),
        }
    }

    /// Open when `threshold` of at least `minimum_calls` calls in the window failed.
    pub fn failure_rate(mut self, threshold: f64, minimum_calls: u32) -> Self {
        self.trip = TripRule::FailureRate {
            threshold,
            minimum_calls,
        };
        self
    }

    /// Open after `n` failures in a row instead of judging a rate.
    pub fn consecutive_failures(mut self, n: u32) -> Self {
        self.trip = TripRule::ConsecutiveFailures(n);
        self
    }

    /// Judge the rate over the last `n` calls (the default, with 100).
    pub fn count_window(mut self, n: u32) -> Self {
        self.window = WindowKind::Count(n);
        self
    }

    /// Judge the rate over the calls of the last `duration`, kept in `buckets` slices.
    pub fn time_window(mut self, duration: Duration, buckets: u32) -> Self {
        self.window = WindowKind::Time { duration, buckets };
        self
    }

    /// Count calls of at least `duration` as slow and open at `rate_threshold` slow calls.
    pub fn slow_calls(mut self, duration: Duration, rate_threshold: f64) -> Self {
        self.slow_calls = Some(SlowCalls {
            duration,
            rate_threshold,
        });
        self
    }

    /// How long the breaker stays open before letting a trial through (default 30 s).
    pub fn open_duration(mut self, duration: Duration) -> Self {
        self.open_duration = duration;
        self
    }

    /// Multiply the open duration by `growth` for each opening in a row, up to `max`.
    pub fn open_duration_growth(mut self, growth: f64, max: Duration) -> Self {
        self.open_duration_growth = growth;
        self.max_open_duration = Some(max);
        self
    }

    /// How many trial calls may run at once while half-open (default 1).
    pub fn half_open_permits(mut self, permits: u32) -> Self {
        self.half_open_permits = permits;
        self
    }

    /// How many trial calls must succeed to close again (default 1).
    pub fn success_threshold(mut self, successes: u32) -> Self {
        self.success_threshold = successes;
        self
    }

    /// The clock used for open durations, time windows and slow calls.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Receives state changes and rejections.
    pub fn listener(mut self, listener: SharedListener) -> Self {
        self.listeners.push(listener);
        self
    }

    pub(crate) fn validate(&self) -> Result<Config, ConfigError> {
        match self.trip {
            TripRule::FailureRate {
                threshold,
                minimum_calls,
            } => {
                check_ratio("failure_rate_threshold", threshold)?;
                if minimum_calls == 0 {
                    return Err(ConfigError::new("minimum_calls", "must be at least 1"));
                }
            }
            TripRule::ConsecutiveFailures(0) => {
                return Err(ConfigError::new(
                    "consecutive_failures",
                    "must be at least 1",
                ));
            }
            TripRule::ConsecutiveFailures(_) => {}
        }
        match self.window {
            WindowKind::Count(0) => {
                return Err(ConfigError::new(
                    "count_window",
                    "must hold at least 1 call",
                ));
            }
            WindowKind::Time { duration, buckets } => {
                check_nonzero("time_window", duration)?;
                if buckets == 0 || buckets > 1_000 {
                    return Err(ConfigError::new(
                        "time_window_buckets",
                        "must be in 1..=1000",
                    ));
                }
            }
            WindowKind::Count(_) => {}
        }
        if let Some(slow) = self.slow_calls {
            check_nonzero("slow_call_duration", slow.duration)?;
            check_ratio("slow_call_rate_threshold", slow.rate_threshold)?;
        }
        check_nonzero("open_duration", self.open_duration)?;
        if !self.open_duration_growth.is_finite() || self.open_duration_growth < 1.0 {
            return Err(ConfigError::new(
                "open_duration_growth",
                format!("{} must be a finite number >= 1", self.open_duration_growth),
            ));
        }
        let max_open_duration = self.max_open_duration.unwrap_or(self.open_duration);
        if max_open_duration < self.open_duration {
            return Err(ConfigError::new(
                "max_open_duration",
                "is below open_duration",
            ));
        }
        if self.half_open_permits == 0 {
            return Err(ConfigError::new("half_open_permits", "must be at least 1"));
        }
        if self.success_threshold == 0 {
            return Err(ConfigError::new("success_threshold", "must be at least 1"));
        }
        Ok(Config {
            trip: self.trip,
            window: self.window,
            slow_calls: self.slow_calls,
            open_duration: self.open_duration,
            open_duration_growth: self.open_duration_growth,
            max_open_duration,
            half_open_permits: self.half_open_permits,
            success_threshold: self.success_threshold,
        })
    }
}
