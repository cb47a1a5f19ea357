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

/// A diagnosis: category, severity, the root-cause line and its evidence.
///
/// ```
/// use medic_model::{Category, Diagnosis, DiagnosisSource, Severity};
/// let d = Diagnosis {
///     category: Category::Database,
///     severity: Severity::High,
///     root_cause: "connection refused by 127.0.0.1:5432".into(),
///     evidence: vec!["ERROR db: connection refused".into()],
///     confidence: 0.9,
///     sources: vec![DiagnosisSource::Rules],
///     rule: Some("connection-refused".into()),
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
}

impl Diagnosis {
    /// Whether the confidence reaches `threshold`.
    pub fn is_confident(&self, threshold: f64) -> bool {
        self.confidence >= threshold
    }
}
