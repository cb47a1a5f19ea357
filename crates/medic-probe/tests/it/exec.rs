use std::time::{Duration, Instant};

use medic_engine::config::ExecProbe;
use medic_probe::exec::ExecCheck;

fn exec_check(argv: &[&str], timeout: &str) -> ExecCheck {
    let probe: ExecProbe = toml::from_str(&format!("command = {argv:?}\ntimeout = {timeout:?}"))
        .expect("exec probe parses");
    ExecCheck::new(&probe, "exec").expect("builds")
}

#[tokio::test]
async fn exit_zero_is_healthy() {
    let signal = exec_check(&["true"], "2s").check("job").await;
    assert!(signal.healthy, "{signal:?}");
    assert!(signal.latency_ms.is_some());
    assert!(signal.evidence.is_empty());
}

#[tokio::test]
async fn a_non_zero_exit_is_unhealthy_with_its_status() {
    let signal = exec_check(&["false"], "2s").check("job").await;
    assert!(!signal.healthy);
    assert_eq!(signal.message, "exit status 1");
}

#[tokio::test]
async fn the_last_stderr_lines_are_the_evidence() {
    let script = "echo to-stdout; for i in 1 2 3 4 5 6; do echo \"err $i\" >&2; done; exit 3";
    let signal = exec_check(&["sh", "-c", script], "2s").check("job").await;
    assert_eq!(signal.message, "exit status 3");
    assert_eq!(
        signal.evidence,
        ["err 2", "err 3", "err 4", "err 5", "err 6"]
    );
}

#[tokio::test]
async fn stdout_is_the_evidence_when_stderr_is_empty() {
    let signal = exec_check(&["sh", "-c", "echo 'not ready'; exit 2"], "2s")
        .check("job")
        .await;
    assert_eq!(signal.message, "exit status 2");
    assert_eq!(signal.evidence, ["not ready"]);
}

#[tokio::test]
async fn a_flood_of_output_is_drained_and_only_its_tail_kept() {
    // 1 MB through the pipe: more than a pipe buffer, so an undrained
    // child would block and time out.
    let script = "yes 'a line of output' | head -n 60000; echo last-line; exit 4";
    let signal = exec_check(&["sh", "-c", script], "5s").check("job").await;
    assert_eq!(signal.message, "exit status 4");
    assert_eq!(
        signal.evidence.last().map(String::as_str),
        Some("last-line")
    );
    assert!(signal.evidence.len() <= 5);
}

#[tokio::test]
async fn a_command_over_its_timeout_is_killed_and_reaped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pid_path = dir.path().join("pid");
    let script = format!("echo $$ > {}; exec sleep 10", pid_path.display());
    let started = Instant::now();
    let signal = exec_check(&["sh", "-c", &script], "300ms")
        .check("job")
        .await;
    assert_eq!(signal.message, "timed out after 300ms");
    assert!(started.elapsed() < Duration::from_secs(2));
    let pid = std::fs::read_to_string(&pid_path).expect("pid written");
    // Killed and reaped: not even a zombie is left.
    assert!(
        !std::path::Path::new(&format!("/proc/{}", pid.trim())).exists(),
        "process {pid} is still there"
    );
}

#[tokio::test]
async fn a_background_child_holding_the_pipes_does_not_hold_the_verdict() {
    let started = Instant::now();
    let signal = exec_check(&["sh", "-c", "sleep 2 & exit 0"], "5s")
        .check("job")
        .await;
    assert!(signal.healthy, "{signal:?}");
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn a_missing_program_is_unhealthy() {
    let signal = exec_check(&["/nonexistent/medic-probe-test"], "1s")
        .check("job")
        .await;
    assert!(!signal.healthy);
    assert!(
        signal
            .message
            .starts_with("cannot run \"/nonexistent/medic-probe-test\""),
        "{}",
        signal.message
    );
}

#[tokio::test]
async fn the_destructive_command_guard_refuses_before_anything_runs() {
    // Harmless even if the guard let it through: echo only prints it.
    let signal = exec_check(&["echo", ":(){ :|:& };:"], "1s")
        .check("job")
        .await;
    assert!(!signal.healthy);
    assert!(
        signal
            .message
            .starts_with("refused by the destructive-command guard (fork-bomb)"),
        "{}",
        signal.message
    );
    assert_eq!(
        signal.latency_ms, None,
        "nothing was run, so nothing was timed"
    );
}
