//! https probes against loopback servers with a CA made in the test: the
//! certificate's expiry as a condition, JSON body conditions, and TLS
//! failures as unhealthy signals that say what is wrong.

use medic_engine::config::{ClientTls, HttpProbe, Probe};
use medic_probe::{ProbeCheck, Prober};

#[path = "../../../medic-client/tests/support/tls.rs"]
mod tls;

use tls::{TestCa, https_server, server_config};

fn probe(url: &str, extra_keys: &str) -> Probe {
    let http: HttpProbe =
        toml::from_str(&format!("url = {url:?}\n{extra_keys}")).expect("http probe parses");
    Probe::Http(http)
}

/// A prober whose `[tls]` trusts `ca`.
fn prober(ca: &TestCa) -> Prober {
    Prober::with_tls(ClientTls {
        ca_file: Some(ca.ca_file()),
        ..ClientTls::default()
    })
}

async fn check(prober: &Prober, probe: &Probe) -> medic_model::Signal {
    match prober.build(probe, "http") {
        Ok(check @ ProbeCheck::Http(_)) => check.check("web").await,
        other => panic!("expected an http check, got {other:?}"),
    }
}

const HEALTH: &str = r#"{"status":"ok","checks":[{"name":"db","up":true}],"version":3}"#;

#[tokio::test]
async fn a_certificate_expiring_within_the_window_fails_early_naming_the_date() {
    let ca = TestCa::new("probe CA");
    let server = ca.issue("soon", &["localhost"], -60, 5);
    let https = https_server(server_config(&server, None), |_| (200, HEALTH.into())).await;
    let prober = prober(&ca);

    let (y, m, d) = tls::days_from_now(5);
    let signal = check(
        &prober,
        &probe(&https.url("/health"), "cert_expires_within = \"14d\""),
    )
    .await;
    assert!(!signal.healthy, "{signal:?}");
    let date = format!("{y:04}-{m:02}-{d:02}");
    assert!(
        signal
            .message
            .starts_with(&format!("certificate expires {date}")),
        "{signal:?}"
    );
    assert!(signal.message.ends_with("(within 14d)"), "{signal:?}");

    // Five days left is fine for a three-day window.
    let signal = check(
        &prober,
        &probe(&https.url("/health"), "cert_expires_within = \"3d\""),
    )
    .await;
    assert!(signal.healthy, "{signal:?}");
}

#[tokio::test]
async fn json_conditions_judge_the_body() {
    let ca = TestCa::new("probe CA");
    let server = ca.issue("localhost", &["localhost"], -1, 90);
    let https = https_server(server_config(&server, None), |_| (200, HEALTH.into())).await;
    let prober = prober(&ca);
    let url = https.url("/health");

    let cases = [
        (
            r#"json = [{ path = "$.status", equals = "ok" }, { path = "$.checks[0].up", equals = true }, { path = "$.version", equals = 3 }]"#,
            None,
        ),
        (r#"json = [{ path = "$.checks[0].name" }]"#, None),
        (
            r#"json = [{ path = "$.status", equals = "degraded" }]"#,
            Some(r#"$.status is "ok", expected "degraded""#),
        ),
        (
            r#"json = [{ path = "$.checks[1].up" }]"#,
            Some("$.checks[1].up is missing from the body"),
        ),
    ];
    for (keys, failure) in cases {
        let signal = check(&prober, &probe(&url, keys)).await;
        match failure {
            None => assert!(signal.healthy, "{keys}: {signal:?}"),
            Some(message) => {
                assert!(!signal.healthy, "{keys}: {signal:?}");
                assert_eq!(signal.message, message, "{keys}");
            }
        }
    }
}

#[tokio::test]
async fn a_body_that_is_not_json_fails_json_conditions() {
    let ca = TestCa::new("probe CA");
    let server = ca.issue("localhost", &["localhost"], -1, 90);
    let https = https_server(server_config(&server, None), |_| (200, "<html>".into())).await;
    let signal = check(
        &prober(&ca),
        &probe(&https.url("/"), r#"json = [{ path = "$.status" }]"#),
    )
    .await;
    assert_eq!(signal.message, "body is not JSON");
}

#[tokio::test]
async fn tls_failures_are_unhealthy_signals_in_words() {
    let ca = TestCa::new("probe CA");
    let expired = ca.issue("expired", &["localhost"], -30, -1);
    let https = https_server(server_config(&expired, None), |_| (200, HEALTH.into())).await;
    let signal = check(&prober(&ca), &probe(&https.url("/"), "")).await;
    assert!(!signal.healthy);
    assert_eq!(signal.message, "TLS: certificate expired");

    // A probe's own tls = { … } goes over [tls]: here it names the server.
    let other_name = ca.issue("other", &["shop.internal"], -1, 30);
    let https = https_server(server_config(&other_name, None), |_| (200, HEALTH.into())).await;
    let signal = check(&prober(&ca), &probe(&https.url("/"), "")).await;
    assert_eq!(signal.message, "TLS: certificate not valid for this name");
    let signal = check(
        &prober(&ca),
        &probe(
            &https.url("/"),
            r#"tls = { server_name = "shop.internal" }"#,
        ),
    )
    .await;
    assert!(signal.healthy, "{signal:?}");
}
