//! The verdict of one source of knowledge, before it becomes an `ErrorContext`.
//!
//! Every source (io kinds, HTTP statuses, the message catalog, user rules)
//! produces this small `Copy` value, so the classifier can try them in order
//! without allocating, and only builds the full context for the winner.

use std::time::Duration;

use super::category::{Category, Severity};

/// Category, severity and retryability as decided by one knowledge source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Assessment {
    pub(crate) category: Category,
    pub(crate) severity: Severity,
    pub(crate) retryable: bool,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) status: Option<u16>,
}

impl Assessment {
    /// The category's defaults.
    pub(crate) const fn of(category: Category) -> Self {
        Self {
            category,
            severity: category.default_severity(),
            retryable: category.default_retryable(),
            retry_after: None,
            status: None,
        }
    }

    /// The category's default severity with an explicit retryability.
    pub(crate) const fn with_retryable(category: Category, retryable: bool) -> Self {
        Self {
            retryable,
            ..Self::of(category)
        }
    }

    /// Overrides the severity.
    pub(crate) const fn severity(self, severity: Severity) -> Self {
        Self { severity, ..self }
    }
}
