//! The one question a retry loop asks of an error.

use std::time::Duration;

/// What should happen after an error.
///
/// ```
/// use medic_resilience::classify::{Classify, Verdict};
/// let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
/// assert_eq!(refused.verdict(), Verdict::Retry);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Transient: try again after the usual backoff.
    Retry,
    /// Transient, and the other side said when (`Retry-After`).
    RetryAfter(Duration),
    /// Permanent: trying again would fail the same way, or do harm.
    Stop,
}

impl Verdict {
    /// Whether this verdict allows another attempt.
    pub fn is_retryable(self) -> bool {
        !matches!(self, Verdict::Stop)
    }
}

/// Errors that know whether they are worth retrying.
///
/// Implemented for `std::io::Error`, [`crate::classify::ErrorContext`] and
/// [`crate::Error`]; for any other error type, pass a closure to
/// [`crate::retry::Retry::call_with`] instead.
pub trait Classify {
    /// The verdict for this error.
    fn verdict(&self) -> Verdict;
}
