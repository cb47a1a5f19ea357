//! The process probe: is the process named by a pidfile alive? A zombie
//! counts as dead: it has exited, only its parent has not reaped it.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use medic_engine::config::ProcessProbe;
use medic_model::{Signal, SignalSource};

use crate::excerpt::{duration_text, first_lines};

/// A built process probe.
#[derive(Debug, Clone)]
pub struct ProcessCheck {
    name: String,
    pidfile: PathBuf,
    timeout: Duration,
}

/// Why the process does not look alive.
type Verdict = Result<(), (String, Vec<String>)>;

impl ProcessCheck {
    /// Builds the probe; `name` becomes the signal's probe name.
    pub fn new(probe: &ProcessProbe, name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            pidfile: PathBuf::from(&probe.pidfile),
            timeout: probe.timeout.get(),
        }
    }

    /// Reads the pidfile, then the process's `/proc/<pid>/stat`.
    pub async fn check(&self, target: &str) -> Signal {
        let source = SignalSource::Probe {
            probe: self.name.clone(),
        };
        match tokio::time::timeout(self.timeout, self.inspect()).await {
            Ok(Ok(())) => Signal::healthy(target, source),
            Ok(Err((message, evidence))) => {
                Signal::unhealthy(target, source, &message).with_evidence(evidence)
            }
            Err(_elapsed) => Signal::unhealthy(
                target,
                source,
                &format!("timed out after {}", duration_text(self.timeout)),
            ),
        }
    }

    async fn inspect(&self) -> Verdict {
        let pidfile = self.pidfile.display();
        let text = match tokio::fs::read_to_string(&self.pidfile).await {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Err((format!("pidfile {pidfile} not found"), Vec::new()));
            }
            Err(error) => {
                return Err((
                    format!("cannot read pidfile {pidfile}: {error}"),
                    Vec::new(),
                ));
            }
        };
        let Some(pid) = parse_pid(&text) else {
            return Err((
                format!("pidfile {pidfile} does not hold a pid"),
                first_lines(&text, 1),
            ));
        };
        let stat_path = format!("/proc/{pid}/stat");
        let stat = match tokio::fs::read_to_string(&stat_path).await {
            Ok(stat) => stat,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Err((format!("process {pid} is not running"), Vec::new()));
            }
            Err(error) => return Err((format!("cannot read {stat_path}: {error}"), Vec::new())),
        };
        let evidence = || first_lines(&stat, 1);
        match parse_process_state(&stat) {
            Some('Z') => Err((format!("process {pid} is a zombie"), evidence())),
            Some('X') => Err((format!("process {pid} is dead"), evidence())),
            Some(_) => Ok(()),
            None => Err((format!("cannot parse {stat_path}"), evidence())),
        }
    }
}

/// A positive pid on the pidfile's first line (`1234`, `1234\n`).
fn parse_pid(text: &str) -> Option<u32> {
    let pid: u32 = text.lines().next()?.trim().parse().ok()?;
    (pid > 0).then_some(pid)
}

/// The state letter of a `/proc/<pid>/stat` line. The command name before it
/// is in parentheses and may itself hold spaces and parentheses, so the state
/// is read after the *last* `)`.
fn parse_process_state(stat: &str) -> Option<char> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.trim_start().chars().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_is_read_after_the_last_parenthesis() {
        assert_eq!(parse_process_state("1234 (sleep) S 1 1234"), Some('S'));
        assert_eq!(parse_process_state("42 (a) b) (c d) Z 1 42"), Some('Z'));
        assert_eq!(parse_process_state("7 (x)"), None);
        assert_eq!(parse_process_state("garbage"), None);
    }

    #[test]
    fn pid_must_be_a_positive_number_on_the_first_line() {
        assert_eq!(parse_pid("1234\n"), Some(1234));
        assert_eq!(parse_pid("  99  \nextra"), Some(99));
        assert_eq!(parse_pid("0"), None);
        assert_eq!(parse_pid("-5"), None);
        assert_eq!(parse_pid("abc"), None);
        assert_eq!(parse_pid(""), None);
    }
}
