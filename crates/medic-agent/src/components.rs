//! Components registered at run time (`POST /api/v1/components`) and the
//! events applications report (`POST /api/v1/events`).
//!
//! A registered component becomes a target like any in the config file: its
//! `health_url` an HTTP probe, its `remedies` the same remedy tables, its
//! `webhook_url` an escalation at the end of the ladder. It passes the same
//! validation (destructive-command guard included), so the API can never
//! register what `medic check` would refuse.

use std::collections::BTreeMap;
use std::time::Duration;

use medic_engine::config::{Config, ConfigError, Health, HumanDuration, Remedy, Target, validate};
use serde_json::json;

const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// The body of a component registration.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentSpec {
    /// Unique name (letters, digits, `-`, `_`, `.`).
    pub name: String,
    /// Probed with `GET`; 2xx is healthy.
    pub health_url: Option<String>,
    /// Incidents that no remedy fixes are posted here (generic escalation JSON).
    pub webhook_url: Option<String>,
    /// Free tags, shown and matchable as labels `tag.<tag> = "true"`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Free key/value labels.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// The remedy ladder, as in the config file.
    #[serde(default)]
    pub remedies: Vec<Remedy>,
    /// Probe interval (default 5s).
    pub interval: Option<HumanDuration>,
    /// Probe timeout (default 2s).
    pub timeout: Option<HumanDuration>,
    /// Health thresholds (defaults as in the config file).
    pub health: Option<Health>,
}

impl ComponentSpec {
    /// The target this spec describes, validated as part of `config` (names
    /// must not clash, commands must pass the guard). Errors name the key
    /// relative to the body, e.g. `remedies[0].action.command`.
    pub fn to_target(&self, config: &Config) -> Result<Target, Vec<ConfigError>> {
        let mut labels = self.metadata.clone();
        for tag in &self.tags {
            labels.insert(format!("tag.{tag}"), "true".into());
        }
        let mut probes = Vec::new();
        if let Some(url) = &self.health_url {
            let interval = self.interval.map_or(DEFAULT_INTERVAL, HumanDuration::get);
            // A probe may not outlast its interval.
            let timeout = self
                .timeout
                .map_or(DEFAULT_TIMEOUT.min(interval), HumanDuration::get);
            probes.push(json!({
                "kind": "http",
                "url": url,
                "interval": HumanDuration::new(interval),
                "timeout": HumanDuration::new(timeout),
            }));
        }
        let mut remedies = serde_json::to_value(&self.remedies).map_err(|e| one("remedies", e))?;
        if let (Some(url), Some(list)) = (&self.webhook_url, remedies.as_array_mut()) {
            list.push(json!({"name": "webhook", "action": {"kind": "escalate", "webhook": url}}));
        }
        let target = json!({
            "name": self.name,
            "labels": labels,
            "probes": probes,
            "health": self.health.clone().unwrap_or_default(),
            "remedies": remedies,
        });
        let target: Target =
            serde_json::from_value(without_nulls(target)).map_err(|e| one("", e))?;
        let index = config.targets.len();
        let mut whole = config.clone();
        whole.targets.push(target.clone());
        let prefix = format!("targets[{index}]");
        let errors: Vec<ConfigError> = validate(&whole)
            .into_iter()
            .filter(|e| e.path.starts_with(&prefix))
            .map(|e| ConfigError {
                path: relative(&e.path, &prefix),
                message: e.message,
            })
            .collect();
        if errors.is_empty() {
            Ok(target)
        } else {
            Err(errors)
        }
    }
}

/// Drops `null` fields: the config types read TOML, which has no null, so
/// an absent optional must be absent, not null.
fn without_nulls(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(fields) => fields
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k, without_nulls(v)))
            .collect(),
        serde_json::Value::Array(items) => items.into_iter().map(without_nulls).collect(),
        other => other,
    }
}

fn one(path: &str, error: impl std::fmt::Display) -> Vec<ConfigError> {
    vec![ConfigError {
        path: path.to_string(),
        message: error.to_string(),
    }]
}

/// `targets[3].remedies[0].action` → `remedies[0].action`; the probe the spec
/// generated from `health_url` is reported as `health_url`.
fn relative(path: &str, prefix: &str) -> String {
    let rest = path
        .strip_prefix(prefix)
        .map(|rest| rest.trim_start_matches('.'))
        .unwrap_or(path);
    if rest.starts_with("probes[0]") {
        "health_url".to_string()
    } else {
        rest.to_string()
    }
}

/// What an application reports about one of its operations.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct AppEvent {
    /// The component (a target's name, or any name: unknown components are
    /// tracked for system health without probes).
    pub component: String,
    /// What it was doing (`charge`, `query`, …).
    #[serde(default)]
    pub operation: String,
    /// `success` or `error`.
    pub outcome: EventOutcome,
    /// The error text, for `error`.
    pub error: Option<String>,
    /// How long the operation took.
    pub latency_ms: Option<f64>,
}

/// An application event's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventOutcome {
    /// It worked.
    Success,
    /// It failed.
    Error,
}
