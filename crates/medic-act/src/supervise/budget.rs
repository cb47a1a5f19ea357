//! The start budget: at most `limit` starts per sliding `window`, like
//! systemd's `StartLimitBurst` / `StartLimitIntervalSec`. A process that
//! keeps dying is not restarted forever; a human is told instead.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// Recent starts of one supervised process.
#[derive(Debug)]
pub(super) struct StartBudget {
    limit: u32,
    window: Duration,
    starts: VecDeque<Instant>,
}

impl StartBudget {
    pub(super) fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            starts: VecDeque::new(),
        }
    }

    /// Counts a start (failed spawns count too: they are attempts).
    pub(super) fn record(&mut self, at: Instant) {
        self.starts.push_back(at);
    }

    /// Whether a start at `at` stays within the budget.
    pub(super) fn allows(&mut self, at: Instant) -> bool {
        while let Some(&oldest) = self.starts.front() {
            if at.saturating_duration_since(oldest) >= self.window {
                self.starts.pop_front();
            } else {
                break;
            }
        }
        self.starts.len() < self.limit as usize
    }

    /// Forgets past starts: a deliberate restart resets the budget, like
    /// `systemctl reset-failed` followed by `restart`.
    pub(super) fn clear(&mut self) {
        self.starts.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_limit_starts_per_sliding_window() {
        let t0 = Instant::now();
        let secs = Duration::from_secs;
        let mut budget = StartBudget::new(3, secs(10));
        for at in [0, 1, 2] {
            assert!(budget.allows(t0 + secs(at)));
            budget.record(t0 + secs(at));
        }
        assert!(!budget.allows(t0 + secs(3)), "three starts in 10s spent it");
        assert!(
            budget.allows(t0 + secs(10)),
            "the first start left the window"
        );
        budget.clear();
        assert!(budget.allows(t0 + secs(3)));
    }

    #[test]
    fn a_zero_limit_never_allows_a_restart() {
        let mut budget = StartBudget::new(0, Duration::from_secs(1));
        assert!(!budget.allows(Instant::now()));
    }
}
