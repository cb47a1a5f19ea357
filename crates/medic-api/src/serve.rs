//! Binding and serving, over plain HTTP or TLS: the API refuses to listen
//! beyond loopback without keys, whatever the config validation said.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use medic_agent::Agent;
use medic_engine::config::Config;

use crate::ApiState;

/// Why the API could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The config's server, auth or webhook settings cannot be used.
    #[error("{0}")]
    Config(String),
    /// The address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// The address.
        address: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Serves the API for `agent` on `config.server.listen` (port 0 picks one)
/// until the process ends; returns the bound address.
pub async fn serve(
    agent: Agent,
    config: &Config,
    env: &BTreeMap<String, String>,
) -> Result<SocketAddr, ServeError> {
    let address = config.server.listen.as_str();
    let state = ApiState::new(agent, config, env)?;
    let wanted: SocketAddr = address
        .parse()
        .map_err(|e| ServeError::Config(format!("server.listen: {e}")))?;
    if !wanted.ip().is_loopback() && state.keys.is_open() {
        return Err(ServeError::Config(format!(
            "server.listen: {wanted} is reachable from other hosts; configure [auth] keys first"
        )));
    }
    // Certificates are read before binding: a bad file fails the start.
    let acceptor = config
        .server
        .tls
        .as_ref()
        .map(crate::tls::acceptor)
        .transpose()?;
    let listener = crate::listen::bind(wanted).map_err(|source| ServeError::Listen {
        address: address.to_string(),
        source,
    })?;
    let bound = listener.local_addr().map_err(|source| ServeError::Listen {
        address: address.to_string(),
        source,
    })?;
    let max_body = usize::try_from(config.server.max_body_bytes).unwrap_or(usize::MAX);
    let router = crate::router(state, max_body);
    let file_limit = crate::listen::limits::raise_file_limit();
    let max_connections =
        crate::listen::limits::max_connections(config.server.max_connections, file_limit);
    let timeouts = crate::listen::Timeouts {
        header: config.server.header_timeout.get(),
        idle: config.server.idle_timeout.get(),
    };
    tracing::info!(%bound, max_connections, file_limit, "the API is listening");
    tokio::spawn(crate::listen::accept_loop(
        listener,
        acceptor,
        router,
        max_connections,
        timeouts,
    ));
    Ok(bound)
}
