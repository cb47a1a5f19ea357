//! Why a target failed, as far as medic can tell.

use medic_resilience::classify::{Category, Severity};

/// Who contributed to a diagnosis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiagnosisSource {
    /// A built-in or configured pattern rule.
    Rules,
    /// What worked for this fingerprint before.
    History,
    /// A local language model, choosing among allowed remedies.
    Llm,
}

crate::string_enum!(DiagnosisSource, "diagnosis source", {
    Rules => "rules",
    History => "history",
    Llm => "llm",
});

/// What a diagnosis's category rests on. The policy trusts the two
/// differently (`[policy] min_confidence_from_text`): medic's own
/// observation of a refused probe or an exited process is a fact, while
/// a log line, an alert or a CI log is text someone else wrote, read by
/// rules that have never seen most of the world's software.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Grounds {
    /// What medic saw itself: a probe's result, a process's exit.
    Observed,
    /// Text from outside: log lines, alerts, webhook and CI logs, reports.
    /// The default, so a diagnosis that does not say is held to the
    /// stricter bar.
    #[default]
    Text,
}

crate::string_enum!(Grounds, "diagnosis grounds", {
    Observed => "observed",
    Text => "text",
});

/// A diagnosis: category, severity, the root-cause line and its evidence.
///
/// ```
/// use medic_model::{Category, Diagnosis, DiagnosisSource, Grounds, Severity};
/// let d = Diagnosis {
///     category: Category::Database,
///     severity: Severity::High,
///     root_cause: "connection refused by 127.0.0.1:5432".into(),
///     evidence: vec!["ERROR db: connection refused".into()],
///     confidence: 0.9,
///     sources: vec![DiagnosisSource::Rules],
///     rule: Some("connection-refused".into()),
///     similar_to: None,
///     grounds: Grounds::Text,
/// };
/// assert!(d.is_confident(0.8));
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Diagnosis {
    /// What kind of failure.
    pub category: Category,
    /// How bad.
    pub severity: Severity,
    /// The line that best explains it.
    pub root_cause: String,
    /// The lines that support it.
    pub evidence: Vec<String>,
    /// How sure, in `[0, 1]`.
    pub confidence: f64,
    /// Who contributed.
    pub sources: Vec<DiagnosisSource>,
    /// The rule that matched, if one did.
    pub rule: Option<String>,
    /// The most similar past incident, when this fingerprint had no history
    /// of its own and one was found (absent in older stored diagnoses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub similar_to: Option<SimilarIncident>,
    /// What the category rests on (diagnoses stored before this existed
    /// read as `text`).
    #[serde(default)]
    pub grounds: Grounds,
}

/// A past incident whose root cause resembles this one's: its successful
/// remedies served as a prior for ranking.
///
/// ```
/// let similar = medic_model::SimilarIncident { incident_id: 7, similarity: 0.82, fingerprint: "database:1f".into() };
/// assert_eq!(similar.to_string(), "similar to incident #7 (0.82)");
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SimilarIncident {
    /// The past incident.
    pub incident_id: i64,
    /// How similar its root cause is, in `[0, 1]`.
    pub similarity: f64,
    /// Its fingerprint.
    pub fingerprint: String,
}

impl std::fmt::Display for SimilarIncident {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "similar to incident #{} ({:.2})",
            self.incident_id, self.similarity
        )
    }
}

impl Diagnosis {
    /// Whether the confidence reaches `threshold`.
    pub fn is_confident(&self, threshold: f64) -> bool {
        self.confidence >= threshold
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnoses_stored_before_similar_to_existed_still_load() {
        let old = r#"{"category":"database","severity":"high","root_cause":"x","evidence":[],
            "confidence":0.9,"sources":["rules"],"rule":null}"#;
        let diagnosis: Diagnosis = serde_json::from_str(old).expect("old diagnosis");
        assert_eq!(diagnosis.similar_to, None);
        assert_eq!(diagnosis.grounds, Grounds::Text);
        // And it is written as it was read: no new key when there is nothing to say.
        let written = serde_json::to_value(&diagnosis).expect("json");
        assert!(written.get("similar_to").is_none());
    }

    #[test]
    fn a_similar_incident_round_trips() {
        let mut diagnosis: Diagnosis = serde_json::from_str(
            r#"{"category":"network","severity":"high","root_cause":"x","evidence":[],
            "confidence":0.6,"sources":["rules","history"],"rule":null}"#,
        )
        .expect("diagnosis");
        diagnosis.similar_to = Some(SimilarIncident {
            incident_id: 12,
            similarity: 0.75,
            fingerprint: "network:ab".into(),
        });
        let text = serde_json::to_string(&diagnosis).expect("json");
        assert_eq!(
            serde_json::from_str::<Diagnosis>(&text).expect("back"),
            diagnosis
        );
    }
}
