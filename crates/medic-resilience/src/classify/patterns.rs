//! The built-in catalog of error messages, and the hints read from them.
//!
//! All patterns are compiled once into one `RegexSet` (a single automaton, one
//! pass over the text however many patterns there are). They are ASCII-only
//! and case-insensitive: error text from libraries, operating systems and
//! servers is English, and ASCII-only matching keeps the automaton small and
//! lets non-ASCII text pass through without slowing it down.
//!
//! Order matters: the first entry that matches wins, so specific phrases come
//! before the broad words that also occur in them ("disk quota exceeded" is a
//! full disk, not a rate limit; "pool timed out" is the database, not a
//! generic timeout; "invalid token" is authentication, not validation).

use std::sync::LazyLock;
use std::time::Duration;

use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

use super::assessment::Assessment;
use super::category::{Category, Severity};

/// One entry of the catalog.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MessagePattern {
    /// A short stable name, for tests and `Debug` output.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) name: &'static str,
    /// ASCII regex, matched case-insensitively anywhere in the text.
    pub(crate) regex: &'static str,
    pub(crate) assessment: Assessment,
}

const fn retry(category: Category) -> Assessment {
    Assessment::with_retryable(category, true)
}

const fn stop(category: Category) -> Assessment {
    Assessment::with_retryable(category, false)
}

/// The catalog, most specific first.
pub(crate) const CATALOG: &[MessagePattern] = &[
    // This crate's own rejections (`crate::Error`), which must not be retried
    // into: the same verdicts as `Classify for crate::Error`.
    MessagePattern {
        name: "medic_circuit_open",
        regex: r"circuit breaker open; next trial in",
        assessment: stop(Category::Dependency),
    },
    MessagePattern {
        name: "medic_bulkhead_full",
        regex: r"bulkhead full: too many concurrent calls",
        assessment: stop(Category::Resource).severity(Severity::Medium),
    },
    MessagePattern {
        name: "medic_throttled",
        regex: r"rejected by client-side adaptive throttling",
        assessment: stop(Category::RateLimit),
    },
    MessagePattern {
        name: "medic_deadline_exceeded",
        regex: r"deadline of [0-9.]+(?:ns|µs|ms|s) exceeded",
        assessment: stop(Category::Timeout),
    },
    MessagePattern {
        name: "out_of_memory_or_disk",
        regex: r"out of memory|\boom\b|oom[ -]?kill|cannot allocate memory|memory allocation (?:of [0-9]+ bytes )?failed|\benomem\b|no space left on device|\benospc\b|disk (?:is )?full|disk quota exceeded|\bedquot\b",
        assessment: stop(Category::Resource).severity(Severity::Critical),
    },
    MessagePattern {
        name: "rate_limited",
        regex: r"too many requests|rate[ _-]?limit|quota exceeded|exceeded (?:[a-z]+ ){0,3}quota|throttl|slow ?down",
        assessment: retry(Category::RateLimit),
    },
    MessagePattern {
        name: "unauthenticated",
        regex: r"unauthori[sz]ed|unauthenticated|not authenticated|authentication (?:failed|failure|required|error)|invalid (?:api[ _-]?)?(?:token|key|credentials?|password|signature)|(?:token|credentials?|session|signature) (?:has |is )?expired|expired (?:token|credentials?|session)|invalid_grant|invalid_client|bad credentials|login failed|password authentication failed",
        assessment: stop(Category::Authentication),
    },
    MessagePattern {
        name: "forbidden",
        regex: r"forbidden|permission denied|access (?:is )?denied|accessdenied|not authori[sz]ed|not permitted|insufficient (?:permissions?|privileges?|scopes?)|\beacces\b|\beperm\b",
        assessment: stop(Category::Permission),
    },
    MessagePattern {
        name: "certificate",
        regex: r"certificate|\bx\.?509\b|unknown ?ca\b|unknownissuer|self[ -]signed|hostname mismatch",
        assessment: stop(Category::Configuration),
    },
    MessagePattern {
        name: "resource_busy",
        regex: r"too many open files|\bemfile\b|\benfile\b|resource (?:temporarily )?unavailable|resource[ _]exhausted|\beagain\b|device or resource busy|\bebusy\b",
        assessment: retry(Category::Resource).severity(Severity::Medium),
    },
    MessagePattern {
        name: "database_transient",
        regex: r"deadlock|could not serialize|serialization failure|database (?:table )?is locked|\bsqlite_(?:busy|locked)\b|lock wait timeout|lock timeout|pool timed out|timed out waiting for (?:a )?(?:connection|pool)|connection pool (?:exhausted|timed? ?out)|too many (?:clients|connections)|sqlstate[ :=]{0,3}(?:40001|40p01|55p03|53300)",
        assessment: retry(Category::Database).severity(Severity::Medium),
    },
    MessagePattern {
        name: "database_statement",
        regex: r"relation [ -~]{1,80} does not exist|no such (?:table|column)|column [ -~]{1,80} does not exist|duplicate key|(?:unique|foreign key|check|not-null|exclusion) constraint|syntax error at or near|\bora-[0-9]{5}\b",
        assessment: stop(Category::Database),
    },
    MessagePattern {
        name: "timed_out",
        regex: r"timed? ?out|deadline (?:has )?(?:elapsed|exceeded)|deadline_exceeded|\betimedout\b|gateway time-?out",
        assessment: retry(Category::Timeout),
    },
    MessagePattern {
        name: "connection_failed",
        regex: r"connection (?:was )?(?:refused|reset|aborted|closed)|\beconn(?:refused|reset|aborted)\b|broken pipe|\bepipe\b|not connected|(?:network|host) (?:is )?(?:unreachable|down)|no route to host|\be(?:host|net)unreach\b|\bdns\b|name resolution|resolve host|failed to lookup address|could not resolve|name or service not known|nodename nor servname|no such host|getaddrinfo|error sending request|error trying to connect|tcp connect error|unexpected eof|unexpected end of file|incomplete message|socket hang ?up|connection error|network error|reset by peer|peer closed|stream (?:closed|reset)|goaway",
        assessment: retry(Category::Network),
    },
    MessagePattern {
        name: "dependency_unavailable",
        regex: r"\bunavailable\b|bad gateway|upstream|overloaded|over capacity|server (?:is )?busy|circuit (?:breaker )?(?:is )?open|try again later|maintenance",
        assessment: retry(Category::Dependency),
    },
    MessagePattern {
        name: "database",
        regex: r"\bdatabase\b|\bsql\b|sqlstate|\bsqlx\b|postgres|\bmysql\b|mariadb|sqlite|\bdb error\b|mongo",
        assessment: stop(Category::Database),
    },
    MessagePattern {
        name: "configuration",
        regex: r"\bconfig|misconfigur|not configured|environment variable|\benv(?:ironment)? var|missing (?:setting|option)|unknown (?:setting|option)",
        assessment: stop(Category::Configuration),
    },
    MessagePattern {
        name: "not_implemented",
        regex: r"not implemented|unimplemented",
        assessment: stop(Category::Api),
    },
    MessagePattern {
        name: "server_error",
        regex: r"internal server error|internal error|server error|\b5[0-9][0-9] (?:internal|server|error)",
        assessment: retry(Category::Api),
    },
    MessagePattern {
        name: "invalid_request",
        regex: r"invalid|validation|malformed|parse error|failed to parse|(?:can ?not|could not|unable to) parse|parsing failed|unexpected (?:token|character|end of input)|expected [ -~]{1,40} (?:found|got|but)|at line [0-9]+ column [0-9]+|bad request|unprocessable|missing (?:required )?(?:field|parameter|argument)|unknown (?:field|variant|parameter)|out of range|not a valid|must be|not found|does not exist|no such file",
        assessment: stop(Category::Validation),
    },
];

/// The whole catalog as one automaton, indices matching [`CATALOG`].
static CATALOG_SET: LazyLock<RegexSet> = LazyLock::new(|| {
    // The catalog is a constant; `every_catalog_pattern_compiles` and every
    // other test in this module would fail on a typo, so this cannot fail.
    #[allow(clippy::expect_used)]
    RegexSetBuilder::new(CATALOG.iter().map(|pattern| pattern.regex))
        .case_insensitive(true)
        .unicode(false)
        .build()
        .expect("the built-in message catalog compiles")
});

/// `HTTP status client error (404 Not Found)` (reqwest), `status code: 503`,
/// `HTTP/1.1 429`, `error 500`, ... Only 4xx and 5xx: other codes are not
/// failures and tell us nothing.
static STATUS_IN_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    // Constant pattern, covered by `status_codes_are_found_in_text`.
    #[allow(clippy::expect_used)]
    RegexBuilder::new(
        r"\b(?:http status (?:client|server) error \(|(?:status(?:[ _]?code)?|http(?:/[0-9.]+)?|response(?: code)?|error(?: code)?|code)[ :=#]{1,3})([45][0-9]{2})\b",
    )
    .case_insensitive(true)
    .unicode(false)
    .build()
    .expect("the status code pattern compiles")
});

/// `retry after 30s`, `Retry-After: 5`, `try again in 1.5s`, `retry in 200ms`.
static RETRY_HINT_IN_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    // Constant pattern, covered by `retry_hints_are_found_in_text`.
    #[allow(clippy::expect_used)]
    RegexBuilder::new(
        r"(?:retry[ _-]?after|try again in|retry in)[ :=]{0,3}([0-9]{1,9}(?:\.[0-9]{1,3})?) ?(ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?)?\b",
    )
    .case_insensitive(true)
    .unicode(false)
    .build()
    .expect("the retry hint pattern compiles")
});

/// The first catalog entry matching `text`, if any.
pub(crate) fn match_catalog(text: &str) -> Option<&'static MessagePattern> {
    let first = CATALOG_SET.matches(text).iter().next()?;
    CATALOG.get(first)
}

/// A 4xx/5xx status code mentioned in `text`, if any.
pub(crate) fn status_in_text(text: &str) -> Option<u16> {
    let code = STATUS_IN_TEXT.captures(text)?.get(1)?;
    code.as_str().parse().ok()
}

/// A "retry after N units" hint in `text`, if any.
pub(crate) fn retry_hint_in_text(text: &str) -> Option<Duration> {
    let captures = RETRY_HINT_IN_TEXT.captures(text)?;
    let amount: f64 = captures.get(1)?.as_str().parse().ok()?;
    let unit = captures
        .get(2)
        .map_or("s", |m| m.as_str())
        .to_ascii_lowercase();
    let seconds = match unit.as_str() {
        "ms" | "millisecond" | "milliseconds" => amount / 1000.0,
        "m" | "min" | "mins" | "minute" | "minutes" => amount * 60.0,
        _ => amount,
    };
    Duration::try_from_secs_f64(seconds).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalog_pattern_compiles_on_its_own() {
        for pattern in CATALOG {
            RegexBuilder::new(pattern.regex)
                .case_insensitive(true)
                .unicode(false)
                .build()
                .unwrap_or_else(|e| panic!("{}: {e}", pattern.name));
        }
        assert_eq!(CATALOG_SET.len(), CATALOG.len());
    }

    #[test]
    fn catalog_names_are_unique() {
        let mut names: Vec<&str> = CATALOG.iter().map(|p| p.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CATALOG.len());
    }

    #[test]
    fn messages_hit_the_intended_entry() {
        let cases: &[(&str, &str)] = &[
            // resource, fatal
            ("fatal: out of memory", "out_of_memory_or_disk"),
            ("container OOMKilled", "out_of_memory_or_disk"),
            (
                "memory allocation of 1024 bytes failed",
                "out_of_memory_or_disk",
            ),
            (
                "write /data/x: No space left on device",
                "out_of_memory_or_disk",
            ),
            ("disk quota exceeded", "out_of_memory_or_disk"),
            // rate limits
            ("429 Too Many Requests", "rate_limited"),
            ("API rate limit exceeded for user", "rate_limited"),
            ("RateLimitExceeded", "rate_limited"),
            ("Quota exceeded for quota metric 'Queries'", "rate_limited"),
            ("You exceeded your current quota", "rate_limited"),
            ("Request was throttled", "rate_limited"),
            ("SlowDown: Please reduce your request rate", "rate_limited"),
            // authentication
            ("401 Unauthorized", "unauthenticated"),
            ("Request is unauthenticated", "unauthenticated"),
            ("invalid API key provided", "unauthenticated"),
            ("invalid token", "unauthenticated"),
            ("the token has expired", "unauthenticated"),
            ("Expired token", "unauthenticated"),
            (
                "password authentication failed for user \"app\"",
                "unauthenticated",
            ),
            // permission
            ("403 Forbidden", "forbidden"),
            ("Permission denied (os error 13)", "forbidden"),
            ("AccessDenied: Access Denied", "forbidden"),
            (
                "user is not authorized to perform s3:GetObject",
                "forbidden",
            ),
            ("Operation not permitted", "forbidden"),
            ("insufficient privileges", "forbidden"),
            // certificates
            ("invalid peer certificate: UnknownIssuer", "certificate"),
            (
                "x509: certificate signed by unknown authority",
                "certificate",
            ),
            (
                "self-signed certificate in certificate chain",
                "certificate",
            ),
            // resource, transient
            ("Too many open files (os error 24)", "resource_busy"),
            (
                "Resource temporarily unavailable (os error 11)",
                "resource_busy",
            ),
            ("RESOURCE_EXHAUSTED: out of quota", "resource_busy"),
            ("Device or resource busy", "resource_busy"),
            // database, transient
            ("ERROR: deadlock detected", "database_transient"),
            (
                "could not serialize access due to concurrent update",
                "database_transient",
            ),
            ("database is locked", "database_transient"),
            (
                "pool timed out while waiting for an open connection",
                "database_transient",
            ),
            (
                "Lock wait timeout exceeded; try restarting transaction",
                "database_transient",
            ),
            (
                "FATAL: sorry, too many clients already",
                "database_transient",
            ),
            ("db error: SQLSTATE 40001", "database_transient"),
            // database, permanent
            ("relation \"users\" does not exist", "database_statement"),
            ("no such table: jobs", "database_statement"),
            (
                "duplicate key value violates unique constraint \"users_pkey\"",
                "database_statement",
            ),
            ("syntax error at or near \"SELEC\"", "database_statement"),
            (
                "ORA-00942: table or view does not exist",
                "database_statement",
            ),
            // timeouts
            ("operation timed out", "timed_out"),
            ("deadline has elapsed", "timed_out"),
            ("context deadline exceeded", "timed_out"),
            ("DEADLINE_EXCEEDED", "timed_out"),
            ("RequestTimeout", "timed_out"),
            ("504 Gateway Time-out", "timed_out"),
            // network
            ("Connection refused (os error 111)", "connection_failed"),
            ("connection reset by peer", "connection_failed"),
            ("ECONNRESET", "connection_failed"),
            ("Broken pipe (os error 32)", "connection_failed"),
            ("No route to host", "connection_failed"),
            (
                "dns error: failed to lookup address information",
                "connection_failed",
            ),
            ("Temporary failure in name resolution", "connection_failed"),
            ("Name or service not known", "connection_failed"),
            (
                "error sending request for url (http://x/)",
                "connection_failed",
            ),
            (
                "error trying to connect: tcp connect error",
                "connection_failed",
            ),
            (
                "connection closed before message completed",
                "connection_failed",
            ),
            ("unexpected EOF", "connection_failed"),
            ("socket hang up", "connection_failed"),
            // dependencies
            ("503 Service Unavailable", "dependency_unavailable"),
            (
                "status: Unavailable, message: \"x\"",
                "dependency_unavailable",
            ),
            ("502 Bad Gateway", "dependency_unavailable"),
            (
                "upstream connect error or disconnect",
                "dependency_unavailable",
            ),
            ("The server is overloaded", "dependency_unavailable"),
            ("circuit breaker is open", "dependency_unavailable"),
            // database, generic
            ("database error: column mismatch", "database"),
            ("error returned from database: boom", "database"),
            ("sqlx::Error", "database"),
            // configuration
            ("missing config key `port`", "configuration"),
            ("environment variable not found", "configuration"),
            ("DATABASE_URL env var not set", "configuration"),
            ("smtp host not configured", "configuration"),
            // api
            ("501 Not Implemented", "not_implemented"),
            ("UNIMPLEMENTED: method not found", "not_implemented"),
            ("500 Internal Server Error", "server_error"),
            ("INTERNAL: internal error", "server_error"),
            // validation
            ("invalid digit found in string", "invalid_request"),
            ("cannot parse integer from empty string", "invalid_request"),
            ("string contains no or an invalid date", "invalid_request"),
            ("malformed JSON", "invalid_request"),
            ("expected value at line 1 column 1", "invalid_request"),
            ("missing field `name`", "invalid_request"),
            ("user 42 not found", "invalid_request"),
            ("400 Bad Request", "invalid_request"),
            ("422 Unprocessable Entity", "invalid_request"),
        ];
        for (message, expected) in cases {
            let hit = match_catalog(message).map(|p| p.name);
            assert_eq!(hit, Some(*expected), "message: {message:?}");
        }
    }

    #[test]
    fn unrecognised_and_non_ascii_text_matches_nothing() {
        for message in ["", "all good", "something odd happened", "ошибка ✗ 失败"] {
            assert!(match_catalog(message).is_none(), "message: {message:?}");
        }
    }

    #[test]
    fn status_codes_are_found_in_text() {
        let cases: &[(&str, Option<u16>)] = &[
            (
                "HTTP status client error (404 Not Found) for url (http://x/)",
                Some(404),
            ),
            (
                "HTTP status server error (503 Service Unavailable)",
                Some(503),
            ),
            ("status code: 429", Some(429)),
            ("status=500", Some(500)),
            ("got HTTP/1.1 502 from upstream", Some(502)),
            ("HTTP 503 Service Unavailable", Some(503)),
            ("error 401", Some(401)),
            ("status: 200", None),
            ("status: 4000", None),
            ("took 500 ms", None),
            ("port 443 closed", None),
        ];
        for (text, expected) in cases {
            assert_eq!(status_in_text(text), *expected, "text: {text:?}");
        }
    }

    #[test]
    fn retry_hints_are_found_in_text() {
        let cases: &[(&str, Option<Duration>)] = &[
            (
                "Rate limit reached. Please try again in 20s.",
                Some(Duration::from_secs(20)),
            ),
            ("try again in 1.5s", Some(Duration::from_millis(1500))),
            ("Retry-After: 7", Some(Duration::from_secs(7))),
            ("retry after 250ms", Some(Duration::from_millis(250))),
            ("retry in 2 minutes", Some(Duration::from_secs(120))),
            ("try again later", None),
            ("retry after soon", None),
        ];
        for (text, expected) in cases {
            assert_eq!(retry_hint_in_text(text), *expected, "text: {text:?}");
        }
    }
}
