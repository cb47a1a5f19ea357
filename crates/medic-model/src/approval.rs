//! A human's yes or no on one remedy action the policy would not run alone.

use chrono::{DateTime, Utc};

use crate::{ActionId, IncidentId};

/// An approval's number, unique per store.
pub type ApprovalId = i64;

/// Where an approval request is. Only `Pending` can change, and only once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalStatus {
    /// Waiting for a human.
    Pending,
    /// A human said yes: the action runs.
    Approved,
    /// A human said no: the ladder moves on without it.
    Rejected,
    /// Nobody answered in time (or the need went away): the incident escalates.
    Expired,
}

crate::string_enum!(ApprovalStatus, "approval status", {
    Pending => "pending",
    Approved => "approved",
    Rejected => "rejected",
    Expired => "expired",
});

/// A request for approval of one intended action.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Approval {
    /// Assigned by the store (0 before it is recorded).
    pub id: ApprovalId,
    /// The incident the action belongs to.
    pub incident_id: IncidentId,
    /// The intended action waiting on this approval.
    pub action_id: ActionId,
    /// The target.
    pub target: String,
    /// The remedy's name.
    pub remedy: String,
    /// Why the policy asks a human.
    pub reason: String,
    /// Where it is.
    pub status: ApprovalStatus,
    /// When it was asked for.
    pub requested_at: DateTime<Utc>,
    /// When it expires if nobody answers.
    pub expires_at: DateTime<Utc>,
    /// The API key's name that decided it (`None` for expiry).
    pub decided_by: Option<String>,
    /// When it was decided or expired.
    pub decided_at: Option<DateTime<Utc>>,
}
