//! Which environment variables hold the configuration's secrets.

use std::collections::BTreeSet;

use serde_json::Value;

use super::Config;

impl Config {
    /// Every variable named by a `*_env` setting (`key_env`, `secret_env`,
    /// `routing_key_env`, …): the secrets children never inherit and the
    /// redactor hides. Found by walking the serialised configuration, so a
    /// new `*_env` setting is covered without being listed here.
    ///
    /// ```
    /// let config = medic_engine::config::parse(
    ///     "[llm]\nprovider = \"ollama\"\nmodel = \"m\"\napi_key_env = \"LLM_KEY\"\n",
    ///     &Default::default(),
    /// ).unwrap();
    /// assert!(config.secret_variables().contains("LLM_KEY"));
    /// ```
    pub fn secret_variables(&self) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        if let Ok(value) = serde_json::to_value(self) {
            collect(&value, &mut names);
        }
        names
    }
}

fn collect(value: &Value, names: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match value {
                    Value::String(name) if key.ends_with("_env") => {
                        names.insert(name.clone());
                    }
                    other => collect(other, names),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect(item, names)),
        _ => {}
    }
}
