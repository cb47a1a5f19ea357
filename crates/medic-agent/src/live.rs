//! What the agent tells live watchers (the SSE stream, the dashboard): every
//! state change, incident change, timeline entry, approval and probe result,
//! as it happens. Slow watchers miss events rather than slow the agent down.

use medic_engine::health::TargetState;
use medic_model::{Approval, Incident, TimelineEntry};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::broadcast;

/// How many events a watcher may fall behind before it misses some.
const BACKLOG: usize = 1024;

/// One live event; serialised as `{"type": "...", "data": {...}}`.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum LiveEvent {
    /// A target changed state.
    Target {
        /// The target.
        name: String,
        /// The state before.
        from: TargetState,
        /// The state now.
        to: TargetState,
        /// The signal that caused it.
        message: String,
    },
    /// An incident was opened or changed.
    Incident(Incident),
    /// A timeline entry was written.
    Timeline(TimelineEntry),
    /// An approval was requested or decided.
    Approval(Approval),
    /// A target's active endpoint changed (a failover or a failback).
    Endpoint {
        /// The target.
        target: String,
        /// The endpoint it left.
        from: String,
        /// The endpoint now active.
        to: String,
        /// `failover` or `failback`.
        reason: String,
    },
    /// A maintenance window started or ended over some targets.
    Maintenance {
        /// The window's name.
        window: String,
        /// `started` or `ended`.
        state: String,
        /// The targets it started or stopped covering.
        targets: Vec<String>,
    },
    /// A probe (or an application event) reported on a target.
    Probe {
        /// The target or component.
        target: String,
        /// Whether the check passed.
        healthy: bool,
        /// How long it took.
        latency_ms: Option<f64>,
    },
}

impl LiveEvent {
    /// The event's type name: the SSE `event:` field.
    pub fn kind(&self) -> &'static str {
        match self {
            LiveEvent::Target { .. } => "target",
            LiveEvent::Incident(_) => "incident",
            LiveEvent::Timeline(_) => "timeline",
            LiveEvent::Approval(_) => "approval",
            LiveEvent::Probe { .. } => "probe",
            LiveEvent::Endpoint { .. } => "endpoint",
            LiveEvent::Maintenance { .. } => "maintenance",
        }
    }

    /// The event's payload as JSON: the SSE `data:` field.
    pub fn data(&self) -> serde_json::Value {
        let mut data = match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(mut fields)) => fields.remove("data").unwrap_or_default(),
            _ => serde_json::Value::Null,
        };
        // Shown on dashboards as it happens: secrets out.
        medic_engine::redact::redact_json(&mut data);
        data
    }
}

/// The agent's broadcast of live events.
#[derive(Debug, Clone)]
pub(crate) struct LiveFeed {
    sender: broadcast::Sender<LiveEvent>,
    /// Bumped after every write to incidents, timelines, actions or
    /// approvals (each is announced here): readers cache by it.
    records: Arc<AtomicU64>,
}

impl LiveFeed {
    pub(crate) fn new() -> Self {
        Self {
            sender: broadcast::Sender::new(BACKLOG),
            records: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Sends to whoever listens; nobody listening is fine.
    pub(crate) fn send(&self, event: LiveEvent) {
        if matches!(
            event,
            LiveEvent::Incident(_) | LiveEvent::Timeline(_) | LiveEvent::Approval(_)
        ) {
            self.records.fetch_add(1, Ordering::Release);
        }
        let _ = self.sender.send(event);
    }

    pub(crate) fn records_version(&self) -> u64 {
        self.records.load(Ordering::Acquire)
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.sender.subscribe()
    }
}
