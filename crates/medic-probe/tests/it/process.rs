use std::path::Path;
use std::time::{Duration, Instant};

use medic_engine::config::ProcessProbe;
use medic_probe::process::ProcessCheck;

fn process_check(pidfile: &Path) -> ProcessCheck {
    let probe: ProcessProbe =
        toml::from_str(&format!("pidfile = {:?}", pidfile.display().to_string()))
            .expect("process probe parses");
    ProcessCheck::new(&probe, "process")
}

fn pidfile_with(dir: &tempfile::TempDir, contents: &str) -> std::path::PathBuf {
    let path = dir.path().join("app.pid");
    std::fs::write(&path, contents).expect("write pidfile");
    path
}

#[tokio::test]
async fn a_running_process_is_healthy() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pidfile = pidfile_with(&dir, &format!("{}\n", std::process::id()));
    let signal = process_check(&pidfile).check("app").await;
    assert!(signal.healthy, "{signal:?}");
}

#[tokio::test]
async fn a_missing_pidfile_is_unhealthy() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pidfile = dir.path().join("absent.pid");
    let signal = process_check(&pidfile).check("app").await;
    assert_eq!(
        signal.message,
        format!("pidfile {} not found", pidfile.display())
    );
}

#[tokio::test]
async fn a_pidfile_without_a_pid_is_unhealthy() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pidfile = pidfile_with(&dir, "not-a-pid\n");
    let signal = process_check(&pidfile).check("app").await;
    assert_eq!(
        signal.message,
        format!("pidfile {} does not hold a pid", pidfile.display())
    );
    assert_eq!(signal.evidence, ["not-a-pid"]);
}

#[tokio::test]
async fn an_exited_and_reaped_process_is_not_running() {
    let mut child = std::process::Command::new("true")
        .spawn()
        .expect("spawn true");
    let pid = child.id();
    child.wait().expect("reap");
    let dir = tempfile::tempdir().expect("temp dir");
    let pidfile = pidfile_with(&dir, &pid.to_string());
    let signal = process_check(&pidfile).check("app").await;
    assert_eq!(signal.message, format!("process {pid} is not running"));
}

#[tokio::test]
async fn a_zombie_counts_as_dead() {
    // A child that exits and is not reaped (yet) is a real zombie.
    let mut child = std::process::Command::new("true")
        .spawn()
        .expect("spawn true");
    let pid = child.id();
    wait_for_zombie(pid);
    let dir = tempfile::tempdir().expect("temp dir");
    let pidfile = pidfile_with(&dir, &pid.to_string());
    let signal = process_check(&pidfile).check("app").await;
    child.wait().expect("reap");
    assert!(!signal.healthy);
    assert_eq!(signal.message, format!("process {pid} is a zombie"));
    assert!(
        signal.evidence[0].starts_with(&format!("{pid} (true) Z")),
        "{:?}",
        signal.evidence
    );
}

fn wait_for_zombie(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(1);
    while Instant::now() < deadline {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if stat.contains(") Z ") {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("process {pid} did not become a zombie");
}
