//! `medic demo` end to end: the real binary heals every injected failure.

use std::process::Command;

#[test]
fn the_demo_heals_everything_and_exits_0() {
    let out = Command::new(env!("CARGO_BIN_EXE_medic"))
        .arg("demo")
        .output()
        .expect("medic demo runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("everything healed"), "{stdout}");
    for scenario in ["database outage", "hang", "crash"] {
        assert!(stdout.contains(scenario), "{scenario} missing:\n{stdout}");
    }
    // The outage is healed by the HTTP remedy, the hang by the ladder's restart.
    let row = |name: &str| {
        stdout
            .lines()
            .rev()
            .find(|l| l.contains(name))
            .unwrap_or_default()
            .to_string()
    };
    assert!(row("database outage").contains("reconnect-db"), "{stdout}");
    // A refused connection to PostgreSQL's port is the database (issue 17).
    assert!(row("database outage").contains(" database "), "{stdout}");
    assert!(row("hang").contains("restart"), "{stdout}");
}
