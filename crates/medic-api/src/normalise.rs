//! Text at the boundary: every JSON body is made safe to keep before it is
//! parsed, stored or acknowledged.
//!
//! PostgreSQL's text refuses NUL, terminals obey control characters, and a
//! megabyte label is nobody's label. So, inside every JSON string: NUL and
//! the other control characters except `\t` and `\n` (escaped as JSON
//! requires, or DEL and C1 written raw) become U+FFFD, and a
//! string longer than [`MAX_STRING_BYTES`] is cut (ending in `…`). A body
//! that is not UTF-8 is refused, naming the first bad byte. The rewrite is
//! done on the JSON text (escapes included), so raw JSON kept for replay
//! (Alertmanager's alerts, CI deliveries) is the normalised one too.

use std::borrow::Cow;

use crate::error::ApiError;

/// The longest string kept, in bytes of JSON text (escapes count as written).
pub(crate) const MAX_STRING_BYTES: usize = 32 * 1024;

/// What replaces a control character, as a JSON escape.
const REPLACEMENT_ESCAPE: &str = "\\ufffd";

/// Where a string was cut.
const CUT: char = '…';

/// `body` as UTF-8 JSON text, normalised; not UTF-8 → `invalid_json` (400).
///
/// Bodies with nothing to change (most of them) are not copied.
pub(crate) fn json_text(body: &[u8]) -> Result<Cow<'_, str>, ApiError> {
    let text = std::str::from_utf8(body).map_err(|error| {
        ApiError::new(
            "invalid_json",
            format!(
                "the body is not UTF-8: invalid byte at offset {}",
                error.valid_up_to()
            ),
        )
    })?;
    let clean = text.len() <= MAX_STRING_BYTES
        && !text.contains('\\')
        && !text.chars().any(is_unwanted_control);
    if clean {
        return Ok(Cow::Borrowed(text));
    }
    Ok(Cow::Owned(rewrite(text)))
}

/// Controls other than tab and newline: C0, DEL and C1.
fn is_unwanted_control(c: char) -> bool {
    c.is_control() && c != '\t' && c != '\n'
}

/// The text with every string's controls replaced and its length bounded.
/// Text that is not valid JSON comes out as invalid as it went in (the
/// parser then says where).
fn rewrite(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('"') {
        out.push_str(&rest[..=start]);
        rest = string_body(&rest[start + 1..], &mut out);
    }
    out.push_str(rest);
    out
}

/// Copies one string's content (after its opening quote) and its closing
/// quote; returns what follows it.
fn string_body<'a>(mut rest: &'a str, out: &mut String) -> &'a str {
    let mut kept = 0;
    let mut cut = false;
    loop {
        let Some(c) = rest.chars().next() else {
            return rest;
        };
        if c == '"' {
            if cut {
                out.push(CUT);
            }
            out.push('"');
            return &rest[1..];
        }
        // One unit: a character, an escape, or an escaped surrogate pair
        // (never split, or the cut would leave half a character).
        let (unit, replaced) = if c == '\\' {
            escape(rest)
        } else if is_unwanted_control(c) {
            // A raw C0 control is not JSON: left for the parser to refuse.
            (
                &rest[..c.len_utf8()],
                !c.is_ascii_control() || c == '\u{7f}',
            )
        } else {
            (&rest[..c.len_utf8()], false)
        };
        rest = &rest[unit.len()..];
        if cut || kept + unit.len() > MAX_STRING_BYTES {
            cut = true;
            continue;
        }
        if replaced {
            out.push_str(REPLACEMENT_ESCAPE);
            kept += REPLACEMENT_ESCAPE.len();
        } else {
            out.push_str(unit);
            kept += unit.len();
        }
    }
}

/// The escape at the start of `text` (which starts with `\`), and whether it
/// stands for a control character to replace.
fn escape(text: &str) -> (&str, bool) {
    let bytes = text.as_bytes();
    match bytes.get(1) {
        Some(b'b' | b'f' | b'r') => (&text[..2], true),
        Some(b'u') => match hex4(text, 2) {
            Some(0xD800..=0xDBFF)
                if text.get(6..8) == Some("\\u")
                    && hex4(text, 8).is_some_and(|low| (0xDC00..=0xDFFF).contains(&low)) =>
            {
                (&text[..12], false)
            }
            Some(code) => (
                &text[..6],
                code < 0x20 && code != 0x09 && code != 0x0A || (0x7F..=0x9F).contains(&code),
            ),
            // Malformed: left for the parser to name.
            None => (&text[..text.len().min(2)], false),
        },
        Some(_) => {
            let len = 1 + text[1..].chars().next().map_or(0, char::len_utf8);
            (&text[..len], false)
        }
        None => (text, false),
    }
}

/// The 4 hex digits at `at`, as a number.
fn hex4(text: &str, at: usize) -> Option<u32> {
    let digits = text.get(at..at + 4)?;
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(digits, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn value(text: &str) -> serde_json::Value {
        let normal = json_text(text.as_bytes()).expect("UTF-8");
        serde_json::from_str(&normal).expect("still JSON")
    }

    #[test]
    fn controls_become_replacement_characters() {
        let v = value(r#"{"a\u0000b": "x\u0000y\u001b[31m\r\n\tz\u007f\u0085", "n": [1, "\b\f"]}"#);
        assert_eq!(
            v["a\u{FFFD}b"],
            "x\u{FFFD}y\u{FFFD}[31m\u{FFFD}\n\tz\u{FFFD}\u{FFFD}"
        );
        assert_eq!(v["n"][1], "\u{FFFD}\u{FFFD}");
        // Raw C1 and DEL characters too; escaped quotes and backslashes stay.
        let v = value("{\"a\": \"\u{85}\u{7f}\\\"\\\\u0000\"}");
        assert_eq!(v["a"], "\u{FFFD}\u{FFFD}\"\\u0000");
    }

    #[test]
    fn plain_bodies_are_not_copied() {
        let body = br#"{"labels": {"alertname": "Down"}, "n": 1.5}"#;
        assert!(matches!(json_text(body), Ok(Cow::Borrowed(_))));
    }

    #[test]
    fn long_strings_are_cut_whole_characters_first() {
        let long = "é".repeat(MAX_STRING_BYTES);
        let v = value(&format!(
            r#"{{"a": "{long}", "pair": "\ud83d\ude00", "b": 2}}"#
        ));
        let a = v["a"].as_str().expect("string");
        assert!(a.len() <= MAX_STRING_BYTES + CUT.len_utf8() && a.ends_with(CUT));
        assert_eq!(v["pair"], "😀");
        assert_eq!(v["b"], 2);
        let escapes = "\\ud83d\\ude00".repeat(MAX_STRING_BYTES / 12 + 5);
        let v = value(&format!(r#"["{escapes}"]"#));
        assert!(v[0].as_str().is_some_and(|s| s.ends_with(CUT)));
    }

    #[test]
    fn invalid_utf8_names_the_offset() {
        let error = json_text(b"{\"a\": \"ok\xff\"}").expect_err("not UTF-8");
        assert!(format!("{error:?}").contains("offset 9"), "{error:?}");
    }

    proptest! {
        #[test]
        fn normalised_json_is_json_without_controls(s in "\\PC{0,40}|[\\x00-\\x1f\\x7f-\\u{9f}]{0,10}") {
            let text = serde_json::to_string(&serde_json::json!({"k": s})).expect("serialises");
            let v = value(&text);
            let kept = v["k"].as_str().expect("string");
            prop_assert!(!kept.chars().any(is_unwanted_control));
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = json_text(&bytes);
        }
    }
}
