//! Error classification (being written).
mod verdict;
pub use verdict::{Classify, Verdict};
