//! `ErrorClassifier`: turns any error, message or HTTP response into an
//! [`ErrorContext`], and answers the recovery questions about it.

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::assessment::Assessment;
use super::category::Category;
use super::context::ErrorContext;
use super::http::{assess_status, reason_phrase};
use super::io::assess_io_kind;
use super::patterns::{match_catalog, retry_hint_in_text, status_in_text};
use super::recognition::{Basis, Recognition};
use super::retry_after::parse_retry_after;
use super::rule::ClassificationRule;
use crate::ConfigError;

/// How deep `classify` follows `source()`; guards against cyclic chains.
const MAX_CHAIN_DEPTH: usize = 32;

/// How much of an HTTP body goes into the context's message.
const MAX_BODY_BYTES_IN_MESSAGE: usize = 1024;

/// Classifies errors using built-in knowledge plus user rules.
///
/// Knowledge is consulted in this order; the first that recognises the error
/// decides:
///
/// 1. user [`ClassificationRule`]s, in the order they were added, matched
///    against the message text;
/// 2. typed errors found in the `source()` chain: `tokio::time::error::Elapsed`
///    (timeout) and `std::io::Error` by [`ErrorKind`](std::io::ErrorKind) (the
///    innermost informative one: the root cause decides). `ErrorKind::Other`
///    is not informative;
/// 3. an HTTP 4xx/5xx status mentioned in the text (`HTTP status server error
///    (503 ...)` as reqwest writes it, `status code: 429`, `HTTP/1.1 502`);
/// 4. the built-in message catalog (reqwest/hyper, OS, database, cloud API
///    phrases; case-insensitive);
/// 5. otherwise `Unknown`, which is not retried.
///
/// Cloning is cheap (the rules are shared behind an `Arc`), and the type is
/// `Send + Sync`, so one classifier can serve a whole process.
///
/// ```
/// use medic_resilience::classify::{Category, ErrorClassifier};
/// let classifier = ErrorClassifier::default()
///     .try_with_rule(r"card_declined", Category::Validation)?;
///
/// let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
/// let ctx = classifier.classify(&refused);
/// assert_eq!(ctx.category, Category::Network);
/// assert!(classifier.should_retry(&ctx));
/// assert!(classifier.should_circuit_break(&ctx));
///
/// let ctx = classifier.classify_message("stripe: card_declined (request 9f3a1c2b7d)");
/// assert_eq!(ctx.category, Category::Validation);
/// assert!(!classifier.should_retry(&ctx));
/// # Ok::<(), medic_resilience::ConfigError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct ErrorClassifier {
    rules: Arc<Vec<ClassificationRule>>,
}

impl ErrorClassifier {
    /// A classifier with only the built-in knowledge (same as `default()`).
    ///
    /// ```
    /// use medic_resilience::classify::ErrorClassifier;
    /// assert!(ErrorClassifier::new().rules().is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a rule, checked after the rules already added and before any
    /// built-in knowledge.
    ///
    /// ```
    /// use medic_resilience::classify::{Category, ClassificationRule, ErrorClassifier};
    /// let rule = ClassificationRule::new("flaky-vendor", "vendor hiccup", Category::Dependency)?;
    /// let classifier = ErrorClassifier::new().with_rule(rule);
    /// assert_eq!(classifier.classify_message("Vendor hiccup #3").category, Category::Dependency);
    /// # Ok::<(), medic_resilience::ConfigError>(())
    /// ```
    pub fn with_rule(mut self, rule: ClassificationRule) -> Self {
        Arc::make_mut(&mut self.rules).push(rule);
        self
    }

    /// Adds a rule from a (case-insensitive) regex, named after the pattern,
    /// with the category's default severity and retryability.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] whose `field` is `"pattern"` when the regex is
    /// invalid.
    ///
    /// ```
    /// use medic_resilience::classify::{Category, ErrorClassifier};
    /// let classifier = ErrorClassifier::new().try_with_rule("maintenance window", Category::Dependency)?;
    /// assert_eq!(classifier.rules().len(), 1);
    /// let err = ErrorClassifier::new().try_with_rule("(", Category::Api).unwrap_err();
    /// assert_eq!(err.field, "pattern");
    /// # Ok::<(), medic_resilience::ConfigError>(())
    /// ```
    pub fn try_with_rule(self, pattern: &str, category: Category) -> Result<Self, ConfigError> {
        let rule = ClassificationRule::new(pattern, pattern, category)?;
        Ok(self.with_rule(rule))
    }

    /// The user rules, in the order they are checked.
    ///
    /// ```
    /// use medic_resilience::classify::{Category, ErrorClassifier};
    /// let classifier = ErrorClassifier::new().try_with_rule("a", Category::Api)?;
    /// assert_eq!(classifier.rules()[0].name, "a");
    /// # Ok::<(), medic_resilience::ConfigError>(())
    /// ```
    pub fn rules(&self) -> &[ClassificationRule] {
        &self.rules
    }

    /// Classifies an error and its whole `source()` chain.
    ///
    /// The context's message is every distinct message in the chain joined
    /// with `": "` (a message already contained in the text so far is
    /// skipped, since many errors repeat their source in their own message).
    ///
    /// ```
    /// use medic_resilience::classify::{Category, ErrorClassifier};
    /// let err = "12x".parse::<u32>().unwrap_err();
    /// let ctx = ErrorClassifier::new().classify(&err);
    /// assert_eq!(ctx.category, Category::Validation);
    /// assert_eq!(ctx.message, "invalid digit found in string");
    /// ```
    pub fn classify(&self, error: &(dyn StdError + 'static)) -> ErrorContext {
        let chain = read_chain(error);
        let assessment = self.assess_text(&chain.text, chain.typed);
        ErrorContext::from_assessment(assessment, chain.text)
    }

    /// [`classify`](Self::classify), recording where the error happened.
    ///
    /// ```
    /// use medic_resilience::classify::ErrorClassifier;
    /// let err = std::io::Error::from(std::io::ErrorKind::TimedOut);
    /// let ctx = ErrorClassifier::new().classify_in(&err, "search", "query");
    /// assert_eq!(ctx.component.as_deref(), Some("search"));
    /// assert_eq!(ctx.operation.as_deref(), Some("query"));
    /// ```
    pub fn classify_in(
        &self,
        error: &(dyn StdError + 'static),
        component: impl Into<String>,
        operation: impl Into<String>,
    ) -> ErrorContext {
        self.classify(error)
            .with_component(component)
            .with_operation(operation)
    }

    /// Classifies plain text: a log line, CI output, an error string from
    /// another process. Leading and trailing whitespace is ignored.
    ///
    /// ```
    /// use medic_resilience::classify::{Category, ErrorClassifier};
    /// let ctx = ErrorClassifier::new()
    ///     .classify_message("ERROR: deadlock detected (pid 4242)");
    /// assert_eq!(ctx.category, Category::Database);
    /// assert!(ctx.retryable);
    /// ```
    pub fn classify_message(&self, message: &str) -> ErrorContext {
        let message = message.trim();
        let assessment = self.assess_text(message, None);
        ErrorContext::from_assessment(assessment, message.to_owned())
    }

    /// Classifies an HTTP response by status code, honouring `Retry-After`
    /// (seconds or HTTP date, see [`parse_retry_after`]) on retryable
    /// statuses. The context's message is `HTTP <status> <reason>: <body>`
    /// (body trimmed and cut at 1 KiB).
    ///
    /// The status decides, with one refinement: a 400 or 403 whose body says
    /// it is a rate limit (as GitHub and others do) is `rate_limit`. User
    /// rules, matched against the message, still come first.
    ///
    /// | status | category | retryable |
    /// |---|---|---|
    /// | 408, 504 | timeout | yes |
    /// | 425 | api | yes |
    /// | 429 | rate_limit | yes |
    /// | 401, 407, 511 | authentication | no |
    /// | 403, 451 | permission | no |
    /// | 423 | resource | yes |
    /// | 424 | dependency | no |
    /// | other 4xx (400, 404, 409, 422, ...) | validation | no |
    /// | 500, other 5xx | api | yes |
    /// | 501 | api | no |
    /// | 502, 503 | dependency | yes |
    /// | 505, 508 | configuration | no |
    /// | 507 | resource (critical) | no |
    /// | below 400 or above 599 | unknown | no |
    ///
    /// ```
    /// use medic_resilience::classify::{Category, ErrorClassifier};
    /// use std::time::Duration;
    /// let ctx = ErrorClassifier::new().classify_http(429, Some("30"), "");
    /// assert_eq!(ctx.category, Category::RateLimit);
    /// assert_eq!(ctx.retry_after, Some(Duration::from_secs(30)));
    /// assert_eq!(ctx.status, Some(429));
    /// assert_eq!(ctx.message, "HTTP 429 Too Many Requests");
    /// ```
    ///
    /// [`parse_retry_after`]: crate::classify::parse_retry_after
    pub fn classify_http(
        &self,
        status: u16,
        retry_after_header: Option<&str>,
        body: &str,
    ) -> ErrorContext {
        let message = http_message(status, body);
        let mut assessment = match self.matching_rule(&message) {
            Some(rule) => rule.assessment(),
            None => refine_status_with_text(assess_status(status), &message),
        };
        assessment.status = Some(status);
        if assessment.retryable {
            assessment.retry_after = retry_after_header
                .and_then(|value| parse_retry_after(value, SystemTime::now()))
                .or_else(|| retry_hint_in_text(body));
        }
        ErrorContext::from_assessment(assessment, message)
    }

    /// What recognises `text`, in the order [`classify_message`] consults
    /// its knowledge (user rules, a software family's rule, a status code,
    /// the rest of the catalog), or `None` when nothing does. `None` also
    /// for a banner (`no_cause.rs`) and for a call's broad words (`not
    /// found`, `invalid`), which `classify_message` files as validation for
    /// retry decisions but which explain no log line. Allocates nothing:
    /// meant for scanning log lines, where most lines are healthy.
    ///
    /// [`classify_message`]: Self::classify_message
    ///
    /// ```
    /// use medic_resilience::classify::{Basis, Category, ErrorClassifier};
    /// let classifier = ErrorClassifier::new().try_with_rule("ledger sealed", Category::Dependency)?;
    /// let hit = classifier.recognise("ERROR the ledger sealed at midnight").expect("a rule");
    /// assert_eq!((hit.category, hit.basis), (Category::Dependency, Basis::Rule(0)));
    /// let hit = classifier.recognise("HTTP/1.1 429 Too Many Requests").expect("a status");
    /// assert_eq!(hit.basis, Basis::Status(429));
    /// assert!(classifier.recognise("GET /healthz 200").is_none());
    /// # Ok::<(), medic_resilience::ConfigError>(())
    /// ```
    pub fn recognise(&self, text: &str) -> Option<Recognition> {
        let text = text.trim();
        if let Some(index) = self.rules.iter().position(|rule| rule.matches(text)) {
            let assessment = self.rules.get(index)?.assessment();
            return Some(Recognition {
                category: assessment.category,
                severity: assessment.severity,
                basis: Basis::Rule(index),
            });
        }
        let pattern = match_catalog(text);
        let family = pattern.filter(|p| p.narrow);
        if let (None, Some(status)) = (family, status_in_text(text)) {
            let assessment = refine_status_with_text(assess_status(status), text);
            return (assessment.category != Category::Unknown).then_some(Recognition {
                category: assessment.category,
                severity: assessment.severity,
                basis: Basis::Status(status),
            });
        }
        let pattern = pattern?;
        // A banner or heading that names no cause (`no_cause.rs`) only
        // keeps broad words from misreading the line: nothing recognises
        // it. A program's own bug is specific evidence, of an unknown cause.
        // A call's broad words (`not found`) explain no log line.
        if (pattern.assessment.category == Category::Unknown && !pattern.specific)
            || !pattern.in_logs
        {
            return None;
        }
        Some(Recognition {
            category: pattern.assessment.category,
            severity: pattern.assessment.severity,
            basis: if pattern.specific {
                Basis::Pattern(pattern.name)
            } else {
                Basis::Word(pattern.name)
            },
        })
    }

    /// Whether to try the same call again: exactly `ctx.retryable`.
    ///
    /// ```
    /// use medic_resilience::classify::{Category, ErrorClassifier, ErrorContext};
    /// let classifier = ErrorClassifier::new();
    /// assert!(classifier.should_retry(&ErrorContext::new(Category::Timeout, "slow")));
    /// assert!(!classifier.should_retry(&ErrorContext::new(Category::Permission, "no")));
    /// ```
    pub fn should_retry(&self, ctx: &ErrorContext) -> bool {
        ctx.retryable
    }

    /// Whether to serve a fallback (cache, default, secondary) instead of
    /// waiting for the primary path: when retrying cannot help (not
    /// retryable), or when the failure is of a kind that usually lasts longer
    /// than a caller wants to wait (network, timeout, dependency, rate_limit,
    /// resource). Only retryable `api`, `database` and `unknown` failures
    /// (e.g. a deadlock, a one-off 500) say "retry, don't fall back".
    ///
    /// ```
    /// use medic_resilience::classify::{Category, ErrorClassifier, ErrorContext};
    /// let classifier = ErrorClassifier::new();
    /// assert!(classifier.should_fallback(&ErrorContext::new(Category::Dependency, "503")));
    /// assert!(!classifier.should_fallback(&ErrorContext::new(Category::Api, "500")));
    /// ```
    pub fn should_fallback(&self, ctx: &ErrorContext) -> bool {
        !ctx.retryable
            || matches!(
                ctx.category,
                Category::Dependency
                    | Category::Network
                    | Category::Timeout
                    | Category::RateLimit
                    | Category::Resource
            )
    }

    /// Whether this failure should count towards opening a circuit breaker:
    /// it says the *dependency* is unhealthy (network, timeout, dependency,
    /// resource, rate_limit, and api errors that are 5xx or have no status).
    /// Caller faults (validation, authentication, permission, configuration)
    /// and database statement errors do not: the dependency answered fine,
    /// and opening the breaker would block healthy calls.
    ///
    /// ```
    /// use medic_resilience::classify::{Category, ErrorClassifier, ErrorContext};
    /// let classifier = ErrorClassifier::new();
    /// assert!(classifier.should_circuit_break(&ErrorContext::new(Category::Timeout, "slow")));
    /// assert!(!classifier.should_circuit_break(&ErrorContext::new(Category::Validation, "bad")));
    /// ```
    pub fn should_circuit_break(&self, ctx: &ErrorContext) -> bool {
        match ctx.category {
            Category::Network
            | Category::Timeout
            | Category::Dependency
            | Category::Resource
            | Category::RateLimit => true,
            Category::Api => ctx.status.is_none_or(|status| (500..600).contains(&status)),
            Category::Authentication
            | Category::Database
            | Category::Validation
            | Category::Configuration
            | Category::Permission
            | Category::Unknown => false,
        }
    }

    /// How long to wait before retry number `attempt` (0 = the first retry),
    /// or `None` when the failure is not retryable.
    ///
    /// A `retry_after` from the other side is returned as is. Otherwise the
    /// delay is `base * 2^attempt`, capped, with a base and cap per category:
    ///
    /// | category | base | cap |
    /// |---|---|---|
    /// | rate_limit | 1 s | 60 s |
    /// | resource | 1 s | 30 s |
    /// | dependency | 500 ms | 30 s |
    /// | timeout | 250 ms | 10 s |
    /// | api | 200 ms | 20 s |
    /// | network, unknown and others | 100 ms | 10 s |
    /// | database (deadlocks, locks) | 50 ms | 2 s |
    ///
    /// There is no jitter here; the retry policy adds it.
    ///
    /// ```
    /// use medic_resilience::classify::{Category, ErrorClassifier, ErrorContext};
    /// use std::time::Duration;
    /// let classifier = ErrorClassifier::new();
    /// let ctx = ErrorContext::new(Category::Network, "reset");
    /// assert_eq!(classifier.retry_delay(&ctx, 0), Some(Duration::from_millis(100)));
    /// assert_eq!(classifier.retry_delay(&ctx, 3), Some(Duration::from_millis(800)));
    /// assert_eq!(classifier.retry_delay(&ctx, 40), Some(Duration::from_secs(10)));
    /// let ctx = ErrorContext::new(Category::Validation, "bad");
    /// assert_eq!(classifier.retry_delay(&ctx, 0), None);
    /// ```
    pub fn retry_delay(&self, ctx: &ErrorContext, attempt: u32) -> Option<Duration> {
        if !ctx.retryable {
            return None;
        }
        if let Some(wait) = ctx.retry_after {
            return Some(wait);
        }
        let (base, cap) = backoff_base_and_cap(ctx.category);
        let factor = 1u32.checked_shl(attempt).unwrap_or(u32::MAX);
        Some(base.saturating_mul(factor).min(cap))
    }

    /// The first user rule matching `text`.
    fn matching_rule(&self, text: &str) -> Option<&ClassificationRule> {
        self.rules.iter().find(|rule| rule.matches(text))
    }

    /// Rules first, then the built-in knowledge.
    fn assess_text(&self, text: &str, typed: Option<Assessment>) -> Assessment {
        let mut assessment = match self.matching_rule(text) {
            Some(rule) => Assessment {
                status: status_in_text(text),
                ..rule.assessment()
            },
            None => builtin_assessment_of_text(text, typed),
        };
        if assessment.retryable && assessment.retry_after.is_none() {
            assessment.retry_after = retry_hint_in_text(text);
        }
        assessment
    }
}

/// Per-category exponential backoff parameters; see `retry_delay`.
fn backoff_base_and_cap(category: Category) -> (Duration, Duration) {
    match category {
        Category::RateLimit => (Duration::from_secs(1), Duration::from_secs(60)),
        Category::Resource => (Duration::from_secs(1), Duration::from_secs(30)),
        Category::Dependency => (Duration::from_millis(500), Duration::from_secs(30)),
        Category::Timeout => (Duration::from_millis(250), Duration::from_secs(10)),
        Category::Api => (Duration::from_millis(200), Duration::from_secs(20)),
        Category::Database => (Duration::from_millis(50), Duration::from_secs(2)),
        Category::Network
        | Category::Authentication
        | Category::Validation
        | Category::Configuration
        | Category::Permission
        | Category::Unknown => (Duration::from_millis(100), Duration::from_secs(10)),
    }
}

/// The built-in knowledge only (no user rules) applied to an error chain;
/// what `Classify for std::io::Error` uses for `ErrorKind::Other`.
pub(crate) fn builtin_assessment(error: &(dyn StdError + 'static)) -> Assessment {
    let chain = read_chain(error);
    let mut assessment = builtin_assessment_of_text(&chain.text, chain.typed);
    if assessment.retryable && assessment.retry_after.is_none() {
        assessment.retry_after = retry_hint_in_text(&chain.text);
    }
    assessment
}

/// Typed knowledge, then a software family's rule, then a status in the
/// text, then the rest of the catalog.
fn builtin_assessment_of_text(text: &str, typed: Option<Assessment>) -> Assessment {
    let status = status_in_text(text);
    if let Some(typed) = typed {
        return Assessment { status, ..typed };
    }
    let pattern = match_catalog(text);
    if let Some(family) = pattern.filter(|p| p.narrow) {
        return Assessment {
            status,
            ..family.assessment
        };
    }
    if let Some(status) = status {
        return refine_status_with_text(assess_status(status), text);
    }
    match pattern {
        Some(pattern) => pattern.assessment,
        None => Assessment::of(Category::Unknown),
    }
}

/// Some APIs (GitHub, several cloud providers) signal rate limits with 400 or
/// 403 plus an explanatory body; trust the body there.
fn refine_status_with_text(status_assessment: Assessment, text: &str) -> Assessment {
    let may_be_rate_limit = matches!(status_assessment.status, Some(400 | 403));
    let says_rate_limit = || {
        match_catalog(text)
            .is_some_and(|pattern| pattern.assessment.category == Category::RateLimit)
    };
    if may_be_rate_limit && says_rate_limit() {
        Assessment {
            status: status_assessment.status,
            ..Assessment::of(Category::RateLimit)
        }
    } else {
        status_assessment
    }
}

/// What `classify` learns from walking an error chain.
struct ChainFacts {
    /// Distinct messages, outermost first, joined with `": "`.
    text: String,
    /// The innermost typed verdict (timeout or io kind), if any.
    typed: Option<Assessment>,
}

fn read_chain(error: &(dyn StdError + 'static)) -> ChainFacts {
    let mut text = String::new();
    let mut typed = None;
    let mut current = Some(error);
    let mut depth = 0;
    while let Some(node) = current {
        if depth == MAX_CHAIN_DEPTH {
            break;
        }
        depth += 1;
        let message = node.to_string();
        let message = message.trim();
        if !message.is_empty() && !text.contains(message) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(message);
        }
        if let Some(assessment) = typed_assessment(node) {
            typed = Some(assessment);
        }
        current = node.source();
    }
    ChainFacts { text, typed }
}

/// Knowledge from the concrete type of one error in the chain.
fn typed_assessment(error: &(dyn StdError + 'static)) -> Option<Assessment> {
    if error.is::<tokio::time::error::Elapsed>() {
        return Some(Assessment::of(Category::Timeout));
    }
    let io_error = error.downcast_ref::<std::io::Error>()?;
    if let Some(assessment) = assess_io_kind(io_error.kind()) {
        return Some(assessment);
    }
    // `io::Error::other(inner)` reports `inner.source()` as its source, not
    // `inner` itself, so look at the wrapped error directly.
    let wrapped: &(dyn StdError + 'static) = io_error.get_ref()?;
    typed_assessment(wrapped)
}

/// `HTTP 503 Service Unavailable: <body>`, body trimmed and bounded.
fn http_message(status: u16, body: &str) -> String {
    let mut message = format!("HTTP {status}");
    let reason = reason_phrase(status);
    if !reason.is_empty() {
        message.push(' ');
        message.push_str(reason);
    }
    let body = body.trim();
    if !body.is_empty() {
        let mut end = body.len().min(MAX_BODY_BYTES_IN_MESSAGE);
        while !body.is_char_boundary(end) {
            end -= 1;
        }
        message.push_str(": ");
        message.push_str(&body[..end]);
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::{Classify, Severity, Verdict};
    use proptest::prelude::*;
    use std::fmt;
    use std::io::{self, ErrorKind};

    /// An application error that wraps another as its `source()`.
    #[derive(Debug)]
    struct Wrapped {
        what: &'static str,
        source: Box<dyn StdError + Send + Sync + 'static>,
    }

    impl fmt::Display for Wrapped {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.what)
        }
    }

    impl StdError for Wrapped {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(self.source.as_ref())
        }
    }

    fn wrap(what: &'static str, source: impl StdError + Send + Sync + 'static) -> Wrapped {
        Wrapped {
            what,
            source: Box::new(source),
        }
    }

    /// An error whose chain never ends.
    #[derive(Debug)]
    struct Cyclic;

    impl fmt::Display for Cyclic {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("cyclic")
        }
    }

    impl StdError for Cyclic {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&Cyclic)
        }
    }

    fn refused_connection() -> io::Error {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let address = listener.local_addr().expect("local addr");
        drop(listener);
        std::net::TcpStream::connect(address).expect_err("nothing listens")
    }

    #[test]
    fn classifier_is_send_sync_and_cheap_to_clone() {
        fn assert_send_sync<T: Send + Sync + Clone>() {}
        assert_send_sync::<ErrorClassifier>();
        let classifier = ErrorClassifier::new()
            .try_with_rule("x", Category::Api)
            .expect("valid");
        let copy = classifier.clone();
        assert!(Arc::ptr_eq(&classifier.rules, &copy.rules));
    }

    #[test]
    fn a_real_refused_connection_is_a_retryable_network_error() {
        let error = refused_connection();
        let ctx = ErrorClassifier::new().classify(&error);
        assert_eq!(ctx.category, Category::Network);
        assert!(ctx.retryable);
        assert_eq!(ctx.verdict(), Verdict::Retry);
        assert!(ctx.fingerprint.starts_with("network:"));
    }

    #[test]
    fn the_chain_is_walked_to_the_io_root_cause() {
        let error = wrap("failed to load user profile", refused_connection());
        let ctx = ErrorClassifier::new().classify(&error);
        assert_eq!(ctx.category, Category::Network);
        assert!(ctx.message.starts_with("failed to load user profile: "));
        assert!(ctx.message.to_lowercase().contains("refused"));

        let deeper = wrap(
            "request failed",
            wrap("profile", io::Error::from(ErrorKind::TimedOut)),
        );
        assert_eq!(
            ErrorClassifier::new().classify(&deeper).category,
            Category::Timeout
        );
    }

    #[test]
    fn the_innermost_informative_io_kind_wins() {
        // io::Error::new reports its payload's source() as its own source, so
        // the reset below is part of the chain and, being the root cause, wins.
        let decode = io::Error::new(
            ErrorKind::InvalidData,
            wrap("decode", io::Error::from(ErrorKind::ConnectionReset)),
        );
        let chain = wrap("top", decode);
        assert_eq!(
            ErrorClassifier::new().classify(&chain).category,
            Category::Network
        );

        // Without an informative cause the outer kind decides.
        let plain = wrap("top", io::Error::new(ErrorKind::InvalidData, "bad frame"));
        assert_eq!(
            ErrorClassifier::new().classify(&plain).category,
            Category::Validation
        );

        // io::Error::other hides its payload from source(); it is inspected anyway.
        let other = wrap(
            "top",
            io::Error::other(io::Error::from(ErrorKind::TimedOut)),
        );
        assert_eq!(
            ErrorClassifier::new().classify(&other).category,
            Category::Timeout
        );
    }

    #[test]
    fn this_crates_own_errors_classify_like_their_verdicts() {
        use crate::Error as Medic;
        let errors: Vec<Medic<io::Error>> = vec![
            Medic::Timeout(Duration::from_millis(50)),
            Medic::CircuitOpen {
                retry_in: Duration::from_secs(1),
            },
            Medic::BulkheadFull,
            Medic::Throttled,
            Medic::DeadlineExceeded(Duration::from_micros(1500)),
            Medic::DeadlineExceeded(Duration::from_secs(2)),
            Medic::Inner(io::Error::from(ErrorKind::ConnectionReset)),
            Medic::Inner(io::Error::from(ErrorKind::NotFound)),
        ];
        let classifier = ErrorClassifier::new();
        for error in &errors {
            let ctx = classifier.classify(error);
            assert_eq!(ctx.retryable, error.verdict().is_retryable(), "{error}");
        }
        let rejected = classifier.classify(&errors[1]);
        assert_eq!(rejected.category, Category::Dependency);
        assert!(classifier.should_fallback(&rejected));
    }

    #[test]
    fn repeated_source_messages_are_not_duplicated() {
        let inner = io::Error::other("connection reset by peer");
        let error = wrap("error sending request: connection reset by peer", inner);
        let ctx = ErrorClassifier::new().classify(&error);
        assert_eq!(
            ctx.message,
            "error sending request: connection reset by peer"
        );
    }

    #[test]
    fn cyclic_chains_terminate() {
        let ctx = ErrorClassifier::new().classify(&Cyclic);
        assert_eq!(ctx.message, "cyclic");
        assert_eq!(ctx.category, Category::Unknown);
    }

    async fn real_elapsed() -> tokio::time::error::Elapsed {
        tokio::time::timeout(Duration::from_millis(10), std::future::pending::<()>())
            .await
            .expect_err("never completes")
    }

    #[tokio::test(start_paused = true)]
    async fn a_real_tokio_elapsed_is_a_timeout() {
        let elapsed = real_elapsed().await;
        assert_eq!(elapsed.to_string(), "deadline has elapsed");
        let ctx = ErrorClassifier::new().classify(&elapsed);
        assert_eq!(ctx.category, Category::Timeout);
        assert!(ctx.retryable);

        let wrapped = wrap("search backend", real_elapsed().await);
        assert_eq!(
            ErrorClassifier::new().classify(&wrapped).category,
            Category::Timeout
        );

        // An Elapsed inside io::Error::other is still a timeout.
        let in_io = io::Error::other(real_elapsed().await);
        assert_eq!(
            ErrorClassifier::new().classify(&in_io).category,
            Category::Timeout
        );
        assert_eq!(in_io.verdict(), Verdict::Retry);
    }

    #[test]
    fn real_parse_errors_are_validation_failures() {
        let int_error = "forty-two".parse::<i64>().expect_err("not a number");
        let empty_error = "".parse::<u8>().expect_err("empty");
        let float_error = "1.2.3".parse::<f64>().expect_err("not a float");
        let date_error = httpdate::parse_http_date("yesterday").expect_err("not a date");
        let errors: [&(dyn StdError + 'static); 4] =
            [&int_error, &empty_error, &float_error, &date_error];
        for error in errors {
            let ctx = ErrorClassifier::new().classify(error);
            assert_eq!(ctx.category, Category::Validation, "{error}");
            assert!(!ctx.retryable, "{error}");
        }
    }

    #[test]
    fn reqwest_and_hyper_errors_are_recognised_by_their_text() {
        let cases: &[(&str, Category, bool)] = &[
            (
                "error sending request for url (http://10.0.0.1:8080/x): error trying to connect: tcp connect error: Connection refused (os error 111)",
                Category::Network,
                true,
            ),
            (
                "error sending request for url (https://api.example.com/): operation timed out",
                Category::Timeout,
                true,
            ),
            (
                "error trying to connect: dns error: failed to lookup address information: Name or service not known",
                Category::Network,
                true,
            ),
            (
                "connection closed before message completed",
                Category::Network,
                true,
            ),
            (
                "error trying to connect: invalid peer certificate: UnknownIssuer",
                Category::Configuration,
                false,
            ),
            (
                "HTTP status server error (503 Service Unavailable) for url (https://x/)",
                Category::Dependency,
                true,
            ),
            (
                "HTTP status client error (404 Not Found) for url (https://x/)",
                Category::Validation,
                false,
            ),
            (
                "HTTP status client error (429 Too Many Requests) for url (https://x/)",
                Category::RateLimit,
                true,
            ),
        ];
        for &(message, category, retryable) in cases {
            let ctx =
                ErrorClassifier::new().classify(&wrap("call failed", io::Error::other(message)));
            assert_eq!(ctx.category, category, "{message}");
            assert_eq!(ctx.retryable, retryable, "{message}");
        }
    }

    #[test]
    fn messages_get_category_severity_and_retryability() {
        let cases: &[(&str, Category, Severity, bool)] = &[
            (
                "connection reset by peer",
                Category::Network,
                Severity::Medium,
                true,
            ),
            (
                "context deadline exceeded",
                Category::Timeout,
                Severity::Medium,
                true,
            ),
            (
                "429 Too Many Requests",
                Category::RateLimit,
                Severity::Low,
                true,
            ),
            (
                "invalid token",
                Category::Authentication,
                Severity::High,
                false,
            ),
            (
                "permission denied",
                Category::Permission,
                Severity::High,
                false,
            ),
            (
                "No space left on device",
                Category::Resource,
                Severity::Critical,
                false,
            ),
            (
                "Too many open files",
                Category::Resource,
                Severity::Medium,
                true,
            ),
            (
                "deadlock detected",
                Category::Database,
                Severity::Medium,
                true,
            ),
            (
                "relation \"x\" does not exist",
                Category::Database,
                Severity::High,
                false,
            ),
            (
                "malformed request",
                Category::Validation,
                Severity::Low,
                false,
            ),
            (
                "missing environment variable API_KEY",
                Category::Configuration,
                Severity::Critical,
                false,
            ),
            (
                "502 Bad Gateway",
                Category::Dependency,
                Severity::High,
                true,
            ),
            (
                "500 Internal Server Error",
                Category::Api,
                Severity::Medium,
                true,
            ),
            (
                "status code: 503",
                Category::Dependency,
                Severity::High,
                true,
            ),
            (
                "something odd happened",
                Category::Unknown,
                Severity::Medium,
                false,
            ),
            ("", Category::Unknown, Severity::Medium, false),
        ];
        let classifier = ErrorClassifier::new();
        for &(message, category, severity, retryable) in cases {
            let ctx = classifier.classify_message(message);
            assert_eq!(
                (ctx.category, ctx.severity, ctx.retryable),
                (category, severity, retryable),
                "{message:?}"
            );
        }
    }

    #[test]
    fn classify_message_reads_retry_hints_and_status_codes() {
        let ctx = ErrorClassifier::new()
            .classify_message("  Rate limit reached. Please try again in 20s.\n");
        assert_eq!(ctx.message, "Rate limit reached. Please try again in 20s.");
        assert_eq!(ctx.retry_after, Some(Duration::from_secs(20)));
        assert_eq!(ctx.verdict(), Verdict::RetryAfter(Duration::from_secs(20)));

        let ctx = ErrorClassifier::new().classify_message("upstream said status=503");
        assert_eq!(ctx.status, Some(503));
        let ctx = ErrorClassifier::new().classify_message("invalid input, retry after 5s");
        assert_eq!(
            ctx.retry_after, None,
            "hints are ignored when not retryable"
        );
    }

    #[test]
    fn classify_http_follows_the_status_table() {
        let cases: &[(u16, Category, bool)] = &[
            (400, Category::Validation, false),
            (401, Category::Authentication, false),
            (403, Category::Permission, false),
            (404, Category::Validation, false),
            (408, Category::Timeout, true),
            (409, Category::Validation, false),
            (422, Category::Validation, false),
            (429, Category::RateLimit, true),
            (500, Category::Api, true),
            (501, Category::Api, false),
            (502, Category::Dependency, true),
            (503, Category::Dependency, true),
            (504, Category::Timeout, true),
            (200, Category::Unknown, false),
        ];
        let classifier = ErrorClassifier::new();
        for &(status, category, retryable) in cases {
            let ctx = classifier.classify_http(status, None, "");
            assert_eq!(
                (ctx.category, ctx.retryable),
                (category, retryable),
                "status {status}"
            );
            assert_eq!(ctx.status, Some(status));
        }
    }

    #[test]
    fn classify_http_honours_retry_after_only_when_retryable() {
        let classifier = ErrorClassifier::new();
        let ctx = classifier.classify_http(503, Some(" 120 "), "maintenance");
        assert_eq!(ctx.retry_after, Some(Duration::from_secs(120)));
        assert_eq!(ctx.message, "HTTP 503 Service Unavailable: maintenance");

        let in_a_minute = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(61));
        let ctx = classifier.classify_http(429, Some(&in_a_minute), "");
        let wait = ctx.retry_after.expect("date parsed");
        assert!(
            wait > Duration::from_secs(55) && wait <= Duration::from_secs(61),
            "{wait:?}"
        );

        let ctx = classifier.classify_http(503, Some("Thu, 01 Jan 1970 00:00:00 GMT"), "");
        assert_eq!(ctx.retry_after, Some(Duration::ZERO));
        let ctx = classifier.classify_http(503, Some("garbage"), "");
        assert_eq!(ctx.retry_after, None);
        let ctx = classifier.classify_http(400, Some("30"), "");
        assert_eq!(ctx.retry_after, None);
        assert_eq!(ctx.verdict(), Verdict::Stop);
    }

    #[test]
    fn classify_http_treats_rate_limit_bodies_on_400_and_403_as_rate_limits() {
        let classifier = ErrorClassifier::new();
        let ctx = classifier.classify_http(403, Some("60"), "API rate limit exceeded for 1.2.3.4");
        assert_eq!(ctx.category, Category::RateLimit);
        assert_eq!(ctx.retry_after, Some(Duration::from_secs(60)));
        assert_eq!(ctx.status, Some(403));
        let ctx = classifier.classify_http(403, None, "you shall not pass");
        assert_eq!(ctx.category, Category::Permission);
        let ctx = classifier.classify_http(500, None, "rate limit");
        assert_eq!(ctx.category, Category::Api);
    }

    #[test]
    fn classify_http_bounds_the_body_in_the_message() {
        let body = "é".repeat(2000);
        let ctx = ErrorClassifier::new().classify_http(500, None, &body);
        assert!(ctx.message.len() <= "HTTP 500 Internal Server Error: ".len() + 1024);
        assert_eq!(
            ErrorClassifier::new().classify_http(599, None, "").message,
            "HTTP 599"
        );
    }

    #[test]
    fn user_rules_come_first_in_insertion_order() {
        let classifier = ErrorClassifier::new()
            .try_with_rule("connection refused", Category::Dependency)
            .expect("valid")
            .try_with_rule("refused", Category::Permission)
            .expect("valid");
        // The first rule beats the second rule and the io kind.
        let ctx = classifier.classify(&refused_connection());
        assert_eq!(ctx.category, Category::Dependency);
        // The second rule beats the built-in catalog.
        let ctx = classifier.classify_message("request refused by policy engine");
        assert_eq!(ctx.category, Category::Permission);
        assert!(!ctx.retryable);
        // Rules also apply to HTTP bodies.
        let ctx = classifier.classify_http(500, None, "connection refused upstream");
        assert_eq!(ctx.category, Category::Dependency);
        assert_eq!(ctx.status, Some(500));
        // Without a matching rule the built-ins still work.
        assert_eq!(
            classifier.classify_message("deadline exceeded").category,
            Category::Timeout
        );
    }

    #[test]
    fn rule_overrides_apply() {
        let rule = ClassificationRule::new("flaky db", "replica lag", Category::Database)
            .expect("valid")
            .with_retryable(true)
            .with_severity(Severity::Low);
        let classifier = ErrorClassifier::new().with_rule(rule);
        let ctx = classifier.classify_message("replica lag too high, retry after 2s");
        assert_eq!(
            (ctx.category, ctx.severity, ctx.retryable),
            (Category::Database, Severity::Low, true)
        );
        assert_eq!(ctx.retry_after, Some(Duration::from_secs(2)));
    }

    #[test]
    fn classify_in_and_setters_record_where() {
        let error = io::Error::from(ErrorKind::BrokenPipe);
        let ctx = ErrorClassifier::new()
            .classify_in(&error, "ingest", "flush")
            .with_request_id("req-1");
        assert_eq!(ctx.component.as_deref(), Some("ingest"));
        assert_eq!(ctx.operation.as_deref(), Some("flush"));
        assert_eq!(ctx.request_id.as_deref(), Some("req-1"));
    }

    #[test]
    fn same_failure_same_fingerprint_across_values() {
        let classifier = ErrorClassifier::new();
        let a =
            classifier.classify_message("timeout after 30ms calling 10.0.0.1:443 (req 7f3a9c21e4)");
        let b =
            classifier.classify_message("Timeout after 5s calling 10.0.0.9:443 (req 0b1c2d3e4f)");
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_ne!(a.id, b.id);
        let c = classifier.classify_message("connection refused calling 10.0.0.1:443");
        assert_ne!(a.fingerprint, c.fingerprint);
    }

    #[test]
    fn decisions_per_category() {
        use Category::*;
        // (category, retry, fallback, circuit break)
        let table: &[(Category, bool, bool, bool)] = &[
            (Network, true, true, true),
            (Api, true, false, true),
            (RateLimit, true, true, true),
            (Authentication, false, true, false),
            (Resource, true, true, true),
            (Database, false, true, false),
            (Validation, false, true, false),
            (Timeout, true, true, true),
            (Configuration, false, true, false),
            (Dependency, true, true, true),
            (Permission, false, true, false),
            (Unknown, false, true, false),
        ];
        assert_eq!(table.len(), Category::ALL.len());
        let classifier = ErrorClassifier::new();
        for &(category, retry, fallback, brk) in table {
            let ctx = ErrorContext::new(category, "x");
            assert_eq!(classifier.should_retry(&ctx), retry, "{category} retry");
            assert_eq!(
                classifier.should_fallback(&ctx),
                fallback,
                "{category} fallback"
            );
            assert_eq!(
                classifier.should_circuit_break(&ctx),
                brk,
                "{category} break"
            );
        }
    }

    #[test]
    fn api_errors_break_the_circuit_only_when_server_side() {
        let classifier = ErrorClassifier::new();
        assert!(classifier.should_circuit_break(&classifier.classify_http(500, None, "")));
        assert!(!classifier.should_circuit_break(&classifier.classify_http(425, None, "")));
        assert!(!classifier.should_circuit_break(&classifier.classify_http(404, None, "")));
        assert!(!classifier.should_fallback(&classifier.classify_message("deadlock detected")));
    }

    #[test]
    fn a_calls_broad_words_stop_its_retries_but_explain_no_log_line() {
        let classifier = ErrorClassifier::new();
        for text in [
            "user 42 not found",
            "TASK ERROR: storage 'local-zfs' does not exist",
            "error: linker `cc` not found",
        ] {
            let ctx = classifier.classify_message(text);
            assert_eq!(
                (ctx.category, ctx.retryable),
                (Category::Validation, false),
                "{text}"
            );
            assert_eq!(classifier.recognise(text), None, "{text}");
        }
        let refused = classifier.recognise("ERROR API Key invalid, dropping transaction");
        assert_eq!(refused.map(|r| r.category), Some(Category::Authentication));
        let range = classifier.recognise("ERROR integer out of range");
        assert_eq!(range.map(|r| r.category), Some(Category::Validation));
    }

    #[test]
    fn retry_delay_table() {
        use Category::*;
        let classifier = ErrorClassifier::new();
        let cases: &[(Category, u32, u64)] = &[
            (RateLimit, 0, 1_000),
            (RateLimit, 3, 8_000),
            (RateLimit, 10, 60_000),
            (Resource, 0, 1_000),
            (Resource, 6, 30_000),
            (Dependency, 1, 1_000),
            (Dependency, 9, 30_000),
            (Timeout, 2, 1_000),
            (Api, 0, 200),
            (Api, 20, 20_000),
            (Network, 0, 100),
            (Network, 7, 10_000),
            (Network, u32::MAX, 10_000),
        ];
        for &(category, attempt, millis) in cases {
            let ctx = ErrorContext::new(category, "x");
            assert_eq!(
                classifier.retry_delay(&ctx, attempt),
                Some(Duration::from_millis(millis)),
                "{category} attempt {attempt}"
            );
        }
        let mut deadlock = ErrorContext::new(Database, "deadlock");
        deadlock.retryable = true;
        assert_eq!(
            classifier.retry_delay(&deadlock, 0),
            Some(Duration::from_millis(50))
        );
        assert_eq!(
            classifier.retry_delay(&deadlock, 9),
            Some(Duration::from_secs(2))
        );
        deadlock.retry_after = Some(Duration::from_secs(3));
        assert_eq!(
            classifier.retry_delay(&deadlock, 9),
            Some(Duration::from_secs(3))
        );
        for &category in Category::ALL {
            let ctx = ErrorContext::new(category, "x");
            assert_eq!(classifier.retry_delay(&ctx, 0).is_some(), ctx.retryable);
        }
    }

    #[test]
    #[ignore = "timing; run with --release --ignored --nocapture"]
    fn classify_message_speed() {
        let classifier = ErrorClassifier::new();
        let line = "2024-05-01T10:00:00Z ERROR worker-3 request 9f1c2e3a failed: connection reset by peer (10.0.0.7:5432)";
        assert!(line.len() >= 100);
        let rounds = 100_000;
        let start = std::time::Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(classifier.classify_message(std::hint::black_box(line)));
        }
        let per_call = start.elapsed() / rounds;
        println!(
            "classify_message: {per_call:?} per {}-byte line",
            line.len()
        );
        let start = std::time::Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(super::super::fingerprint::normalize(std::hint::black_box(
                line,
            )));
        }
        println!("normalize: {:?}", start.elapsed() / rounds);
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn classify_message_never_panics(message in any::<String>()) {
            let ctx = ErrorClassifier::new().classify_message(&message);
            prop_assert_eq!(ctx.message, message.trim());
            prop_assert!(ctx.fingerprint.starts_with(ctx.category.as_str()));
        }

        #[test]
        fn classify_http_never_panics(status in any::<u16>(), header in any::<Option<String>>(), body in any::<String>()) {
            let ctx = ErrorClassifier::new().classify_http(status, header.as_deref(), &body);
            prop_assert_eq!(ctx.status, Some(status));
            prop_assert!(ctx.retryable || ctx.retry_after.is_none());
        }
    }
}
