//! Recovery: per-component policies applied by name, and statistics of what
//! recovery achieved ([`RecoveryStats`], in the JSON shape of medic's API).

mod engine;
mod stats;

pub use engine::{ComponentPolicy, ComponentPolicyBuilder, RecoveryEngine};
pub use stats::{RecoveryLog, RecoveryRecord, RecoveryStats, RecoveryTotals};
