//! Secrets out of text before it is stored, shown, sent or logged.
//!
//! Logs carry credentials more often than anyone intends: a bearer token in a
//! logged request, `password=` in a connection error, a key in a URL's query.
//! Each pattern below replaces the secret part with `[REDACTED]` and keeps the
//! rest of the line, since the rest is what explains the failure. On top of
//! the patterns, the values of the configuration's own secrets (the `*_env`
//! variables, registered once at start with [`register_secrets`]) are hidden
//! wherever they appear.
//!
//! One redactor serves every surface: the language model's prompt, diagnosis
//! evidence and root cause, the timeline, action output, escalations, API
//! answers, the live feed and the agent's own logs.

use std::borrow::Cow;
use std::sync::{LazyLock, RwLock};

use regex::{Regex, RegexSet};
use serde_json::Value;

/// What a secret is replaced with.
pub const REDACTED: &str = "[REDACTED]";

struct Pattern {
    re: Regex,
    /// The replacement, in `Regex::replace_all` syntax.
    with: &'static str,
}

static PATTERNS: LazyLock<Vec<Pattern>> = LazyLock::new(|| {
    let table: &[(&str, &str)] = &[
        // PEM private keys, whole.
        (
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)",
            "[REDACTED]",
        ),
        // Credentials in a URL: scheme://user:password@host.
        (
            // Greedy to the URL's last `@`: a password may hold `/` or `@`.
            r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]*):[^\s]+@",
            "${1}:[REDACTED]@",
        ),
        // Authorization headers and bearer tokens.
        (
            r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}",
            "${1} [REDACTED]",
        ),
        (
            r"(?i)\b(token)\s+[A-Za-z0-9._~+/=-]{16,}",
            "${1} [REDACTED]",
        ),
        // key=value and key: value for names that hold secrets (also in query strings and JSON).
        (
            r#"(?i)\b([a-z0-9_.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credential)[a-z0-9_.-]*)("?\s*[=:]\s*"?)[^\s"'&,;}]+"#,
            "${1}${2}[REDACTED]",
        ),
        // Well-known key formats, wherever they appear.
        (r"\b(AKIA|ASIA)[0-9A-Z]{16}\b", "[REDACTED]"),
        (r"\bgh[pousr]_[A-Za-z0-9]{30,}\b", "[REDACTED]"),
        (r"\bglpat-[A-Za-z0-9_-]{20,}\b", "[REDACTED]"),
        (r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b", "[REDACTED]"),
        (r"\bsk-[A-Za-z0-9_-]{20,}\b", "[REDACTED]"),
        // JSON web tokens.
        (
            r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
            "[REDACTED]",
        ),
    ];
    table
        .iter()
        .filter_map(|(pattern, with)| {
            // The patterns are constants covered by tests; one that failed to
            // compile would be skipped rather than take the agent down.
            Regex::new(pattern).ok().map(|re| Pattern { re, with })
        })
        .collect()
});

/// The patterns as one set: most text holds no secret, and one pass over it
/// says so.
static ANY_PATTERN: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new(PATTERNS.iter().map(|p| p.re.as_str())).unwrap_or_else(|_| RegexSet::empty())
});

/// A configured secret shorter than this is not hidden by value: it would
/// blank out ordinary words (and it is too weak to be worth stealing).
pub const MIN_SECRET_CHARS: usize = 8;

/// The configured secrets' values, longest first (so a secret that contains
/// another is hidden whole). Process-wide: every surface must hide them, and
/// threading a handle through each would miss one sooner or later.
static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Adds secret values to hide wherever they appear (those shorter than
/// [`MIN_SECRET_CHARS`] are ignored).
pub fn register_secrets(values: impl IntoIterator<Item = String>) {
    let mut secrets = SECRETS
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    for value in values {
        if value.chars().count() >= MIN_SECRET_CHARS && !secrets.contains(&value) {
            secrets.push(value);
        }
    }
    secrets.sort_by_key(|value| std::cmp::Reverse(value.len()));
}

/// `line` with every recognised secret replaced by `[REDACTED]`.
///
/// ```
/// use medic_engine::redact::redact;
/// assert_eq!(
///     redact("connect postgres://app:hunter2@db:5432/shop failed"),
///     "connect postgres://app:[REDACTED]@db:5432/shop failed",
/// );
/// assert_eq!(redact("Authorization: Bearer abcdef0123456789"), "Authorization: Bearer [REDACTED]");
/// ```
pub fn redact(line: &str) -> String {
    redacted(line).into_owned()
}

/// [`redact`] without a copy when there is nothing to hide.
pub fn redacted(text: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(text);
    {
        let secrets = SECRETS
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for secret in secrets.iter() {
            if out.contains(secret.as_str()) {
                out = Cow::Owned(out.replace(secret.as_str(), REDACTED));
            }
        }
    }
    let matched = ANY_PATTERN.matches(&out);
    if !matched.matched_any() {
        return out;
    }
    let mut text = out.into_owned();
    for index in matched.iter() {
        let pattern = &PATTERNS[index];
        text = pattern.re.replace_all(&text, pattern.with).into_owned();
    }
    Cow::Owned(text)
}

/// Redacts `text` in place.
pub fn redact_in_place(text: &mut String) {
    if let Cow::Owned(clean) = redacted(text) {
        *text = clean;
    }
}

/// Lines redacted one by one, and a private key logged over several lines
/// made one `[REDACTED]` line: the per-line patterns cannot see its body.
pub fn redact_lines(lines: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut in_key = false;
    let mut kept: Vec<String> = Vec::new();
    for line in lines {
        let begins = line.contains("-----BEGIN") && line.contains("PRIVATE KEY");
        if in_key || begins {
            if !in_key || kept.last().is_none_or(|l| l != REDACTED) {
                kept.push(REDACTED.to_string());
            }
            in_key = !line.contains("-----END");
            continue;
        }
        let mut line = line;
        redact_in_place(&mut line);
        kept.push(line);
    }
    kept
}

/// Every string inside a JSON value redacted (keys are names, not secrets).
pub fn redact_json(value: &mut Value) {
    match value {
        Value::String(text) => redact_in_place(text),
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        Value::Object(map) => map.values_mut().for_each(redact_json),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_hidden(line: &str, secret: &str) -> String {
        let out = redact(line);
        assert!(!out.contains(secret), "{secret:?} survived in {out:?}");
        assert!(out.contains(REDACTED), "{out:?}");
        out
    }

    #[test]
    fn bearer_tokens() {
        let out = assert_hidden(
            "GET /api -> 401 (Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlX2hlcmU)",
            "eyJhbGciOiJIUzI1NiJ9",
        );
        assert!(out.starts_with("GET /api -> 401"), "{out}");
        assert_hidden(
            "token ghp_0123456789abcdefABCDEF0123456789abcd rejected",
            "ghp_0123",
        );
    }

    #[test]
    fn passwords_and_secrets_in_key_value_form() {
        assert_hidden("login failed: user=admin password=hunter2", "hunter2");
        assert_hidden("DB_PASSWORD: s3cr3t!", "s3cr3t");
        assert_hidden(r#"{"client_secret": "abc123xyz"}"#, "abc123xyz");
        let out = assert_hidden("retrying with pwd=letmein;", "letmein");
        assert!(out.contains("user") || out.contains("retrying"), "{out}");
        // The user name is not a secret and stays.
        assert!(redact("user=admin password=x").contains("user=admin"));
    }

    #[test]
    fn aws_like_keys() {
        assert_hidden(
            "InvalidClientTokenId: AKIAIOSFODNN7EXAMPLE is not valid",
            "AKIAIOSFODNN7EXAMPLE",
        );
        assert_hidden(
            "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "wJalrXUtnFEMI",
        );
    }

    #[test]
    fn connection_strings() {
        let out = assert_hidden(
            "FATAL: could not connect to postgres://payments:pa55w0rd@10.0.0.5:5432/pay",
            "pa55w0rd",
        );
        assert!(
            out.contains("postgres://payments:[REDACTED]@10.0.0.5:5432/pay"),
            "{out}"
        );
        assert_hidden("redis://:topsecret@cache:6379 refused", "topsecret");
        assert_hidden("amqp://guest:guest@rabbit:5672/ closed", "guest@");
        assert_hidden("mysql://app:pa/ss@db:3306/shop refused", "pa/ss");
        let out = assert_hidden("https://bot:p@ssw0rd@git.example/repo.git denied", "ssw0rd");
        assert!(out.contains("@git.example/repo.git"), "{out}");
    }

    #[test]
    fn api_keys_in_urls() {
        let out = assert_hidden(
            "GET https://api.example.com/v1/rates?api_key=9f8e7d6c5b4a&currency=EUR -> 403",
            "9f8e7d6c5b4a",
        );
        assert!(out.contains("currency=EUR"), "{out}");
        assert_hidden("POST /hook?access_token=zzzzzz111 -> 500", "zzzzzz111");
        assert_hidden("using key sk-proj0123456789abcdefghij", "sk-proj0123");
        assert_hidden(
            "slack: xoxb-1234567890-abcdefghij invalid_auth",
            "xoxb-1234567890",
        );
    }

    #[test]
    fn private_keys() {
        assert_hidden(
            "loaded -----BEGIN RSA PRIVATE KEY-----MIIEow...-----END RSA PRIVATE KEY----- from env",
            "MIIEow",
        );
    }

    #[test]
    fn configured_secrets_are_hidden_by_value() {
        register_secrets(["plain-value-4711".to_string(), "short".to_string()]);
        let out = assert_hidden("sent plain-value-4711 to the API", "plain-value-4711");
        assert!(out.starts_with("sent "), "{out}");
        assert_eq!(redact("a short word"), "a short word");
    }

    #[test]
    fn keys_over_several_lines_and_json() {
        let lines = [
            "before",
            "-----BEGIN PRIVATE KEY-----",
            "MIIEvQIBADANBg",
            "-----END PRIVATE KEY-----",
            "after password=x1",
        ]
        .map(String::from);
        assert_eq!(
            redact_lines(lines),
            ["before", REDACTED, "after password=[REDACTED]"]
        );
        let mut value =
            serde_json::json!({"a": ["token=abcdef"], "b": {"c": "redis://:pw123456@h"}, "n": 1});
        redact_json(&mut value);
        assert_eq!(
            value,
            serde_json::json!({"a": ["token=[REDACTED]"], "b": {"c": "redis://:[REDACTED]@h"}, "n": 1})
        );
    }

    #[test]
    fn ordinary_lines_are_untouched() {
        for line in [
            "ERROR db: connect to 127.0.0.1:5432 failed: Connection refused (os error 111)",
            "HTTP 503 from http://127.0.0.1:8000/health in 12ms",
            "java.lang.OutOfMemoryError: Java heap space",
            "authentication failed for user bob",
        ] {
            assert_eq!(redact(line), line);
        }
    }
}
