//! Telemetry: every notable policy decision as a typed event.
//!
//! Events go to `tracing` (at `debug`, or `warn` for state changes) and to an
//! optional [`EventListener`]. Only decisions are events — a retry, a rejection,
//! a state change — never a plain success, so a quiet system pays nothing.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::breaker::State;

/// A policy decision worth telling someone about.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Event<'a> {
    /// An attempt failed and another will follow after `delay`.
    Retry {
        /// The attempt that just failed (1 = the first call).
        attempt: u32,
        /// The wait before the next attempt.
        delay: Duration,
    },
    /// A retry was skipped because the retry budget is empty.
    RetryBudgetExhausted,
    /// Adaptive throttling rejected a call locally.
    Throttled {
        /// The rejection probability at that moment.
        probability: f64,
    },
    /// A circuit breaker changed state.
    StateChange {
        /// The breaker's name.
        breaker: &'a str,
        /// The state it left.
        from: State,
        /// The state it entered.
        to: State,
    },
    /// A circuit breaker rejected a call.
    BreakerRejected {
        /// The breaker's name.
        breaker: &'a str,
    },
    /// An attempt timed out.
    Timeout {
        /// The limit that passed.
        after: Duration,
    },
    /// A bulkhead was full and rejected a call.
    BulkheadRejected,
    /// A fallback alternative was used.
    FallbackUsed {
        /// Its position in the chain (0 = first alternative).
        index: usize,
        /// Its name.
        name: &'a str,
    },
}

impl fmt::Display for Event<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Retry { attempt, delay } => {
                write!(f, "attempt {attempt} failed; retrying in {delay:?}")
            }
            Event::RetryBudgetExhausted => f.write_str("retry budget exhausted; not retrying"),
            Event::Throttled { probability } => {
                write!(f, "throttled locally (p = {probability:.2})")
            }
            Event::StateChange { breaker, from, to } => {
                write!(f, "breaker {breaker}: {from} -> {to}")
            }
            Event::BreakerRejected { breaker } => write!(f, "breaker {breaker} rejected a call"),
            Event::Timeout { after } => write!(f, "attempt timed out after {after:?}"),
            Event::BulkheadRejected => f.write_str("bulkhead full; call rejected"),
            Event::FallbackUsed { index, name } => write!(f, "fallback #{index} ({name}) used"),
        }
    }
}

/// Receives policy events. Implementations must be cheap: they run inline.
///
/// ```
/// use medic_resilience::events::{Event, EventListener};
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// struct CountRetries(AtomicUsize);
/// impl EventListener for CountRetries {
///     fn on_event(&self, event: &Event<'_>) {
///         if matches!(event, Event::Retry { .. }) {
///             self.0.fetch_add(1, Ordering::Relaxed);
///         }
///     }
/// }
/// let counter = CountRetries(AtomicUsize::new(0));
/// counter.on_event(&Event::Retry { attempt: 1, delay: std::time::Duration::ZERO });
/// assert_eq!(counter.0.load(Ordering::Relaxed), 1);
/// ```
pub trait EventListener: Send + Sync {
    /// Called for each event.
    fn on_event(&self, event: &Event<'_>);
}

impl<F> EventListener for F
where
    F: Fn(&Event<'_>) + Send + Sync,
{
    fn on_event(&self, event: &Event<'_>) {
        self(event)
    }
}

/// A shared listener, as policies store it.
pub type SharedListener = Arc<dyn EventListener>;

/// Sends an event to tracing and to the listener, if any.
pub(crate) fn emit(listener: Option<&SharedListener>, event: Event<'_>) {
    match event {
        Event::StateChange { .. } => tracing::warn!(target: "medic_resilience", %event),
        _ => tracing::debug!(target: "medic_resilience", %event),
    }
    if let Some(listener) = listener {
        listener.on_event(&event);
    }
}
