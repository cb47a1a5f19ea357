//! The destructive-command guard and the placeholder rule, seen through
//! `medic check`: every bypass reported in issue 12 is refused with exit 2
//! and the key path; what the guard cannot read passes only as a high-risk
//! remedy (which always waits for an approval).

use super::{config_file, medic};

/// Each command is one argv; `serde_json` writes TOML-compatible strings.
fn config_with(command: &[&str], risk: Option<&str>) -> String {
    let argv = serde_json::to_string(command).expect("argv as JSON");
    let risk = risk
        .map(|r| format!(", risk = \"{r}\""))
        .unwrap_or_default();
    format!(
        "[[targets]]\nname = \"db\"\nremedies = [{{ name = \"fix\", action = {{ kind = \"exec\", command = {argv} }}{risk} }}]\n"
    )
}

fn check(name: &str, text: &str) -> (Option<i32>, String) {
    let path = config_file(name, text);
    let out = medic(
        &["check", "--config", path.to_str().expect("utf-8")],
        &[],
        None,
    );
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The bypasses listed in issue 12, each an argv.
const REPORTED: &[&[&str]] = &[
    &["rm", "-rf", "//usr"],
    &["rm", "-rf", "/var/../usr"],
    &["rm", "-rf", "/./etc"],
    &["rm", "-rf", "/tmp/../"],
    &["dd", "if=/dev/zero", "of=//dev/sda"],
    &["find", "/", "-delete"],
    &["find", "/", "-exec", "rm", "-rf", "{}", "+"],
    &["rsync", "-a", "--delete", "/empty/", "/"],
    &["truncate", "-s", "0", "/dev/sda"],
    &["chroot", "/", "rm", "-rf", "/"],
    &["flock", "f", "rm", "-rf", "/"],
    &["python3", "-c", "import shutil; shutil.rmtree('/')"],
    &["sh", "-c", "X=/; rm -rf $X"],
    &["sh", "-c", "eval 'rm -rf /'"],
    &["sh", "-c", "$(echo rm) -rf /"],
    &["sh", "-c", "echo c > /proc/sysrq-trigger"],
    &["systemctl", "start", "reboot.target"],
    &["sh", "-c", "echo noted: {{diagnosis.root_cause}} >> notes"],
    &["bash", "-c", "notify {{incident.title}}"],
];

#[test]
fn check_refuses_every_reported_bypass_with_the_key_path() {
    for (i, command) in REPORTED.iter().enumerate() {
        let (code, stderr) = check(&format!("bypass-{i}"), &config_with(command, None));
        assert_eq!(code, Some(2), "{command:?} passed check: {stderr}");
        assert!(
            stderr.contains("targets[0].remedies[0].action.command:")
                && stderr.contains("destructive-command guard"),
            "{command:?}: {stderr}"
        );
    }
}

#[test]
fn a_placeholder_in_a_script_is_refused_with_the_way_to_do_it() {
    let command = ["sudo", "sh", "-c", "logger {{diagnosis.root_cause}}"];
    // Not even a high-risk remedy may turn outside text into code.
    let (code, stderr) = check("placeholder", &config_with(&command, Some("high")));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("placeholder-in-code"), "{stderr}");
    assert!(stderr.contains("$MEDIC_ROOT_CAUSE"), "{stderr}");

    let as_data = ["sh", "-c", "logger \"$1\"", "_", "{{diagnosis.root_cause}}"];
    let (code, stderr) = check("placeholder-arg", &config_with(&as_data, None));
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn an_unreadable_command_passes_only_as_a_high_risk_remedy() {
    let command = ["python3", "-c", "import app; app.flush_cache()"];
    let (code, stderr) = check("unreadable", &config_with(&command, None));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("risk = \"high\""), "{stderr}");

    let (code, stderr) = check("unreadable-high", &config_with(&command, Some("high")));
    assert_eq!(code, Some(0), "{stderr}");

    // A command known to destroy the host stays refused, approval or not.
    let command = ["rm", "-rf", "/usr/"];
    let (code, stderr) = check("destructive-high", &config_with(&command, Some("high")));
    assert_eq!(code, Some(2), "{stderr}");
}
