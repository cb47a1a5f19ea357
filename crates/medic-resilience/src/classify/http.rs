//! What each HTTP status code means for recovery.
//!
//! 4xx are the caller's fault and are not retried, except 408 (the server gave
//! up waiting), 425 (too early) and 429 (slow down). 5xx are the server's and
//! are retried, except those that describe a permanent server setup (501, 505,
//! 507, 508, 511, and Cloudflare's 525/526 TLS errors); Cloudflare's 521-524
//! name the origin's state (down, unreachable, too slow). Codes below 400 are not failures at all: `Unknown`, `Low`,
//! not retryable.

use super::assessment::Assessment;
use super::category::{Category, Severity};

/// The built-in verdict for a status code (without `Retry-After`).
pub(crate) fn assess_status(status: u16) -> Assessment {
    use Category::{
        Api, Authentication, Configuration, Dependency, Permission, RateLimit, Resource, Timeout,
        Unknown, Validation,
    };
    let retry = |category| Assessment::with_retryable(category, true);
    let stop = |category| Assessment::with_retryable(category, false);
    let assessment = match status {
        408 | 504 => retry(Timeout),
        425 => retry(Api).severity(Severity::Low),
        429 => retry(RateLimit),
        401 | 407 => stop(Authentication),
        403 | 451 => stop(Permission),
        423 => retry(Resource).severity(Severity::Medium),
        424 => stop(Dependency),
        400..=499 => stop(Validation),
        502 | 503 => retry(Dependency),
        501 => stop(Api),
        505 | 508 => stop(Configuration),
        507 => stop(Resource).severity(Severity::Critical),
        511 => stop(Authentication),
        // Cloudflare's own codes (its "5xx errors" documentation), which
        // other CDNs copy: the origin is down (521) or unreachable (523), it
        // did not answer in time (522, 524), its TLS setup is wrong (525, 526).
        521 | 523 => retry(Dependency),
        522 | 524 => retry(Timeout),
        525 | 526 => stop(Configuration),
        500..=599 => retry(Api),
        _ => stop(Unknown).severity(Severity::Low),
    };
    Assessment {
        status: Some(status),
        ..assessment
    }
}

/// The reason phrase for the codes this module treats specially, for messages.
pub(crate) fn reason_phrase(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        423 => "Locked",
        424 => "Failed Dependency",
        425 => "Too Early",
        429 => "Too Many Requests",
        451 => "Unavailable For Legal Reasons",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        507 => "Insufficient Storage",
        508 => "Loop Detected",
        511 => "Network Authentication Required",
        521 => "Web Server Is Down",
        522 => "Connection Timed Out",
        523 => "Origin Is Unreachable",
        524 => "A Timeout Occurred",
        525 => "SSL Handshake Failed",
        526 => "Invalid SSL Certificate",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_maps_as_documented() {
        use Category::*;
        let table: &[(u16, Category, bool)] = &[
            (200, Unknown, false),
            (304, Unknown, false),
            (400, Validation, false),
            (401, Authentication, false),
            (403, Permission, false),
            (404, Validation, false),
            (405, Validation, false),
            (407, Authentication, false),
            (408, Timeout, true),
            (409, Validation, false),
            (410, Validation, false),
            (412, Validation, false),
            (413, Validation, false),
            (422, Validation, false),
            (423, Resource, true),
            (424, Dependency, false),
            (425, Api, true),
            (429, RateLimit, true),
            (451, Permission, false),
            (499, Validation, false),
            (500, Api, true),
            (501, Api, false),
            (502, Dependency, true),
            (503, Dependency, true),
            (504, Timeout, true),
            (505, Configuration, false),
            (507, Resource, false),
            (508, Configuration, false),
            (511, Authentication, false),
            (520, Api, true),
            (521, Dependency, true),
            (522, Timeout, true),
            (523, Dependency, true),
            (524, Timeout, true),
            (525, Configuration, false),
            (526, Configuration, false),
            (599, Api, true),
            (0, Unknown, false),
            (600, Unknown, false),
            (u16::MAX, Unknown, false),
        ];
        for &(status, category, retryable) in table {
            let assessment = assess_status(status);
            assert_eq!(assessment.category, category, "status {status}");
            assert_eq!(assessment.retryable, retryable, "status {status}");
            assert_eq!(assessment.status, Some(status));
        }
    }

    #[test]
    fn reason_phrases_cover_the_special_codes() {
        assert_eq!(reason_phrase(429), "Too Many Requests");
        assert_eq!(reason_phrase(503), "Service Unavailable");
        assert_eq!(reason_phrase(299), "");
    }
}
