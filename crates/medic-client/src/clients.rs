//! One client per distinct TLS setting: endpoints that share settings share
//! a connection pool, and an endpoint with its own CA or client certificate
//! gets a client of its own, built once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use medic_engine::config::{ClientTls, effective_tls};

use crate::tls::{TlsError, builder};

/// A client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The TLS settings are unusable (a file, a name, a key).
    #[error("tls: {0}")]
    Tls(#[from] TlsError),
    /// reqwest refused the builder.
    #[error("cannot create the http client: {0}")]
    Build(#[source] reqwest::Error),
}

/// The effective settings as a map key.
type Key = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    bool,
);

fn key(tls: &ClientTls) -> Key {
    (
        tls.ca_file.clone(),
        tls.client_cert.clone(),
        tls.client_key.clone(),
        tls.server_name.clone(),
        tls.insecure,
    )
}

/// Clients under one `[tls]`, each finished by the same `configure` (user
/// agent, proxies, pool). Cheap to clone: clones share the clients.
#[derive(Clone)]
pub struct Clients {
    inner: Arc<Inner>,
}

struct Inner {
    global: ClientTls,
    configure: fn(reqwest::ClientBuilder) -> reqwest::ClientBuilder,
    built: Mutex<HashMap<Key, reqwest::Client>>,
}

impl std::fmt::Debug for Clients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clients")
            .field("global", &self.inner.global)
            .finish_non_exhaustive()
    }
}

impl Clients {
    /// Clients trusting what `global` (the `[tls]` section) says, finished by `configure`.
    pub fn new(
        global: ClientTls,
        configure: fn(reqwest::ClientBuilder) -> reqwest::ClientBuilder,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                global,
                configure,
                built: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The client for an endpoint with `own` settings (`None`: `[tls]` alone).
    pub fn get(&self, own: Option<&ClientTls>) -> Result<reqwest::Client, ClientError> {
        let effective = effective_tls(own, &self.inner.global);
        let key = key(&effective);
        let mut built = self
            .inner
            .built
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(client) = built.get(&key) {
            return Ok(client.clone());
        }
        let client = (self.inner.configure)(builder(&effective)?)
            .build()
            .map_err(ClientError::Build)?;
        built.insert(key, client.clone());
        Ok(client)
    }
}
