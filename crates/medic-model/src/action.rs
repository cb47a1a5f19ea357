//! A remedy's run: recorded as intended before it starts, finished after.

use chrono::{DateTime, Utc};

use crate::IncidentId;

/// An action record's number, unique per store.
pub type ActionId = i64;

/// Where an action is. `Intended` and `Running` after a crash mean the outcome
/// is unknown: such an action is never re-run blindly; the target is verified first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionState {
    /// Recorded; not started.
    Intended,
    /// Started; no outcome yet.
    Running,
    /// Ran and reported success.
    Succeeded,
    /// Ran and failed.
    Failed,
    /// The agent stopped while it ran; whether it worked is unknown.
    Unknown,
    /// Not run: dry-run, refused by policy, or waiting for approval that never came.
    Skipped,
}

crate::string_enum!(ActionState, "action state", {
    Intended => "intended",
    Running => "running",
    Succeeded => "succeeded",
    Failed => "failed",
    Unknown => "unknown",
    Skipped => "skipped",
});

impl ActionState {
    /// Whether the action has an outcome (it will not change again).
    ///
    /// ```
    /// use medic_model::ActionState;
    /// assert!(ActionState::Failed.is_finished());
    /// assert!(!ActionState::Running.is_finished());
    /// ```
    pub fn is_finished(self) -> bool {
        !matches!(self, ActionState::Intended | ActionState::Running)
    }
}

/// One run (or planned run) of a remedy for an incident.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ActionRecord {
    /// Its number (0 before the store assigns one).
    pub id: ActionId,
    /// The incident it serves.
    pub incident_id: IncidentId,
    /// The target acted on.
    pub target: String,
    /// The remedy's configured name.
    pub remedy: String,
    /// The action kind (`http`, `exec`, `restart`, …).
    pub kind: String,
    /// Where it is.
    pub state: ActionState,
    /// Which rung of the remedy ladder (1 = first).
    pub step: u32,
    /// Whether it was only recorded, per the dry-run policy.
    pub dry_run: bool,
    /// What it printed or answered, truncated.
    pub output: Option<String>,
    /// Why it failed or was skipped.
    pub error: Option<String>,
    /// When it was recorded.
    pub intended_at: DateTime<Utc>,
    /// When it started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// Whether the target was healthy within the verify window after it
    /// succeeded: the incident's verified outcome, apart from the action's
    /// own (`state`). `None`: not verified (it failed, was skipped, paged a
    /// human, or is still being verified).
    #[serde(default)]
    pub verified: Option<bool>,
}
