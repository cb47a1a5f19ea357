//! Issue 16 item 3: a systemd unit probed and healed through `systemctl`.
//! This machine (a container) has no systemd, so `systemctl` is a stand-in
//! on `PATH`: it prints `systemctl show`'s `Key=value` lines from a state file
//! and changes that state on `reset-failed`, `start` and `restart` as
//! systemd would (a unit that hit its start limit refuses to start until
//! its failed state is reset).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use crate::medic;
use crate::support::{Served, TempDir};

const STAND_IN: &str = r#"#!/bin/sh
# A stand-in for systemctl: one unit, shop.service, in files beside it.
dir="$(dirname "$0")"
for unit; do :; done
case "$1" in
  show)
    if [ "$unit" = shop.service ]; then cat "$dir/state"
    else printf 'LoadState=not-found\nActiveState=inactive\nSubState=dead\nResult=success\nNRestarts=0\n'
    fi ;;
  reset-failed)
    echo "$*" >> "$dir/calls"
    sed -i 's/^Result=.*/Result=success/' "$dir/state" ;;
  start|restart)
    echo "$*" >> "$dir/calls"
    if grep -q '^Result=start-limit-hit' "$dir/state"; then
      echo "Job for $unit failed. See \"systemctl status $unit\" for details." >&2
      exit 1
    fi
    printf 'LoadState=loaded\nActiveState=active\nSubState=running\nResult=success\nNRestarts=5\n' > "$dir/state" ;;
  *) echo "unknown command $1" >&2; exit 1 ;;
esac
"#;

/// `systemctl show` of a unit systemd gave up on: restarted 5 times, then
/// its start limit was hit.
const START_LIMIT_HIT: &str =
    "LoadState=loaded\nActiveState=failed\nSubState=failed\nResult=start-limit-hit\nNRestarts=5\n";

fn install_stand_in(bin: &Path) {
    std::fs::create_dir_all(bin).expect("bin dir");
    let program = bin.join("systemctl");
    std::fs::write(&program, STAND_IN).expect("stand-in");
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::write(
        bin.join("state"),
        "LoadState=loaded\nActiveState=active\nSubState=running\nResult=success\nNRestarts=0\n",
    )
    .expect("state");
}

fn config(dir: &Path, unit: &str) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
[storage]
url = "sqlite://{db}"
[[targets]]
name = "shop"
probes = [{{ kind = "systemd", unit = "{unit}", interval = "300ms" }}]
[[targets.remedies]]
name = "unstick"
action = {{ kind = "systemd", verb = "reset-failed+start", unit = "{unit}" }}
"#,
        db = dir.join("medic.db").display(),
    )
}

#[test]
fn a_unit_that_hit_its_start_limit_is_reset_and_started() {
    let dir = TempDir::new("systemd");
    let bin = dir.0.join("bin");
    install_stand_in(&bin);
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let config_path = dir.0.join("medic.toml");
    std::fs::write(&config_path, config(&dir.0, "shop.service")).expect("config");
    let served = Served::start(&config_path, &[("PATH", &path)]);
    served.wait_for("/api/v1/components/shop", Duration::from_secs(10), |view| {
        view["state"] == "healthy"
    });

    std::fs::write(bin.join("state"), START_LIMIT_HIT).expect("break the unit");
    let listed = served.wait_for("/api/v1/incidents", Duration::from_secs(20), |json| {
        json["incidents"]
            .as_array()
            .is_some_and(|all| all.iter().any(|i| i["status"] == "resolved"))
    });
    let id = listed["incidents"][0]["id"].as_i64().expect("id");
    let detail = served.get_json(&format!("/api/v1/incidents/{id}"));
    let root_cause = detail["incident"]["diagnosis"]["root_cause"]
        .as_str()
        .or_else(|| detail["diagnosis"]["root_cause"].as_str())
        .unwrap_or_default();
    assert!(
        root_cause.contains("shop.service is failed") && root_cause.contains("start-limit-hit"),
        "{detail:#}"
    );
    let action = &detail["actions"][0];
    assert_eq!(action["remedy"], "unstick", "{detail:#}");
    assert_eq!(action["state"], "succeeded", "{detail:#}");
    assert_eq!(action["verified"], true, "{detail:#}");
    let calls = std::fs::read_to_string(bin.join("calls")).expect("calls");
    assert_eq!(
        calls, "reset-failed -- shop.service\nstart -- shop.service\n",
        "the unit was reset, then started, once"
    );
}

#[test]
fn check_refuses_a_unit_name_that_could_be_an_option() {
    let dir = TempDir::new("systemd-check");
    let config_path = dir.0.join("medic.toml");
    std::fs::write(&config_path, config(&dir.0, "--now.service")).expect("config");
    let out = medic(
        &[
            "check",
            "--offline",
            "--config",
            config_path.to_str().expect("utf-8"),
        ],
        &[],
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("targets[0].probes[0].unit")
            && stderr.contains("targets[0].remedies[0].action.unit")
            && stderr.contains("is not a systemd unit name"),
        "{stderr}"
    );
}
