//! The accept loop over a real socket (issue 12, item 8): a connection that
//! sends nothing is closed after `header_timeout`, an idle keep-alive one
//! after `idle_timeout`, the event stream is kept past it, and at
//! `max_connections` the oldest idle connection makes room for a new one.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn serve(server: &str) -> std::net::SocketAddr {
    let text = format!("[server]\nlisten = \"127.0.0.1:0\"\n{server}\n");
    let config = medic_engine::config::parse(&text, &Default::default()).expect("config");
    let store = medic_store::connect("sqlite::memory:")
        .await
        .expect("store");
    let agent = medic_agent::Agent::start(config.clone(), store, Default::default())
        .await
        .expect("agent");
    medic_api::serve(agent, &config, &Default::default())
        .await
        .expect("serves")
}

/// Whether the server closed `stream` within `limit` (EOF or reset).
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut buffer = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

async fn get(stream: &mut TcpStream, address: std::net::SocketAddr, path: &str) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("writes");
    let mut buffer = vec![0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer))
        .await
        .expect("answers in time")
        .expect("reads");
    String::from_utf8_lossy(&buffer[..read]).into_owned()
}

#[tokio::test]
async fn silent_and_idle_connections_are_closed_the_event_stream_is_not() {
    let address = serve("header_timeout = \"300ms\"\nidle_timeout = \"600ms\"").await;

    let mut silent = TcpStream::connect(address).await.expect("connects");
    assert!(!closed_within(&mut silent, Duration::from_millis(150)).await);
    assert!(
        closed_within(&mut silent, Duration::from_secs(2)).await,
        "header timeout"
    );

    let mut kept_alive = TcpStream::connect(address).await.expect("connects");
    assert!(
        get(&mut kept_alive, address, "/health")
            .await
            .starts_with("HTTP/1.1 200")
    );
    // Past the header timeout, inside the idle one: still open.
    assert!(!closed_within(&mut kept_alive, Duration::from_millis(400)).await);
    assert!(
        closed_within(&mut kept_alive, Duration::from_secs(2)).await,
        "idle timeout"
    );

    let mut stream = TcpStream::connect(address).await.expect("connects");
    let head = get(&mut stream, address, "/api/v1/events/stream").await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        !closed_within(&mut stream, Duration::from_millis(1500)).await,
        "the event stream outlives the idle timeout"
    );
}

#[tokio::test]
async fn at_the_cap_the_oldest_idle_connection_makes_room() {
    let address = serve("max_connections = 3").await;
    let mut idle = Vec::new();
    for _ in 0..3 {
        idle.push(TcpStream::connect(address).await.expect("connects"));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A fourth client is served: the oldest silent one was closed for it.
    let mut fresh = TcpStream::connect(address).await.expect("connects");
    assert!(
        get(&mut fresh, address, "/health")
            .await
            .starts_with("HTTP/1.1 200")
    );
    assert!(
        closed_within(&mut idle[0], Duration::from_secs(1)).await,
        "the oldest went"
    );
    assert!(
        !closed_within(&mut idle[2], Duration::from_millis(100)).await,
        "the newest stays"
    );
}
