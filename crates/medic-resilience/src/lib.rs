//! # medic-resilience
//!
//! Make any async call resilient: classify its errors, retry the transient ones
//! with backoff and jitter, stop calling a dependency that keeps failing, fall
//! back, undo half-done work, bound time and concurrency, and keep score.
//!
//! | module | what it does |
//! | --- | --- |
//! | [`classify`] | any error → [`classify::ErrorContext`] (category, severity, retryable, stable fingerprint) |
//! | [`backoff`] | exponential delays with none / full / equal / decorrelated jitter |
//! | [`retry`] | bounded retry loop, `Retry-After`, per-attempt timeout, deadline, retry budget, adaptive throttling |
//! | [`breaker`] | circuit breaker: count or time window, rate or consecutive failures, slow calls, half-open trials |
//! | [`fallback`], [`rollback`] | ordered alternatives; compensations undone newest first |
//! | [`timeout`], [`bulkhead`] | one call's time; concurrent calls with a bounded queue |
//! | [`health`] | per-component error rate and latency percentiles; a monitor running checks |
//! | [`recovery`] | policies by component name, and recovery statistics |
//! | [`pipeline`], [`layer`] | composition in a documented order; tower layers |
//! | [`presets`] | named, validated starting points |
//!
//! ## Design
//!
//! - **Operations are re-creatable**: retry takes `FnMut() -> Future`, so nothing
//!   is cloned to try again; single-shot policies take a future, like
//!   `tokio::time::timeout`.
//! - **One error type**, [`Error`], so composed policies do not nest errors.
//! - **Validated constructors**: every builder's `build()` returns a
//!   [`ConfigError`] naming the offending field instead of panicking later.
//! - **No allocation on the success path** of retry, breaker, timeout, bulkhead
//!   and pipeline: policies are plain `async fn`s over the caller's future.
//! - **Time is injectable** ([`clock::Clock`]): tests run with paused tokio time
//!   or a manual clock, so schedules are exact and fast.
//! - **Telemetry** goes through `tracing` and an optional
//!   [`events::EventListener`]; only decisions are events, never plain successes.
//!
//! ```
//! use medic_resilience::{pipeline::Pipeline, presets};
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pipeline = Pipeline::builder()
//!     .retry(presets::retry("fast")?.build()?)
//!     .breaker(presets::breaker("standard", "orders-db")?.build()?)
//!     .build();
//! let rows = pipeline.call(|| async { Ok::<_, std::io::Error>(3) }).await?;
//! assert_eq!(rows, 3);
//! # Ok(()) }
//! ```

pub mod backoff;
pub mod breaker;
pub mod bulkhead;
pub mod classify;
pub mod clock;
mod error;
pub mod events;
pub mod fallback;
pub mod health;
pub mod layer;
pub mod pipeline;
pub mod presets;
pub mod recovery;
pub mod retry;
mod rng;
pub mod rollback;
pub mod timeout;

pub use error::{ConfigError, Error};
