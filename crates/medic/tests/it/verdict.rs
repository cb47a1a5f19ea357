//! `medic check` and `medic serve` reach one verdict: every configuration
//! in the repository (examples, eval, fixtures) is loaded by both, and a
//! file `check` accepts is one `serve` starts with, and the other way round.
//! Fixtures named `invalid-*` must be refused, the others accepted.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::support::TempDir;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every medic configuration in the repository: `.toml` files that are not
/// Cargo's, rustfmt's, the pipeline catalog, or `medic pipeline` flows.
fn configs() -> Vec<PathBuf> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !(name.starts_with('.') || name == "target" || name == "catalog") {
                    walk(&path, found);
                }
            } else if name.ends_with(".toml") && name != "Cargo.toml" && name != "rustfmt.toml" {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                let is_flow = text
                    .lines()
                    .any(|l| l.trim_start().starts_with("[[steps]]"));
                if !is_flow {
                    found.push(path);
                }
            }
        }
    }
    let mut found = Vec::new();
    walk(&workspace_root(), &mut found);
    found.sort();
    found
}

/// A value for every variable a `*_env` setting of the file names, as an
/// operator deploying it would set: both commands then judge the config,
/// not this machine's environment (a missing secret fails both alike).
fn secrets_for(config: &Path) -> Vec<(String, String)> {
    fn walk(value: &toml::Value, found: &mut Vec<(String, String)>) {
        match value {
            toml::Value::Table(table) => {
                for (key, value) in table {
                    match value {
                        toml::Value::String(var) if key.ends_with("_env") => {
                            found.push((var.clone(), "verdict-test-secret-0123456789".into()));
                        }
                        other => walk(other, found),
                    }
                }
            }
            toml::Value::Array(items) => items.iter().for_each(|item| walk(item, found)),
            _ => {}
        }
    }
    let text = std::fs::read_to_string(config).unwrap_or_default();
    let mut found = Vec::new();
    if let Ok(value) = text.parse::<toml::Table>() {
        walk(&toml::Value::Table(value), &mut found);
    }
    // The examples run `medic …` as an installed binary would be found.
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_medic"))
        .parent()
        .expect("the binary's directory");
    let path = std::env::var("PATH").unwrap_or_default();
    found.push(("PATH".into(), format!("{}:{path}", bin_dir.display())));
    found
}

/// `medic check`: accepted or not, and what it printed.
fn check(config: &Path) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_medic"))
        .args(["check", "--config"])
        .arg(config)
        .envs(secrets_for(config))
        .current_dir(config.parent().expect("a directory"))
        .env(
            "MEDIC_STORAGE_URL",
            "sqlite://no-such-dir-for-check/medic.db",
        )
        .output()
        .expect("medic check runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// `medic serve`: whether it started serving (then it is stopped), and its stderr.
fn serve(config: &Path, scratch: &TempDir) -> (bool, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_medic"))
        .args(["serve", "--config"])
        .arg(config)
        .envs(secrets_for(config))
        .current_dir(config.parent().expect("a directory"))
        .env("MEDIC_LOG", "error")
        .env("MEDIC_SERVER_LISTEN", "127.0.0.1:0")
        .env(
            "MEDIC_STORAGE_URL",
            format!("sqlite://{}", scratch.0.join("medic.db").display()),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("medic serve starts");
    let stdout = child.stdout.take().expect("stdout");
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = sender.send(line);
    });
    let line = receiver
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_default();
    let started = line.contains("medic serving on");
    if started {
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
    }
    let _ = child.wait();
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr);
    }
    (started, stderr)
}

#[test]
fn check_and_serve_agree_on_every_config_in_the_repository() {
    let configs = configs();
    let fixtures = configs
        .iter()
        .filter(|p| p.to_string_lossy().contains("tests/fixtures/configs"))
        .count();
    assert!(fixtures >= 7, "the fixtures were not found: {configs:?}");
    assert!(
        configs.iter().any(|p| p.ends_with("eval/medic.toml")),
        "{configs:?}"
    );
    for config in &configs {
        let scratch = TempDir::new("verdict");
        let (checked, check_text) = check(config);
        let (served, serve_text) = serve(config, &scratch);
        let name = config.display();
        assert_eq!(
            checked, served,
            "{name}: check says {checked}, serve says {served}\ncheck: {check_text}\nserve: {serve_text}"
        );
        let stem = config.file_stem().expect("a name").to_string_lossy();
        if stem.starts_with("invalid-") {
            assert!(!checked, "{name} must be refused:\n{check_text}");
        } else if config.components().any(|c| c.as_os_str() == "examples") {
            // Examples name their host's programs and servers (a mailer in
            // /usr/local/bin, a PostgreSQL server): both verdicts agree above,
            // and tests/it/config.rs checks each one offline.
        } else {
            assert!(checked, "{name} must be accepted:\n{check_text}");
        }
    }
}

#[test]
fn refusals_name_the_key_and_insecure_endpoints_are_shown() {
    let dir = workspace_root().join("crates/medic/tests/fixtures/configs");
    for (file, words) in [
        (
            "invalid-insecure-everywhere.toml",
            "tls.insecure: refused for every connection",
        ),
        (
            "invalid-server-cert-in-outbound.toml",
            "tls.cert: `cert` belongs to [server.tls]",
        ),
        (
            "invalid-missing-ca-file.toml",
            "targets[0].probes[0].tls: ca_file \"no-such-ca.pem\"",
        ),
        (
            "invalid-cert-expiry-on-http.toml",
            "targets[0].probes[0].cert_expires_within: needs an https:// URL",
        ),
    ] {
        let (accepted, text) = check(&dir.join(file));
        assert!(!accepted && text.contains(words), "{file}: {text}");
    }
    let (accepted, text) = check(&dir.join("insecure-probe.toml"));
    assert!(accepted, "{text}");
    assert!(
        text.contains("WARNING targets[0].probes[0].tls: tls.insecure = true"),
        "{text}"
    );
    let scratch = TempDir::new("verdict-insecure");
    let (served, stderr) = serve(&dir.join("insecure-probe.toml"), &scratch);
    assert!(served && stderr.contains("NOT verified"), "{stderr}");
}
