//! One run of a workflow (`medic pipeline run FLOW.toml`): where it is and
//! what its finished steps produced, checkpointed after every step.

use chrono::{DateTime, Utc};

/// A pipeline run's number, unique per store.
pub type PipelineRunId = i64;

/// Where a run is. `Running` is the only live status: a run found `running`
/// with no process behind it was killed, and `medic pipeline resume` picks it up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PipelineRunStatus {
    /// Steps remain (or one was running when the process died).
    Running,
    /// Every step passed.
    Succeeded,
    /// A step failed and its policy was `fail`.
    Failed,
    /// A step failed and its policy was `escalate`: a human was told.
    Escalated,
}

crate::string_enum!(PipelineRunStatus, "pipeline run status", {
    Running => "running",
    Succeeded => "succeeded",
    Failed => "failed",
    Escalated => "escalated",
});

impl PipelineRunStatus {
    /// Whether the run has ended (anything but `running`).
    pub fn is_finished(self) -> bool {
        self != PipelineRunStatus::Running
    }
}

/// A run about to start: what [`PipelineRun`] is made from.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPipelineRun {
    /// The flow's `name`.
    pub flow: String,
    /// The flow file, so `resume` can read it again.
    pub flow_path: String,
    /// SHA-256 of the flow file's bytes, hex: `resume` refuses a changed file.
    pub flow_digest: String,
    /// The flow's variables after `--set` overrides, fixed for the whole run.
    pub vars: serde_json::Value,
    /// When it started.
    pub at: DateTime<Utc>,
}

/// A run as stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PipelineRun {
    /// Assigned by the store.
    pub id: PipelineRunId,
    /// The flow's `name`.
    pub flow: String,
    /// The flow file.
    pub flow_path: String,
    /// SHA-256 of the flow file when the run started, hex.
    pub flow_digest: String,
    /// The variables the run uses.
    pub vars: serde_json::Value,
    /// The finished steps' outputs, a JSON object keyed by step name.
    pub state: serde_json::Value,
    /// The index of the first step not yet finished (= the number finished).
    pub next_step: u32,
    /// Where the run is.
    pub status: PipelineRunStatus,
    /// Why it failed or escalated.
    pub reason: Option<String>,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// The last checkpoint or status change.
    pub updated_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
}
