//! # medic-agent
//!
//! The healing loop, wired: the probe scheduler and supervised processes
//! produce [`Signal`](medic_model::Signal)s; each target's
//! [`TargetHealth`](medic_engine::health::TargetHealth) turns them into state
//! changes; a target that turns unhealthy gets an incident, handled by one task
//! per target (`incident/`): diagnose, plan, record the intent, act (after a
//! human's approval where the policy asks for one, `approval.rs`), verify,
//! learn, and either resolve or move down the ladder to escalation.
//!
//! Every decision comes from `medic-engine`; every fact goes to the
//! [`Store`](medic_store::Store) before the step that depends on it. What the
//! API may ask of a running agent is in `control.rs`; planned windows that
//! hold healing back in `maintenance.rs`; what it tells live
//! watchers in [`LiveEvent`]; what Prometheus scrapes in [`Metrics`].

mod agent;
mod alerts;
mod approval;
mod ci;
mod components;
mod control;
mod failover;
mod fingerprints;
pub mod host;
mod incident;
mod intake;
mod learning;
mod leases;
mod live;
mod llm;
mod maintenance;
mod metrics;
mod targets;
mod triage;

pub use agent::{Agent, AgentError, AgentOptions};
pub use alerts::{ALERTS_TARGET, AlertNotice};
pub use ci::{CiJob, CiLocator, CiPlatform, CiPlatforms};
pub use components::{AppEvent, ComponentSpec, EventOutcome};
pub use control::{ComponentView, ControlError, MonitoringStatus};
pub use fingerprints::migrate_fingerprints;
pub use intake::IntakeError;
pub use live::LiveEvent;
pub use maintenance::{MaintenanceRequest, WindowView};
pub use metrics::Metrics;
pub use triage::{PlannedRemedy, Triage};
