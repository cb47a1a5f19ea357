//! What medic observed.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

/// Where a signal came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SignalSource {
    /// One of the target's probes, by its name (`http`, `tcp:6379`, …).
    Probe {
        /// The probe's name.
        probe: String,
    },
    /// A line in one of the target's log files.
    Log {
        /// The file.
        path: String,
    },
    /// An alert from outside (Alertmanager, a webhook, a CI system).
    Alert {
        /// Who sent it (`alertmanager`, `github`, …).
        sender: String,
    },
    /// An application reported an outcome itself.
    Event {
        /// The reporting component.
        component: String,
    },
    /// The supervised process exited.
    Exit {
        /// Its exit code, if it exited rather than being killed.
        code: Option<i32>,
    },
}

impl SignalSource {
    /// Whether a diagnosis from this signal alone rests on medic's own
    /// observation (a probe, an exit) or on text from outside.
    ///
    /// ```
    /// use medic_model::{Grounds, SignalSource};
    /// assert_eq!(SignalSource::Exit { code: Some(1) }.grounds(), Grounds::Observed);
    /// assert_eq!(SignalSource::Alert { sender: "alertmanager".into() }.grounds(), Grounds::Text);
    /// ```
    pub fn grounds(&self) -> crate::Grounds {
        match self {
            Self::Probe { .. } | Self::Exit { .. } => crate::Grounds::Observed,
            Self::Log { .. } | Self::Alert { .. } | Self::Event { .. } => crate::Grounds::Text,
        }
    }
}

/// One observation of a target: healthy or not, and why.
///
/// A failed probe is data, not an error: `healthy = false` with a `message`.
///
/// ```
/// use medic_model::{Signal, SignalSource};
/// let s = Signal::unhealthy("payments", SignalSource::Probe { probe: "http".into() }, "connection refused");
/// assert!(!s.healthy);
/// assert_eq!(s.message, "connection refused");
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Signal {
    /// The target it is about.
    pub target: String,
    /// Where it came from.
    pub source: SignalSource,
    /// Whether the target looked healthy.
    pub healthy: bool,
    /// How long the check took, if it was timed.
    pub latency_ms: Option<f64>,
    /// What was seen, in one line (`"HTTP 500"`, `"connection refused"`).
    pub message: String,
    /// Supporting lines (response excerpt, log lines around a match).
    pub evidence: Vec<String>,
    /// When it was observed.
    pub at: DateTime<Utc>,
    /// An alert's labels and annotations (empty for other signals): what
    /// an action receives as `MEDIC_ALERT_*` variables.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

impl Signal {
    /// A healthy observation, timestamped now.
    pub fn healthy(target: &str, source: SignalSource) -> Self {
        Self::new(target, source, true, "ok")
    }

    /// An unhealthy observation, timestamped now.
    pub fn unhealthy(target: &str, source: SignalSource, message: &str) -> Self {
        Self::new(target, source, false, message)
    }

    fn new(target: &str, source: SignalSource, healthy: bool, message: &str) -> Self {
        Self {
            target: target.to_string(),
            source,
            healthy,
            latency_ms: None,
            message: message.to_string(),
            evidence: Vec::new(),
            at: Utc::now(),
            labels: BTreeMap::new(),
        }
    }

    /// The same signal with a latency.
    pub fn with_latency_ms(mut self, latency_ms: f64) -> Self {
        self.latency_ms = Some(latency_ms);
        self
    }

    /// The same signal with an alert's labels and annotations.
    pub fn with_labels(mut self, labels: BTreeMap<String, String>) -> Self {
        self.labels = labels;
        self
    }

    /// The same signal with evidence lines.
    pub fn with_evidence(mut self, evidence: Vec<String>) -> Self {
        self.evidence = evidence;
        self
    }
}
