//! End-to-end tests of the real `medic` binary.

mod alertmanager;
mod ansible;
mod boundary;
mod chaos;
mod child_env;
mod config;
mod dashboard;
mod demo;
mod dependencies;
mod eval;
mod failover;
mod flapping;
mod guard;
mod kubernetes;
mod learn;
mod listen;
mod llm;
mod maintenance;
mod operator;
mod pipeline;
mod planted;
mod postgres_tls;
mod prometheus;
mod readme;
mod ready;
mod redaction;
mod replay;
mod replicas;
mod run;
mod serve;
mod supervise;
mod support;
mod systemd;
mod templates;
mod tls;
mod verdict;

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn medic(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_medic"));
    command
        .args(args)
        .env_remove("MEDIC_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("medic starts");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    }
    child.wait_with_output().expect("medic exits")
}

fn config_file(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("medic-it-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("medic.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

const VALID: &str = r#"
[policy]
mode = "auto"
[[targets]]
name = "payments"
probes = [{ kind = "http", url = "http://127.0.0.1:8000/health", interval = "1s", timeout = "500ms", expect_status = [200] }]
[[targets.remedies]]
name = "reconnect-db"
when = { category = ["database", "network"] }
action = { kind = "http", url = "http://127.0.0.1:8000/chaos/resolve" }
[[targets.remedies]]
name = "page"
action = { kind = "escalate", webhook = "http://127.0.0.1:9000/page" }
risk = "high"
"#;

#[test]
fn check_prints_the_ladder_and_the_policy() {
    let path = config_file("valid", VALID);
    let out = medic(
        &["check", "--config", path.to_str().expect("utf-8")],
        &[],
        None,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("policy: auto"), "{stdout}");
    assert!(stdout.contains("target payments"), "{stdout}");
    assert!(stdout.contains("1. reconnect-db"), "{stdout}");
    assert!(
        stdout.contains("when category in [database, network]"),
        "{stdout}"
    );
    assert!(
        stdout.contains("2. page") && stdout.contains("[needs approval]"),
        "{stdout}"
    );
}

#[test]
fn check_into_a_closed_pipe_ends_quietly() {
    // `medic check | head -1`: the reader goes away before medic writes.
    let path = config_file("pipe", VALID);
    let mut child = Command::new(env!("CARGO_BIN_EXE_medic"))
        .args(["check", "--config", path.to_str().expect("utf-8")])
        .env_remove("MEDIC_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("medic starts");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("medic exits");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[test]
fn check_honours_env_overrides() {
    let path = config_file("env", VALID);
    let out = medic(
        &["check", "--config", path.to_str().expect("utf-8")],
        &[("MEDIC_POLICY_MODE", "dry-run")],
        None,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(stdout.contains("policy: dry-run"), "{stdout}");
}

#[test]
fn check_refuses_a_destructive_command_with_exit_2_and_the_key_path() {
    let path = config_file(
        "destructive",
        r#"
[[targets]]
name = "db"
remedies = [{ name = "wipe", action = { kind = "exec", command = ["bash", "-c", "rm -rf / --no-preserve-root"] } }]
"#,
    );
    let out = medic(
        &["check", "--config", path.to_str().expect("utf-8")],
        &[],
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr.lines().count(), 1, "one line per error: {stderr}");
    assert!(
        stderr.contains(
            "targets[0].remedies[0].action.command: refused by the destructive-command guard"
        ),
        "{stderr}"
    );
}

#[test]
fn check_reports_a_missing_file_and_bad_toml_in_one_line_each() {
    let out = medic(&["check", "--config", "/nonexistent/medic.toml"], &[], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/medic.toml: cannot read"));

    let path = config_file("syntax", "[server\nlisten = 1\n");
    let out = medic(
        &["check", "--config", path.to_str().expect("utf-8")],
        &[],
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("line 1, column"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn diagnose_reads_stdin_and_prints_json() {
    let log = "2026-11-26 01:00:00 INFO starting\n\
               2026-11-26 01:00:01 ERROR db: connect to 127.0.0.1:5432 failed: Connection refused (os error 111)\n\
               2026-11-26 01:00:02 ERROR db: connect to 127.0.0.1:5432 failed: Connection refused (os error 111)\n";
    let out = medic(&["diagnose", "-"], &[], Some(log));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    // A refusal on PostgreSQL's port is the database (issue 17).
    assert_eq!(json["category"], "database");
    assert!(
        json["root_cause"]
            .as_str()
            .is_some_and(|r| r.contains("Connection refused"))
    );
    assert!(
        json["fingerprint"]
            .as_str()
            .is_some_and(|f| f.starts_with("database:"))
    );
    assert!(json["confidence"].as_f64().is_some_and(|c| c > 0.6));
    assert!(
        json["template"]
            .as_str()
            .is_some_and(|t| t.contains("connect to <*> failed"))
    );
}

#[test]
fn usage_errors_exit_2() {
    let out = medic(&["no-such-command"], &[], None);
    assert_eq!(out.status.code(), Some(2));
}
