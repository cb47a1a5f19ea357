//! One client connection: HTTP/1.1 over plain TCP or TLS, closed when its
//! first request's headers take longer than `header_timeout`, when it sits
//! idle between requests longer than `idle_timeout`, or when the accept
//! loop evicts it. (A later request's headers, trickled in slowly, count as
//! idle time: such a connection is also the first evicted at the cap.)

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::ConnectInfo;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use super::tracker::{Connection, Slot, Timeouts};

/// Serves `stream` until the client leaves, a timeout passes or the accept
/// loop evicts it; a TLS handshake counts as waiting for headers.
pub(crate) async fn run(
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    app: Router,
    slot: Slot,
    timeouts: Timeouts,
) {
    let connection = slot.connection().clone();
    match tls {
        None => serve(stream, peer, app, &connection, timeouts).await,
        Some(acceptor) => {
            let handshake = tokio::time::timeout(timeouts.header, acceptor.accept(stream));
            let tls = tokio::select! {
                result = handshake => result,
                () = connection.evicted() => return,
            };
            match tls {
                Ok(Ok(tls)) => serve(tls, peer, app, &connection, timeouts).await,
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        }
    }
    drop(slot);
}

async fn serve<I>(
    io: I,
    peer: SocketAddr,
    app: Router,
    connection: &Arc<Connection>,
    timeouts: Timeouts,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let tracked = connection.clone();
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request
            .extensions_mut()
            .insert(ConnectInfo::<SocketAddr>(peer));
        let in_flight = tracked.start_request();
        let app = app.clone();
        async move {
            let response = app.oneshot(request).await?;
            // The request stays in flight until its body is sent, so a
            // long answer (the event stream) is never taken for idle.
            Ok::<_, Infallible>(response.map(|body| {
                axum::body::Body::new(body.map_frame(move |frame| {
                    let _ = &in_flight;
                    frame
                }))
            }))
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    // hyper's own header-read timer also runs while a kept-alive connection
    // waits for its next request, which would cut `idle_timeout` down to
    // `header_timeout`: the deadlines below enforce both instead.
    builder.header_read_timeout(None);
    let served = builder
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::pin!(served);
    loop {
        let deadline = connection.deadline(timeouts);
        let expired = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            result = served.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                return;
            }
            () = connection.evicted() => {
                tracing::debug!(%peer, "connection evicted to make room");
                return;
            }
            () = connection.changed() => {}
            () = expired => {
                if connection.deadline(timeouts).is_some_and(|at| at <= std::time::Instant::now()) {
                    tracing::debug!(%peer, "connection closed: idle or headers too slow");
                    return;
                }
            }
        }
    }
}
