//! `medic run` around the real `ansible-playbook` (Debian's `ansible`):
//! localhost playbooks that fail in each way, judged host by host.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::support::{TempDir, closed_port, missing_tools};

const PLAYBOOK: &str = "/usr/bin/ansible-playbook";
/// The json stdout callback ships in the `ansible` package (ansible.posix).
const JSON_CALLBACK: &str =
    "/usr/lib/python3/dist-packages/ansible_collections/ansible/posix/plugins/callback/json.py";

/// A temp dir with an inventory: `web1` and `web2` are this machine
/// (`ansible_connection=local`), `gone` is an ssh host on a closed port.
struct Site {
    dir: TempDir,
    inventory: PathBuf,
}

impl Site {
    fn new(name: &str) -> Self {
        let dir = TempDir::new(&format!("ansible-{name}"));
        let inventory = dir.0.join("inventory");
        let local = "ansible_connection=local ansible_python_interpreter=/usr/bin/python3";
        std::fs::write(
            &inventory,
            format!(
                "web1 {local}\nweb2 {local}\ngone ansible_connection=ssh ansible_host=127.0.0.1 ansible_port={}\n",
                closed_port()
            ),
        )
        .expect("write inventory");
        // An empty config: ansible's defaults, whatever this machine's say.
        std::fs::write(dir.0.join("ansible.cfg"), "[defaults]\n").expect("write ansible.cfg");
        Self { dir, inventory }
    }

    /// `medic run [options] -- ansible-playbook -i INV -l HOSTS PLAYBOOK -e …`.
    fn run(&self, options: &[&str], env: &[(&str, &str)], playbook: &str, hosts: &str) -> Output {
        let playbook = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/ansible")
            .join(playbook);
        let mut command = Command::new(env!("CARGO_BIN_EXE_medic"));
        command
            .current_dir(&self.dir.0)
            .env("ANSIBLE_CONFIG", self.dir.0.join("ansible.cfg"))
            .env("ANSIBLE_RETRY_FILES_ENABLED", "false")
            .env("ANSIBLE_STDOUT_CALLBACK", "default")
            .env("ANSIBLE_NOCOLOR", "1")
            .env("ANSIBLE_LOCAL_TEMP", self.dir.0.join("tmp"));
        for (key, value) in env {
            command.env(key, value);
        }
        command
            .args(["run", "--retry-delay", "10ms", "--report", "json"])
            .args(options)
            .args(["--", "ansible-playbook", "-i"])
            .arg(&self.inventory)
            .args(["-l", hosts])
            .arg(playbook)
            .arg("-e")
            .arg(format!("workdir={}", self.dir.0.display()))
            .arg("-e")
            .arg(format!("closed_port={}", closed_port()))
            .output()
            .expect("run medic")
    }

    /// The hosts that ran the flaky playbook, once per run, sorted.
    fn runs(&self) -> Vec<String> {
        let log = std::fs::read_to_string(self.dir.0.join("runs.log")).unwrap_or_default();
        let mut runs: Vec<String> = log.lines().map(str::to_string).collect();
        runs.sort();
        runs
    }
}

fn ansible_missing() -> bool {
    missing_tools(&[PLAYBOOK, JSON_CALLBACK], "ansible")
}

/// The report: the last line of stderr.
fn report_of(output: &Output) -> Value {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stderr.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("no report ({e}) in:\n{stderr}"))
}

fn attempts(report: &Value) -> &[Value] {
    report["attempts"].as_array().map_or(&[], Vec::as_slice)
}

/// The last two elements of an attempt's argv.
fn limit_of(attempt: &Value) -> Vec<String> {
    let argv = attempt["command"].as_array().map_or(&[][..], Vec::as_slice);
    argv[argv.len().saturating_sub(2)..]
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_string())
        .collect()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_transient_failure_reruns_only_the_failed_host() {
    if ansible_missing() {
        return;
    }
    let site = Site::new("transient");
    let output = site.run(&[], &[], "flaky.yml", "web1,web2");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report = report_of(&output);
    let attempts = attempts(&report);
    assert_eq!(attempts.len(), 2, "{report:#}");
    let first = &attempts[0];
    assert_eq!(first["exit_code"], 2, "ansible-playbook: a host failed");
    assert_eq!(first["classification"]["kind"], "transient");
    assert_eq!(first["ansible"]["callback"], "default");
    let failures = first["ansible"]["failures"].as_array().expect("failures");
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0]["host"], "web2");
    assert_eq!(failures[0]["task"], "download the artifact");
    assert_eq!(failures[0]["kind"], "network");
    assert_eq!(first["ansible"]["limit"], "web2");
    assert_eq!(limit_of(&attempts[1]), ["--limit", "web2"]);
    assert_eq!(attempts[1]["decision"], "succeeded");
    // web1 ran once: the retry was web2's alone.
    assert_eq!(site.runs(), ["web1", "web2", "web2"]);
    let suggestions = stderr(&output)
        .matches("set ANSIBLE_STDOUT_CALLBACK=json")
        .count();
    assert_eq!(suggestions, 1, "{}", stderr(&output));
}

#[test]
fn with_the_json_callback_the_retry_uses_ansibles_retry_file() {
    if ansible_missing() {
        return;
    }
    let site = Site::new("retry-file");
    let save_path = site.dir.0.display().to_string();
    let env = [
        ("ANSIBLE_STDOUT_CALLBACK", "json"),
        ("ANSIBLE_RETRY_FILES_ENABLED", "true"),
        ("ANSIBLE_RETRY_FILES_SAVE_PATH", save_path.as_str()),
    ];
    let output = site.run(&[], &env, "flaky.yml", "web1,web2");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report = report_of(&output);
    let attempts = attempts(&report);
    assert_eq!(attempts.len(), 2, "{report:#}");
    assert_eq!(attempts[0]["ansible"]["callback"], "json");
    assert_eq!(attempts[0]["ansible"]["failures"][0]["host"], "web2");
    let retry_file = format!("@{save_path}/flaky.retry");
    assert_eq!(limit_of(&attempts[1]), ["--limit", retry_file.as_str()]);
    assert_eq!(site.runs(), ["web1", "web2", "web2"]);
    assert!(!stderr(&output).contains("ANSIBLE_STDOUT_CALLBACK=json"));
}

#[test]
fn an_unreachable_host_is_retried_alone() {
    if ansible_missing() {
        return;
    }
    let site = Site::new("unreachable");
    let output = site.run(&["--max-attempts", "2"], &[], "ping.yml", "web1,gone");
    assert_eq!(
        output.status.code(),
        Some(4),
        "ansible-playbook: a host unreachable"
    );
    let report = report_of(&output);
    let attempts = attempts(&report);
    assert_eq!(attempts.len(), 2, "{report:#}");
    for attempt in attempts {
        let failures = attempt["ansible"]["failures"].as_array().expect("failures");
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert_eq!(failures[0]["host"], "gone");
        assert_eq!(failures[0]["kind"], "unreachable");
        assert_eq!(failures[0]["classification"]["kind"], "transient");
    }
    assert_eq!(limit_of(&attempts[1]), ["--limit", "gone"]);
    assert_eq!(attempts[1]["decision"], "stop: no attempts left");
}

/// A failure retrying cannot help runs once: (playbook, kind, verdict).
fn stops_at_once(name: &str, playbook: &str, callback: &str, kind: &str, verdict: &str) -> Value {
    let site = Site::new(name);
    let output = site.run(
        &[],
        &[("ANSIBLE_STDOUT_CALLBACK", callback)],
        playbook,
        "web1",
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let report = report_of(&output);
    let attempts = attempts(&report);
    assert_eq!(attempts.len(), 1, "{report:#}");
    let attempt = &attempts[0];
    assert_eq!(attempt["ansible"]["callback"], callback);
    let failure = &attempt["ansible"]["failures"][0];
    assert_eq!(failure["host"], "web1", "{attempt:#}");
    assert_eq!(failure["kind"], kind, "{attempt:#}");
    assert_eq!(failure["classification"]["kind"], verdict, "{attempt:#}");
    assert_eq!(attempt["ansible"].get("limit"), None, "no retry, no limit");
    attempt.clone()
}

#[test]
fn a_permission_failure_runs_once() {
    if ansible_missing() {
        return;
    }
    for callback in ["default", "json"] {
        let attempt = stops_at_once(
            &format!("permission-{callback}"),
            "permission.yml",
            callback,
            "permission",
            "deterministic",
        );
        let message = attempt["ansible"]["failures"][0]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(message.contains("Permission denied"), "{message}");
    }
}

#[test]
fn a_package_failure_is_fixable_and_its_fix_needs_allow_fixes() {
    if ansible_missing() {
        return;
    }
    let attempt = stops_at_once("package", "package.yml", "json", "package", "fixable");
    let decision = attempt["decision"].as_str().unwrap_or_default();
    assert!(decision.contains("--allow-fixes"), "{decision}");
    assert_eq!(attempt["fix"], Value::Null, "no fix ran");
}

#[test]
fn a_service_failure_runs_once() {
    if ansible_missing() {
        return;
    }
    let attempt = stops_at_once(
        "service",
        "service.yml",
        "default",
        "service",
        "deterministic",
    );
    assert_eq!(attempt["classification"]["entry"], "service-failure");
}
