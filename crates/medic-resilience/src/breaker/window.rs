//! The sliding windows a closed breaker judges failure rates over.

use std::collections::VecDeque;
use std::time::Duration;

/// Which calls a breaker's failure rate is computed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowKind {
    /// The last `n` calls.
    Count(u32),
    /// The calls of the last `duration`, kept in `buckets` slices.
    Time {
        /// How far back the window reaches.
        duration: Duration,
        /// How many slices it is kept in (more = smoother, a little more work).
        buckets: u32,
    },
}

/// Call, failure and slow-call counts over a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    pub calls: u32,
    pub failures: u32,
    pub slow: u32,
}

/// The last `size` calls, kept as a call counter (outside, lock-free) plus the
/// sequence numbers of the failed and slow calls among them. A success, the
/// common case, then only bumps the counter; the lists are touched on
/// failures and slow calls alone.
#[derive(Debug)]
pub(crate) struct CountWindow {
    size: u64,
    failures: VecDeque<u64>,
    slow: VecDeque<u64>,
}

impl CountWindow {
    pub(crate) fn new(size: u32) -> Self {
        Self {
            size: u64::from(size.max(1)),
            failures: VecDeque::new(),
            slow: VecDeque::new(),
        }
    }

    /// Notes that call number `seq` failed and/or was slow; `calls` is the
    /// counter now (calls recorded since the window was cleared).
    fn record(&mut self, seq: u64, failure: bool, slow: bool, calls: u64) -> Tally {
        if failure {
            self.failures.push_back(seq);
        }
        if slow {
            self.slow.push_back(seq);
        }
        self.tally(calls)
    }

    fn tally(&mut self, calls: u64) -> Tally {
        // Racing callers may push sequence numbers slightly out of order, so
        // count by value rather than trusting positions.
        let oldest_kept = calls.saturating_sub(self.size);
        self.failures.retain(|&seq| seq > oldest_kept);
        self.slow.retain(|&seq| seq > oldest_kept);
        Tally {
            calls: calls.min(self.size) as u32,
            failures: self.failures.len() as u32,
            slow: self.slow.len() as u32,
        }
    }

    fn clear(&mut self) {
        self.failures.clear();
        self.slow.clear();
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    period: u64,
    tally: Tally,
}

/// Outcomes of the last `duration`, in fixed time slices.
#[derive(Debug)]
pub(crate) struct TimeWindow {
    buckets: Box<[Bucket]>,
    slice_nanos: u64,
}

impl TimeWindow {
    pub(crate) fn new(duration: Duration, buckets: u32) -> Self {
        let buckets = buckets.max(1);
        let slice = (duration.as_nanos() / u128::from(buckets)).max(1);
        Self {
            buckets: vec![Bucket::default(); buckets as usize].into_boxed_slice(),
            slice_nanos: u64::try_from(slice).unwrap_or(u64::MAX),
        }
    }

    fn record(&mut self, now_nanos: u64, failure: bool, slow: bool) -> Tally {
        // Periods start at 1 so an untouched bucket (period 0) never counts.
        let period = now_nanos / self.slice_nanos + 1;
        let len = self.buckets.len() as u64;
        let slot = &mut self.buckets[(period % len) as usize];
        if slot.period != period {
            *slot = Bucket {
                period,
                tally: Tally::default(),
            };
        }
        slot.tally.calls += 1;
        slot.tally.failures += u32::from(failure);
        slot.tally.slow += u32::from(slow);
        self.sum(period)
    }

    fn tally(&self, now_nanos: u64) -> Tally {
        self.sum(now_nanos / self.slice_nanos + 1)
    }

    fn sum(&self, period: u64) -> Tally {
        let len = self.buckets.len() as u64;
        self.buckets
            .iter()
            .filter(|b| b.period != 0 && b.period + len > period)
            .fold(Tally::default(), |t, b| Tally {
                calls: t.calls + b.tally.calls,
                failures: t.failures + b.tally.failures,
                slow: t.slow + b.tally.slow,
            })
    }

    fn clear(&mut self) {
        self.buckets.fill(Bucket::default());
    }
}

/// Where in the stream of calls an outcome lands.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Position {
    /// This call's number since the window was cleared (count windows).
    pub seq: u64,
    /// Calls recorded so far (count windows).
    pub calls: u64,
    /// Nanoseconds since the breaker's epoch (time windows).
    pub now_nanos: u64,
}

/// Either window, chosen at construction.
#[derive(Debug)]
pub(crate) enum Window {
    Count(CountWindow),
    Time(TimeWindow),
}

impl Window {
    pub(crate) fn new(kind: WindowKind) -> Self {
        match kind {
            WindowKind::Count(n) => Window::Count(CountWindow::new(n)),
            WindowKind::Time { duration, buckets } => {
                Window::Time(TimeWindow::new(duration, buckets))
            }
        }
    }

    /// Adds one outcome and returns the window's totals after it. `seq` and
    /// `calls` feed a count window; `now_nanos` feeds a time window.
    pub(crate) fn record(&mut self, at: Position, failure: bool, slow: bool) -> Tally {
        match self {
            Window::Count(w) => w.record(at.seq, failure, slow, at.calls),
            Window::Time(w) => w.record(at.now_nanos, failure, slow),
        }
    }

    /// The window's totals without adding an outcome.
    pub(crate) fn tally(&mut self, at: Position) -> Tally {
        match self {
            Window::Count(w) => w.tally(at.calls),
            Window::Time(w) => w.tally(at.now_nanos),
        }
    }

    pub(crate) fn clear(&mut self) {
        match self {
            Window::Count(w) => w.clear(),
            Window::Time(w) => w.clear(),
        }
    }

    pub(crate) fn is_count(&self) -> bool {
        matches!(self, Window::Count(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_window_forgets_the_oldest_outcome() {
        let mut w = CountWindow::new(3);
        assert_eq!(
            w.record(1, true, false, 1),
            Tally {
                calls: 1,
                failures: 1,
                slow: 0
            }
        );
        assert_eq!(
            w.record(2, false, true, 2),
            Tally {
                calls: 2,
                failures: 1,
                slow: 1
            }
        );
        // Call 3 succeeded: only the counter moved.
        assert_eq!(
            w.tally(3),
            Tally {
                calls: 3,
                failures: 1,
                slow: 1
            }
        );
        // The failure (call 1) falls out with call 4.
        assert_eq!(
            w.tally(4),
            Tally {
                calls: 3,
                failures: 0,
                slow: 1
            }
        );
        assert_eq!(
            w.record(5, true, false, 5),
            Tally {
                calls: 3,
                failures: 1,
                slow: 0
            }
        );
    }

    #[test]
    fn count_window_tolerates_out_of_order_sequence_numbers() {
        let mut w = CountWindow::new(2);
        w.record(7, true, false, 7);
        w.record(6, true, false, 7);
        assert_eq!(w.tally(7).failures, 2);
        assert_eq!(w.tally(8).failures, 1, "call 6 left, call 7 stays");
    }

    #[test]
    fn time_window_forgets_old_slices() {
        let second = 1_000_000_000;
        let mut w = TimeWindow::new(Duration::from_secs(10), 10);
        w.record(0, true, false);
        w.record(5 * second, true, false);
        assert_eq!(w.record(9 * second, false, false).failures, 2);
        // At t = 10.5 s the slice [0, 1 s) has left the window.
        assert_eq!(
            w.record(10 * second + second / 2, false, false),
            Tally {
                calls: 3,
                failures: 1,
                slow: 0
            }
        );
        // Long silence empties the window.
        assert_eq!(
            w.record(100 * second, false, false),
            Tally {
                calls: 1,
                failures: 0,
                slow: 0
            }
        );
    }
}
