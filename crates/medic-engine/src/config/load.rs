//! Text → [`Config`]: TOML syntax, `MEDIC_*` overrides, types, then meaning.

use std::collections::BTreeMap;
use std::fmt;

use super::schema::Config;
use super::validate::validate;

/// One problem in a configuration, located by its key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Where: `targets[0].remedies[1].action.command`, an env var, or a line.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Every problem found, in file order; displayed one per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Sections whose scalar keys `MEDIC_<SECTION>_<KEY>` may override. Other
/// `MEDIC_*` variables are left alone: they are often secrets named by `*_env`.
const OVERRIDABLE: &[&str] = &["server", "storage", "cluster", "policy", "llm", "log"];

/// Parses and validates a configuration.
///
/// `env` supplies overrides: `MEDIC_POLICY_MODE=dry-run` sets `policy.mode`.
/// Values that parse as TOML numbers or booleans are taken as such, anything
/// else as a string.
///
/// ```
/// use std::collections::BTreeMap;
/// use medic_engine::config::{parse, Mode};
/// let env = BTreeMap::from([("MEDIC_POLICY_MODE".to_string(), "dry-run".to_string())]);
/// let config = parse("[policy]\nmode = \"auto\"\n", &env).unwrap();
/// assert_eq!(config.policy.mode, Mode::DryRun);
///
/// let errors = parse("[policy]\nmood = \"auto\"\n", &BTreeMap::new()).unwrap_err();
/// assert!(errors.to_string().starts_with("policy.mood: unknown field `mood`"));
/// ```
pub fn parse(text: &str, env: &BTreeMap<String, String>) -> Result<Config, ConfigErrors> {
    let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        ConfigErrors(vec![ConfigError::new(
            location(text, e.span()),
            e.message().to_string(),
        )])
    })?;
    apply_overrides(&mut table, env).map_err(ConfigErrors)?;
    adapt_probe_timeouts(&mut table);
    let config: Config =
        serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
            let located = located(&e);
            let (path, message) = match located.split_once(": ") {
                Some((path, message)) if is_path(path) => (path, message),
                _ => ("", located.as_str()),
            };
            ConfigErrors(vec![ConfigError::new(path, message)])
        })?;
    let problems = validate(&config);
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(ConfigErrors(problems))
    }
}

/// A probe without `timeout` gets `min(5s, interval)`: a 1 s probe then times
/// out after 1 s instead of failing validation over a default nobody wrote.
/// Done on the raw table so an explicit `timeout` is still checked as written.
fn adapt_probe_timeouts(table: &mut toml::Table) {
    let Some(toml::Value::Array(targets)) = table.get_mut("targets") else {
        return;
    };
    for target in targets.iter_mut() {
        let Some(toml::Value::Array(probes)) = target.get_mut("probes") else {
            continue;
        };
        for probe in probes.iter_mut().filter_map(toml::Value::as_table_mut) {
            if probe.contains_key("timeout") {
                continue;
            }
            let Some(toml::Value::String(interval)) = probe.get("interval") else {
                continue;
            };
            let shorter = interval
                .parse::<super::HumanDuration>()
                .is_ok_and(|d| d.get() < super::schema::DEFAULT_PROBE_TIMEOUT);
            if shorter {
                let interval = interval.clone();
                probe.insert("timeout".into(), toml::Value::String(interval));
            }
        }
    }
}

/// `path: message` for a deserialisation error, joining the path of a tagged
/// enum's variant (which arrives inside the message) to the outer path.
pub(crate) fn located(error: &serde_path_to_error::Error<toml::de::Error>) -> String {
    let outer = error.path().to_string();
    // toml appends "in `a.b`" on a second line; the path already says where.
    let message = error.inner().message().lines().next().unwrap_or_default();
    match (outer.as_str(), message.split_once(": ")) {
        (".", _) => message.to_string(),
        (outer, Some((inner, rest))) if is_path(inner) => format!("{outer}.{inner}: {rest}"),
        (outer, _) => format!("{outer}: {message}"),
    }
}

/// Whether `text` looks like a key path (`interval`, `headers.x`, `command[0]`).
fn is_path(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'[' | b']' | b'-'))
}

/// `line L, column C` for a byte span of `text`.
fn location(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    let Some(span) = span else {
        return String::new();
    };
    let before = &text[..span.start.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    format!("line {line}, column {column}")
}

fn apply_overrides(
    table: &mut toml::Table,
    env: &BTreeMap<String, String>,
) -> Result<(), Vec<ConfigError>> {
    let mut errors = Vec::new();
    for (name, raw) in env {
        let Some(rest) = name.strip_prefix("MEDIC_") else {
            continue;
        };
        let lower = rest.to_ascii_lowercase();
        let Some(section) = OVERRIDABLE
            .iter()
            .find(|s| lower.starts_with(&format!("{s}_")))
        else {
            continue;
        };
        let key = &lower[section.len() + 1..];
        if key.is_empty() {
            errors.push(ConfigError::new(name.clone(), "names a section but no key"));
            continue;
        }
        let value = scalar(raw);
        let entry = table
            .entry(section.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        match entry {
            toml::Value::Table(section_table) => {
                section_table.insert(key.to_string(), value);
            }
            _ => errors.push(ConfigError::new(
                name.clone(),
                format!("[{section}] is not a table"),
            )),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// An environment value as a TOML scalar: numbers and booleans as themselves.
fn scalar(raw: &str) -> toml::Value {
    if let Ok(b) = raw.parse::<bool>() {
        return toml::Value::Boolean(b);
    }
    if let Ok(i) = raw.parse::<i64>() {
        return toml::Value::Integer(i);
    }
    if let Ok(f) = raw.parse::<f64>()
        && raw.contains('.')
    {
        return toml::Value::Float(f);
    }
    toml::Value::String(raw.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Mode;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_probe_timeout_defaults_to_the_interval_when_that_is_under_5s() {
        let text = r#"
[[targets]]
name = "web"
probes = [
  { kind = "tcp", address = "127.0.0.1:80", interval = "1s" },
  { kind = "tcp", address = "127.0.0.1:80", interval = "30s" },
  { kind = "tcp", address = "127.0.0.1:80" },
]
"#;
        let config = parse(text, &BTreeMap::new()).expect("valid");
        let timeouts: Vec<String> = config.targets[0]
            .probes
            .iter()
            .map(|p| p.timeout().to_string())
            .collect();
        assert_eq!(timeouts, ["1s", "5s", "5s"]);

        let explicit = text.replace(
            "interval = \"1s\" }",
            "interval = \"1s\", timeout = \"2s\" }",
        );
        let errors = parse(&explicit, &BTreeMap::new()).expect_err("timeout over interval");
        assert_eq!(
            errors.to_string(),
            "targets[0].probes[0].timeout: 2s is more than the interval 1s; a check must end before the next starts"
        );
    }

    #[test]
    fn an_empty_file_is_the_defaults() {
        let config = parse("", &BTreeMap::new()).expect("valid");
        assert_eq!(config.server.listen, "127.0.0.1:7400");
        assert_eq!(config.policy.mode, Mode::Auto);
    }

    #[test]
    fn syntax_errors_name_the_line_and_column() {
        let errors = parse("[server]\nlisten = \n", &BTreeMap::new()).expect_err("bad");
        assert!(errors.0[0].path.starts_with("line 2, column"), "{errors}");
    }

    #[test]
    fn type_errors_name_the_key_path() {
        let text = r#"
[[targets]]
name = "a"
probes = [{ kind = "tcp", address = "127.0.0.1:1", interval = 5 }]
"#;
        let errors = parse(text, &BTreeMap::new()).expect_err("bad");
        assert_eq!(
            errors.0[0].path, "targets[0].probes[0].interval",
            "{errors}"
        );
    }

    #[test]
    fn overrides_apply_and_keep_types() {
        let config = parse(
            "",
            &env(&[
                ("MEDIC_POLICY_MIN_CONFIDENCE", "0.9"),
                ("MEDIC_POLICY_MAX_ACTIONS_PER_HOUR", "5"),
                ("MEDIC_STORAGE_URL", "postgres://medic@127.0.0.1/medic"),
                ("MEDIC_OPS_KEY", "a secret that is not an override"),
            ]),
        )
        .expect("valid");
        assert_eq!(config.policy.min_confidence, 0.9);
        assert_eq!(config.policy.max_actions_per_hour, 5);
        assert_eq!(config.storage.url, "postgres://medic@127.0.0.1/medic");
    }

    #[test]
    fn an_override_of_an_unknown_key_is_an_error_naming_it() {
        let errors = parse("", &env(&[("MEDIC_POLICY_MODEE", "auto")])).expect_err("bad");
        assert!(
            errors.to_string().contains("unknown field `modee`"),
            "{errors}"
        );
    }
}
