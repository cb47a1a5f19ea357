//! Our own accept loop, so the listener cannot be starved: every connection
//! has a header timeout and an idle timeout, and at `max_connections` the
//! oldest connection that is idle or still waiting for headers is closed to
//! make room for the new one (`tracker.rs`). `connection.rs` serves one
//! connection; `limits.rs` sizes the cap from the file limit.

mod connection;
pub(crate) mod limits;
mod tracker;

use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

pub(crate) use tracker::Timeouts;

/// Accepts connections until the process ends.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: Router,
    max_connections: usize,
    timeouts: Timeouts,
) {
    let tracker = tracker::Tracker::new(max_connections);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait, do not spin.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(slot) = tracker.admit() else {
            // Every connection has a request in flight: this one waits its turn
            // by being refused, rather than taking a descriptor we need.
            tracing::warn!(%peer, open = tracker.open(), "connection refused: every connection is busy");
            continue;
        };
        let (tls, app) = (tls.clone(), app.clone());
        tokio::spawn(connection::run(stream, peer, tls, app, slot, timeouts));
    }
}
