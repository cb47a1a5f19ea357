//! Error classification: what went wrong, whose fault it is, and what to do.
//!
//! Retry loops, circuit breakers and fallbacks all need the same judgement
//! about a failure. This module makes it once, in one place:
//!
//! - [`Classify`] / [`Verdict`]: the single question a retry loop asks
//!   (retry, retry after *n*, stop), implemented for `std::io::Error` (by
//!   [`ErrorKind`](std::io::ErrorKind)) and [`ErrorContext`].
//! - [`ErrorClassifier`]: turns any `std::error::Error` (walking its
//!   `source()` chain), a plain message, or an HTTP status + `Retry-After` +
//!   body into an [`ErrorContext`] with a [`Category`], a [`Severity`],
//!   retryability and a stable fingerprint; then answers `should_retry`,
//!   `should_fallback`, `should_circuit_break` and `retry_delay`.
//! - [`fingerprint`] / [`normalize`]: the same failure gets the same id in
//!   every run, whatever numbers, ids, addresses or paths it mentions.
//! - [`parse_retry_after`]: the `Retry-After` header, both forms.
//!
//! # Design
//!
//! *Typed knowledge before text.* An `io::ErrorKind` or a tokio `Elapsed`
//! found in the chain says exactly what happened; text is a fallback. Crates
//! we do not depend on (reqwest, hyper, database drivers, cloud SDKs) are
//! recognised by their messages, which are stable in practice and cost us no
//! dependency.
//!
//! *The user has the last word.* [`ClassificationRule`]s run before any
//! built-in knowledge, in insertion order, so a wrong built-in guess is always
//! one rule away from fixed.
//!
//! *Unknown means stop.* An unrecognised error is not retried: retrying an
//! operation nobody understands can repeat a side effect. Add a rule.
//!
//! *Fast enough for log lines.* The message catalog is one `RegexSet`
//! compiled once; classifying a 100-byte line is a few microseconds, most of
//! it spent normalising the text for the fingerprint.
//!
//! ```
//! use medic_resilience::classify::{Category, Classify, ErrorClassifier, Verdict};
//! let classifier = ErrorClassifier::default();
//! let ctx = classifier.classify_http(503, Some("2"), "upstream overloaded");
//! assert_eq!(ctx.category, Category::Dependency);
//! assert_eq!(ctx.verdict(), Verdict::RetryAfter(std::time::Duration::from_secs(2)));
//! assert!(classifier.should_circuit_break(&ctx));
//! ```
mod verdict;
pub use verdict::{Classify, Verdict};

mod assessment;
mod category;
mod classifier;
mod codes;
mod context;
mod families;
mod fingerprint;
mod general;
mod http;
mod io;
mod no_cause;
mod patterns;
mod platforms;
mod recognition;
mod retry_after;
mod rule;
mod tools;

pub use category::{Category, ParseCategoryError, ParseSeverityError, Severity};
pub use classifier::ErrorClassifier;
pub use context::ErrorContext;
pub use fingerprint::{fingerprint, normalize};
pub use recognition::{Basis, Recognition};
pub use retry_after::parse_retry_after;
pub use rule::ClassificationRule;

/// Every regex the built-in reading of log lines uses: the message
/// catalog's entries in order (less the calls-only ones, which recognise no
/// log line), then the HTTP status pattern. They are meant to be
/// compiled case-insensitive and ASCII-only (`(?i-u)`), none spans a line
/// break, and a text the classifier recognises without user rules matches at
/// least one. For prefilters that skip lines quickly, and for comparing with
/// other tools (`rg -i -f`).
///
/// ```
/// let patterns = medic_resilience::classify::builtin_patterns();
/// assert!(patterns.len() > 10);
/// assert!(patterns.iter().any(|p| p.contains("connection")));
/// ```
pub fn builtin_patterns() -> Vec<&'static str> {
    patterns::catalog_regexes()
        .chain(std::iter::once(patterns::STATUS_REGEX))
        .collect()
}
