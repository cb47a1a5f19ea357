//! Client-side adaptive throttling (Google SRE book, "Handling Overload").
//!
//! The client remembers, over a sliding window, how many requests it sent and
//! how many the backend accepted, and rejects new requests locally with
//! probability `max(0, (requests − K·accepts) / (requests + 1))`. With `K = 2`
//! the backend sees at most about twice the load it can accept while it is
//! overloaded, and nothing is rejected while it is healthy.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::clock::Clock;
use crate::error::{ConfigError, check_nonzero};
use crate::rng::SplitMix64;

const BUCKETS: usize = 12;

#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    period: u64,
    requests: u64,
    accepts: u64,
}

#[derive(Debug)]
struct Window {
    buckets: [Bucket; BUCKETS],
    rng: SplitMix64,
}

/// Adaptive throttling state shared by the callers of one backend.
///
/// ```
/// use medic_resilience::retry::AdaptiveThrottle;
/// let throttle = AdaptiveThrottle::default();
/// for _ in 0..100 { throttle.record(false); } // the backend refuses everything
/// assert!(throttle.rejection_probability() > 0.9);
/// ```
#[derive(Debug)]
pub struct AdaptiveThrottle {
    multiplier: f64,
    bucket_len: Duration,
    clock: Clock,
    epoch: Instant,
    window: Mutex<Window>,
}

impl AdaptiveThrottle {
    /// `k` (≥ 1) is how many requests per accepted one the backend may still see;
    /// `window` is how far back the client remembers.
    pub fn try_new(k: f64, window: Duration, clock: Clock) -> Result<Self, ConfigError> {
        if !k.is_finite() || k < 1.0 {
            return Err(ConfigError::new(
                "k",
                format!("{k} must be a finite number >= 1"),
            ));
        }
        check_nonzero("window", window)?;
        let epoch = clock.now();
        Ok(Self {
            multiplier: k,
            bucket_len: (window / BUCKETS as u32).max(Duration::from_millis(1)),
            clock,
            epoch,
            window: Mutex::new(Window {
                buckets: [Bucket::default(); BUCKETS],
                rng: SplitMix64::from_entropy(),
            }),
        })
    }

    fn period(&self) -> u64 {
        let elapsed = self.clock.now().saturating_duration_since(self.epoch);
        (elapsed.as_nanos() / self.bucket_len.as_nanos()) as u64
    }

    fn totals(buckets: &[Bucket; BUCKETS], period: u64) -> (u64, u64) {
        buckets
            .iter()
            .filter(|b| b.period + (BUCKETS as u64) > period)
            .fold((0, 0), |(r, a), b| (r + b.requests, a + b.accepts))
    }

    fn probability_of(&self, requests: u64, accepts: u64) -> f64 {
        let p = (requests as f64 - self.multiplier * accepts as f64) / (requests as f64 + 1.0);
        p.max(0.0)
    }

    /// Counts one request and whether the backend accepted it.
    pub fn record(&self, accepted: bool) {
        let period = self.period();
        let mut window = self.window.lock().unwrap_or_else(|e| e.into_inner());
        let slot = &mut window.buckets[(period % BUCKETS as u64) as usize];
        if slot.period != period {
            *slot = Bucket {
                period,
                ..Bucket::default()
            };
        }
        slot.requests += 1;
        slot.accepts += u64::from(accepted);
    }

    /// The current probability of rejecting a request locally.
    pub fn rejection_probability(&self) -> f64 {
        let period = self.period();
        let window = self.window.lock().unwrap_or_else(|e| e.into_inner());
        let (requests, accepts) = Self::totals(&window.buckets, period);
        self.probability_of(requests, accepts)
    }

    /// Draws whether to reject the next request; returns the probability when it does.
    pub fn should_reject(&self) -> Option<f64> {
        let period = self.period();
        let mut window = self.window.lock().unwrap_or_else(|e| e.into_inner());
        let (requests, accepts) = Self::totals(&window.buckets, period);
        let p = self.probability_of(requests, accepts);
        (p > 0.0 && window.rng.next_f64() < p).then_some(p)
    }
}

impl Default for AdaptiveThrottle {
    /// `K = 2` over two minutes, on the standard clock (the SRE book's values).
    fn default() -> Self {
        let epoch = Instant::now();
        Self {
            multiplier: 2.0,
            bucket_len: Duration::from_secs(120) / BUCKETS as u32,
            clock: Clock::Std,
            epoch,
            window: Mutex::new(Window {
                buckets: [Bucket::default(); BUCKETS],
                rng: SplitMix64::from_entropy(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn healthy_backend_is_never_throttled() {
        let t = AdaptiveThrottle::default();
        for _ in 0..1000 {
            t.record(true);
        }
        assert_eq!(t.rejection_probability(), 0.0);
        assert!(t.should_reject().is_none());
    }

    #[test]
    fn probability_matches_the_formula() {
        let t = AdaptiveThrottle::default();
        for i in 0..100 {
            t.record(i < 20);
        }
        // (100 − 2·20) / 101
        assert!((t.rejection_probability() - 60.0 / 101.0).abs() < 1e-9);
    }

    #[test]
    fn old_outcomes_leave_the_window() {
        let clock = ManualClock::new();
        let t =
            AdaptiveThrottle::try_new(2.0, Duration::from_secs(60), Clock::Manual(clock.clone()))
                .expect("valid");
        for _ in 0..50 {
            t.record(false);
        }
        assert!(t.rejection_probability() > 0.9);
        clock.advance(Duration::from_secs(61));
        assert_eq!(t.rejection_probability(), 0.0);
    }

    #[test]
    fn rejects_bad_parameters() {
        assert_eq!(
            AdaptiveThrottle::try_new(0.5, Duration::from_secs(1), Clock::Std)
                .expect_err("k")
                .field,
            "k"
        );
        assert_eq!(
            AdaptiveThrottle::try_new(2.0, Duration::ZERO, Clock::Std)
                .expect_err("w")
                .field,
            "window"
        );
    }
}
