//! Everything known about one failure, ready for logs, metrics and decisions.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::assessment::Assessment;
use super::category::{Category, Severity};
use super::fingerprint::fingerprint;
use super::verdict::{Classify, Verdict};

/// One classified failure.
///
/// Built by [`ErrorClassifier`](crate::classify::ErrorClassifier), or by hand
/// with [`ErrorContext::new`]. Serializes to JSON with `retry_after` as
/// integer milliseconds in a field named `retry_after_ms`.
///
/// ```
/// use medic_resilience::classify::{Category, Classify, ErrorContext, Verdict};
/// let ctx = ErrorContext::new(Category::Network, "connection reset by peer")
///     .with_component("billing")
///     .with_operation("charge")
///     .with_request_id("req-7");
/// assert!(ctx.retryable);
/// assert_eq!(ctx.verdict(), Verdict::Retry);
/// assert!(ctx.fingerprint.starts_with("network:"));
/// assert_eq!(ctx.to_string(), "connection reset by peer");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorContext {
    /// Unique per occurrence (random v4).
    pub id: Uuid,
    /// What kind of failure this is.
    pub category: Category,
    /// How urgently it needs attention.
    pub severity: Severity,
    /// Whether the same call may succeed if tried again.
    pub retryable: bool,
    /// How long the other side asked us to wait (`Retry-After` or a hint in the text).
    #[serde(
        rename = "retry_after_ms",
        with = "optional_duration_as_millis",
        default
    )]
    pub retry_after: Option<Duration>,
    /// The HTTP status code, when the failure came with one.
    #[serde(default)]
    pub status: Option<u16>,
    /// `category:hash-of-template`, equal for occurrences of the same failure
    /// across runs and machines; see [`fingerprint`](crate::classify::fingerprint).
    pub fingerprint: String,
    /// The part of the system that failed (service, subsystem, crate).
    #[serde(default)]
    pub component: Option<String>,
    /// What it was doing (`"charge"`, `"GET /users"`).
    #[serde(default)]
    pub operation: Option<String>,
    /// The request or trace id this failure belongs to.
    #[serde(default)]
    pub request_id: Option<String>,
    /// When the failure was classified.
    pub timestamp: DateTime<Utc>,
    /// The error text: the whole `source()` chain joined with `": "`.
    pub message: String,
}

impl ErrorContext {
    /// A context with the category's default severity and retryability, a
    /// fresh id, the current time and the fingerprint of `message`.
    ///
    /// ```
    /// use medic_resilience::classify::{Category, ErrorContext, Severity};
    /// let ctx = ErrorContext::new(Category::Configuration, "missing DATABASE_URL");
    /// assert_eq!(ctx.severity, Severity::Critical);
    /// assert!(!ctx.retryable);
    /// assert_eq!(ctx.component, None);
    /// ```
    pub fn new(category: Category, message: impl Into<String>) -> Self {
        Self::from_assessment(Assessment::of(category), message.into())
    }

    pub(crate) fn from_assessment(assessment: Assessment, message: String) -> Self {
        Self {
            id: Uuid::new_v4(),
            category: assessment.category,
            severity: assessment.severity,
            retryable: assessment.retryable,
            retry_after: assessment.retry_after,
            status: assessment.status,
            fingerprint: category_fingerprint(assessment.category, &message),
            component: None,
            operation: None,
            request_id: None,
            timestamp: Utc::now(),
            message,
        }
    }

    /// Records which part of the system failed.
    ///
    /// ```
    /// use medic_resilience::classify::{Category, ErrorContext};
    /// let ctx = ErrorContext::new(Category::Timeout, "slow").with_component("search");
    /// assert_eq!(ctx.component.as_deref(), Some("search"));
    /// ```
    pub fn with_component(mut self, component: impl Into<String>) -> Self {
        self.component = Some(component.into());
        self
    }

    /// Records what the failing part was doing.
    ///
    /// ```
    /// use medic_resilience::classify::{Category, ErrorContext};
    /// let ctx = ErrorContext::new(Category::Timeout, "slow").with_operation("query");
    /// assert_eq!(ctx.operation.as_deref(), Some("query"));
    /// ```
    pub fn with_operation(mut self, operation: impl Into<String>) -> Self {
        self.operation = Some(operation.into());
        self
    }

    /// Records the request or trace id.
    ///
    /// ```
    /// use medic_resilience::classify::{Category, ErrorContext};
    /// let ctx = ErrorContext::new(Category::Timeout, "slow").with_request_id("abc");
    /// assert_eq!(ctx.request_id.as_deref(), Some("abc"));
    /// ```
    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }
}

/// `category:fingerprint(message)`.
pub(crate) fn category_fingerprint(category: Category, message: &str) -> String {
    format!("{category}:{}", fingerprint(message))
}

/// `Stop` unless retryable; `RetryAfter` when the other side said how long.
///
/// ```
/// use medic_resilience::classify::{Category, Classify, ErrorContext, Verdict};
/// use std::time::Duration;
/// let mut ctx = ErrorContext::new(Category::RateLimit, "slow down");
/// ctx.retry_after = Some(Duration::from_secs(2));
/// assert_eq!(ctx.verdict(), Verdict::RetryAfter(Duration::from_secs(2)));
/// ```
impl Classify for ErrorContext {
    fn verdict(&self) -> Verdict {
        match (self.retryable, self.retry_after) {
            (false, _) => Verdict::Stop,
            (true, Some(wait)) => Verdict::RetryAfter(wait),
            (true, None) => Verdict::Retry,
        }
    }
}

impl fmt::Display for ErrorContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// `Option<Duration>` as `Option<u64>` milliseconds (saturating).
mod optional_duration_as_millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(super) fn serialize<S: Serializer>(
        value: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        value
            .map(|wait| u64::try_from(wait.as_millis()).unwrap_or(u64::MAX))
            .serialize(serializer)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(deserializer)?.map(Duration::from_millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_follows_retryable_and_retry_after() {
        let mut ctx = ErrorContext::new(Category::Dependency, "503");
        assert_eq!(ctx.verdict(), Verdict::Retry);
        ctx.retry_after = Some(Duration::from_millis(1500));
        assert_eq!(
            ctx.verdict(),
            Verdict::RetryAfter(Duration::from_millis(1500))
        );
        ctx.retryable = false;
        assert_eq!(ctx.verdict(), Verdict::Stop);
    }

    #[test]
    fn new_fills_in_defaults_and_a_category_prefixed_fingerprint() {
        let a = ErrorContext::new(Category::Network, "refused by 10.0.0.1");
        let b = ErrorContext::new(Category::Network, "refused by 10.0.0.2");
        let c = ErrorContext::new(Category::Timeout, "refused by 10.0.0.2");
        assert_ne!(a.id, b.id);
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_ne!(b.fingerprint, c.fingerprint);
        assert_eq!(a.fingerprint.len(), "network:".len() + 16);
        assert_eq!((a.status, a.retry_after), (None, None));
    }

    #[test]
    fn json_round_trip_uses_snake_case_and_milliseconds() {
        let mut ctx = ErrorContext::new(Category::RateLimit, "slow down")
            .with_component("api")
            .with_operation("list")
            .with_request_id("r1");
        ctx.retry_after = Some(Duration::from_millis(2500));
        ctx.status = Some(429);
        let json: serde_json::Value = serde_json::to_value(&ctx).expect("serialize");
        assert_eq!(json["category"], "rate_limit");
        assert_eq!(json["severity"], "low");
        assert_eq!(json["retry_after_ms"], 2500);
        assert_eq!(json["status"], 429);
        assert_eq!(json["component"], "api");
        assert!(json.get("retry_after").is_none());
        let back: ErrorContext = serde_json::from_value(json).expect("deserialize");
        assert_eq!(back, ctx);
    }

    #[test]
    fn optional_fields_may_be_missing_or_null_in_json() {
        let ctx = ErrorContext::new(Category::Unknown, "x");
        let mut json = serde_json::to_value(&ctx).expect("serialize");
        assert!(json["retry_after_ms"].is_null());
        let object = json.as_object_mut().expect("object");
        for field in [
            "retry_after_ms",
            "status",
            "component",
            "operation",
            "request_id",
        ] {
            object.remove(field);
        }
        let back: ErrorContext = serde_json::from_value(json).expect("deserialize");
        assert_eq!(back, ctx);
    }

    #[test]
    fn huge_retry_after_saturates_in_json() {
        let mut ctx = ErrorContext::new(Category::RateLimit, "x");
        ctx.retry_after = Some(Duration::MAX);
        let json = serde_json::to_value(&ctx).expect("serialize");
        assert_eq!(json["retry_after_ms"], u64::MAX);
    }
}
