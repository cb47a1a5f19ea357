//! Where policies read the time, so tests can control it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A source of monotonic time.
///
/// `Std` is the cheapest and the default. `Tokio` follows tokio's clock, so
/// `#[tokio::test(start_paused = true)]` tests see exact, instant time. `Manual`
/// only moves when a test advances it.
///
/// ```
/// use medic_resilience::clock::{Clock, ManualClock};
/// use std::time::Duration;
/// let manual = ManualClock::new();
/// let clock = Clock::Manual(manual.clone());
/// let t0 = clock.now();
/// manual.advance(Duration::from_secs(3));
/// assert_eq!(clock.now() - t0, Duration::from_secs(3));
/// ```
#[derive(Debug, Clone, Default)]
pub enum Clock {
    /// `std::time::Instant::now()`.
    #[default]
    Std,
    /// `tokio::time::Instant::now()`, which honours paused time.
    Tokio,
    /// A clock moved by hand.
    Manual(Arc<ManualClock>),
}

impl Clock {
    /// The current instant on this clock.
    #[inline]
    pub fn now(&self) -> Instant {
        match self {
            Clock::Std => Instant::now(),
            Clock::Tokio => tokio::time::Instant::now().into_std(),
            Clock::Manual(m) => m.now(),
        }
    }
}

/// The start of a policy's timeline, on both the precise and the coarse clock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Epoch {
    precise: Instant,
    coarse: coarsetime::Instant,
}

impl Clock {
    /// Marks the start of a timeline on this clock.
    pub(crate) fn epoch(&self) -> Epoch {
        Epoch {
            precise: self.now(),
            coarse: coarsetime::Instant::now(),
        }
    }

    /// Nanoseconds since `epoch`, precisely.
    #[inline]
    pub(crate) fn nanos_since(&self, epoch: &Epoch) -> u64 {
        let elapsed = self.now().saturating_duration_since(epoch.precise);
        u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
    }

    /// Nanoseconds since `epoch`, to within a kernel tick (1–4 ms) on the
    /// standard clock, which makes reading it about five times cheaper. For
    /// deadlines measured in seconds, such as how long a breaker stays open.
    /// Tokio and manual clocks stay precise, so tests remain exact.
    #[inline]
    pub(crate) fn coarse_nanos_since(&self, epoch: &Epoch) -> u64 {
        match self {
            Clock::Std => coarsetime::Instant::now()
                .duration_since(epoch.coarse)
                .as_nanos(),
            _ => self.nanos_since(epoch),
        }
    }
}

/// A clock for tests: starts at construction and only moves by [`ManualClock::advance`].
///
/// ```
/// use medic_resilience::clock::ManualClock;
/// use std::time::Duration;
/// let clock = ManualClock::new();
/// let before = clock.now();
/// clock.advance(Duration::from_millis(10));
/// assert!(clock.now() > before);
/// ```
#[derive(Debug)]
pub struct ManualClock {
    base: Instant,
    offset_nanos: AtomicU64,
}

impl ManualClock {
    /// A new clock, shared so policies and the test can hold it together.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            base: Instant::now(),
            offset_nanos: AtomicU64::new(0),
        })
    }

    /// The clock's current instant.
    pub fn now(&self) -> Instant {
        self.base + Duration::from_nanos(self.offset_nanos.load(Ordering::Acquire))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.offset_nanos.fetch_add(nanos, Ordering::AcqRel);
    }
}
