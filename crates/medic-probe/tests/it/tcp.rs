use medic_engine::config::TcpProbe;
use medic_probe::tcp::TcpCheck;
use tokio::net::TcpListener;

use crate::support::{closed_port, probe_source};

fn tcp_probe(address: &str) -> TcpProbe {
    toml::from_str(&format!("address = {address:?}\ntimeout = \"500ms\""))
        .expect("tcp probe parses")
}

#[tokio::test]
async fn a_listening_port_is_healthy() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    let signal = TcpCheck::new(&tcp_probe(&address), "tcp:x")
        .check("db")
        .await;
    assert!(signal.healthy, "{signal:?}");
    assert_eq!(signal.source, probe_source("tcp:x"));
    assert!(signal.latency_ms.is_some());
}

#[tokio::test]
async fn a_closed_port_is_connection_refused() {
    let address = closed_port().await.to_string();
    let signal = TcpCheck::new(&tcp_probe(&address), "tcp").check("db").await;
    assert!(!signal.healthy);
    assert_eq!(signal.message, "connection refused");
    assert_eq!(
        signal.evidence,
        [format!(
            "connect {address}: Connection refused (os error 111)"
        )]
    );
}

#[tokio::test]
async fn an_unresolvable_host_is_unhealthy_within_the_timeout() {
    let started = std::time::Instant::now();
    let signal = TcpCheck::new(&tcp_probe("no-such-host.invalid:80"), "tcp")
        .check("db")
        .await;
    assert!(!signal.healthy);
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
}
