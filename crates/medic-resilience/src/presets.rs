//! Named presets: sensible, validated starting points for common situations.
//!
//! | preset | retry | breaker |
//! | --- | --- | --- |
//! | `fast` | 3 attempts, 10 ms → 200 ms, full jitter | 5 failures in a row, open 5 s |
//! | `standard` | 4 attempts, 100 ms → 5 s, full jitter, 20 % budget | 50 % of ≥ 20 calls in the last 100, open 30 s, doubling to 5 min |
//! | `patient` | 8 attempts, 1 s → 60 s, decorrelated jitter, 30 s per attempt, 5 min deadline | 50 % of ≥ 10 calls in the last 60 s, open 60 s, doubling to 10 min |

use std::sync::Arc;
use std::time::Duration;

use crate::backoff::Jitter;
use crate::breaker::{BreakerBuilder, CircuitBreaker};
use crate::error::ConfigError;
use crate::retry::{Retry, RetryBudget, RetryBuilder};

/// The preset names, as accepted by [`retry`] and [`breaker`].
pub const NAMES: [&str; 3] = ["fast", "standard", "patient"];

fn unknown(name: &str) -> ConfigError {
    ConfigError::new(
        "preset",
        format!(
            "unknown preset {name:?}; expected one of {}",
            NAMES.join(", ")
        ),
    )
}

/// A retry builder set up by the named preset, to adjust or build.
///
/// ```
/// let retry = medic_resilience::presets::retry("standard")?.build()?;
/// assert_eq!(retry.max_attempts(), 4);
/// assert_eq!(medic_resilience::presets::retry("reckless").unwrap_err().field, "preset");
/// # Ok::<(), medic_resilience::ConfigError>(())
/// ```
pub fn retry(name: &str) -> Result<RetryBuilder, ConfigError> {
    let ms = Duration::from_millis;
    Ok(match name {
        "fast" => Retry::builder()
            .max_attempts(3)
            .initial_delay(ms(10))
            .max_delay(ms(200)),
        "standard" => Retry::builder()
            .max_attempts(4)
            .initial_delay(ms(100))
            .max_delay(Duration::from_secs(5))
            .budget(Arc::new(RetryBudget::default())),
        "patient" => Retry::builder()
            .max_attempts(8)
            .initial_delay(Duration::from_secs(1))
            .max_delay(Duration::from_secs(60))
            .jitter(Jitter::Decorrelated)
            .attempt_timeout(Duration::from_secs(30))
            .deadline(Duration::from_secs(300)),
        other => return Err(unknown(other)),
    })
}

/// A breaker builder set up by the named preset, to adjust or build.
///
/// ```
/// use medic_resilience::breaker::State;
/// let breaker = medic_resilience::presets::breaker("fast", "search")?.build()?;
/// assert_eq!(breaker.state(), State::Closed);
/// # Ok::<(), medic_resilience::ConfigError>(())
/// ```
pub fn breaker(preset: &str, name: &str) -> Result<BreakerBuilder, ConfigError> {
    let secs = Duration::from_secs;
    Ok(match preset {
        "fast" => CircuitBreaker::builder(name)
            .consecutive_failures(5)
            .open_duration(secs(5)),
        "standard" => CircuitBreaker::builder(name)
            .failure_rate(0.5, 20)
            .count_window(100)
            .open_duration(secs(30))
            .open_duration_growth(2.0, secs(300)),
        "patient" => CircuitBreaker::builder(name)
            .failure_rate(0.5, 10)
            .time_window(secs(60), 12)
            .open_duration(secs(60))
            .open_duration_growth(2.0, secs(600)),
        other => return Err(unknown(other)),
    })
}
