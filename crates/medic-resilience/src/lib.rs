//! medic-resilience: make any async call resilient.
#![doc = "(crate docs are written in lib.rs once all modules exist)"]

pub mod backoff;
pub mod classify;
pub mod clock;
mod error;
pub mod events;
pub mod breaker;
pub mod retry;
mod rng;

pub use error::{ConfigError, Error};
