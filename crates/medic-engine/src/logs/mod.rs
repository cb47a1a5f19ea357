//! Log analysis: from a failure's window of log lines to templates, a
//! root-cause line and a confidence.
//!
//! - [`template`]: masks the variable parts of a line ([`template_of`]) so
//!   that lines printed by the same statement share a template and a hash;
//!   [`TemplateMiner`] groups a stream of lines into clusters, Drain-style.
//! - [`level`]: the level a line's writer gave it ([`level_of`]).
//! - [`root_cause`]: which line caused the failure ([`choose_root_cause`])
//!   and how sure to be ([`confidence`]).
//! - [`scan`]: the same reading over a whole log at once ([`LogScanner`]),
//!   skipping healthy lines with one automaton.

pub mod level;
pub mod root_cause;
pub mod scan;
pub mod template;

pub use level::{Level, level_of};
pub use root_cause::{LineFacts, choose_root_cause, confidence, read_lines};
pub use scan::{LogScanner, ScanReport};
pub use template::{Cluster, TemplateMiner, WILDCARD, template_hash, template_into, template_of};
