//! Health: how each component is doing, from what its calls and checks report.
//!
//! [`ComponentHealth`] keeps a sliding window of outcomes and latencies;
//! [`HealthStatus`] tiers follow the error rate ([`HealthThresholds`]);
//! [`HealthRegistry`] holds every component and derives the system's health;
//! [`HealthMonitor`] runs async checks on an interval and alerts on changes.

mod monitor;
mod registry;
mod status;
mod tracker;

pub use monitor::{HealthAlert, HealthMonitor};
pub use registry::{HealthRegistry, SystemHealth, TierCounts};
pub use status::{HealthStatus, HealthThresholds};
pub use tracker::{ComponentHealth, HealthSnapshot, LatencyPercentiles};
