//! `{{placeholders}}` in remedy arguments, filled without a shell.
//!
//! A placeholder's value always lands inside the single argument (or header,
//! URL, body) that named it: it can never become a second argument, a flag
//! of its own or shell syntax. In URLs it is percent-encoded, in JSON bodies
//! escaped as a JSON string's content. Unknown placeholders are configuration
//! errors, found by `medic check`, not at 3 a.m.

use std::collections::BTreeMap;

/// The placeholders a remedy may use.
pub const PLACEHOLDERS: &[&str] = &[
    "target.name",
    "target.endpoint",
    "incident.id",
    "incident.fingerprint",
    "incident.title",
    "diagnosis.category",
    "diagnosis.severity",
    "diagnosis.root_cause",
    "remedy.name",
];

/// A template that cannot be filled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `{{` without `}}`.
    #[error("unclosed placeholder at byte {0}")]
    Unclosed(usize),
    /// A name that is not in [`PLACEHOLDERS`].
    #[error("unknown placeholder {{{{{0}}}}}; known: {known}", known = PLACEHOLDERS.join(", "))]
    Unknown(String),
    /// A value with a NUL byte cannot be an argument.
    #[error("the value of {{{{{0}}}}} contains a NUL byte")]
    NulByte(String),
}

/// How a value is written into its surroundings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// As is (argv elements, header values).
    Plain,
    /// Percent-encoded (URLs).
    Url,
    /// As the content of a JSON string (request bodies).
    Json,
}

/// The values placeholders take for one incident.
pub type Values = BTreeMap<&'static str, String>;

/// Splits a template into literal text and placeholder names.
fn parts(template: &str) -> Result<Vec<(bool, &str)>, TemplateError> {
    let mut parts = Vec::new();
    let mut rest = template;
    let mut offset = 0;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start + 2..].find("}}") else {
            return Err(TemplateError::Unclosed(offset + start));
        };
        parts.push((false, &rest[..start]));
        parts.push((true, rest[start + 2..start + 2 + len].trim()));
        offset += start + 2 + len + 2;
        rest = &rest[start + 2 + len + 2..];
    }
    parts.push((false, rest));
    Ok(parts)
}

/// Checks that every placeholder in `template` is known.
///
/// ```
/// use medic_engine::safety::validate_template;
/// assert!(validate_template("restart {{target.name}}").is_ok());
/// assert!(validate_template("{{target.nmae}}").is_err());
/// ```
pub fn validate_template(template: &str) -> Result<(), TemplateError> {
    for (is_name, text) in parts(template)? {
        if is_name && !PLACEHOLDERS.contains(&text) {
            return Err(TemplateError::Unknown(text.to_string()));
        }
    }
    Ok(())
}

/// Fills `template`, escaping each value for where it lands.
///
/// ```
/// use medic_engine::safety::{render, Escape, Values};
/// let mut values = Values::new();
/// values.insert("target.name", "pay ments; rm -rf /".into());
/// assert_eq!(render("{{target.name}}", &values, Escape::Plain)?, "pay ments; rm -rf /");
/// assert_eq!(render("http://x/?t={{target.name}}", &values, Escape::Url)?, "http://x/?t=pay%20ments%3B%20rm%20-rf%20%2F");
/// # Ok::<(), medic_engine::safety::TemplateError>(())
/// ```
pub fn render(template: &str, values: &Values, escape: Escape) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len());
    for (is_name, text) in parts(template)? {
        if !is_name {
            out.push_str(text);
            continue;
        }
        let Some((name, value)) = values.get_key_value(text) else {
            return Err(TemplateError::Unknown(text.to_string()));
        };
        if value.contains('\0') {
            return Err(TemplateError::NulByte((*name).to_string()));
        }
        match escape {
            Escape::Plain => out.push_str(value),
            Escape::Url => percent_encode(value, &mut out),
            Escape::Json => {
                let quoted = serde_json::Value::String(value.clone()).to_string();
                out.push_str(&quoted[1..quoted.len() - 1]);
            }
        }
    }
    Ok(out)
}

/// Fills each argv element on its own: the result has exactly as many elements.
///
/// ```
/// use medic_engine::safety::{render_argv, Values};
/// let mut values = Values::new();
/// values.insert("target.name", "a b".into());
/// let argv = vec!["systemctl".to_string(), "restart".into(), "{{target.name}}".into()];
/// assert_eq!(render_argv(&argv, &values)?, ["systemctl", "restart", "a b"]);
/// # Ok::<(), medic_engine::safety::TemplateError>(())
/// ```
pub fn render_argv(argv: &[String], values: &Values) -> Result<Vec<String>, TemplateError> {
    argv.iter()
        .map(|element| render(element, values, Escape::Plain))
        .collect()
}

fn percent_encode(value: &str, out: &mut String) {
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn values() -> Values {
        let mut v = Values::new();
        v.insert("target.name", "payments".into());
        v.insert("incident.id", "42".into());
        v.insert("diagnosis.root_cause", "said \"no\"\n".into());
        v
    }

    #[test]
    fn fills_plain_url_and_json() {
        let v = values();
        assert_eq!(
            render("{{ target.name }}-{{incident.id}}", &v, Escape::Plain),
            Ok("payments-42".into())
        );
        assert_eq!(
            render("{\"cause\":\"{{diagnosis.root_cause}}\"}", &v, Escape::Json),
            Ok("{\"cause\":\"said \\\"no\\\"\\n\"}".into())
        );
    }

    #[test]
    fn refuses_unknown_unclosed_and_nul() {
        let mut v = values();
        assert!(matches!(
            render("{{nope}}", &v, Escape::Plain),
            Err(TemplateError::Unknown(_))
        ));
        assert_eq!(
            render("x {{target.name", &v, Escape::Plain),
            Err(TemplateError::Unclosed(2))
        );
        v.insert("incident.title", "a\0b".into());
        assert!(matches!(
            render("{{incident.title}}", &v, Escape::Plain),
            Err(TemplateError::NulByte(_))
        ));
    }

    proptest! {
        #[test]
        fn values_never_change_the_argument_count(value in "\\PC{0,30}") {
            let mut v = Values::new();
            v.insert("target.name", value.replace('\0', ""));
            let argv = vec!["cmd".to_string(), "--name={{target.name}}".into(), "{{target.name}}".into()];
            prop_assert_eq!(render_argv(&argv, &v).expect("renders").len(), 3);
        }

        #[test]
        fn never_panics(template in "\\PC{0,40}") {
            let _ = render(&template, &values(), Escape::Url);
            let _ = validate_template(&template);
        }
    }
}
