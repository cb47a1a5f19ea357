//! HTTP methods and header fields as RFC 9110 writes them: a method and a
//! header name are tokens; a header value has no CR, LF, NUL or other
//! control character but tab. A config or a run-time registration that
//! breaks this could split a request (`X-A: 1\r\nX-B: 2`) or be refused
//! by the HTTP client only when the remedy finally runs.

/// `tchar` of RFC 9110 §5.6.2.
fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// Why `method` is not a method, if it is not.
pub(super) fn method_problem(method: &str) -> Option<String> {
    if method.is_empty() {
        return Some("must not be empty".into());
    }
    if method.len() > 32 || !method.bytes().all(is_tchar) {
        return Some(format!(
            "{method:?} is not an HTTP method (letters, digits and !#$%&'*+-.^_`|~ only)"
        ));
    }
    None
}

/// Why `name` is not a header name, if it is not.
pub(super) fn header_name_problem(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > 256 || !name.bytes().all(is_tchar) {
        return Some(format!(
            "{name:?} is not a header name (letters, digits and !#$%&'*+-.^_`|~ only)"
        ));
    }
    None
}

/// Why `value` cannot be a header value, if it cannot.
pub(super) fn header_value_problem(value: &str) -> Option<String> {
    if value
        .bytes()
        .any(|b| (b.is_ascii_control() && b != b'\t') || b == 0x7f)
    {
        return Some("must not contain CR, LF or other control characters".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_are_tokens() {
        for good in ["GET", "POST", "PURGE", "M-SEARCH", "patch"] {
            assert_eq!(method_problem(good), None, "{good}");
        }
        for bad in ["", "GET /x", "GET\r\n", "PO ST", "GE(T)", "ÜBER", "G\0"] {
            assert!(method_problem(bad).is_some(), "{bad:?}");
        }
    }

    #[test]
    fn header_names_are_tokens_and_values_have_no_line_breaks() {
        assert_eq!(header_name_problem("X-Request-Id"), None);
        for bad in ["", "X A", "X:A", "X-A\r\nX-B", "Ä"] {
            assert!(header_name_problem(bad).is_some(), "{bad:?}");
        }
        assert_eq!(header_value_problem("Bearer {{x}}\tok"), None);
        for bad in ["a\r\nX-Injected: 1", "a\nb", "a\rb", "a\0b", "a\u{7f}"] {
            assert!(header_value_problem(bad).is_some(), "{bad:?}");
        }
    }
}
