//! # medic-engine
//!
//! medic's decisions, with no IO and no clock: what the configuration means
//! ([`config`]), how healthy a target is ([`health`]), why it failed
//! ([`diagnosis`], reading logs with [`logs`]), what may run ([`safety`])
//! and in which order ([`plan`]), helped by [`similar`] past incidents. Verification and
//! learning join here as they are built; the agent does the IO around them.

pub mod config;
pub mod diagnosis;
pub mod health;
pub mod host;
pub mod lifecycle;
pub mod logs;
pub mod maintenance;
pub mod pipeline;
pub mod plan;
pub mod redact;
pub mod safety;
pub mod similar;
pub mod text;
