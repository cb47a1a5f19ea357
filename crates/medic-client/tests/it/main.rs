//! medic-client against loopback HTTPS servers with a CA made in the test:
//! the five cases every outbound client must get right, plus the two
//! per-endpoint escapes (`server_name`, `insecure`).

#![allow(clippy::unwrap_used)]

#[path = "../support/tls.rs"]
mod tls;

use medic_client::{ClientTls, describe_tls_error, peer_certificate_expiry};
use tls::{TestCa, https_server, server_config};

fn trusting(ca: &TestCa) -> ClientTls {
    ClientTls {
        ca_file: Some(ca.ca_file()),
        ..ClientTls::default()
    }
}

/// GETs `url` with a client for `settings`: the status, or the TLS words of the failure.
async fn get(settings: &ClientTls, url: &str) -> Result<u16, String> {
    let client = medic_client::builder(settings).unwrap().build().unwrap();
    match client.get(url).send().await {
        Ok(response) => Ok(response.status().as_u16()),
        Err(error) => {
            Err(describe_tls_error(&error).unwrap_or_else(|| format!("not TLS: {error:?}")))
        }
    }
}

const OK: fn(&tls::Recorded) -> (u16, String) = |_| (200, r#"{"status":"ok"}"#.into());

#[tokio::test]
async fn a_certificate_from_the_configured_ca_is_trusted_and_its_expiry_is_read() {
    let ca = TestCa::new("medic test CA");
    let server = ca.issue("localhost", &["localhost"], -1, 30);
    let https = https_server(server_config(&server, None), OK).await;
    assert_eq!(get(&trusting(&ca), &https.url("/health")).await, Ok(200));

    let client = medic_client::builder(&trusting(&ca))
        .unwrap()
        .build()
        .unwrap();
    let response = client.get(https.url("/")).send().await.unwrap();
    let expiry = peer_certificate_expiry(&response).expect("the peer's certificate");
    let days = (expiry - chrono::Utc::now()).num_days();
    assert!((28..=30).contains(&days), "expires in {days} days");
}

#[tokio::test]
async fn an_expired_certificate_is_refused_in_words() {
    let ca = TestCa::new("medic test CA");
    let server = ca.issue("expired", &["localhost"], -30, -2);
    let https = https_server(server_config(&server, None), OK).await;
    assert_eq!(
        get(&trusting(&ca), &https.url("/")).await,
        Err("TLS: certificate expired".into())
    );
}

#[tokio::test]
async fn a_certificate_for_another_name_is_refused_unless_server_name_says_so() {
    let ca = TestCa::new("medic test CA");
    let server = ca.issue("other", &["payments.internal"], -1, 30);
    let https = https_server(server_config(&server, None), OK).await;
    assert_eq!(
        get(&trusting(&ca), &https.url("/")).await,
        Err("TLS: certificate not valid for this name".into())
    );
    let named = ClientTls {
        server_name: Some("payments.internal".into()),
        ..trusting(&ca)
    };
    assert_eq!(get(&named, &https.url("/")).await, Ok(200));
}

#[tokio::test]
async fn an_unknown_authority_is_refused_unless_the_endpoint_is_insecure() {
    let ca = TestCa::new("medic test CA");
    let stranger = TestCa::new("someone else's CA");
    let server = stranger.issue("stranger", &["localhost"], -1, 30);
    let https = https_server(server_config(&server, None), OK).await;
    assert_eq!(
        get(&trusting(&ca), &https.url("/")).await,
        Err("TLS: certificate signed by an unknown authority".into())
    );
    // The system's roots alone do not know a test CA either.
    assert_eq!(
        get(&ClientTls::default(), &https.url("/")).await,
        Err("TLS: certificate signed by an unknown authority".into())
    );
    let insecure = ClientTls {
        insecure: true,
        ..ClientTls::default()
    };
    assert_eq!(get(&insecure, &https.url("/")).await, Ok(200));
}

#[tokio::test]
async fn a_server_that_requires_a_client_certificate_gets_the_configured_one() {
    let ca = TestCa::new("medic test CA");
    let clients_ca = TestCa::new("client CA");
    let server = ca.issue("localhost", &["localhost"], -1, 30);
    let https = https_server(server_config(&server, Some(&clients_ca)), OK).await;

    let without = get(&trusting(&ca), &https.url("/")).await;
    assert!(
        without
            .as_ref()
            .is_err_and(|e| e.contains("requires a client certificate") || e.contains("not TLS")),
        "{without:?}"
    );

    let medic = clients_ca.issue("medic-client", &["medic"], -1, 30);
    let with = ClientTls {
        client_cert: Some(medic.cert_file.display().to_string()),
        client_key: Some(medic.key_file.display().to_string()),
        ..trusting(&ca)
    };
    assert_eq!(get(&with, &https.url("/")).await, Ok(200));

    let stranger = ca.issue("stranger-client", &["medic"], -1, 30);
    let wrong = ClientTls {
        client_cert: Some(stranger.cert_file.display().to_string()),
        client_key: Some(stranger.key_file.display().to_string()),
        ..trusting(&ca)
    };
    assert!(get(&wrong, &https.url("/")).await.is_err());
}

#[test]
fn unusable_files_are_named_with_their_key() {
    let ca = TestCa::new("medic test CA");
    let missing = ClientTls {
        ca_file: Some("/nonexistent/ca.pem".into()),
        ..ClientTls::default()
    };
    let error = medic_client::rustls_config(&missing)
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("ca_file \"/nonexistent/ca.pem\""),
        "{error}"
    );

    let not_pem = ca.dir().join("junk.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let junk = ClientTls {
        ca_file: Some(not_pem.display().to_string()),
        ..ClientTls::default()
    };
    let error = medic_client::rustls_config(&junk).unwrap_err().to_string();
    assert!(error.contains("no PEM certificate"), "{error}");

    let leaf = ca.issue("leaf", &["localhost"], -1, 30);
    let half = ClientTls {
        client_cert: Some(leaf.cert_file.display().to_string()),
        client_key: Some(ca.ca_file()),
        ..ClientTls::default()
    };
    let error = medic_client::rustls_config(&half).unwrap_err().to_string();
    assert!(error.contains("client_key"), "{error}");
}

#[test]
fn preflight_reports_files_and_insecure_endpoints_by_key_path() {
    let text = r#"
[tls]
ca_file = "/nonexistent/ca.pem"
[[targets]]
name = "web"
probes = [{ kind = "http", url = "https://127.0.0.1/", tls = { insecure = true, ca_file = "/dev/null" } }]
"#;
    let config = medic_engine::config::parse(text, &Default::default()).unwrap();
    let found = medic_client::preflight(&config);
    assert!(found.errors[0].starts_with("tls: ca_file"), "{found:?}");
    assert!(
        found.errors[1].starts_with("targets[0].probes[0].tls: ca_file \"/dev/null\""),
        "{found:?}"
    );
    assert_eq!(found.warnings.len(), 1, "{found:?}");
    assert!(
        found.warnings[0].contains("https://127.0.0.1/ is NOT verified"),
        "{found:?}"
    );
}
