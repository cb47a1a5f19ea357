//! Outside text made safe to keep: control characters out.
//!
//! PostgreSQL's text refuses NUL, a command argument cannot hold one, and
//! terminals obey the others. Every text medic takes in (log lines, probe
//! output, alert fields) passes here before it is kept or acted on.

use std::borrow::Cow;

/// What a control character becomes.
pub const REPLACEMENT: char = '\u{FFFD}';

/// Control characters (C0, DEL, C1) other than tab and newline.
pub fn is_unwanted_control(c: char) -> bool {
    c.is_control() && c != '\t' && c != '\n'
}

/// `text` with every unwanted control character replaced by U+FFFD; no copy
/// when there is none.
///
/// ```
/// use medic_engine::text::without_controls;
/// assert_eq!(without_controls("a\0b\x1b[31mc\td\n"), "a\u{FFFD}b\u{FFFD}[31mc\td\n");
/// assert!(matches!(without_controls("plain"), std::borrow::Cow::Borrowed(_)));
/// ```
pub fn without_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unwanted_control) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if is_unwanted_control(c) {
                    REPLACEMENT
                } else {
                    c
                }
            })
            .collect(),
    )
}

/// [`without_controls`] in place.
pub fn remove_controls(text: &mut String) {
    if let Cow::Owned(clean) = without_controls(text) {
        *text = clean;
    }
}
