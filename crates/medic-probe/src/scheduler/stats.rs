//! How well the scheduler keeps time, counted as it runs and read at any
//! moment without stopping it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A snapshot of the scheduler's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SchedulerStats {
    /// Checks started.
    pub checks_started: u64,
    /// Runs skipped because the scheduler fell a whole interval or more
    /// behind (the schedule skips ahead rather than bunching them up).
    pub missed_runs: u64,
    /// Runs skipped because the probe's previous check was still running.
    pub skipped_in_flight: u64,
    /// Runs started more than [`LATE_AFTER`] after their due instant.
    pub late_runs: u64,
    /// The largest delay between a run's due instant and its start.
    pub max_lateness: Duration,
    /// The sum of those delays (divide by `checks_started` for the mean).
    pub total_lateness: Duration,
}

/// A run that starts later than this after its due instant counts as late
/// (a tenth of the default 1 s interval).
pub const LATE_AFTER: Duration = Duration::from_millis(100);

impl SchedulerStats {
    /// The share of due runs that started on time (not late, not missed);
    /// 1 when none were due.
    pub fn on_time_share(&self) -> f64 {
        let due = self.checks_started + self.missed_runs;
        if due == 0 {
            return 1.0;
        }
        let on_time = self.checks_started.saturating_sub(self.late_runs);
        on_time as f64 / due as f64
    }
}

/// The live counters behind [`SchedulerStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    checks_started: AtomicU64,
    missed_runs: AtomicU64,
    skipped_in_flight: AtomicU64,
    late_runs: AtomicU64,
    max_lateness_nanos: AtomicU64,
    total_lateness_nanos: AtomicU64,
}

impl Counters {
    pub(crate) fn record_start(&self, lateness: Duration) {
        let nanos = u64::try_from(lateness.as_nanos()).unwrap_or(u64::MAX);
        self.checks_started.fetch_add(1, Ordering::Relaxed);
        if lateness > LATE_AFTER {
            self.late_runs.fetch_add(1, Ordering::Relaxed);
        }
        self.max_lateness_nanos.fetch_max(nanos, Ordering::Relaxed);
        self.total_lateness_nanos
            .fetch_add(nanos, Ordering::Relaxed);
    }

    pub(crate) fn record_missed(&self, runs: u64) {
        self.missed_runs.fetch_add(runs, Ordering::Relaxed);
    }

    pub(crate) fn record_skipped_in_flight(&self) {
        self.skipped_in_flight.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> SchedulerStats {
        SchedulerStats {
            checks_started: self.checks_started.load(Ordering::Relaxed),
            missed_runs: self.missed_runs.load(Ordering::Relaxed),
            skipped_in_flight: self.skipped_in_flight.load(Ordering::Relaxed),
            late_runs: self.late_runs.load(Ordering::Relaxed),
            max_lateness: Duration::from_nanos(self.max_lateness_nanos.load(Ordering::Relaxed)),
            total_lateness: Duration::from_nanos(self.total_lateness_nanos.load(Ordering::Relaxed)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn late_and_missed_runs_are_not_on_time() {
        let counters = Counters::default();
        assert_eq!(counters.snapshot().on_time_share(), 1.0, "nothing due yet");
        counters.record_start(Duration::from_millis(5));
        counters.record_start(LATE_AFTER);
        counters.record_start(LATE_AFTER + Duration::from_millis(1));
        counters.record_missed(1);
        let stats = counters.snapshot();
        assert_eq!(stats.late_runs, 1);
        // Two of four due runs started within 100 ms.
        assert_eq!(stats.on_time_share(), 0.5);
    }
}
