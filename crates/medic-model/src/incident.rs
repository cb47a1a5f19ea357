//! An incident: one failure of one target, from detection to its end.

use chrono::{DateTime, Utc};

use crate::string_enum;
use medic_resilience::classify::{Category, Severity};

/// An incident's number, unique per store.
pub type IncidentId = i64;

/// Where an incident is in its life.
///
/// `open → diagnosing → remediating → verifying → resolved`; remediation may
/// loop (`verifying → remediating` for the next remedy); `escalated` and
/// `failed` end it without a fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    /// Detected; nothing done yet.
    Open,
    /// Working out why.
    Diagnosing,
    /// Running a remedy.
    Remediating,
    /// Checking that the remedy held.
    Verifying,
    /// A remedy waits for a human's approval.
    AwaitingApproval,
    /// Healthy again.
    Resolved,
    /// Handed to a human.
    Escalated,
    /// Gave up without escalating (e.g. the policy forbade every remedy).
    Failed,
}

string_enum!(IncidentStatus, "incident status", {
    Open => "open",
    Diagnosing => "diagnosing",
    Remediating => "remediating",
    Verifying => "verifying",
    AwaitingApproval => "awaiting_approval",
    Resolved => "resolved",
    Escalated => "escalated",
    Failed => "failed",
});

/// A status change the lifecycle does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an incident cannot go from {from} to {to}")]
pub struct InvalidTransition {
    /// The current status.
    pub from: IncidentStatus,
    /// The refused status.
    pub to: IncidentStatus,
}

impl IncidentStatus {
    /// Whether the incident is over (resolved, escalated or failed).
    ///
    /// ```
    /// use medic_model::IncidentStatus;
    /// assert!(IncidentStatus::Resolved.is_terminal());
    /// assert!(!IncidentStatus::Verifying.is_terminal());
    /// ```
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            IncidentStatus::Resolved | IncidentStatus::Escalated | IncidentStatus::Failed
        )
    }

    /// Checks a status change against the lifecycle. Any live incident may be
    /// resolved (the target recovered by itself), escalated or failed. An
    /// ended incident changes no more (a recurrence opens a new one), except
    /// that an escalated or failed one may still be resolved: a human fixed
    /// it, or the target recovered.
    ///
    /// ```
    /// use medic_model::IncidentStatus::*;
    /// assert!(Open.transition(Diagnosing).is_ok());
    /// assert!(Verifying.transition(Remediating).is_ok()); // the next remedy
    /// assert!(Resolved.transition(Open).is_err());
    /// assert!(Escalated.transition(Resolved).is_ok()); // a human fixed it
    /// ```
    pub fn transition(self, to: IncidentStatus) -> Result<IncidentStatus, InvalidTransition> {
        use IncidentStatus::*;
        let allowed = match (self, to) {
            (Escalated | Failed, Resolved) => true,
            (from, _) if from.is_terminal() => false,
            (_, Resolved | Escalated | Failed) => true,
            (Open, Diagnosing | Remediating) => true,
            (Diagnosing, Remediating) => true,
            (Remediating, Verifying | Remediating) => true,
            (Verifying, Remediating | Verifying) => true,
            (_, AwaitingApproval) => true,
            (AwaitingApproval, Diagnosing | Remediating) => true,
            (from, to) => from == to,
        };
        if allowed {
            Ok(to)
        } else {
            Err(InvalidTransition { from: self, to })
        }
    }
}

/// One failure of one target.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Incident {
    /// Its number.
    pub id: IncidentId,
    /// The target that failed.
    pub target: String,
    /// The failure's stable fingerprint; with the target, what deduplicates incidents.
    pub fingerprint: String,
    /// Where it is in its life.
    pub status: IncidentStatus,
    /// One line for humans (`"payments: HTTP 500"`).
    pub title: String,
    /// The diagnosed category, once known.
    pub category: Option<Category>,
    /// The diagnosed severity, once known.
    pub severity: Option<Severity>,
    /// When it was detected.
    pub opened_at: DateTime<Utc>,
    /// When anything last changed.
    pub updated_at: DateTime<Utc>,
    /// When it ended, if it has.
    pub closed_at: Option<DateTime<Utc>>,
    /// From detection to verified recovery, in milliseconds, if it was resolved.
    pub time_to_recover_ms: Option<i64>,
    /// The API key's name that acknowledged it: a human is on it.
    #[serde(default)]
    pub acknowledged_by: Option<String>,
    /// When it was acknowledged.
    #[serde(default)]
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// The incident of the dependency (`depends_on`) whose outage caused
    /// this one: while it lasts, this target is its victim and no remedy runs.
    #[serde(default)]
    pub caused_by: Option<IncidentId>,
}

#[cfg(test)]
mod tests {
    use super::IncidentStatus::{self, *};

    #[test]
    fn terminal_statuses_accept_no_change_but_a_late_resolution() {
        for from in [Resolved, Escalated, Failed] {
            for to in IncidentStatus::ALL {
                let late_resolution = from != Resolved && *to == Resolved;
                assert_eq!(
                    from.transition(*to).is_ok(),
                    late_resolution,
                    "{from} -> {to}"
                );
            }
        }
    }

    #[test]
    fn an_approval_wait_sits_between_diagnosis_and_action() {
        let mut status = Open;
        for next in [
            Diagnosing,
            AwaitingApproval,
            Remediating,
            AwaitingApproval,
            Diagnosing,
        ] {
            status = status.transition(next).expect("allowed");
        }
        assert!(AwaitingApproval.transition(Verifying).is_err());
    }

    #[test]
    fn the_happy_path_is_allowed() {
        let mut status = Open;
        for next in [
            Diagnosing,
            Remediating,
            Verifying,
            Remediating,
            Verifying,
            Resolved,
        ] {
            status = status.transition(next).expect("allowed");
        }
        assert_eq!(status, Resolved);
    }

    #[test]
    fn statuses_round_trip_through_text() {
        for status in IncidentStatus::ALL {
            assert_eq!(status.as_str().parse::<IncidentStatus>(), Ok(*status));
            let json = serde_json::to_string(status).expect("json");
            assert_eq!(json, format!("\"{status}\""));
        }
    }
}
