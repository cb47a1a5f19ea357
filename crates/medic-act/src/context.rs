//! What an action knows about the incident it answers.

use std::collections::BTreeMap;

use medic_engine::safety::Values;
use medic_engine::safety::child_env::{alert_variable, env_value};

/// The incident, diagnosis and remedy an action runs for: the values of its
/// `{{placeholders}}` and the content of escalations.
///
/// ```
/// use medic_act::ActionContext;
/// let ctx = ActionContext { target: "payments".into(), incident_id: 42, ..Default::default() };
/// let values = ctx.values();
/// assert_eq!(values["target.name"], "payments");
/// assert_eq!(values["incident.id"], "42");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct ActionContext {
    /// The target's name.
    pub target: String,
    /// The target's active endpoint (empty when it has none).
    #[serde(default)]
    pub endpoint: String,
    /// The incident's id.
    pub incident_id: i64,
    /// The incident's error fingerprint.
    pub fingerprint: String,
    /// The incident's title.
    pub title: String,
    /// The diagnosed error category (`database`, `network`, …).
    pub category: String,
    /// The diagnosed severity (`low`, `medium`, `high`, `critical`).
    pub severity: String,
    /// The diagnosed root cause, in a sentence.
    pub root_cause: String,
    /// The evidence lines behind the diagnosis.
    pub evidence: Vec<String>,
    /// The remedy being run.
    pub remedy: String,
    /// The labels and annotations of the alert that opened the incident
    /// (empty for other signals).
    #[serde(default)]
    pub alert: BTreeMap<String, String>,
}

impl ActionContext {
    /// The placeholder values, keyed as in
    /// [`PLACEHOLDERS`](medic_engine::safety::PLACEHOLDERS).
    pub fn values(&self) -> Values {
        let mut values = Values::new();
        values.insert("target.name", self.target.clone());
        values.insert("target.endpoint", self.endpoint.clone());
        values.insert("incident.id", self.incident_id.to_string());
        values.insert("incident.fingerprint", self.fingerprint.clone());
        values.insert("incident.title", self.title.clone());
        values.insert("diagnosis.category", self.category.clone());
        values.insert("diagnosis.severity", self.severity.clone());
        values.insert("diagnosis.root_cause", self.root_cause.clone());
        values.insert("remedy.name", self.remedy.clone());
        values
    }

    /// The facts every action child receives as environment variables, so
    /// a script reads `"$MEDIC_ROOT_CAUSE"` as data: `MEDIC_TARGET`,
    /// `MEDIC_ENDPOINT`, `MEDIC_INCIDENT_ID`, `MEDIC_FINGERPRINT`, `MEDIC_TITLE`,
    /// `MEDIC_CATEGORY`, `MEDIC_SEVERITY`, `MEDIC_ROOT_CAUSE`,
    /// `MEDIC_EVIDENCE` (one line each), `MEDIC_REMEDY`, and `MEDIC_ALERT_*`
    /// for each alert label and annotation.
    ///
    /// ```
    /// use medic_act::ActionContext;
    /// let mut ctx = ActionContext { target: "web".into(), ..Default::default() };
    /// ctx.alert.insert("alertname".into(), "HighLatency".into());
    /// let facts = ctx.facts();
    /// assert_eq!(facts["MEDIC_TARGET"], "web");
    /// assert_eq!(facts["MEDIC_ALERT_ALERTNAME"], "HighLatency");
    /// ```
    pub fn facts(&self) -> BTreeMap<String, String> {
        let mut facts = BTreeMap::new();
        // Labels first: a label may not overwrite one of the fixed facts.
        for (name, value) in &self.alert {
            facts.insert(alert_variable(name), env_value(value));
        }
        for (name, value) in [
            ("MEDIC_TARGET", &self.target),
            ("MEDIC_ENDPOINT", &self.endpoint),
            ("MEDIC_INCIDENT_ID", &self.incident_id.to_string()),
            ("MEDIC_FINGERPRINT", &self.fingerprint),
            ("MEDIC_TITLE", &self.title),
            ("MEDIC_CATEGORY", &self.category),
            ("MEDIC_SEVERITY", &self.severity),
            ("MEDIC_ROOT_CAUSE", &self.root_cause),
            ("MEDIC_EVIDENCE", &self.evidence.join("\n")),
            ("MEDIC_REMEDY", &self.remedy),
        ] {
            facts.insert(name.to_string(), env_value(value));
        }
        facts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use medic_engine::safety::PLACEHOLDERS;

    #[test]
    fn every_placeholder_has_a_value() {
        let values = ActionContext::default().values();
        for name in PLACEHOLDERS {
            assert!(values.contains_key(name), "{name} has no value");
        }
        assert_eq!(values.len(), PLACEHOLDERS.len());
    }
}
