//! One circuit breaker per (target, remedy): an action that keeps failing is
//! skipped for a while instead of hammering what it is failing against, and
//! the ladder moves on to the next remedy.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use medic_resilience::ConfigError;
use medic_resilience::breaker::{BreakerSnapshot, CircuitBreaker, State};
use medic_resilience::clock::Clock;

/// How the per-action breakers trip and recover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Failed runs in a row that open the breaker (default 3).
    pub consecutive_failures: u32,
    /// How long it stays open the first time (default 1 min); each reopening
    /// after a failed trial doubles it.
    pub open_for: Duration,
    /// The longest it stays open (default 15 min).
    pub max_open_for: Duration,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        Self {
            consecutive_failures: 3,
            open_for: Duration::from_secs(60),
            max_open_for: Duration::from_secs(15 * 60),
        }
    }
}

impl BreakerSettings {
    fn build(&self, name: &str) -> Result<CircuitBreaker, ConfigError> {
        CircuitBreaker::builder(name)
            .consecutive_failures(self.consecutive_failures)
            .open_duration(self.open_for)
            .open_duration_growth(2.0, self.max_open_for)
            // Tokio's clock, so that tests with paused time can open and heal breakers.
            .clock(Clock::Tokio)
            .build()
    }
}

/// The breakers, created on first use.
#[derive(Debug)]
pub(crate) struct ActionBreakers {
    settings: BreakerSettings,
    by_action: Mutex<HashMap<String, CircuitBreaker>>,
}

/// The breaker's name: `target/remedy`, as the API shows it.
pub(crate) fn breaker_name(target: &str, remedy: &str) -> String {
    format!("{target}/{remedy}")
}

impl ActionBreakers {
    /// Validates the settings once, so that creating a breaker later cannot fail.
    pub(crate) fn new(settings: BreakerSettings) -> Result<Self, ConfigError> {
        settings.build("validation")?;
        Ok(Self {
            settings,
            by_action: Mutex::new(HashMap::new()),
        })
    }

    /// The action's breaker, created closed on first use.
    pub(crate) fn get(&self, target: &str, remedy: &str) -> Option<CircuitBreaker> {
        let name = breaker_name(target, remedy);
        let mut breakers = self.lock();
        if let Some(breaker) = breakers.get(&name) {
            return Some(breaker.clone());
        }
        match self.settings.build(&name) {
            Ok(breaker) => {
                breakers.insert(name, breaker.clone());
                Some(breaker)
            }
            Err(error) => {
                // Unreachable after `new` validated the settings; run unguarded rather than not at all.
                tracing::error!(%error, breaker = name, "cannot create an action breaker");
                None
            }
        }
    }

    /// Whether the action would be skipped now. An open breaker whose open
    /// time has passed is not "open" here: the next run is its trial.
    pub(crate) fn is_open(&self, target: &str, remedy: &str) -> bool {
        let breakers = self.lock();
        let Some(breaker) = breakers.get(&breaker_name(target, remedy)) else {
            return false;
        };
        match breaker.state() {
            State::ForcedOpen => true,
            State::Open => breaker.snapshot().retry_in_ms > 0,
            State::Closed | State::HalfOpen => false,
        }
    }

    /// Every breaker's state, sorted by name.
    pub(crate) fn snapshots(&self) -> Vec<BreakerSnapshot> {
        let mut snapshots: Vec<_> = self.lock().values().map(CircuitBreaker::snapshot).collect();
        snapshots.sort_by(|a, b| a.name.cmp(&b.name));
        snapshots
    }

    /// Closes the breaker called `name` (`target/remedy`); false if there is none.
    pub(crate) fn reset(&self, name: &str) -> bool {
        match self.lock().get(name) {
            Some(breaker) => {
                breaker.reset();
                true
            }
            None => false,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, CircuitBreaker>> {
        // The map only holds handles; a panic elsewhere cannot leave it torn.
        self.by_action
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_settings_are_refused_up_front() {
        let settings = BreakerSettings {
            consecutive_failures: 0,
            ..BreakerSettings::default()
        };
        assert!(ActionBreakers::new(settings).is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn opens_after_failures_and_lets_a_trial_through_later() {
        let breakers = ActionBreakers::new(BreakerSettings::default()).expect("valid");
        assert!(!breakers.is_open("db", "restart"));
        let breaker = breakers.get("db", "restart").expect("breaker");
        for _ in 0..3 {
            breaker.try_acquire().expect("closed").failure();
        }
        assert!(breakers.is_open("db", "restart"));
        assert!(!breakers.is_open("db", "other"));
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(!breakers.is_open("db", "restart"), "the trial is due");
        assert!(breakers.reset("db/restart"));
        assert_eq!(breakers.snapshots()[0].state, State::Closed);
    }
}
