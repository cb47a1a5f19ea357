//! The systemd probe: a unit's state from `systemctl show`. Healthy while the
//! unit is loaded and active; otherwise the message says what systemd knows
//! (`failed`, why it failed, how often it restarted it) in words the
//! diagnosis rules read (`oom-kill` is a resource problem, say).

use std::process::Stdio;
use std::time::Duration;

use medic_engine::config::SystemdProbe;
use medic_engine::safety::child_env;
use medic_model::{Signal, SignalSource};
use tokio::process::Command;

use crate::excerpt::{duration_text, first_lines};

/// The properties asked for, in `systemctl show`'s `Key=value` lines.
const PROPERTIES: &str = "LoadState,ActiveState,SubState,Result,NRestarts";

/// A built systemd probe.
#[derive(Debug, Clone)]
pub struct SystemdCheck {
    name: String,
    unit: String,
    timeout: Duration,
}

impl SystemdCheck {
    /// Builds the probe; `name` becomes the signal's probe name.
    pub fn new(probe: &SystemdProbe, name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            unit: probe.unit.clone(),
            timeout: probe.timeout.get(),
        }
    }

    /// Runs `systemctl show` once and judges the unit's state.
    pub async fn check(&self, target: &str) -> Signal {
        let source = SignalSource::Probe {
            probe: self.name.clone(),
        };
        let shown = Command::new("systemctl")
            .args(["show", "--no-pager", "--property", PROPERTIES, "--"])
            .arg(&self.unit)
            .env_clear()
            .envs(child_env::from_agent(&[], &Default::default()))
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output();
        let output = match tokio::time::timeout(self.timeout, shown).await {
            Ok(Ok(output)) => output,
            Ok(Err(error)) => {
                return Signal::unhealthy(
                    target,
                    source,
                    &format!("cannot run systemctl: {error}"),
                );
            }
            Err(_elapsed) => {
                return Signal::unhealthy(
                    target,
                    source,
                    &format!(
                        "systemctl show timed out after {}",
                        duration_text(self.timeout)
                    ),
                );
            }
        };
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Signal::unhealthy(
                target,
                source,
                &format!("systemctl show {} failed: {}", self.unit, output.status),
            )
            .with_evidence(first_lines(&stderr, 3));
        }
        let state = UnitState::parse(&stdout);
        match state.problem(&self.unit) {
            None => Signal::healthy(target, source),
            Some(message) => Signal::unhealthy(target, source, &message)
                .with_evidence(first_lines(&stdout, PROPERTIES.split(',').count())),
        }
    }
}

/// What `systemctl show` said about a unit; a property it did not print is
/// empty.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct UnitState {
    /// `loaded`, `not-found`, `masked`, …
    pub load: String,
    /// `active`, `reloading`, `inactive`, `failed`, `activating`, `deactivating`.
    pub active: String,
    /// The unit type's own state: `running`, `exited`, `auto-restart`, …
    pub sub: String,
    /// Why it last stopped: `success`, `exit-code`, `signal`, `core-dump`,
    /// `oom-kill`, `timeout`, `watchdog`, `start-limit-hit`, …
    pub result: String,
    /// How often systemd restarted it (`Restart=`), when it says.
    pub restarts: Option<u64>,
}

impl UnitState {
    /// Reads `Key=value` lines; anything else is ignored (never a panic).
    pub fn parse(text: &str) -> Self {
        let mut state = Self::default();
        for (key, value) in text.lines().filter_map(|line| line.split_once('=')) {
            let value = value.trim().to_string();
            match key.trim() {
                "LoadState" => state.load = value,
                "ActiveState" => state.active = value,
                "SubState" => state.sub = value,
                "Result" => state.result = value,
                "NRestarts" => state.restarts = value.parse().ok(),
                _ => {}
            }
        }
        state
    }

    /// Why the unit is not healthy, in a sentence; `None` when it is.
    pub fn problem(&self, unit: &str) -> Option<String> {
        if self.load != "loaded" {
            let load = if self.load.is_empty() {
                "unknown"
            } else {
                &self.load
            };
            return Some(format!("{unit} is not loaded (LoadState={load})"));
        }
        if matches!(self.active.as_str(), "active" | "reloading") {
            return None;
        }
        let mut message = format!("{unit} is {} ({})", self.active, self.sub);
        if let Some(why) = result_words(&self.result) {
            message.push_str(": ");
            message.push_str(why);
        }
        if let Some(restarts) = self.restarts.filter(|n| *n > 0) {
            message.push_str(&format!("; systemd restarted it {restarts} times"));
        }
        Some(message)
    }
}

/// A failed unit's `Result` in words; the raw value stays in brackets so it
/// can be searched for.
fn result_words(result: &str) -> Option<&'static str> {
    Some(match result {
        "" | "success" => return None,
        "exit-code" => "its main process exited with an error (exit-code)",
        "signal" => "its main process was killed by a signal (signal)",
        "core-dump" => "its main process crashed and dumped core (core-dump)",
        "oom-kill" => "the kernel killed it, out of memory (oom-kill)",
        "timeout" => "a start or stop took longer than allowed, timed out (timeout)",
        "watchdog" => "it stopped answering systemd's watchdog (watchdog)",
        "start-limit-hit" => {
            "systemd stopped starting it: start limit hit (start-limit-hit); \
             reset-failed, then start"
        }
        "resources" => "systemd could not set up its resources (resources)",
        _ => "it failed (see Result)",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `systemctl show --property …` of a unit that hit its start limit, as
    /// systemd 252 prints it.
    const START_LIMIT_HIT: &str = "LoadState=loaded\nActiveState=failed\nSubState=failed\n\
                                   Result=start-limit-hit\nNRestarts=5\n";

    #[test]
    fn a_failed_unit_says_why_and_how_often_it_restarted() {
        let state = UnitState::parse(START_LIMIT_HIT);
        assert_eq!(state.restarts, Some(5));
        let message = state.problem("shop.service").expect("unhealthy");
        assert!(
            message.starts_with("shop.service is failed (failed): "),
            "{message}"
        );
        assert!(message.contains("start-limit-hit"), "{message}");
        assert!(message.ends_with("restarted it 5 times"), "{message}");
    }

    #[test]
    fn active_and_reloading_are_healthy_everything_else_is_not() {
        let running = "LoadState=loaded\nActiveState=active\nSubState=running\nResult=success\n";
        assert_eq!(UnitState::parse(running).problem("a.service"), None);
        let reloading = running.replace("=active", "=reloading");
        assert_eq!(UnitState::parse(&reloading).problem("a.service"), None);
        let restarting =
            "LoadState=loaded\nActiveState=activating\nSubState=auto-restart\nResult=oom-kill\n";
        let message = UnitState::parse(restarting)
            .problem("a.service")
            .expect("down");
        assert!(message.contains("out of memory"), "{message}");
        let missing = "LoadState=not-found\nActiveState=inactive\nSubState=dead\n";
        let message = UnitState::parse(missing)
            .problem("a.service")
            .expect("down");
        assert_eq!(message, "a.service is not loaded (LoadState=not-found)");
    }

    #[test]
    fn any_text_parses_without_a_panic() {
        for text in [
            "",
            "=",
            "==\n=x",
            "NRestarts=-1",
            "ActiveState",
            "\u{0}=\u{ffff}",
        ] {
            let state = UnitState::parse(text);
            assert!(state.problem("a.service").is_some(), "{text:?}");
        }
    }
}
