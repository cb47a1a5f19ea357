//! HTTPS end to end: a certificate made by `openssl`, the real server on a
//! loopback port, `curl` as the client.

use std::path::Path;
use std::process::Command;

use medic_engine::config::Tls;

fn tool_missing() -> Option<String> {
    ["openssl", "curl"]
        .into_iter()
        .find(|tool| Command::new(tool).arg("--version").output().is_err())
        .map(|tool| format!("{tool} is not installed"))
}

fn make_certificate(dir: &Path) {
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .output()
        .expect("run openssl");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
}

async fn serve(tls: Tls) -> Result<std::net::SocketAddr, medic_api::ServeError> {
    let mut config = medic_engine::config::parse("", &Default::default()).expect("config");
    config.server.listen = "127.0.0.1:0".into();
    config.server.tls = Some(tls);
    let store = medic_store::connect("sqlite::memory:")
        .await
        .expect("store");
    let agent = medic_agent::Agent::start(config.clone(), store, Default::default())
        .await
        .expect("agent");
    medic_api::serve(agent, &config, &Default::default()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_serves_the_api_and_refuses_plain_http() {
    if let Some(why) = tool_missing() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
        eprintln!("skipped: {why}");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    make_certificate(dir.path());
    let cert = dir.path().join("cert.pem");
    let address = serve(Tls {
        cert: cert.display().to_string(),
        key: dir.path().join("key.pem").display().to_string(),
    })
    .await
    .expect("serves");

    let curl = |url: String| {
        let cert = cert.clone();
        tokio::task::spawn_blocking(move || {
            Command::new("curl")
                .args(["-sS", "--max-time", "5", "--cacert"])
                .arg(&cert)
                .arg(url)
                .output()
                .expect("run curl")
        })
    };
    let secure = curl(format!(
        "https://127.0.0.1:{}/api/v1/health",
        address.port()
    ))
    .await
    .expect("join");
    assert!(
        secure.status.success(),
        "{}",
        String::from_utf8_lossy(&secure.stderr)
    );
    let body: serde_json::Value = serde_json::from_slice(&secure.stdout).expect("json");
    assert!(body["system_status"].is_string(), "{body}");

    let plain = curl(format!("http://127.0.0.1:{}/health", address.port()))
        .await
        .expect("join");
    assert!(
        !plain.status.success(),
        "plain HTTP must not be answered on the TLS port"
    );
}

#[tokio::test]
async fn unreadable_certificates_fail_the_start_naming_the_key() {
    let error = serve(Tls {
        cert: "/nonexistent/cert.pem".into(),
        key: "/nonexistent/key.pem".into(),
    })
    .await
    .expect_err("refused");
    assert!(
        error
            .to_string()
            .starts_with("server.tls.cert: /nonexistent/cert.pem"),
        "{error}"
    );
}
