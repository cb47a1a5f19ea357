//! # medic-api
//!
//! medic's HTTP surface over a running [`Agent`]: the REST API (`docs/api.md`),
//! its one error model (`error.rs`), API keys with scopes and signed
//! webhooks (`auth.rs`, `signature.rs`), per-key rate limits (`limit.rs`),
//! the OpenAPI document generated from the route table (`openapi.rs`),
//! Prometheus `/metrics`, the live event stream and the dashboard.
//!
//! Every route is declared once, in the route table ([`ROUTES`]): its method, path,
//! scope and summary build both the router and the OpenAPI document, so the
//! two cannot drift apart.

mod auth;
mod cache;
mod content_type;
mod dashboard;
mod error;
mod extract;
mod limit;
mod listen;
mod normalise;
mod openapi;
mod redact;
mod reference;
mod replay;
mod routes;
mod serve;
mod signature;
mod tls;
mod webhook_auth;

use std::collections::BTreeMap;
use std::sync::Arc;

use medic_agent::Agent;
use medic_engine::config::Config;
use medic_store::Store;

pub use auth::{Keys, Principal, hex, sha256};
pub use error::{ApiError, ERROR_CODES};
pub use reference::reference_markdown;
pub use routes::{Access, ROUTES, RouteDoc};
pub use serve::{ServeError, serve};
pub use signature::{Verifier, sign};
pub use webhook_auth::hub_signature;

/// What every handler shares: one `Arc`, so the clone each request makes
/// (router, guard, handler) is one counter, not one per part.
#[derive(Clone)]
pub struct ApiState(Arc<Shared>);

impl std::ops::Deref for ApiState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The parts of [`ApiState`].
pub struct Shared {
    agent: Agent,
    store: Arc<dyn Store>,
    keys: Arc<Keys>,
    limiter: Arc<limit::RateLimiter>,
    events_signature: Option<Arc<Verifier>>,
    request_timeout: std::time::Duration,
    incident_pages: Arc<cache::PageCache>,
    webhooks: Arc<webhook_auth::WebhookAuth>,
    /// Labels naming an alert's target, in the order they are tried.
    alert_target_labels: Arc<[String]>,
    /// The CI platforms' API clients, for the work after a CI webhook.
    ci: Arc<medic_agent::CiPlatforms>,
}

impl ApiState {
    /// The API over `agent`, configured from `config`; `env` supplies the
    /// secrets the config names (`key_env`, `secret_env`).
    pub fn new(
        agent: Agent,
        config: &Config,
        env: &BTreeMap<String, String>,
    ) -> Result<ApiState, ServeError> {
        let keys = Keys::load(&config.auth, env).map_err(|e| ServeError::Config(e.to_string()))?;
        let events_signature = match config
            .webhooks
            .generic
            .as_ref()
            .and_then(|w| w.secret_env.as_ref())
        {
            None => None,
            Some(var) => {
                let secret = env.get(var).filter(|s| !s.is_empty()).ok_or_else(|| {
                    ServeError::Config(format!(
                        "webhooks.generic.secret_env: environment variable {var} is not set"
                    ))
                })?;
                Some(Arc::new(Verifier::new(secret.as_bytes())))
            }
        };
        let webhooks =
            webhook_auth::WebhookAuth::load(&config.webhooks, env, events_signature.clone())?;
        let alert_target_labels = config
            .webhooks
            .alertmanager
            .clone()
            .unwrap_or_default()
            .target_labels
            .into();
        let ci = medic_agent::CiPlatforms::load(&config.webhooks, &config.tls, env)
            .map_err(ServeError::Config)?;
        Ok(ApiState(Arc::new(Shared {
            ci: Arc::new(ci),
            webhooks: Arc::new(webhooks),
            alert_target_labels,
            store: agent.store().clone(),
            agent,
            keys: Arc::new(keys),
            limiter: Arc::new(limit::RateLimiter::new(
                config.server.rate_limit,
                config.server.rate_burst,
            )),
            events_signature,
            request_timeout: config.server.request_timeout.get(),
            incident_pages: Arc::new(cache::PageCache::default()),
        })))
    }
}

/// The secrets `medic serve` needs before it binds (API keys, webhook
/// credentials, CI API tokens), checked without starting anything, so that
/// `medic check` reaches the verdict `serve` would: one error per problem.
pub fn check_secrets(config: &Config, env: &BTreeMap<String, String>) -> Vec<String> {
    let mut errors = Vec::new();
    if let Err(e) = Keys::load(&config.auth, env) {
        errors.push(e.to_string());
    }
    let generic = config.webhooks.generic.as_ref();
    let signature = match generic.and_then(|w| w.secret_env.as_ref()) {
        None => None,
        Some(var) => match env.get(var).filter(|s| !s.is_empty()) {
            Some(secret) => Some(Arc::new(Verifier::new(secret.as_bytes()))),
            None => {
                errors.push(format!(
                    "webhooks.generic.secret_env: environment variable {var} is not set"
                ));
                None
            }
        },
    };
    if let Err(e) = webhook_auth::WebhookAuth::load(&config.webhooks, env, signature) {
        errors.push(e.to_string());
    }
    if let Err(e) = medic_agent::CiPlatforms::load(&config.webhooks, &config.tls, env) {
        errors.push(e);
    }
    errors
}

/// The whole HTTP surface: API, webhooks' auth, metrics, dashboard.
pub fn router(state: ApiState, max_body_bytes: usize) -> axum::Router {
    routes::router(state, max_body_bytes)
}
