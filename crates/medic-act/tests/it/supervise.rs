//! The supervisor with real processes: exits, restarts, the start limit,
//! process groups and shutdown.

use std::path::Path;
use std::time::Duration;

use medic_act::{SuperviseError, Supervisor};
use medic_engine::config::Target;
use medic_model::{Signal, SignalSource};
use nix::sys::signal::{Signal as UnixSignal, kill};
use nix::unistd::Pid;
use tokio::sync::mpsc;
use tokio::time::timeout;

use crate::support::{dies_within, is_dead, target};

/// A supervised target running `command` (TOML array text).
pub fn supervised(name: &str, command: &str, limits: &str) -> Target {
    target(&format!(
        "name = \"{name}\"\nsupervise = {{ command = {command}{limits} }}"
    ))
}

fn supervisor() -> (Supervisor, mpsc::Receiver<Signal>) {
    let (sender, receiver) = mpsc::channel(64);
    (Supervisor::new(sender), receiver)
}

async fn next_signal(signals: &mut mpsc::Receiver<Signal>) -> Signal {
    timeout(Duration::from_secs(5), signals.recv())
        .await
        .expect("a signal within 5s")
        .expect("the channel is open")
}

/// Polls until the target runs a process other than `old`.
async fn new_pid(supervisor: &Supervisor, target: &str, old: u32, within: Duration) -> Option<u32> {
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        if let Some(pid) = supervisor.pid(target).filter(|&pid| pid != old) {
            return Some(pid);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

/// Waits for a file a supervised shell writes its child's pid into.
async fn read_pid_file(path: &Path) -> u32 {
    for _ in 0..250 {
        if let Ok(text) = std::fs::read_to_string(path)
            && let Ok(pid) = text.trim().parse()
        {
            return pid;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{} was never written", path.display());
}

fn sigkill(pid: u32) {
    kill(
        Pid::from_raw(i32::try_from(pid).expect("pid")),
        UnixSignal::SIGKILL,
    )
    .expect("kill -9");
}

#[tokio::test]
async fn a_killed_process_is_reported_and_restarted_within_a_second() {
    let (supervisor, mut signals) = supervisor();
    let svc = supervised("sleeper", r#"["sleep", "60"]"#, "");
    let first = supervisor.start(&svc).await.expect("started");
    assert_eq!(supervisor.pid("sleeper"), Some(first));

    sigkill(first);
    let killed_at = tokio::time::Instant::now();
    let signal = next_signal(&mut signals).await;
    assert_eq!(signal.target, "sleeper");
    assert!(!signal.healthy);
    assert_eq!(signal.source, SignalSource::Exit { code: None });
    assert_eq!(signal.message, "killed by signal 9");
    assert!(signal.evidence[0].starts_with(&format!("pid {first} ran for")));

    let second = new_pid(&supervisor, "sleeper", first, Duration::from_secs(1))
        .await
        .expect("restarted within 1s");
    assert!(killed_at.elapsed() < Duration::from_secs(1));
    assert!(!is_dead(second));
    supervisor.shutdown().await;
    assert!(dies_within(second, Duration::from_secs(2)).await);
}

#[tokio::test]
async fn an_exit_code_is_reported() {
    let (supervisor, mut signals) = supervised_once(r#"["sh", "-c", "sleep 0.1; exit 7"]"#).await;
    let signal = next_signal(&mut signals).await;
    assert_eq!(signal.source, SignalSource::Exit { code: Some(7) });
    assert_eq!(signal.message, "exited with status 7");
    supervisor.shutdown().await;
}

async fn supervised_once(command: &str) -> (Supervisor, mpsc::Receiver<Signal>) {
    let (supervisor, signals) = supervisor();
    supervisor
        .start(&supervised("once", command, ""))
        .await
        .expect("started");
    (supervisor, signals)
}

#[tokio::test]
async fn a_process_that_keeps_failing_hits_the_start_limit() {
    let (supervisor, mut signals) = supervisor();
    let svc = supervised(
        "broken",
        r#"["false"]"#,
        r#", start_limit = 3, start_window = "10s""#,
    );
    supervisor.start(&svc).await.expect("started");
    for _ in 0..3 {
        let exit = next_signal(&mut signals).await;
        assert_eq!(exit.message, "exited with status 1");
        assert_eq!(exit.source, SignalSource::Exit { code: Some(1) });
    }
    let limit = next_signal(&mut signals).await;
    assert!(!limit.healthy);
    assert_eq!(limit.message, "start limit reached: 3 starts in 10s");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(supervisor.pid("broken"), None, "no more restarts");
    assert!(signals.try_recv().is_err(), "nothing after the limit");

    // A deliberate restart revives it with a fresh budget.
    supervisor.restart("broken").await.expect("restarted");
    assert_eq!(
        next_signal(&mut signals).await.message,
        "exited with status 1"
    );
    supervisor.shutdown().await;
}

#[tokio::test]
async fn restart_kills_the_children_in_the_process_group() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pid_file = dir.path().join("child.pid");
    let (supervisor, mut signals) = supervisor();
    let command = format!(
        r#"["sh", "-c", "sleep 60 & echo $! > {}; wait"]"#,
        pid_file.display()
    );
    let first = supervisor
        .start(&supervised("forker", &command, ""))
        .await
        .expect("started");
    let child = read_pid_file(&pid_file).await;
    std::fs::remove_file(&pid_file).expect("remove");

    let second = supervisor.restart("forker").await.expect("restarted");
    assert_ne!(first, second);
    assert!(is_dead(first), "the old leader is gone");
    assert!(is_dead(child), "its child went with it");
    assert!(!is_dead(second));
    let new_child = read_pid_file(&pid_file).await;
    assert!(
        signals.try_recv().is_err(),
        "a deliberate restart is no exit signal"
    );

    supervisor.shutdown().await;
    assert!(dies_within(second, Duration::from_secs(2)).await);
    assert!(dies_within(new_child, Duration::from_secs(2)).await);
}

#[tokio::test]
async fn a_crash_also_stops_what_the_process_left_in_its_group() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pid_file = dir.path().join("child.pid");
    let (supervisor, mut signals) = supervisor();
    let command = format!(
        r#"["sh", "-c", "sleep 60 & echo $! > {}; wait"]"#,
        pid_file.display()
    );
    let leader = supervisor
        .start(&supervised("master", &command, ""))
        .await
        .expect("started");
    let worker = read_pid_file(&pid_file).await;
    sigkill(leader);
    assert_eq!(
        next_signal(&mut signals).await.message,
        "killed by signal 9"
    );
    assert!(
        dies_within(worker, Duration::from_secs(3)).await,
        "the orphaned worker would keep the port"
    );
    supervisor.shutdown().await;
}

#[tokio::test]
async fn a_process_ignoring_sigterm_is_killed_after_the_grace() {
    let (sender, _signals) = mpsc::channel(8);
    let supervisor = Supervisor::builder(sender)
        .stop_grace(Duration::from_millis(300))
        .build();
    let svc = supervised(
        "stubborn",
        r#"["sh", "-c", "trap '' TERM; while true; do sleep 0.05; done"]"#,
        "",
    );
    let pid = supervisor.start(&svc).await.expect("started");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = tokio::time::Instant::now();
    supervisor.stop("stubborn").await.expect("stopped");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(dies_within(pid, Duration::from_secs(1)).await);
    assert_eq!(supervisor.pid("stubborn"), None);
    assert!(supervisor.targets().is_empty());
}

#[tokio::test]
async fn shutdown_leaves_no_processes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pid_file = dir.path().join("child.pid");
    let (supervisor, _signals) = supervisor();
    let a = supervisor
        .start(&supervised("a", r#"["sleep", "60"]"#, ""))
        .await
        .expect("a");
    let command = format!(
        r#"["sh", "-c", "sleep 60 & echo $! > {}; wait"]"#,
        pid_file.display()
    );
    let b = supervisor
        .start(&supervised("b", &command, ""))
        .await
        .expect("b");
    let b_child = read_pid_file(&pid_file).await;
    assert_eq!(supervisor.targets(), ["a", "b"]);

    supervisor.shutdown().await;
    for pid in [a, b, b_child] {
        assert!(
            dies_within(pid, Duration::from_secs(2)).await,
            "pid {pid} survived"
        );
    }
    assert!(supervisor.targets().is_empty());
    assert_eq!(supervisor.pid("a"), None);
}

#[tokio::test]
async fn output_is_appended_to_the_log_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("supervised.log");
    std::fs::write(&log, "earlier\n").expect("write");
    let (sender, _signals) = mpsc::channel(8);
    let supervisor = Supervisor::builder(sender).log_file(&log).build();
    supervisor
        .start(&supervised(
            "talker",
            r#"["sh", "-c", "echo hello; echo oops >&2; sleep 60"]"#,
            "",
        ))
        .await
        .expect("started");
    let mut text = String::new();
    for _ in 0..100 {
        text = std::fs::read_to_string(&log).expect("log");
        if text.contains("oops") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(text.starts_with("earlier\n"), "{text:?}");
    assert!(
        text.contains("hello\n") && text.contains("oops\n"),
        "{text:?}"
    );
    supervisor.shutdown().await;
}

#[tokio::test]
async fn misuse_is_a_clear_error() {
    let (supervisor, _signals) = supervisor();
    let plain = target(r#"name = "plain""#);
    assert!(matches!(
        supervisor.start(&plain).await,
        Err(SuperviseError::NotSupervised(_))
    ));
    assert!(matches!(
        supervisor.restart("nobody").await,
        Err(SuperviseError::NotStarted(_))
    ));
    assert!(matches!(
        supervisor.stop("nobody").await,
        Err(SuperviseError::NotStarted(_))
    ));
    let missing = supervised("missing", r#"["/nonexistent/medic-service"]"#, "");
    let error = supervisor.start(&missing).await.expect_err("cannot spawn");
    assert!(matches!(error, SuperviseError::Spawn { .. }), "{error}");
    assert!(supervisor.targets().is_empty());
    // Belt and braces: should the guard ever let it through, the missing
    // working directory makes the spawn fail instead of deleting anything.
    let refused = supervised(
        "wiper",
        r#"["rm", "-rf", "/"]"#,
        r#", cwd = "/nonexistent/medic-act-test""#,
    );
    assert!(matches!(
        supervisor.start(&refused).await,
        Err(SuperviseError::Refused { .. })
    ));

    let svc = supervised("twice", r#"["sleep", "60"]"#, "");
    let pid = supervisor.start(&svc).await.expect("started");
    let error = supervisor.start(&svc).await.expect_err("already running");
    assert!(
        matches!(error, SuperviseError::AlreadyStarted { pid: Some(p), .. } if p == pid),
        "{error}"
    );
    supervisor.shutdown().await;
}

#[tokio::test]
async fn dropping_the_last_handle_stops_the_processes() {
    let (supervisor, _signals) = supervisor();
    let pid = supervisor
        .start(&supervised("orphan", r#"["sleep", "60"]"#, ""))
        .await
        .expect("started");
    drop(supervisor);
    assert!(dies_within(pid, Duration::from_secs(3)).await);
}

#[tokio::test]
async fn a_receiver_that_stopped_draining_does_not_wedge_shutdown() {
    let (sender, _never_drained) = mpsc::channel(1);
    let supervisor = Supervisor::new(sender);
    let svc = supervised("crasher", r#"["false"]"#, r#", start_limit = 100"#);
    supervisor.start(&svc).await.expect("started");
    tokio::time::sleep(Duration::from_millis(500)).await;
    timeout(Duration::from_secs(5), supervisor.shutdown())
        .await
        .expect("shutdown finishes");
}
