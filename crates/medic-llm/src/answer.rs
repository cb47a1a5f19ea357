//! The model's answer, checked value by value.
//!
//! Nothing in it is trusted: the category must be one of the known ones, the
//! remedy one of the allowed names, the confidence is clamped into `[0, 1]`
//! (small models ignore numeric ranges in schemas), and free text is cut and
//! kept only for display. Whatever fails a check is dropped with a note
//! saying why; the rest of the answer may still count.

use medic_model::Category;
use serde_json::Value;

use crate::prompt::{NO_REMEDY, clean};

/// Longest free text kept from an answer, in characters.
pub const MAX_TEXT_CHARS: usize = 300;

/// An answer after validation.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Answer {
    /// A known category other than `unknown`, or none.
    pub category: Option<Category>,
    /// One of the allowed remedies, or none.
    pub remedy: Option<String>,
    /// Clamped into `[0, 1]`; 0 when missing or not a number.
    pub confidence: f64,
    /// For display only.
    pub root_cause: String,
    /// For display only.
    pub rationale: String,
    /// What was dropped, and why.
    pub notes: Vec<String>,
}

/// The reply's text is not a JSON object: nothing in it can be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the answer is not a JSON object: {0}")]
pub struct NotJson(pub String);

/// The first JSON object in `text` (models sometimes wrap it in a code
/// fence or a sentence).
pub fn parse_object(text: &str) -> Result<serde_json::Map<String, Value>, NotJson> {
    let trimmed = text.trim();
    if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(trimmed) {
        return Ok(map);
    }
    if let Some(start) = trimmed.find('{') {
        let mut stream = serde_json::Deserializer::from_str(&trimmed[start..]).into_iter::<Value>();
        if let Some(Ok(Value::Object(map))) = stream.next() {
            return Ok(map);
        }
    }
    Err(NotJson(clean(text, 120)))
}

/// Validates an answer object against the closed lists.
pub fn validate(object: &serde_json::Map<String, Value>, allowed_remedies: &[String]) -> Answer {
    let mut notes = Vec::new();
    let text = |key: &str| match object.get(key) {
        Some(Value::String(s)) => clean(s, MAX_TEXT_CHARS),
        Some(other) if !other.is_null() => clean(&other.to_string(), MAX_TEXT_CHARS),
        _ => String::new(),
    };

    let category = match object.get("category") {
        Some(Value::String(name)) => match name.trim().to_ascii_lowercase().parse::<Category>() {
            Ok(Category::Unknown) => {
                notes.push("the model did not know the category".to_string());
                None
            }
            Ok(category) => Some(category),
            Err(_) => {
                notes.push(format!(
                    "category {:?} is not a known category",
                    clean(name, 60)
                ));
                None
            }
        },
        _ => {
            notes.push("no category".to_string());
            None
        }
    };

    let remedy = match object.get("remedy") {
        Some(Value::String(name)) => {
            let name = name.trim();
            if name.is_empty() || name.eq_ignore_ascii_case(NO_REMEDY) {
                None
            } else if let Some(allowed) = allowed_remedies.iter().find(|r| r.as_str() == name) {
                Some(allowed.clone())
            } else {
                notes.push(format!(
                    "remedy {:?} is not one of the allowed remedies",
                    clean(name, 60)
                ));
                None
            }
        }
        Some(Value::Null) | None => None,
        Some(other) => {
            notes.push(format!(
                "remedy {} is not a name",
                clean(&other.to_string(), 60)
            ));
            None
        }
    };

    let confidence = match object.get("confidence").and_then(number) {
        Some(value) => {
            let clamped = if value.is_nan() {
                0.0
            } else {
                value.clamp(0.0, 1.0)
            };
            if clamped != value {
                notes.push(format!("confidence {value} clamped to {clamped}"));
            }
            clamped
        }
        None => {
            notes.push("no numeric confidence".to_string());
            0.0
        }
    };

    Answer {
        category,
        remedy,
        confidence,
        root_cause: text("root_cause"),
        rationale: text("rationale"),
        notes,
    }
}

/// A number, or a string holding one (`"0.8"`).
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn allowed() -> Vec<String> {
        vec!["reconnect-db".into(), "restart".into()]
    }

    fn check(value: Value) -> Answer {
        let Value::Object(map) = value else {
            panic!("an object")
        };
        validate(&map, &allowed())
    }

    #[test]
    fn a_good_answer_passes() {
        let answer = check(json!({"category": "database", "remedy": "reconnect-db",
            "confidence": 0.8, "root_cause": "db down", "rationale": "refused"}));
        assert_eq!(answer.category, Some(Category::Database));
        assert_eq!(answer.remedy.as_deref(), Some("reconnect-db"));
        assert_eq!(answer.confidence, 0.8);
        assert!(answer.notes.is_empty(), "{:?}", answer.notes);
    }

    #[test]
    fn unknown_values_are_dropped_with_a_note() {
        let answer = check(json!({"category": "hacking", "remedy": "rm -rf /",
            "confidence": 7, "root_cause": "x", "rationale": "y"}));
        assert_eq!(answer.category, None);
        assert_eq!(answer.remedy, None);
        assert_eq!(answer.confidence, 1.0);
        assert_eq!(answer.notes.len(), 3, "{:?}", answer.notes);
        assert!(answer.notes[1].contains("rm -rf /"), "{:?}", answer.notes);
    }

    #[test]
    fn numbers_are_clamped() {
        assert_eq!(check(json!({"confidence": -3})).confidence, 0.0);
        assert_eq!(check(json!({"confidence": "0.25"})).confidence, 0.25);
        assert_eq!(check(json!({"confidence": "high"})).confidence, 0.0);
    }

    #[test]
    fn remedy_names_match_exactly() {
        assert_eq!(check(json!({"remedy": "RESTART"})).remedy, None);
        assert_eq!(check(json!({"remedy": "none"})).remedy, None);
        assert_eq!(check(json!({"remedy": ["restart"]})).remedy, None);
    }

    #[test]
    fn objects_are_found_in_fences_and_prose() {
        assert!(parse_object("```json\n{\"category\": \"network\"}\n```").is_ok());
        assert!(parse_object("Sure! {\"category\": \"network\"} hope it helps").is_ok());
        assert!(parse_object("I think it is the network").is_err());
        assert!(parse_object("{\"category\": \"netw").is_err());
        assert!(parse_object("[1, 2]").is_err());
    }
}
