//! Our own accept loop, so the listener cannot be starved: every connection
//! has a header timeout and an idle timeout, and at `max_connections` the
//! oldest connection that is idle or still waiting for headers is closed to
//! make room for the new one (`tracker.rs`). `connection.rs` serves one
//! connection; `limits.rs` sizes the cap from the file limit.

mod connection;
pub(crate) mod limits;
mod tracker;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

pub(crate) use tracker::Timeouts;

/// Connections the kernel may queue before we accept them (it caps this at
/// `net.core.somaxconn`, 4096 on current kernels). A burst of connections
/// that fills the queue makes the kernel drop the next SYN, and a real
/// client then waits a whole second for its retransmission.
const BACKLOG: u32 = 4096;

/// Binds `address` with a deep accept queue.
pub(crate) fn bind(address: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if address.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // As std's bind does: a restart may bind while old connections linger.
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(BACKLOG)
}

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
