//! What the API may ask of a running agent: components, events, breakers,
//! monitoring, approvals, acknowledgement and resolution, live events and
//! metrics. Every change is audited: in the incident timeline where there is
//! an incident, and in the agent's log with the API key's name.

use std::collections::BTreeMap;

use chrono::Utc;
use medic_engine::config::ConfigError;
use medic_engine::health::TargetState;
use medic_model::{
    Approval, ApprovalId, ApprovalStatus, Incident, IncidentId, IncidentStatus, Signal,
    SignalSource, TimelineEntry, TimelineKind,
};
use medic_resilience::breaker::BreakerSnapshot;
use medic_resilience::health::{HealthSnapshot, SystemHealth};
use medic_store::StoreError;
use tokio::sync::broadcast;

use crate::components::{AppEvent, ComponentSpec, EventOutcome};
use crate::live::LiveEvent;
use crate::metrics::Metrics;
use crate::targets::Origin;
use crate::{Agent, AgentError};

/// Why the agent refused a request.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// No such thing.
    #[error("{what} {name:?} not found")]
    NotFound {
        /// What was looked for.
        what: &'static str,
        /// Its name or id.
        name: String,
    },
    /// The request clashes with what exists (a taken name, a decided approval).
    #[error("{0}")]
    Conflict(String),
    /// The request does not validate; each error names its key.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<ConfigError>),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ControlError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { what, id } => ControlError::NotFound {
                what,
                name: id.to_string(),
            },
            StoreError::AlreadyDecided { .. }
            | StoreError::Duplicate { .. }
            | StoreError::InvalidTransition(_) => ControlError::Conflict(error.to_string()),
            other => ControlError::Store(other),
        }
    }
}

impl From<AgentError> for ControlError {
    fn from(error: AgentError) -> Self {
        match error {
            AgentError::Store(e) => e.into(),
            AgentError::Target { target, message } => ControlError::Invalid(vec![ConfigError {
                path: String::new(),
                message: format!("{target}: {message}"),
            }]),
        }
    }
}

/// A target as the API shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ComponentView {
    /// Its name.
    pub name: String,
    /// `config` or `api`.
    pub source: &'static str,
    /// medic's verdict.
    pub state: TargetState,
    /// Whether this replica probes it: false when another replica owns it,
    /// and then its state here is `unknown` (its incidents are shared).
    pub watched_here: bool,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its probes, described (aimed at the active endpoint).
    pub probes: Vec<String>,
    /// Its failover endpoints, the primary first (omitted when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<String>,
    /// The endpoint its probes and actions use now (omitted without endpoints).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_endpoint: Option<String>,
    /// Its remedies, in ladder order.
    pub remedies: Vec<String>,
    /// Error rate and latency over the last minute.
    pub health: HealthSnapshot,
    /// The latest probe latencies, oldest first.
    pub latency_ms: Vec<f64>,
    /// The registration body, for components registered through the API.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spec: Option<ComponentSpec>,
}

/// Whether probing runs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MonitoringStatus {
    /// False while paused.
    pub running: bool,
    /// Targets watched.
    pub targets: usize,
    /// Probes scheduled.
    pub probes: usize,
}

impl Agent {
    /// Every target, by name.
    pub fn components(&self) -> Vec<ComponentView> {
        let targets = self.inner.targets();
        targets
            .keys()
            .filter_map(|name| view(&targets, name))
            .collect()
    }

    /// One target.
    pub fn component(&self, name: &str) -> Result<ComponentView, ControlError> {
        view(&self.inner.targets(), name).ok_or_else(|| not_found("component", name))
    }

    /// Registers a target at run time; it is stored, so it survives restarts.
    pub async fn register(&self, spec: ComponentSpec) -> Result<ComponentView, ControlError> {
        if self.inner.targets().contains_key(&spec.name) {
            return Err(ControlError::Conflict(format!(
                "a component named {:?} exists",
                spec.name
            )));
        }
        let target = spec
            .to_target(&self.current_config())
            .map_err(ControlError::Invalid)?;
        let body = serde_json::to_value(&spec)
            .map_err(|e| ControlError::Conflict(format!("cannot store the spec: {e}")))?;
        self.inner
            .store
            .save_component(&spec.name, &body, Utc::now())
            .await?;
        let name = spec.name.clone();
        if let Err(e) = self.attach(target, Origin::Api(Box::new(spec))).await {
            // Not watched, so not kept either.
            self.inner.store.delete_component(&name).await?;
            return Err(e.into());
        }
        tracing::info!(component = %name, "registered through the API");
        self.component(&name)
    }

    /// Stops watching a target registered through the API. Targets of the
    /// config file are refused: the file is their source of truth.
    pub async fn unregister(&self, name: &str) -> Result<(), ControlError> {
        let runtime = {
            let mut targets = self.inner.targets();
            match targets.get(name).map(|r| &r.origin) {
                None => return Err(not_found("component", name)),
                Some(Origin::Config) => {
                    return Err(ControlError::Conflict(format!(
                        "{name:?} is defined in the config file; remove it there"
                    )));
                }
                Some(Origin::Api(_)) => targets.remove(name),
            }
        };
        if let Some(runtime) = runtime {
            for probe in runtime.probes {
                self.inner.scheduler.remove(probe);
            }
        }
        self.inner.health.remove(name);
        self.inner.metrics.forget_target(name);
        self.inner.store.delete_component(name).await?;
        tracing::info!(component = %name, "removed through the API");
        Ok(())
    }

    /// A target's (or reporting component's) error rate and latency.
    pub fn component_stats(&self, name: &str) -> Result<HealthSnapshot, ControlError> {
        self.inner
            .health
            .get(name)
            .map(|health| health.snapshot())
            .ok_or_else(|| not_found("component", name))
    }

    /// Forgets a target's error window and latency history.
    pub fn reset_component(&self, name: &str) -> Result<(), ControlError> {
        let health = self
            .inner
            .health
            .get(name)
            .ok_or_else(|| not_found("component", name))?;
        health.reset();
        if let Some(runtime) = self.inner.targets().get_mut(name) {
            runtime.latencies.clear();
        }
        Ok(())
    }

    /// System health over every component.
    pub fn system_health(&self) -> SystemHealth {
        self.inner.health.system()
    }

    /// The host the agent runs on, as read at start.
    pub fn host(&self) -> &medic_engine::host::HostContext {
        &self.inner.host
    }

    /// Why this replica cannot do its share of the targets now (its leases
    /// lapsed: the store is away), or `None`.
    pub fn unready(&self) -> Option<String> {
        self.inner.leases.unready()
    }

    /// This replica: its id and node, whether targets are shared with other
    /// replicas (a PostgreSQL store), and the targets it owns now.
    pub fn replica(&self) -> serde_json::Value {
        let leases = &self.inner.leases;
        let owns: Vec<String> = (self.inner.targets().keys())
            .filter(|name| leases.holds(name))
            .cloned()
            .collect();
        serde_json::json!({
            "id": leases.me().id,
            "node": leases.me().node,
            "shared": leases.shared(),
            "owns": owns,
        })
    }

    /// An application's report. On a target it feeds the target's error
    /// rate (≥ 20 % over the last minute opens an incident); any other name
    /// is tracked as a component of system health.
    pub fn report_event(&self, event: AppEvent) {
        let known = self.inner.targets().contains_key(&event.component);
        let latency = event.latency_ms.filter(|ms| ms.is_finite() && *ms >= 0.0);
        if known {
            let source = SignalSource::Event {
                component: event.component.clone(),
            };
            let signal = match event.outcome {
                EventOutcome::Success => Signal::healthy(&event.component, source),
                EventOutcome::Error => {
                    let what = event.error.as_deref().unwrap_or("error");
                    let message = if event.operation.is_empty() {
                        what.to_string()
                    } else {
                        format!("{}: {what}", event.operation)
                    };
                    Signal::unhealthy(&event.component, source, &message)
                }
            };
            let signal = match latency {
                Some(ms) => signal.with_latency_ms(ms),
                None => signal,
            };
            self.observe(signal);
        } else {
            let health = self.inner.health.component(&event.component);
            let took = crate::agent::latency_of(latency);
            match event.outcome {
                EventOutcome::Success => health.record_success(took),
                EventOutcome::Error => {
                    health.record_failure(took, event.error.as_deref().unwrap_or("error"))
                }
            }
        }
    }

    /// The breakers on remedies, per (target, remedy).
    pub fn breakers(&self) -> Vec<BreakerSnapshot> {
        self.inner.executor.breakers()
    }

    /// Closes a breaker; false if there is none by that name.
    pub fn reset_breaker(&self, name: &str, by: &str) -> bool {
        let reset = self.inner.executor.reset_breaker(name);
        if reset {
            tracing::info!(breaker = %name, by = %by, "breaker reset through the API");
        }
        reset
    }

    /// Pauses probing (no new incidents from probes until resumed) on every
    /// agent on this store; kept there, so a restart does not end it.
    pub async fn stop_monitoring(&self, by: &str) -> Result<(), ControlError> {
        (self.inner.store)
            .set_monitoring_pause(Some((by, Utc::now())))
            .await?;
        self.inner.scheduler.pause();
        tracing::warn!(by = %by, "monitoring paused through the API");
        Ok(())
    }

    /// Resumes probing on every agent on this store.
    pub async fn start_monitoring(&self, by: &str) -> Result<(), ControlError> {
        self.inner.store.set_monitoring_pause(None).await?;
        self.inner.scheduler.resume();
        tracing::info!(by = %by, "monitoring resumed through the API");
        Ok(())
    }

    /// Whether probing runs, and over how much.
    pub fn monitoring_status(&self) -> MonitoringStatus {
        let targets = self.inner.targets();
        MonitoringStatus {
            running: !self.inner.scheduler.is_paused(),
            targets: targets.len(),
            probes: targets.values().map(|r| r.probes.len()).sum(),
        }
    }

    /// Approves or rejects a pending approval, once; the waiting incident
    /// goes on at once.
    pub async fn decide(
        &self,
        id: ApprovalId,
        approve: bool,
        by: &str,
    ) -> Result<Approval, ControlError> {
        let to = if approve {
            ApprovalStatus::Approved
        } else {
            ApprovalStatus::Rejected
        };
        let decided = self
            .inner
            .store
            .decide_approval(id, to, Some(by), Utc::now())
            .await?;
        tracing::info!(approval = id, incident = decided.incident_id, target = %decided.target, remedy = %decided.remedy, by = %by, decision = %to, "approval decided");
        if let Some(waiter) = self.inner.waiting().remove(&id) {
            let _ = waiter.send(decided.clone());
        }
        Ok(decided)
    }

    /// Marks an incident as acknowledged by `by`.
    pub async fn acknowledge(&self, id: IncidentId, by: &str) -> Result<Incident, ControlError> {
        let incident = self.inner.store.acknowledge(id, by, Utc::now()).await?;
        self.audit(id, &format!("acknowledged by {by}")).await?;
        self.inner.live.send(LiveEvent::Incident(incident.clone()));
        Ok(incident)
    }

    /// Resolves an incident by hand; its task stops before its next step.
    pub async fn resolve(&self, id: IncidentId, by: &str) -> Result<Incident, ControlError> {
        let incident = self
            .inner
            .store
            .set_status(id, IncidentStatus::Resolved, Utc::now())
            .await?;
        self.audit(id, &format!("resolved by {by}")).await?;
        self.inner.live.send(LiveEvent::Incident(incident.clone()));
        Ok(incident)
    }

    async fn audit(&self, id: IncidentId, message: &str) -> Result<(), ControlError> {
        tracing::info!(incident = id, "{message}");
        let entry = self
            .inner
            .store
            .append_timeline(&TimelineEntry::new(id, TimelineKind::Note, message))
            .await?;
        self.inner.live.send(LiveEvent::Timeline(entry));
        Ok(())
    }

    /// Live events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.inner.live.subscribe()
    }

    /// A number that changes after every change this agent makes to
    /// incidents, timelines, actions or approvals (read it *before* reading
    /// the store, and a cached answer tagged with it is exact for this agent).
    pub fn records_version(&self) -> u64 {
        self.inner.live.records_version()
    }

    /// The agent's Prometheus series.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The metrics' text exposition, with the probe scheduler's counters
    /// read now.
    pub fn metrics_text(&self) -> String {
        (self.inner.metrics).probe_scheduler(self.inner.scheduler.stats());
        self.inner.metrics.encode()
    }
}

fn not_found(what: &'static str, name: &str) -> ControlError {
    ControlError::NotFound {
        what,
        name: name.to_string(),
    }
}

fn view(
    targets: &BTreeMap<String, crate::targets::TargetRuntime>,
    name: &str,
) -> Option<ComponentView> {
    let runtime = targets.get(name)?;
    let config = &runtime.config;
    Some(ComponentView {
        name: config.name.clone(),
        source: match runtime.origin {
            Origin::Config => "config",
            Origin::Api(_) => "api",
        },
        state: runtime.health.state(),
        watched_here: runtime.owned,
        labels: config.labels.clone(),
        probes: config
            .probes
            .iter()
            .map(|p| match &runtime.endpoint {
                Some(endpoint) if p.uses_endpoint() => p.at_endpoint(endpoint).describe(),
                _ => p.describe(),
            })
            .collect(),
        endpoints: config.endpoints.clone(),
        active_endpoint: runtime.endpoint.clone(),
        remedies: config.remedies.iter().map(|r| r.name.clone()).collect(),
        health: runtime.errors.snapshot(),
        latency_ms: runtime.latencies.iter().copied().collect(),
        spec: match &runtime.origin {
            Origin::Api(spec) => Some(spec.as_ref().clone()),
            Origin::Config => None,
        },
    })
}
