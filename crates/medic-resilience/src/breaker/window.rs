//! The sliding windows a closed breaker judges failure rates over.

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

const FAILURE: u8 = 1;
const SLOW: u8 = 2;

/// The last `n` outcomes in a ring, with running totals.
#[derive(Debug)]
pub(crate) struct CountWindow {
    ring: Box<[u8]>,
    next: usize,
    filled: bool,
    tally: Tally,
}

impl CountWindow {
    pub(crate) fn new(size: u32) -> Self {
        Self {
            ring: vec![0; size.max(1) as usize].into_boxed_slice(),
            next: 0,
            filled: false,
            tally: Tally::default(),
        }
    }

    fn record(&mut self, failure: bool, slow: bool) -> Tally {
        let flags = (u8::from(failure) * FAILURE) | (u8::from(slow) * SLOW);
        if self.filled {
            let evicted = self.ring[self.next];
            self.tally.failures -= u32::from(evicted & FAILURE != 0);
            self.tally.slow -= u32::from(evicted & SLOW != 0);
        } else {
            self.tally.calls += 1;
        }
        self.ring[self.next] = flags;
        self.tally.failures += u32::from(failure);
        self.tally.slow += u32::from(slow);
        self.next += 1;
        if self.next == self.ring.len() {
            self.next = 0;
            self.filled = true;
        }
        self.tally
    }

    fn clear(&mut self) {
        self.ring.fill(0);
        self.next = 0;
        self.filled = false;
        self.tally = Tally::default();
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

    /// Adds one outcome and returns the window's totals after it.
    pub(crate) fn record(&mut self, now_nanos: u64, failure: bool, slow: bool) -> Tally {
        match self {
            Window::Count(w) => w.record(failure, slow),
            Window::Time(w) => w.record(now_nanos, failure, slow),
        }
    }

    /// The window's totals without adding an outcome.
    pub(crate) fn tally(&self, now_nanos: u64) -> Tally {
        match self {
            Window::Count(w) => w.tally,
            Window::Time(w) => w.tally(now_nanos),
        }
    }

    pub(crate) fn clear(&mut self) {
        match self {
            Window::Count(w) => w.clear(),
            Window::Time(w) => w.clear(),
        }
    }

    pub(crate) fn needs_clock(&self) -> bool {
        matches!(self, Window::Time(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_window_forgets_the_oldest_outcome() {
        let mut w = CountWindow::new(3);
        w.record(true, false);
        w.record(false, true);
        assert_eq!(
            w.record(false, false),
            Tally {
                calls: 3,
                failures: 1,
                slow: 1
            }
        );
        // The failure falls out.
        assert_eq!(
            w.record(false, false),
            Tally {
                calls: 3,
                failures: 0,
                slow: 1
            }
        );
        assert_eq!(
            w.record(true, false),
            Tally {
                calls: 3,
                failures: 1,
                slow: 0
            }
        );
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
