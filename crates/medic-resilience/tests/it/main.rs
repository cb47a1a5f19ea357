//! Integration tests of medic-resilience's public API, one module per policy.

mod bulkhead;
mod fallback_rollback;
mod layer;
mod monitor;
mod pipeline;
mod recovery;
mod retry;
