//! How long to wait before the next attempt: exponential growth, a cap, and jitter.
//!
//! The jitter modes follow Marc Brooker's "Exponential Backoff And Jitter" (AWS
//! Architecture Blog, 2015). With `base(n) = min(max, initial · multiplier^(n-1))`
//! for the n-th retry:
//!
//! | mode | delay |
//! | --- | --- |
//! | `None` | `base(n)` |
//! | `Full` | uniform in `[0, base(n)]` |
//! | `Equal` | `base(n)/2 +` uniform in `[0, base(n)/2]` |
//! | `Decorrelated` | `min(max,` uniform in `[initial, 3 · previous])`, `previous₀ = initial` |
//!
//! Full jitter spreads retries best and is the default; decorrelated keeps some
//! growth memory without synchronising clients.

use std::time::Duration;

use crate::error::{ConfigError, check_nonzero};
use crate::rng::SplitMix64;

/// Randomisation applied to each delay so that many clients do not retry in lockstep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Jitter {
    /// Exactly the exponential schedule.
    None,
    /// Uniform in `[0, base]`.
    #[default]
    Full,
    /// Half fixed, half random: uniform in `[base/2, base]`.
    Equal,
    /// Uniform in `[initial, 3 · previous delay]`, capped at `max`.
    Decorrelated,
}

/// An exponential backoff schedule with a cap and jitter.
///
/// ```
/// use medic_resilience::backoff::{Backoff, Jitter};
/// use std::time::Duration;
/// let backoff = Backoff::try_new(Duration::from_millis(100), Duration::from_secs(1), 2.0, Jitter::None)?;
/// let delays: Vec<_> = backoff.delays().take(5).collect();
/// assert_eq!(delays, [100, 200, 400, 800, 1000].map(Duration::from_millis));
/// # Ok::<(), medic_resilience::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    multiplier: f64,
    jitter: Jitter,
}

impl Backoff {
    /// A validated schedule: `initial > 0`, `max >= initial`, `multiplier` finite and `>= 1`.
    pub fn try_new(
        initial: Duration,
        max: Duration,
        multiplier: f64,
        jitter: Jitter,
    ) -> Result<Self, ConfigError> {
        check_nonzero("initial_delay", initial)?;
        if max < initial {
            return Err(ConfigError::new(
                "max_delay",
                format!("{max:?} is below initial_delay {initial:?}"),
            ));
        }
        if !multiplier.is_finite() || multiplier < 1.0 {
            return Err(ConfigError::new(
                "multiplier",
                format!("{multiplier} must be a finite number >= 1"),
            ));
        }
        Ok(Self {
            initial,
            max,
            multiplier,
            jitter,
        })
    }

    /// The same delay every time, without jitter.
    ///
    /// ```
    /// use medic_resilience::backoff::Backoff;
    /// use std::time::Duration;
    /// let b = Backoff::constant(Duration::from_millis(10))?;
    /// assert!(b.delays().take(3).all(|d| d == Duration::from_millis(10)));
    /// # Ok::<(), medic_resilience::ConfigError>(())
    /// ```
    pub fn constant(delay: Duration) -> Result<Self, ConfigError> {
        Self::try_new(delay, delay, 1.0, Jitter::None)
    }

    /// The delay before the first retry.
    pub fn initial(&self) -> Duration {
        self.initial
    }

    /// The cap on any delay.
    pub fn max(&self) -> Duration {
        self.max
    }

    /// The jitter mode.
    pub fn jitter(&self) -> Jitter {
        self.jitter
    }

    /// The same schedule with another jitter mode.
    pub fn with_jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// The un-jittered delay before retry number `retry` (1 = the first retry).
    ///
    /// ```
    /// use medic_resilience::backoff::{Backoff, Jitter};
    /// use std::time::Duration;
    /// let b = Backoff::try_new(Duration::from_millis(50), Duration::from_secs(60), 3.0, Jitter::Full)?;
    /// assert_eq!(b.base(3), Duration::from_millis(450));
    /// # Ok::<(), medic_resilience::ConfigError>(())
    /// ```
    pub fn base(&self, retry: u32) -> Duration {
        let exponent = retry.saturating_sub(1).min(i32::MAX as u32) as i32;
        let secs = self.initial.as_secs_f64() * self.multiplier.powi(exponent);
        // Overflow yields infinity, which the cap absorbs.
        if secs >= self.max.as_secs_f64() {
            self.max
        } else {
            Duration::from_secs_f64(secs)
        }
    }

    /// An endless iterator of delays, seeded from the clock (unless there is
    /// no jitter, which needs no randomness).
    pub fn delays(&self) -> Delays {
        let rng = match self.jitter {
            Jitter::None => SplitMix64::seeded(0),
            _ => SplitMix64::from_entropy(),
        };
        Delays::new(*self, rng)
    }

    /// An endless iterator of delays with a fixed seed, for reproducible schedules.
    ///
    /// ```
    /// use medic_resilience::backoff::{Backoff, Jitter};
    /// use std::time::Duration;
    /// let b = Backoff::try_new(Duration::from_millis(10), Duration::from_secs(1), 2.0, Jitter::Full)?;
    /// let a: Vec<_> = b.delays_seeded(7).take(4).collect();
    /// let again: Vec<_> = b.delays_seeded(7).take(4).collect();
    /// assert_eq!(a, again);
    /// # Ok::<(), medic_resilience::ConfigError>(())
    /// ```
    pub fn delays_seeded(&self, seed: u64) -> Delays {
        Delays::new(*self, SplitMix64::seeded(seed))
    }
}

/// Iterator over a [`Backoff`] schedule; never ends (retry limits live in the retry policy).
#[derive(Debug, Clone)]
pub struct Delays {
    backoff: Backoff,
    retry: u32,
    previous: Duration,
    rng: SplitMix64,
}

impl Delays {
    fn new(backoff: Backoff, rng: SplitMix64) -> Self {
        Self {
            backoff,
            retry: 0,
            previous: backoff.initial,
            rng,
        }
    }
}

/// A duration uniformly drawn from `[low, high]`.
fn uniform(rng: &mut SplitMix64, low: Duration, high: Duration) -> Duration {
    if high <= low {
        return low;
    }
    let span = high - low;
    low + span.mul_f64(rng.next_f64())
}

impl Iterator for Delays {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        self.retry = self.retry.saturating_add(1);
        let base = self.backoff.base(self.retry);
        let delay = match self.backoff.jitter {
            Jitter::None => base,
            Jitter::Full => uniform(&mut self.rng, Duration::ZERO, base),
            Jitter::Equal => uniform(&mut self.rng, base / 2, base),
            Jitter::Decorrelated => {
                let high = self.previous.saturating_mul(3);
                uniform(&mut self.rng, self.backoff.initial, high).min(self.backoff.max)
            }
        };
        self.previous = delay;
        Some(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn rejects_bad_configuration_naming_the_field() {
        let cases = [
            (
                Backoff::try_new(ms(0), ms(10), 2.0, Jitter::None),
                "initial_delay",
            ),
            (
                Backoff::try_new(ms(10), ms(5), 2.0, Jitter::None),
                "max_delay",
            ),
            (
                Backoff::try_new(ms(10), ms(50), 0.5, Jitter::None),
                "multiplier",
            ),
            (
                Backoff::try_new(ms(10), ms(50), f64::NAN, Jitter::None),
                "multiplier",
            ),
            (
                Backoff::try_new(ms(10), ms(50), f64::INFINITY, Jitter::None),
                "multiplier",
            ),
        ];
        for (result, field) in cases {
            assert_eq!(result.expect_err(field).field, field);
        }
    }

    #[test]
    fn huge_retry_numbers_saturate_at_the_cap() {
        let b =
            Backoff::try_new(ms(1), Duration::from_secs(30), 10.0, Jitter::None).expect("valid");
        assert_eq!(b.base(10_000), Duration::from_secs(30));
        assert_eq!(b.base(u32::MAX), Duration::from_secs(30));
    }

    proptest! {
        #[test]
        fn full_jitter_stays_within_zero_and_base(seed: u64, initial in 1u64..1_000, factor in 1u64..100, mult in 1.0f64..4.0) {
            let b = Backoff::try_new(ms(initial), ms(initial * factor), mult, Jitter::Full).expect("valid");
            for (i, d) in b.delays_seeded(seed).take(20).enumerate() {
                prop_assert!(d <= b.base(i as u32 + 1));
            }
        }

        #[test]
        fn equal_jitter_stays_within_half_base_and_base(seed: u64, initial in 1u64..1_000, factor in 1u64..100, mult in 1.0f64..4.0) {
            let b = Backoff::try_new(ms(initial), ms(initial * factor), mult, Jitter::Equal).expect("valid");
            for (i, d) in b.delays_seeded(seed).take(20).enumerate() {
                let base = b.base(i as u32 + 1);
                prop_assert!(d >= base / 2 && d <= base, "{d:?} vs {base:?}");
            }
        }

        #[test]
        fn decorrelated_jitter_stays_within_initial_and_three_times_previous(seed: u64, initial in 1u64..1_000, factor in 1u64..100) {
            let b = Backoff::try_new(ms(initial), ms(initial * factor), 2.0, Jitter::Decorrelated).expect("valid");
            let mut previous = b.initial();
            for d in b.delays_seeded(seed).take(20) {
                prop_assert!(d >= b.initial().min(b.max()) && d <= b.max());
                prop_assert!(d <= previous * 3);
                previous = d;
            }
        }

        #[test]
        fn no_jitter_is_exact_and_monotonic(initial in 1u64..1_000, factor in 1u64..100, mult in 1.0f64..4.0) {
            let b = Backoff::try_new(ms(initial), ms(initial * factor), mult, Jitter::None).expect("valid");
            let delays: Vec<_> = b.delays().take(20).collect();
            for (i, d) in delays.iter().enumerate() {
                prop_assert_eq!(*d, b.base(i as u32 + 1));
            }
            prop_assert!(delays.windows(2).all(|w| w[0] <= w[1]));
        }
    }
}
