//! medic's outbound HTTP(S) clients.
//!
//! Every request medic makes — probes, http remedies, escalations, the CI
//! platforms' and the language model's APIs, pipeline steps and
//! `medic run --report-to` — goes through a `reqwest::Client` built here, so
//! there is one answer to "which servers does medic trust": the system's
//! roots (`rustls-native-certs`) plus the configured `ca_file`, verified by
//! rustls with the `ring` provider (the one crypto library in the build,
//! shared with the API's listener and sqlx; no OpenSSL, no aws-lc).
//!
//! Settings come from `[tls]` and an endpoint's own `tls = { … }`
//! ([`medic_engine::config::ClientTls`]); [`Clients`] keeps one client (one
//! connection pool) per distinct effective setting. [`preflight`] is what
//! `medic check` and `medic serve` both run before anything starts, so the
//! two reach the same verdict on unreadable certificate files.

mod cert;
mod clients;
mod describe;
mod kubernetes;
mod preflight;
mod tls;

pub use cert::{not_after, peer_certificate_expiry};
pub use clients::{ClientError, Clients};
pub use describe::describe_tls_error;
pub use kubernetes::{KubeApi, KubeError};
pub use preflight::{Preflight, preflight};
pub use tls::{TlsError, builder, rustls_config};

/// Re-exported so callers name the settings without depending on the engine.
pub use medic_engine::config::ClientTls;
