//! The small JSONPath subset of http probes' `json` conditions: `$`, then
//! `.key`, `["key"]` and `[index]` steps. No wildcards or filters: a health
//! check names one value.

use serde_json::Value;

/// One step into a JSON document.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// A parsed path such as `$.checks[0].state`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath {
    text: String,
    steps: Vec<Step>,
}

impl JsonPath {
    /// Parses `text`; the error says what is wrong, in a few words.
    ///
    /// ```
    /// use medic_engine::config::JsonPath;
    /// let path = JsonPath::parse("$.checks[1][\"db.main\"]").unwrap();
    /// let body = serde_json::json!({"checks": [{}, {"db.main": "up"}]});
    /// assert_eq!(path.find(&body), Some(&serde_json::json!("up")));
    /// assert!(JsonPath::parse("status").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<JsonPath, String> {
        let Some(mut rest) = text.strip_prefix('$') else {
            return Err(format!("{text:?} must start with $ (the whole document)"));
        };
        let mut steps = Vec::new();
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('.') {
                let end = after.find(['.', '[']).unwrap_or(after.len());
                let key = &after[..end];
                if key.is_empty() {
                    return Err(format!("{text:?}: a '.' needs a key after it"));
                }
                steps.push(Step::Key(key.to_string()));
                rest = &after[end..];
            } else if let Some(after) = rest.strip_prefix("[\"") {
                let Some(end) = after.find("\"]") else {
                    return Err(format!("{text:?}: [\"key\"] is not closed"));
                };
                steps.push(Step::Key(after[..end].to_string()));
                rest = &after[end + 2..];
            } else if let Some(after) = rest.strip_prefix('[') {
                let Some(end) = after.find(']') else {
                    return Err(format!("{text:?}: [index] is not closed"));
                };
                let index = after[..end].trim().parse::<usize>().map_err(|_| {
                    format!(
                        "{text:?}: [{}] is not an index (wildcards and filters are not supported)",
                        &after[..end]
                    )
                })?;
                steps.push(Step::Index(index));
                rest = &after[end + 1..];
            } else {
                return Err(format!(
                    "{text:?}: expected .key, [\"key\"] or [index] at {rest:?}"
                ));
            }
        }
        Ok(JsonPath {
            text: text.to_string(),
            steps,
        })
    }

    /// The value at this path in `document`, if there is one.
    pub fn find<'a>(&self, document: &'a Value) -> Option<&'a Value> {
        self.steps
            .iter()
            .try_fold(document, |value, step| match step {
                Step::Key(key) => value.as_object()?.get(key),
                Step::Index(index) => value.as_array()?.get(*index),
            })
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Whether a JSON value equals the TOML value of a condition: strings,
/// booleans and numbers compare by value (`1` equals `1.0`); arrays and
/// tables element by element.
pub fn json_equals(expected: &toml::Value, actual: &Value) -> bool {
    match (expected, actual) {
        (toml::Value::String(a), Value::String(b)) => a == b,
        (toml::Value::Boolean(a), Value::Bool(b)) => a == b,
        (toml::Value::Integer(a), Value::Number(b)) => match (b.as_i64(), b.as_f64()) {
            (Some(b), _) => *a == b,
            (None, Some(b)) => (*a as f64) == b,
            _ => false,
        },
        (toml::Value::Float(a), Value::Number(b)) => b.as_f64() == Some(*a),
        (toml::Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| json_equals(a, b))
        }
        (toml::Value::Table(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(key, a)| b.get(key).is_some_and(|b| json_equals(a, b)))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn paths_find_values_or_nothing() {
        let body = json!({"status": "ok", "checks": [{"name": "db", "up": true}], "n": 3});
        let at = |path: &str| JsonPath::parse(path).expect(path).find(&body).cloned();
        assert_eq!(at("$.status"), Some(json!("ok")));
        assert_eq!(at("$.checks[0].up"), Some(json!(true)));
        assert_eq!(at("$[\"n\"]"), Some(json!(3)));
        assert_eq!(at("$"), Some(body.clone()));
        assert_eq!(at("$.checks[3]"), None);
        assert_eq!(at("$.status.deeper"), None);
    }

    #[test]
    fn bad_paths_say_why() {
        for (path, words) in [
            ("status", "must start with $"),
            ("$.", "needs a key"),
            ("$.a[*]", "not an index"),
            ("$[\"a", "not closed"),
            ("$x", "expected .key"),
        ] {
            let error = JsonPath::parse(path).expect_err(path);
            assert!(error.contains(words), "{path}: {error}");
        }
    }

    #[test]
    fn toml_values_compare_with_json_values() {
        assert!(json_equals(&toml::Value::Integer(1), &json!(1)));
        assert!(json_equals(&toml::Value::Integer(1), &json!(1.0)));
        assert!(json_equals(&toml::Value::Float(0.5), &json!(0.5)));
        assert!(json_equals(&"ok".into(), &json!("ok")));
        assert!(!json_equals(&"1".into(), &json!(1)));
        assert!(json_equals(&toml::Value::Boolean(true), &json!(true)));
    }
}
