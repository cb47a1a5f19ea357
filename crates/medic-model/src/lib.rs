//! # medic-model
//!
//! The nouns of the healing loop — signal → incident → diagnosis → action →
//! outcome — as plain data: no IO, no clocks, no policy. Every other medic
//! crate speaks these types; the store persists them and the API serialises
//! them.
//!
//! Error categories and severities are [`medic_resilience::classify`]'s, so an
//! error classified in-process and one diagnosed by the agent share a vocabulary.

mod action;
mod approval;
mod diagnosis;
mod incident;
mod learning;
mod pipeline_run;
mod signal;
mod timeline;

pub use action::{ActionId, ActionRecord, ActionState};
pub use approval::{Approval, ApprovalId, ApprovalStatus};
pub use diagnosis::{Diagnosis, DiagnosisSource, Grounds, SimilarIncident};
pub use incident::{Incident, IncidentId, IncidentStatus, InvalidTransition};
pub use learning::RemedyStats;
pub use medic_resilience::classify::{Category, Severity};
pub use pipeline_run::{NewPipelineRun, PipelineRun, PipelineRunId, PipelineRunStatus};
pub use signal::{Signal, SignalSource};
pub use timeline::{TimelineEntry, TimelineKind};

/// A name that is not one of a closed set of values.
///
/// ```
/// let err: medic_model::ParseEnumError = "sleeping".parse::<medic_model::IncidentStatus>().unwrap_err();
/// assert!(err.to_string().contains("sleeping"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?}; expected one of: {expected}")]
pub struct ParseEnumError {
    /// What was being parsed.
    pub kind: &'static str,
    /// The value that did not match.
    pub value: String,
    /// The accepted values, comma-separated.
    pub expected: String,
}

/// Implements `as_str`, `Display`, `FromStr` and `ALL` for a snake_case enum.
macro_rules! string_enum {
    ($name:ident, $kind:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name used in JSON, the store and the CLI.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::ParseEnumError;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                match value {
                    $($text => Ok($name::$variant),)+
                    other => Err($crate::ParseEnumError {
                        kind: $kind,
                        value: other.to_string(),
                        expected: [$($text),+].join(", "),
                    }),
                }
            }
        }
    };
}
pub(crate) use string_enum;
