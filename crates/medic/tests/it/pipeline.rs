//! `medic pipeline` end to end: the real binary running flows against a real
//! `medic chaos`, killed with SIGKILL mid-run and resumed.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::chaos::Chaos;
use crate::support::{KillOnDrop, TempDir, Webhook, closed_port, poll};

fn pipeline(dir: &TempDir, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_medic"))
        .current_dir(&dir.0)
        .env_remove("MEDIC_STORAGE_URL")
        .arg("pipeline")
        .args(args)
        .args(["--store", &store_url(dir)])
        .output()
        .expect("run medic pipeline")
}

fn store_url(dir: &TempDir) -> String {
    format!("sqlite://{}", dir.0.join("runs.db").display())
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The run id from the first line, `run N: …`.
fn run_id(stdout: &str) -> String {
    stdout
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("run "))
        .and_then(|rest| rest.split(':').next())
        .unwrap_or_else(|| panic!("no run id first in:\n{stdout}"))
        .to_string()
}

fn show(dir: &TempDir, id: &str) -> Value {
    let output = pipeline(dir, &["show", id]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("show prints JSON")
}

/// chaos's counters: how many orders and tax answers it served.
fn served(chaos: &Chaos) -> (u64, u64) {
    let (_, response) = chaos.request("GET", "/status");
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    let status: Value = serde_json::from_str(body).expect("status JSON");
    (
        status["orders_served"].as_u64().expect("orders_served"),
        status["tax_served"].as_u64().expect("tax_served"),
    )
}

fn write_flow(dir: &TempDir, text: &str) -> String {
    let path = dir.0.join("flow.toml");
    std::fs::write(&path, text).expect("write the flow");
    path.display().to_string()
}

#[test]
fn the_orders_tax_example_retries_429s_fails_over_and_validates() {
    let dir = TempDir::new("pipeline-example");
    let chaos = Chaos::start("pipeline-example");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/orders-tax.toml");
    let shop = format!("shop=http://{}", chaos.address);
    let primary = format!("tax_primary=http://127.0.0.1:{}", closed_port());
    let output = pipeline(
        &dir,
        &[
            "run",
            example.to_str().expect("utf-8"),
            "--set",
            &shop,
            "--set",
            &primary,
        ],
    );
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with("run ") && lines[0].contains("orders-tax"),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with("step 1/3 orders: ok") && lines[1].contains("attempt 3"),
        "{stdout}"
    );
    assert!(
        lines[2].starts_with("step 2/3 tax: ok") && lines[2].contains("failed over from"),
        "{stdout}"
    );
    assert!(lines[3].starts_with("step 3/3 totals: ok"), "{stdout}");
    assert!(lines[4].ends_with("succeeded"), "{stdout}");
    assert_eq!(
        stderr.matches("HTTP 429").count(),
        2,
        "two 429s retried:\n{stderr}"
    );
    assert!(stderr.contains("failing over to the next URL"), "{stderr}");
    assert_eq!(served(&chaos), (1, 1));

    let run = show(&dir, &run_id(&stdout));
    assert_eq!(run["status"], "succeeded");
    assert_eq!(run["next_step"], 3);
    assert_eq!(run["state"]["tax"]["total_cents"], 12149);
    assert_eq!(run["state"]["tax"]["tax_cents"], 900);
}

const KILLABLE: &str = r#"
name = "killable"
[vars]
shop = "http://127.0.0.1:8000"
[[steps]]
name = "orders"
kind = "http"
urls = ["{{vars.shop}}/orders"]
[[steps]]
name = "mark"
kind = "command"
command = ["sh", "-c", "echo marked >> marks.txt"]
[[steps]]
name = "pause"
kind = "command"
command = ["sh", "-c", "if [ ! -f paused ]; then touch paused; sleep 5; fi"]
[[steps]]
name = "tax"
kind = "http"
method = "POST"
urls = ["{{vars.shop}}/tax"]
body = { orders = "{{steps.orders.orders}}" }
[[steps]]
name = "totals"
kind = "validate"
checks = [{ path = "steps.tax.count", equals = "{{steps.orders.count}}" }]
"#;

#[test]
fn a_run_killed_mid_step_resumes_without_repeating_finished_steps() {
    let dir = TempDir::new("pipeline-kill");
    let chaos = Chaos::start("pipeline-kill");
    let flow = write_flow(&dir, KILLABLE);
    let shop = format!("shop=http://{}", chaos.address);
    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_medic"))
            .current_dir(&dir.0)
            .env_remove("MEDIC_STORAGE_URL")
            .args([
                "pipeline",
                "run",
                &flow,
                "--set",
                &shop,
                "--store",
                &store_url(&dir),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("medic pipeline starts"),
    );
    let mut stdout = BufReader::new(child.0.stdout.take().expect("stdout"));
    let mut seen = String::new();
    while !seen.contains("step 2/5 mark: ok") {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).expect("reads") > 0,
            "ended early:\n{seen}"
        );
        seen.push_str(&line);
    }
    // Step 3 is sleeping: kill -9, as a crash would.
    assert!(
        poll(Duration::from_secs(5), || dir
            .0
            .join("paused")
            .exists()
            .then_some(()))
        .is_some()
    );
    child.0.kill().expect("SIGKILL");
    let _ = child.0.wait();
    let id = run_id(&seen);
    let crashed = show(&dir, &id);
    assert_eq!(
        (crashed["status"].as_str(), crashed["next_step"].as_u64()),
        (Some("running"), Some(2))
    );

    // A changed flow file is refused unless --force.
    std::fs::write(&flow, format!("{KILLABLE}\n# edited\n")).expect("edit");
    let refused = pipeline(&dir, &["resume", &id]);
    let stderr = text(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("changed since run") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    std::fs::write(&flow, KILLABLE).expect("restore");

    let resumed = pipeline(&dir, &["resume", &id]);
    let stdout = text(&resumed.stdout);
    assert_eq!(
        resumed.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&resumed.stderr)
    );
    assert!(
        stdout.contains("resuming killable at step 3/5 pause; 2 step(s) already done"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("step 1/5") && !stdout.contains("step 2/5"),
        "{stdout}"
    );
    assert!(stdout.contains("step 5/5 totals: ok"), "{stdout}");
    let marks = std::fs::read_to_string(dir.0.join("marks.txt")).expect("marks");
    assert_eq!(marks.lines().count(), 1, "the mark step ran once");
    assert_eq!(served(&chaos), (1, 1), "orders fetched once, tax once");
    assert_eq!(show(&dir, &id)["status"], "succeeded");

    let again = pipeline(&dir, &["resume", &id]);
    assert_eq!(again.status.code(), Some(0));
    assert!(text(&again.stdout).contains("already succeeded"));
}

#[test]
fn a_bad_flow_file_gets_one_error_line_naming_the_key() {
    let dir = TempDir::new("pipeline-bad");
    let flow = write_flow(
        &dir,
        "name = \"bad\"\n[[steps]]\nname = \"x\"\nkind = \"shell\"\ncommand = [\"true\"]\n",
    );
    let output = pipeline(&dir, &["run", &flow]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("flow.toml: steps[0].kind: unknown variant `shell`"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty(), "no run was started");

    let missing = pipeline(&dir, &["resume", "999"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("run 999 not found"));
}

#[test]
fn a_failed_expectation_exits_1_naming_it_and_escalates_when_asked() {
    let dir = TempDir::new("pipeline-validate");
    let chaos = Chaos::start("pipeline-validate");
    let webhook = Webhook::start();
    let flow = write_flow(
        &dir,
        &format!(
            r#"
name = "strict"
escalate = "{hook}"
[[steps]]
name = "orders"
kind = "http"
urls = ["http://{shop}/orders"]
[[steps]]
name = "enough"
kind = "validate"
checks = [{{ path = "steps.orders.count", min = 99 }}]
on_failure = "escalate"
"#,
            hook = webhook.url,
            shop = chaos.address
        ),
    );
    let output = pipeline(&dir, &["run", &flow]);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("step 2/2 enough: FAILED: steps.orders.count: is 3, expected min 99"),
        "{stdout}"
    );
    let id = run_id(&stdout);
    let run = show(&dir, &id);
    assert_eq!(run["status"], "escalated");
    assert!(
        run["reason"]
            .as_str()
            .is_some_and(|r| r.contains("expected min 99")),
        "{run}"
    );
    let bodies = webhook.bodies.lock().expect("lock").clone();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let page: Value = serde_json::from_str(&bodies[0]).expect("JSON page");
    assert_eq!(page["run_id"].to_string(), id);
    assert_eq!(
        (page["flow"].as_str(), page["step"].as_str()),
        (Some("strict"), Some("enough"))
    );
}
