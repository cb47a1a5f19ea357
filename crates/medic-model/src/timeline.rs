//! An incident's timeline: everything that happened, in order.

use chrono::{DateTime, Utc};

use crate::IncidentId;

/// What a timeline entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimelineKind {
    /// A signal (probe result, log match, alert).
    Signal,
    /// A diagnosis.
    Diagnosis,
    /// The plan: which remedies, in which order, and what the policy said.
    Plan,
    /// An action, at any point of its life.
    Action,
    /// A verification result.
    Verification,
    /// The incident's status changed.
    Status,
    /// An approval was requested or decided.
    Approval,
    /// Anything else worth a line (an acknowledgement, an escalation reply).
    Note,
}

crate::string_enum!(TimelineKind, "timeline kind", {
    Signal => "signal",
    Diagnosis => "diagnosis",
    Plan => "plan",
    Action => "action",
    Verification => "verification",
    Status => "status",
    Approval => "approval",
    Note => "note",
});

/// One line of an incident's timeline, with structured details.
///
/// ```
/// use medic_model::{TimelineEntry, TimelineKind};
/// let entry = TimelineEntry::new(7, TimelineKind::Note, "paged the on-call");
/// assert_eq!(entry.incident_id, 7);
/// assert!(entry.data.is_null());
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TimelineEntry {
    /// Its number (0 before the store assigns one).
    pub id: i64,
    /// The incident it belongs to.
    pub incident_id: IncidentId,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What kind of entry.
    pub kind: TimelineKind,
    /// One line for humans.
    pub message: String,
    /// Details for machines (the signal, the diagnosis, the action record…).
    pub data: serde_json::Value,
}

impl TimelineEntry {
    /// A new entry, timestamped now, without details.
    pub fn new(incident_id: IncidentId, kind: TimelineKind, message: &str) -> Self {
        Self {
            id: 0,
            incident_id,
            at: Utc::now(),
            kind,
            message: message.to_string(),
            data: serde_json::Value::Null,
        }
    }

    /// The same entry with details.
    pub fn with_data(mut self, data: serde_json::Value) -> Self {
        self.data = data;
        self
    }
}
