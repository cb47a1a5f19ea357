use std::time::Duration;

use medic_engine::config::{HttpProbe, Probe};
use medic_probe::Prober;
use medic_probe::http::HttpCheck;

use crate::support::{BIG_BODY_MARKER, CannedServer, closed_port, probe_source};

/// An http probe from its TOML keys, the way users write it.
fn http_probe(url: &str, extra_keys: &str) -> HttpProbe {
    toml::from_str(&format!("url = {url:?}\n{extra_keys}")).expect("http probe parses")
}

fn build(probe: HttpProbe) -> HttpCheck {
    let prober = Prober::new().expect("client builds");
    match prober.build(&Probe::Http(probe), "http") {
        Ok(medic_probe::ProbeCheck::Http(check)) => check,
        other => panic!("expected an http check, got {other:?}"),
    }
}

#[tokio::test]
async fn a_2xx_answer_is_healthy_and_timed() {
    let server = CannedServer::start().await;
    let signal = build(http_probe(&server.url("/ok"), "")).check("web").await;
    assert!(signal.healthy, "{signal:?}");
    assert_eq!(signal.target, "web");
    assert_eq!(signal.source, probe_source("http"));
    assert!(signal.latency_ms.is_some_and(|ms| ms >= 0.0));
}

#[tokio::test]
async fn a_500_is_unhealthy_with_the_first_body_lines_as_evidence() {
    let server = CannedServer::start().await;
    let signal = build(http_probe(&server.url("/fail"), ""))
        .check("web")
        .await;
    assert!(!signal.healthy);
    assert_eq!(signal.message, "HTTP 500");
    assert_eq!(
        signal.evidence,
        ["database connection lost", "at pool.rs:12", "retrying"]
    );
    assert!(signal.latency_ms.is_some());
}

#[tokio::test]
async fn expect_status_replaces_the_2xx_default() {
    let server = CannedServer::start().await;
    let teapot = server.url("/teapot");
    let expected = build(http_probe(&teapot, "expect_status = [418]"))
        .check("web")
        .await;
    assert!(expected.healthy, "{expected:?}");
    let unexpected = build(http_probe(&teapot, "expect_status = [200]"))
        .check("web")
        .await;
    assert_eq!(unexpected.message, "HTTP 418");
    let ok_but_not_listed = build(http_probe(&server.url("/ok"), "expect_status = [204]"))
        .check("web")
        .await;
    assert_eq!(ok_but_not_listed.message, "HTTP 200");
}

#[tokio::test]
async fn body_contains_and_body_regex_judge_the_body() {
    let server = CannedServer::start().await;
    let json = server.url("/json");
    let contains = build(http_probe(&json, r#"body_contains = "green""#))
        .check("web")
        .await;
    assert!(contains.healthy, "{contains:?}");
    let missing = build(http_probe(&json, r#"body_contains = "red""#))
        .check("web")
        .await;
    assert_eq!(missing.message, r#"body does not contain "red""#);
    assert_eq!(missing.evidence, [r#"{"status":"green","db":"up"}"#]);

    let matches = build(http_probe(&json, r#"body_regex = '"db":\s*"up"'"#))
        .check("web")
        .await;
    assert!(matches.healthy, "{matches:?}");
    let no_match = build(http_probe(&json, r#"body_regex = '"db":\s*"down"'"#))
        .check("web")
        .await;
    assert_eq!(no_match.message, r#"body does not match /"db":\s*"down"/"#);
}

#[tokio::test]
async fn a_slower_answer_than_max_latency_is_unhealthy() {
    let server = CannedServer::start().await;
    let signal = build(http_probe(&server.url("/slow"), r#"max_latency = "100ms""#))
        .check("web")
        .await;
    assert!(!signal.healthy);
    assert!(
        signal.message.starts_with("slow: ") && signal.message.ends_with("ms > 100ms"),
        "{}",
        signal.message
    );
    assert!(signal.latency_ms.is_some_and(|ms| ms >= 300.0));
    let relaxed = build(http_probe(&server.url("/slow"), r#"max_latency = "5s""#))
        .check("web")
        .await;
    assert!(relaxed.healthy, "{relaxed:?}");
}

#[tokio::test]
async fn a_hanging_server_times_out_within_the_probe_timeout() {
    let server = CannedServer::start().await;
    let check = build(http_probe(&server.url("/hang"), r#"timeout = "200ms""#));
    let started = std::time::Instant::now();
    let signal = check.check("web").await;
    assert_eq!(signal.message, "timed out after 200ms");
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(signal.latency_ms.is_some_and(|ms| ms >= 200.0));
}

#[tokio::test]
async fn a_closed_port_is_connection_refused() {
    let address = closed_port().await;
    let signal = build(http_probe(&format!("http://{address}/health"), ""))
        .check("web")
        .await;
    assert!(!signal.healthy);
    assert_eq!(signal.message, "connection refused");
    assert_eq!(signal.evidence.len(), 1);
}

#[tokio::test]
async fn only_the_first_64_kib_of_the_body_is_read() {
    let server = CannedServer::start().await;
    let signal = build(http_probe(
        &server.url("/big"),
        &format!("body_contains = {BIG_BODY_MARKER:?}"),
    ))
    .check("web")
    .await;
    assert_eq!(
        signal.message,
        format!("body does not contain {BIG_BODY_MARKER:?}")
    );
    // The one evidence line is cut, not 64 KiB long.
    assert!(signal.evidence.iter().all(|line| line.len() < 1024));
}

#[tokio::test]
async fn repeated_checks_reuse_one_keep_alive_connection() {
    let server = CannedServer::start().await;
    let check = build(http_probe(&server.url("/ok"), ""));
    for _ in 0..5 {
        assert!(check.check("web").await.healthy);
    }
    assert_eq!(server.connections_accepted(), 1);
}

#[tokio::test]
async fn probes_built_by_one_prober_share_the_connection_pool() {
    let server = CannedServer::start().await;
    let prober = Prober::new().expect("client builds");
    let first = prober
        .build(&Probe::Http(http_probe(&server.url("/ok"), "")), "a")
        .expect("builds");
    let second = prober
        .build(&Probe::Http(http_probe(&server.url("/json"), "")), "b")
        .expect("builds");
    assert!(first.check("web").await.healthy);
    assert!(second.check("web").await.healthy);
    assert_eq!(server.connections_accepted(), 1);
}

#[tokio::test]
async fn the_configured_method_is_sent() {
    let server = CannedServer::start().await;
    let signal = build(http_probe(
        &server.url("/method"),
        r#"method = "post"
body_contains = "POST""#,
    ))
    .check("web")
    .await;
    assert!(signal.healthy, "{signal:?}");
}
