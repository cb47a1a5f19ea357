//! `medic run` end to end: the real binary wrapping real commands.

use std::process::{Command, Output};

use serde_json::Value;

use crate::support::TempDir;

fn medic_run(dir: &TempDir, options: &[&str], step: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_medic"))
        .current_dir(&dir.0)
        .arg("run")
        .args(["--retry-delay", "10ms", "--report", "json"])
        .args(options)
        .arg("--")
        .args(step)
        .output()
        .expect("run medic")
}

/// The report: the last line of stderr.
fn report_of(output: &Output) -> Value {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stderr.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("no report ({e}) in:\n{stderr}"))
}

/// A step that fails with `message` on stderr and `code` until `marker` exists.
fn fails_once(message: &str, code: u8) -> String {
    format!(
        "if [ -f marker ]; then echo healed; else touch marker; echo '{message}' >&2; exit {code}; fi"
    )
}

#[test]
fn a_passing_step_runs_once_and_its_output_passes_through() {
    let dir = TempDir::new("run-pass");
    let output = medic_run(&dir, &[], &["sh", "-c", "echo hello; echo warn >&2"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "hello\n");
    let report = report_of(&output);
    assert_eq!(report["attempts"].as_array().map(Vec::len), Some(1));
    assert_eq!(report["attempts"][0]["decision"], "succeeded");
}

#[test]
fn a_transient_failure_is_retried_until_it_passes() {
    let dir = TempDir::new("run-transient");
    let step = fails_once("curl: (56) Recv failure: Connection reset by peer", 56);
    let output = medic_run(&dir, &[], &["sh", "-c", &step]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout), "healed\n");
    let report = report_of(&output);
    let first = &report["attempts"][0];
    assert_eq!(first["exit_code"], 56);
    assert_eq!(first["classification"]["entry"], "network");
    assert_eq!(first["classification"]["kind"], "transient");
    assert_eq!(first["decision"], "retry");
    assert_eq!(report["attempts"][1]["decision"], "succeeded");
}

#[test]
fn a_deterministic_failure_is_never_retried() {
    let dir = TempDir::new("run-deterministic");
    let step = "echo 'error[E0308]: mismatched types'; echo 'Connection reset by peer' >&2; touch ran-$$; exit 101";
    let output = medic_run(&dir, &[], &["sh", "-c", step]);
    assert_eq!(output.status.code(), Some(101));
    let report = report_of(&output);
    assert_eq!(
        report["attempts"].as_array().map(Vec::len),
        Some(1),
        "{report}"
    );
    assert_eq!(
        report["attempts"][0]["classification"]["entry"],
        "compile-error"
    );
    let runs = std::fs::read_dir(&dir.0).expect("dir").count();
    assert_eq!(runs, 1, "the step ran exactly once");
}

#[test]
fn unknown_failures_stop_and_transient_ones_give_up_after_max_attempts() {
    let dir = TempDir::new("run-unknown");
    let output = medic_run(&dir, &[], &["sh", "-c", "echo 'something odd'; exit 3"]);
    assert_eq!(output.status.code(), Some(3));
    let report = report_of(&output);
    assert_eq!(report["attempts"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        report["attempts"][0]["classification"]["category"],
        "unknown"
    );

    let always = "echo 'Could not resolve host: registry.example' >&2; exit 6";
    let output = medic_run(&dir, &["--max-attempts", "3"], &["sh", "-c", always]);
    assert_eq!(
        output.status.code(),
        Some(6),
        "the last attempt's exit code"
    );
    let report = report_of(&output);
    assert_eq!(report["attempts"].as_array().map(Vec::len), Some(3));
    assert_eq!(report["attempts"][2]["decision"], "stop: no attempts left");
}

#[test]
fn a_missing_command_is_127_and_not_retried() {
    let dir = TempDir::new("run-missing");
    let output = medic_run(&dir, &[], &["no-such-command-medic-test"]);
    assert_eq!(output.status.code(), Some(127));
    let report = report_of(&output);
    assert_eq!(report["attempts"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        report["attempts"][0]["classification"]["entry"],
        "missing-file-or-command"
    );
}

#[test]
fn fixes_that_change_the_machine_need_allow_fixes() {
    let dir = TempDir::new("run-fix");
    let step = fails_once("E: Unable to locate package libpq-dev", 100);
    let output = medic_run(&dir, &[], &["sh", "-c", &step]);
    assert_eq!(output.status.code(), Some(100));
    let report = report_of(&output);
    let decision = report["attempts"][0]["decision"]
        .as_str()
        .unwrap_or_default();
    assert!(decision.contains("--allow-fixes"), "{decision}");
    assert_eq!(report["attempts"][0]["fix"], Value::Null, "no fix ran");
}

#[test]
fn a_catalog_fix_runs_then_the_step_is_retried() {
    let dir = TempDir::new("run-custom-fix");
    let catalog = dir.0.join("catalog.toml");
    std::fs::write(
        &catalog,
        "[[entries]]\nname = \"cold-cache\"\nkind = \"fixable\"\ncategory = \"dependency\"\n\
         patterns = ['cache is cold']\nfix = [\"touch\", \"warm\"]\n",
    )
    .expect("write catalog");
    let step = "if [ -f warm ]; then echo built; else echo 'cache is cold' >&2; exit 1; fi";
    let catalog = catalog.display().to_string();
    let output = medic_run(&dir, &["--catalog", &catalog], &["sh", "-c", step]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = report_of(&output);
    assert_eq!(
        report["attempts"][0]["fix"]["command"],
        serde_json::json!(["touch", "warm"])
    );
    assert_eq!(report["attempts"][0]["fix"]["exit_code"], 0);
    assert_eq!(report["attempts"][1]["decision"], "succeeded");
}

#[test]
fn a_bad_catalog_is_a_usage_error_naming_the_entry() {
    let dir = TempDir::new("run-bad-catalog");
    let catalog = dir.0.join("catalog.toml");
    std::fs::write(
        &catalog,
        "[[entries]]\nname = \"wipe\"\nkind = \"fixable\"\ncategory = \"x\"\npatterns = ['x']\nfix = [\"rm\", \"-rf\", \"/\"]\n",
    )
    .expect("write catalog");
    let catalog = catalog.display().to_string();
    let output = medic_run(&dir, &["--catalog", &catalog], &["true"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("entries[0].fix"), "{stderr}");
}

#[test]
fn a_step_that_fails_for_good_is_reported_to_an_agent_as_an_incident() {
    let dir = TempDir::new("run-report-to");
    let config = dir.0.join("medic.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n[storage]\nurl = \"sqlite://{}\"\n\
             [webhooks]\ngeneric = {{ secret_env = \"MEDIC_WEBHOOK_SECRET\" }}\n",
            dir.0.join("medic.db").display()
        ),
    )
    .expect("config");
    let secret = "report-to-secret-0123456789";
    let agent = crate::support::Served::start(&config, &[("MEDIC_WEBHOOK_SECRET", secret)]);
    let url = format!("http://{}/webhooks/pipeline", agent.address);
    let output = Command::new(env!("CARGO_BIN_EXE_medic"))
        .current_dir(&dir.0)
        .env("MEDIC_WEBHOOK_SECRET", secret)
        .env("MEDIC_JOB_NAME", "build-web")
        // CI's own variables would name the job and build otherwise.
        .env_remove("GITHUB_RUN_ID")
        .env_remove("CI_PIPELINE_ID")
        .env_remove("BUILD_NUMBER")
        .args(["run", "--report-to", &url, "--"])
        .args([
            "sh",
            "-c",
            "echo 'error[E0425]: cannot find value `x` in this scope' >&2; exit 101",
        ])
        .output()
        .expect("run medic");
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Deterministic: one attempt, its exit code, and the report sent.
    assert_eq!(output.status.code(), Some(101), "{stderr}");
    assert!(
        stderr.contains("reported to") && stderr.contains("\"accepted\""),
        "{stderr}"
    );
    let incidents = agent.get_json("/api/v1/incidents");
    let incident = &incidents["incidents"][0];
    assert!(
        incident["title"]
            .as_str()
            .is_some_and(|t| t.contains("build-web") && t.contains("deterministic")),
        "{incidents:#}"
    );

    // A wrong secret: the step's result stands, the failure to report is said.
    let output = Command::new(env!("CARGO_BIN_EXE_medic"))
        .current_dir(&dir.0)
        .env("MEDIC_WEBHOOK_SECRET", "not-the-secret")
        .args(["run", "--report-to", &url, "--", "sh", "-c", "exit 3"])
        .output()
        .expect("run medic");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("could not report") && stderr.contains("401"),
        "{stderr}"
    );
}
