//! # medic-act
//!
//! medic's hands: the *action* stage of the loop. Given a remedy's
//! [`Action`](medic_engine::config::Action) and the incident it answers,
//! [`Executor::run`] does it and reports an [`ActionOutcome`]: success or
//! not, a bounded excerpt of what happened, a one-line error and the time it
//! took. A failed action is data, never an `Err` and never a panic, so the
//! agent can always record it and move to the next rung of the ladder.
//!
//! | action | module | what it does |
//! | --- | --- | --- |
//! | `http` | `http.rs` | one request, rendered and bounded by its timeout; never retried (a remedy may not be idempotent) |
//! | `exec` | `exec.rs` | an argv (never a shell string) in its own process group; the whole group is killed on timeout |
//! | `restart` | `supervise/` | asks the [`Supervisor`] to restart a process medic owns |
//! | `failover` | (the agent's `failover.rs`) | probes the target's other `endpoints`, makes the first healthy one active |
//! | `escalate` | `escalate/` | a webhook in medic's, PagerDuty's or Slack's shape ([`escalation_payload`]); transient failures retried |
//! | `wait` | `executor.rs` | sleeps, for things that come back by themselves |
//!
//! ## Safety
//!
//! Placeholders (`{{target.name}}`, …) are filled by
//! [`medic_engine::safety`]: one argv element each, percent-encoded in URLs,
//! JSON-escaped in bodies. The destructive-command guard runs on the
//! *rendered* argv right before spawning, whatever `medic check` said.
//! Each (target, remedy) pair has a circuit breaker: an action that keeps
//! failing is skipped until its breaker lets a trial through
//! ([`Executor::is_open`]).
//!
//! ## Processes
//!
//! Every process this crate starts gets its own process group, and every
//! kill is a kill of that group: a shell's background children or nginx's
//! workers would otherwise outlive their parent and keep its port. Unix only.

mod breakers;
mod context;
mod escalate;
mod exec;
mod executor;
mod http;
mod kubernetes;
mod outcome;
mod process_group;
mod supervise;
mod systemd;

pub use breakers::BreakerSettings;
pub use context::ActionContext;
pub use escalate::{escalation_payload, incident_link};
pub use executor::{Executor, ExecutorBuildError, ExecutorBuilder};
pub use outcome::{ActionOutcome, MAX_ERROR_CHARS, MAX_OUTPUT_BYTES};
pub use supervise::{SuperviseError, Supervisor, SupervisorBuilder};
