//! # medic-engine
//!
//! medic's decisions, with no IO and no clock: what the configuration means
//! ([`config`]) and what may run ([`safety`]). Planning, verification and
//! learning join here as they are built; the agent does the IO around them.

pub mod config;
pub mod safety;
