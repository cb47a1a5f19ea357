//! The one error type every policy returns, and the error for bad configuration.
//!
//! A single `Error<E>` (instead of one error per policy wrapped in the next) keeps
//! composed pipelines flat: `retry(breaker(timeout(op)))` still fails with an
//! `Error<E>`, never an `Error<Error<Error<E>>>`.

use std::fmt;
use std::time::Duration;

use crate::classify::{Classify, Verdict};

/// Why a protected call failed.
///
/// ```
/// use medic_resilience::Error;
/// let e: Error<std::io::Error> = Error::Timeout(std::time::Duration::from_millis(50));
/// assert_eq!(e.to_string(), "timed out after 50ms");
/// ```
#[derive(Debug)]
pub enum Error<E> {
    /// The operation itself failed; this is its (last) error.
    Inner(E),
    /// An attempt ran longer than its timeout and was cancelled.
    Timeout(Duration),
    /// The circuit breaker is open and rejected the call without running it.
    CircuitOpen {
        /// How long until the breaker lets a trial call through.
        retry_in: Duration,
    },
    /// The bulkhead's concurrency limit and queue were both full.
    BulkheadFull,
    /// Client-side adaptive throttling rejected the call locally.
    Throttled,
    /// The overall deadline of a retry loop passed.
    DeadlineExceeded(Duration),
}

impl<E> Error<E> {
    /// The operation's own error, if that is what this is.
    pub fn into_inner(self) -> Option<E> {
        match self {
            Error::Inner(e) => Some(e),
            _ => None,
        }
    }

    /// Whether the policy itself (not the operation) produced this error.
    pub fn is_rejection(&self) -> bool {
        matches!(
            self,
            Error::CircuitOpen { .. } | Error::BulkheadFull | Error::Throttled
        )
    }

    /// Turns the operation's error type into another one, keeping policy errors.
    pub fn map_inner<F, E2>(self, f: F) -> Error<E2>
    where
        F: FnOnce(E) -> E2,
    {
        match self {
            Error::Inner(e) => Error::Inner(f(e)),
            Error::Timeout(d) => Error::Timeout(d),
            Error::CircuitOpen { retry_in } => Error::CircuitOpen { retry_in },
            Error::BulkheadFull => Error::BulkheadFull,
            Error::Throttled => Error::Throttled,
            Error::DeadlineExceeded(d) => Error::DeadlineExceeded(d),
        }
    }
}

impl<E: fmt::Display> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Inner(e) => e.fmt(f),
            Error::Timeout(d) => write!(f, "timed out after {d:?}"),
            Error::CircuitOpen { retry_in } => {
                write!(f, "circuit breaker open; next trial in {retry_in:?}")
            }
            Error::BulkheadFull => f.write_str("bulkhead full: too many concurrent calls"),
            Error::Throttled => f.write_str("rejected by client-side adaptive throttling"),
            Error::DeadlineExceeded(d) => write!(f, "deadline of {d:?} exceeded"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for Error<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Inner(e) => Some(e),
            _ => None,
        }
    }
}

impl<E> Error<E> {
    /// The verdict for a policy's own error, which does not depend on `E`.
    pub(crate) fn policy_verdict(&self) -> Verdict {
        match self {
            // A timed-out attempt may well succeed next time.
            Error::Timeout(_) => Verdict::Retry,
            // Retrying into an open breaker, a full bulkhead or our own throttle
            // only adds load where load is the problem: fail fast instead.
            Error::Inner(_)
            | Error::CircuitOpen { .. }
            | Error::BulkheadFull
            | Error::Throttled
            | Error::DeadlineExceeded(_) => Verdict::Stop,
        }
    }
}

impl<E: Classify> Classify for Error<E> {
    fn verdict(&self) -> Verdict {
        match self {
            Error::Inner(e) => e.verdict(),
            other => other.policy_verdict(),
        }
    }
}

/// A constructor refused its configuration; `field` names the offending setting.
///
/// ```
/// use medic_resilience::retry::Retry;
/// let err = Retry::builder().max_attempts(0).build().unwrap_err();
/// assert_eq!(err.field, "max_attempts");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {reason}")]
pub struct ConfigError {
    /// The setting that is wrong, as named by the builder method.
    pub field: &'static str,
    /// Why it is wrong.
    pub reason: String,
}

impl ConfigError {
    pub(crate) fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

/// Checks that a ratio lies in `[0, 1]`.
pub(crate) fn check_ratio(field: &'static str, value: f64) -> Result<(), ConfigError> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(ConfigError::new(
            field,
            format!("{value} is outside [0, 1]"),
        ))
    }
}

/// Checks that a duration is not zero.
pub(crate) fn check_nonzero(field: &'static str, value: Duration) -> Result<(), ConfigError> {
    if value.is_zero() {
        Err(ConfigError::new(field, "must be greater than zero"))
    } else {
        Ok(())
    }
}
