//! # medic-probe
//!
//! medic's eyes: it looks at targets and turns what it sees into
//! [`Signal`](medic_model::Signal)s, the first stage of medic's loop.
//!
//! - [`Prober`] builds a [`ProbeCheck`] from each configured
//!   [`Probe`](medic_engine::config::Probe): [`http`], [`tcp`], [`exec`],
//!   [`process`], [`systemd`]. A check never returns an error: a failure is an unhealthy
//!   signal with a short `message` (`HTTP 500`, `connection refused`,
//!   `timed out after 500ms`, `exit status 3`, `process 1234 is a zombie`) and
//!   `evidence` lines, and every check is bounded by the probe's `timeout`.
//! - [`log::LogTail`] follows a log file like `tail -F` and reports the lines
//!   that match the watch's patterns, with context.
//! - [`scheduler::Scheduler`] runs many checks on time: spread, drift-free,
//!   bounded in concurrency, with a fast mode for suspect targets.
//!
//! The [`Check`] trait is the edge between the scheduler and the probes, so
//! the scheduler is tested with fakes and paused time.
//!
//! Only plain `http://` URLs are probed for now: the crate is built without
//! a TLS stack (fast to compile), and an `https://` probe is refused when it
//! is built ([`ProbeBuildError::UnsupportedScheme`]). Unix only (`/proc`,
//! inodes, signals).

mod check;
mod error;
mod excerpt;
pub mod exec;
pub mod http;
mod io_error;
pub mod kubernetes;
pub mod log;
mod prober;
pub mod process;
pub mod scheduler;
pub mod systemd;
pub mod tcp;

pub use check::{Check, CheckFuture};
pub use error::ProbeBuildError;
pub use prober::{ProbeCheck, Prober, default_probe_name};
