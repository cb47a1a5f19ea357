//! What an action reports: a failed action is data, not an `Err`.

/// Most output an outcome keeps: the *end* of the output, where commands
/// explain why they failed.
pub const MAX_OUTPUT_BYTES: usize = 4 * 1024;

/// Most characters of an outcome's one-line error.
pub const MAX_ERROR_CHARS: usize = 500;

/// How an action went. Stored with the action and shown to people, so it is
/// bounded whatever the action printed.
///
/// ```
/// use medic_act::ActionOutcome;
/// let failed = ActionOutcome::failed("exit status 3\nsecond line");
/// assert!(!failed.success);
/// assert_eq!(failed.error.as_deref(), Some("exit status 3 second line"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct ActionOutcome {
    /// Whether the action did what it should.
    pub success: bool,
    /// What it printed or answered: at most [`MAX_OUTPUT_BYTES`], tail kept.
    pub output: Option<String>,
    /// Why it failed, in one line of at most [`MAX_ERROR_CHARS`].
    pub error: Option<String>,
    /// How long it took.
    pub duration_ms: u64,
}

impl ActionOutcome {
    /// A success with no output.
    pub fn succeeded() -> Self {
        Self {
            success: true,
            ..Self::default()
        }
    }

    /// A failure; `error` is flattened to one line.
    pub fn failed(error: impl AsRef<str>) -> Self {
        Self {
            success: false,
            error: Some(one_line(error.as_ref())),
            ..Self::default()
        }
    }

    /// The same outcome with `output` (its tail, if it is too long).
    pub fn with_output(mut self, output: impl Into<String>) -> Self {
        let output = output.into();
        self.output = (!output.is_empty()).then(|| keep_tail(output, MAX_OUTPUT_BYTES));
        self
    }

    /// The same outcome with its duration.
    pub fn with_duration(mut self, duration: std::time::Duration) -> Self {
        self.duration_ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        self
    }
}

/// The last `max_bytes` of `text`, cut on a character boundary.
pub(crate) fn keep_tail(text: String, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text;
    }
    let mut start = text.len() - max_bytes;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text[start..].to_string()
}

/// The first `max_bytes` of `text`, cut on a character boundary.
pub(crate) fn keep_head(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// `text` on one line: line breaks and other control characters become
/// spaces, runs of spaces shrink to one, and it is cut to [`MAX_ERROR_CHARS`].
pub(crate) fn one_line(text: &str) -> String {
    let mut line = String::with_capacity(text.len().min(MAX_ERROR_CHARS));
    let mut chars = 0;
    for word in text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
    {
        if !line.is_empty() {
            line.push(' ');
            chars += 1;
        }
        for c in word.chars() {
            if chars >= MAX_ERROR_CHARS {
                line.push('…');
                return line;
            }
            line.push(c);
            chars += 1;
        }
    }
    line
}

/// An error and its sources, `outer: inner: innermost`: reqwest's own
/// message ("error sending request") hides the useful part (connection
/// refused) in its sources. A TLS failure is said in words first
/// (`TLS: certificate expired`).
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    if let Some(tls) = medic_client::describe_tls_error(error) {
        return tls;
    }
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        let part = inner.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_keeps_the_tail_on_a_char_boundary() {
        let text = format!("{}é{}", "a".repeat(10), "b".repeat(MAX_OUTPUT_BYTES - 1));
        let outcome = ActionOutcome::succeeded().with_output(text);
        let output = outcome.output.expect("output");
        assert!(output.len() <= MAX_OUTPUT_BYTES);
        assert!(output.ends_with('b'));
        assert!(!output.contains('a'));
    }

    #[test]
    fn empty_output_is_none() {
        assert_eq!(ActionOutcome::succeeded().with_output("").output, None);
    }

    #[test]
    fn errors_are_one_bounded_line() {
        assert_eq!(one_line("  a\n\tb\r\n c  "), "a b c");
        let long = one_line(&"x".repeat(2 * MAX_ERROR_CHARS));
        assert_eq!(long.chars().count(), MAX_ERROR_CHARS + 1);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn head_is_cut_on_a_char_boundary() {
        assert_eq!(keep_head("héllo", 2), "h");
        assert_eq!(keep_head("héllo", 3), "hé");
        assert_eq!(keep_head("hi", 10), "hi");
    }
}
