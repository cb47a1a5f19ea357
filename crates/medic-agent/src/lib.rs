//! # medic-agent
//!
//! The healing loop, wired: the probe scheduler and supervised processes
//! produce [`Signal`](medic_model::Signal)s; each target's
//! [`TargetHealth`](medic_engine::health::TargetHealth) turns them into state
//! changes; a target that turns unhealthy gets an incident, handled by one task
//! per target (`incident.rs`): diagnose, plan, record the intent, act, verify,
//! learn, and either resolve or move down the ladder to escalation.
//!
//! Every decision comes from `medic-engine`; every fact goes to the
//! [`Store`](medic_store::Store) before the step that depends on it.

mod agent;
pub mod api;
mod incident;
mod targets;

pub use agent::{Agent, AgentError, AgentOptions};
