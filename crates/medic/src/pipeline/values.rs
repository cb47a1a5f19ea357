//! References into a run's data and `{{placeholders}}` that fill them in.
//!
//! A reference is `steps.NAME.KEY…` (a finished step's output; numeric keys
//! index arrays) or `vars.NAME` (a flow variable). A placeholder is a
//! reference in double braces, the same syntax as remedy templates in
//! `medic.toml`. Values are never spliced into a shell: an argv element
//! stays one element, a URL gets step values percent-encoded, and a JSON
//! body or an expectation that is exactly one placeholder takes the value
//! itself, with its type.

use std::collections::BTreeMap;

use serde_json::Value;

/// What a reference points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reference {
    /// A finished step's output, then keys into it.
    Step { name: String, keys: Vec<String> },
    /// A flow variable.
    Var(String),
}

impl Reference {
    /// Parses `steps.NAME.KEY…` or `vars.NAME`.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let mut parts = text.trim().split('.');
        let root = parts.next().unwrap_or_default();
        let name = parts.next().filter(|name| !name.is_empty());
        let keys: Vec<String> = parts.map(str::to_string).collect();
        if keys.iter().any(String::is_empty) {
            return Err(format!("{text:?} has an empty key"));
        }
        match (root, name) {
            ("steps", Some(name)) => Ok(Reference::Step {
                name: name.to_string(),
                keys,
            }),
            ("vars", Some(name)) if keys.is_empty() => Ok(Reference::Var(name.to_string())),
            _ => Err(format!(
                "{text:?} is not a reference; write steps.STEP.KEY… or vars.NAME"
            )),
        }
    }
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reference::Step { name, keys } => {
                write!(f, "steps.{name}")?;
                keys.iter().try_for_each(|key| write!(f, ".{key}"))
            }
            Reference::Var(name) => write!(f, "vars.{name}"),
        }
    }
}

/// A piece of a template: literal text or a placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part<'a> {
    Text(&'a str),
    Placeholder(Reference),
}

/// Splits a template into text and placeholders.
pub(crate) fn parts(template: &str) -> Result<Vec<Part<'_>>, String> {
    let mut parts = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start + 2..].find("}}") else {
            return Err(format!("unclosed placeholder in {template:?}"));
        };
        if start > 0 {
            parts.push(Part::Text(&rest[..start]));
        }
        parts.push(Part::Placeholder(Reference::parse(
            &rest[start + 2..start + 2 + len],
        )?));
        rest = &rest[start + 2 + len + 2..];
    }
    if !rest.is_empty() {
        parts.push(Part::Text(rest));
    }
    Ok(parts)
}

/// The placeholders of a template.
pub(crate) fn placeholders(template: &str) -> Result<Vec<Reference>, String> {
    Ok(parts(template)?
        .into_iter()
        .filter_map(|part| match part {
            Part::Placeholder(reference) => Some(reference),
            Part::Text(_) => None,
        })
        .collect())
}

/// The data references resolve against: finished steps' outputs (a JSON
/// object keyed by step name) and the run's variables.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scope<'a> {
    pub state: &'a Value,
    pub vars: &'a BTreeMap<String, String>,
}

impl Scope<'_> {
    /// The value a reference points at, if it exists.
    pub(crate) fn lookup(&self, reference: &Reference) -> Option<Value> {
        match reference {
            Reference::Var(name) => self.vars.get(name).cloned().map(Value::String),
            Reference::Step { name, keys } => {
                let mut value = self.state.get(name)?;
                for key in keys {
                    value = match value {
                        Value::Array(items) => items.get(key.parse::<usize>().ok()?)?,
                        Value::Object(map) => map.get(key)?,
                        _ => return None,
                    };
                }
                Some(value.clone())
            }
        }
    }

    fn require(&self, reference: &Reference) -> Result<Value, String> {
        self.lookup(reference)
            .ok_or_else(|| format!("{{{{{reference}}}}} has no value in the run's state"))
    }

    /// Fills a template as text. Step values are percent-encoded when
    /// `url_encode_steps`; variables never are (they hold base URLs, and come
    /// from the flow's author or the operator, not from a remote answer).
    pub(crate) fn render_text(
        &self,
        template: &str,
        url_encode_steps: bool,
    ) -> Result<String, String> {
        let mut out = String::with_capacity(template.len());
        for part in parts(template)? {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Placeholder(reference) => {
                    let text = as_text(&self.require(&reference)?);
                    if text.contains('\0') {
                        return Err(format!("{{{{{reference}}}}} contains a NUL byte"));
                    }
                    match reference {
                        Reference::Step { .. } if url_encode_steps => {
                            percent_encode(&text, &mut out)
                        }
                        _ => out.push_str(&text),
                    }
                }
            }
        }
        Ok(out)
    }

    /// Fills a JSON template: a string that is exactly one placeholder takes
    /// the value itself (a number stays a number, a list a list); other
    /// strings are filled as text; objects and arrays recursively.
    pub(crate) fn render_value(&self, template: &Value) -> Result<Value, String> {
        match template {
            Value::String(text) => match parts(text)?.as_slice() {
                [Part::Placeholder(reference)] => self.require(reference),
                _ => self.render_text(text, false).map(Value::String),
            },
            Value::Array(items) => items
                .iter()
                .map(|item| self.render_value(item))
                .collect::<Result<_, _>>()
                .map(Value::Array),
            Value::Object(map) => map
                .iter()
                .map(|(key, item)| Ok((key.clone(), self.render_value(item)?)))
                .collect::<Result<_, String>>()
                .map(Value::Object),
            other => Ok(other.clone()),
        }
    }
}

/// A value as one piece of text: strings as they are, anything else as JSON.
pub(crate) fn as_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
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
    use serde_json::json;

    fn scope_parts() -> (Value, BTreeMap<String, String>) {
        let state = json!({
            "orders": {"count": 3, "orders": [{"id": 1001, "amount_cents": 2500}], "note": "a b/c"},
        });
        let vars = BTreeMap::from([("shop".to_string(), "http://127.0.0.1:8000".to_string())]);
        (state, vars)
    }

    #[test]
    fn references_parse_and_print_back() {
        let reference = Reference::parse(" steps.orders.orders.0.id ").expect("parses");
        assert_eq!(reference.to_string(), "steps.orders.orders.0.id");
        assert_eq!(
            Reference::parse("vars.shop"),
            Ok(Reference::Var("shop".into()))
        );
        for bad in [
            "orders.count",
            "steps",
            "steps..x",
            "vars.a.b",
            "env.HOME",
            "",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lookups_walk_objects_and_array_indices() {
        let (state, vars) = scope_parts();
        let scope = Scope {
            state: &state,
            vars: &vars,
        };
        let id = Reference::parse("steps.orders.orders.0.id").expect("parses");
        assert_eq!(scope.lookup(&id), Some(json!(1001)));
        for missing in [
            "steps.orders.orders.7.id",
            "steps.orders.count.x",
            "steps.tax",
            "vars.nope",
        ] {
            let reference = Reference::parse(missing).expect("parses");
            assert_eq!(scope.lookup(&reference), None, "{missing}");
        }
    }

    #[test]
    fn whole_placeholders_keep_their_type_and_embedded_ones_become_text() {
        let (state, vars) = scope_parts();
        let scope = Scope {
            state: &state,
            vars: &vars,
        };
        let body =
            json!({"orders": "{{steps.orders.orders}}", "label": "n={{ steps.orders.count }}"});
        assert_eq!(
            scope.render_value(&body),
            Ok(json!({"orders": [{"id": 1001, "amount_cents": 2500}], "label": "n=3"}))
        );
        assert_eq!(
            scope.render_value(&json!("{{steps.orders.count}}")),
            Ok(json!(3))
        );
    }

    #[test]
    fn urls_encode_step_values_but_not_variables() {
        let (state, vars) = scope_parts();
        let scope = Scope {
            state: &state,
            vars: &vars,
        };
        assert_eq!(
            scope.render_text("{{vars.shop}}/find?q={{steps.orders.note}}", true),
            Ok("http://127.0.0.1:8000/find?q=a%20b%2Fc".into())
        );
        assert_eq!(
            scope.render_text("--note={{steps.orders.note}}", false),
            Ok("--note=a b/c".into())
        );
    }

    #[test]
    fn missing_values_and_bad_templates_are_errors() {
        let (state, vars) = scope_parts();
        let scope = Scope {
            state: &state,
            vars: &vars,
        };
        let error = scope
            .render_text("{{steps.tax.total}}", false)
            .expect_err("missing");
        assert!(error.contains("steps.tax.total"), "{error}");
        assert!(parts("x {{steps.a").is_err());
        assert!(parts("{{ nope }}").is_err());
        assert_eq!(
            placeholders("{{vars.a}}/{{steps.b.c}}").expect("parses"),
            [
                Reference::Var("a".into()),
                Reference::Step {
                    name: "b".into(),
                    keys: vec!["c".into()]
                }
            ]
        );
    }
}
