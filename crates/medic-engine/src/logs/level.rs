//! How loud a log line is: the level its writer gave it.
//!
//! Read from the line itself, in the forms common tools print: a level word
//! among the first words (`2026-… ERROR …`, `[WARN]`, `npm ERR!`, `E:`),
//! `level=error` (logfmt), `"level":"error"` (JSON), a lower-case `error:` /
//! `fatal:` opening the line (compilers, git), and the heads of exceptions
//! and panics (`Traceback (most recent call last):`, `java.lang.OutOfMemoryError:`,
//! `thread 'main' panicked at`, `panic:`). A message that merely *mentions*
//! an error word later in the line does not raise its level.

/// A line's level, quietest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// TRACE.
    Trace,
    /// DEBUG.
    Debug,
    /// INFO, NOTICE.
    Info,
    /// WARN, WARNING.
    Warn,
    /// ERROR, ERR, SEVERE, and exception heads.
    Error,
    /// FATAL, CRITICAL, PANIC, EMERG, ALERT.
    Fatal,
}

impl Level {
    /// Whether the writer called this line a failure.
    pub fn is_error(self) -> bool {
        self >= Level::Error
    }

    /// Whether the writer called this line routine (INFO or quieter).
    pub fn is_routine(self) -> bool {
        self <= Level::Info
    }
}

/// How many leading words may hold the level (timestamp, host, process,
/// thread, logger come first in common layouts).
const LEVEL_WORDS: usize = 8;

/// The level of one line, or `None` when the line does not say (a stack
/// frame, an HTTP header, CI output).
///
/// ```
/// use medic_engine::logs::{level_of, Level};
/// assert_eq!(level_of("2026-11-26T08:00:00Z INFO  pool: idle_timeout=30s"), Some(Level::Info));
/// assert_eq!(level_of("ts=2026-11-26 level=error msg=\"disk full\""), Some(Level::Error));
/// assert_eq!(level_of(r#"{"ts":1,"level":"warn","msg":"slow"}"#), Some(Level::Warn));
/// assert_eq!(level_of("Traceback (most recent call last):"), Some(Level::Error));
/// assert_eq!(level_of("java.net.SocketTimeoutException: Read timed out"), Some(Level::Error));
/// assert_eq!(level_of("< HTTP/1.1 503 Service Unavailable"), None);
/// ```
pub fn level_of(line: &str) -> Option<Level> {
    let line = line.trim_start();
    // Words first: the common layouts put the level there, and this is the
    // cheap test; `level=`/`"level":` lines have no level word up front.
    for (position, word) in line.split_whitespace().take(LEVEL_WORDS).enumerate() {
        if let Some(level) = level_word(word, position == 0) {
            return Some(level);
        }
        if is_exception_head(word) {
            return Some(Level::Error);
        }
    }
    if let Some(level) = structured_level(line) {
        return Some(level);
    }
    if line.starts_with("Traceback (most recent call last)")
        || line.starts_with("Exception in thread ")
        || line.contains("' panicked at ")
        || line.starts_with("panicked at ")
    {
        return Some(Level::Error);
    }
    None
}

/// `level=error`, `"level":"error"`, `"severity": "ERROR"` and the like.
fn structured_level(line: &str) -> Option<Level> {
    const KEYS: [&str; 4] = ["level", "lvl", "severity", "log.level"];
    // Only look where such keys live: logfmt pairs and JSON objects.
    if !line.contains('=') && !line.starts_with('{') {
        return None;
    }
    for key in KEYS {
        let mut from = 0;
        while let Some(found) = line
            .get(from..)
            .and_then(|rest| find_ignore_case(rest, key))
        {
            let start = from + found;
            from = start + key.len();
            let before = line[..start].chars().next_back();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') {
                continue;
            }
            let after = line[from..].trim_start_matches('"').trim_start();
            let Some(value) = after.strip_prefix(['=', ':']) else {
                continue;
            };
            let value = value.trim_start().trim_start_matches('"');
            let end = value
                .find(|c: char| !c.is_ascii_alphabetic())
                .unwrap_or(value.len());
            if let Some(level) = level_name(&value[..end]) {
                return Some(level);
            }
        }
    }
    None
}

/// `needle` (lower-case ASCII) in `haystack`, ignoring ASCII case.
fn find_ignore_case(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|window| window.eq_ignore_ascii_case(needle.as_bytes()))
}

/// A level written as a word: upper-case anywhere among the first words
/// (`ERROR`, `[WARN]`, `ERR!`), in brackets in any case (`[error]`, as
/// nginx writes it), or lower/title-case opening the line and followed by
/// `:` or `!` (`error:`, `Error:`, `fatal:`).
fn level_word(word: &str, first: bool) -> Option<Level> {
    let trimmed = word.trim_start_matches(['[', '(', '<', '#']);
    let core = trimmed.trim_end_matches([']', ')', '>', ':', '!', ',', '|']);
    if core.is_empty() {
        return None;
    }
    let punctuated = core.len() < trimmed.len();
    if core.bytes().all(|b| b.is_ascii_uppercase()) {
        // Apt's `E:` / `W:` are single letters; elsewhere one letter is not a level.
        if core.len() == 1 {
            if !(first && punctuated) {
                return None;
            }
            return match core {
                "E" => Some(Level::Error),
                "W" => Some(Level::Warn),
                _ => None,
            };
        }
        return level_name(core);
    }
    // `error:` opening the line, or `[error]` anywhere up front (nginx).
    if (first && punctuated) || (word.starts_with('[') && word.ends_with(']')) {
        return level_name(core);
    }
    // `##[error]Process completed …`: a GitHub Actions annotation.
    if first && let Some(rest) = word.strip_prefix("##[") {
        return level_name(rest.split(']').next().unwrap_or(""));
    }
    None
}

/// The level a level name stands for, in any case.
fn level_name(name: &str) -> Option<Level> {
    let level = match name.to_ascii_lowercase().as_str() {
        "trace" | "trc" => Level::Trace,
        "debug" | "dbg" => Level::Debug,
        "info" | "inf" | "notice" => Level::Info,
        "warn" | "warning" | "wrn" => Level::Warn,
        "error" | "err" | "erro" | "eror" | "severe" => Level::Error,
        "fatal" | "ftl" | "critical" | "crit" | "panic" | "emerg" | "emergency" | "alert" => {
            Level::Fatal
        }
        _ => return None,
    };
    Some(level)
}

/// `java.lang.OutOfMemoryError:`, `PermissionError:`,
/// `requests.exceptions.ReadTimeout:` is not (no `Error`/`Exception`), but
/// `botocore.exceptions.ClientError:` is: a dotted identifier ending in
/// `Error` or `Exception`, followed by `:`.
fn is_exception_head(word: &str) -> bool {
    let Some(name) = word.strip_suffix(':') else {
        return false;
    };
    let last = name.rsplit('.').next().unwrap_or(name);
    let ends = ["Error", "Exception", "Exc", "Fault"]
        .iter()
        .any(|suffix| last.len() > suffix.len() && last.ends_with(suffix));
    ends && last.starts_with(|c: char| c.is_ascii_uppercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'$')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_in_common_layouts() {
        let cases: &[(&str, Option<Level>)] = &[
            (
                "2026-11-15T01:47:17.380Z DEBUG cache hit ratio 0.31",
                Some(Level::Debug),
            ),
            (
                "2026-11-15T01:47:17.380Z INFO  retry policy: attempts=3",
                Some(Level::Info),
            ),
            (
                "Nov 26 08:00:00 web-3 app[42]: [ERROR] payment failed",
                Some(Level::Error),
            ),
            (
                "W1126 08:00:00.000 main.go:12] WARN slow",
                Some(Level::Warn),
            ),
            ("npm ERR! code ECONNRESET", Some(Level::Error)),
            (
                "2026/11/26 08:00:00 [crit] 12#0: *5 open() failed",
                Some(Level::Fatal),
            ),
            (
                "E: Failed to fetch http://archive.ubuntu.com/x.deb",
                Some(Level::Error),
            ),
            ("error: could not compile `shop` (lib)", Some(Level::Error)),
            (
                "fatal: unable to access 'https://x/': Could not resolve host",
                Some(Level::Fatal),
            ),
            (
                "ERROR! Syntax Error while loading YAML.",
                Some(Level::Error),
            ),
            (
                "Error: Process completed with exit code 1.",
                Some(Level::Error),
            ),
            (
                "##[error]Process completed with exit code 1.",
                Some(Level::Error),
            ),
            ("FATAL: password authentication failed", Some(Level::Fatal)),
            ("level=warn msg=\"retrying\"", Some(Level::Warn)),
            (
                r#"{"severity":"CRITICAL","message":"disk full"}"#,
                Some(Level::Fatal),
            ),
            (
                "thread 'main' panicked at src/main.rs:3:5:",
                Some(Level::Error),
            ),
            (
                "panic: runtime error: index out of range",
                Some(Level::Fatal),
            ),
            (
                "PermissionError: [Errno 13] Permission denied: '/srv'",
                Some(Level::Error),
            ),
            (
                "Exception in thread \"main\" java.lang.NullPointerException",
                Some(Level::Error),
            ),
            (
                "\tat java.base/java.net.InetAddress.getAllByName0(InetAddress.java:1534)",
                None,
            ),
            ("< HTTP/1.1 500 Internal Server Error", None),
            ("Job timeout: 1h, set by project", None),
            ("INFO the ERROR budget is fine", Some(Level::Info)),
            ("an error: occurred", None),
            ("ok: [web-01]", None),
            ("", None),
        ];
        for (line, expected) in cases {
            assert_eq!(level_of(line), *expected, "{line:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_text_gets_a_level_or_none_without_panicking(line in ".{0,160}") {
            let _ = level_of(&line);
            let _ = level_of(&format!("level={line}"));
            let _ = level_of(&format!("{{\"level\":\"{line}"));
        }
    }

    #[test]
    fn levels_order_from_quiet_to_loud() {
        assert!(Level::Debug.is_routine() && Level::Info.is_routine());
        assert!(!Level::Warn.is_routine() && !Level::Warn.is_error());
        assert!(Level::Error.is_error() && Level::Fatal.is_error());
    }
}
