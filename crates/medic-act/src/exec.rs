//! The `exec` action: an argv (never a shell string) in its own process
//! group, bounded by its timeout.
//!
//! Its output goes to an unlinked temporary file, not a pipe: a command
//! that outlives a killed agent is not killed by SIGPIPE half-way through
//! its fix, and a background grandchild holding the output open cannot
//! keep the agent waiting.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};

use medic_engine::config::{ExecAction, HumanDuration};
use medic_engine::safety::child_env;
use medic_engine::safety::{Refusal, Values, check_command, check_command_template, render_argv};
use nix::sys::signal::Signal;
use tokio::process::Command;

use crate::outcome::{ActionOutcome, MAX_OUTPUT_BYTES};
use crate::process_group::{GroupKillGuard, signal_group};

/// Runs the command: placeholders filled one argv element each, the
/// destructive-command guard asked about the *rendered* argv, stdout and
/// stderr captured together. Exit 0 is success. On timeout the command's
/// whole process group is killed, and the command reaped, before this returns.
pub(crate) async fn run(
    action: &ExecAction,
    values: &Values,
    facts: &BTreeMap<String, String>,
    approved: bool,
) -> ActionOutcome {
    let allowed = |result: Result<(), Refusal>| match result {
        Err(refusal) if !(approved && refusal.unreadable) => Err(refusal.to_string()),
        _ => Ok(()),
    };
    // `medic check` judged the template; a config loaded another way (the
    // API) is judged again here, before outside text is filled in.
    if let Err(refusal) = allowed(check_command_template(&action.command)) {
        return ActionOutcome::failed(refusal);
    }
    let argv = match render_argv(&action.command, values) {
        Ok(argv) => argv,
        Err(error) => return ActionOutcome::failed(format!("cannot fill the command: {error}")),
    };
    // Values could still make the rendered command destructive (`rm -rf
    // {{…}}` with a value of `/`).
    if let Err(refusal) = allowed(check_command(&argv)) {
        return ActionOutcome::failed(refusal);
    }
    let Some((program, args)) = argv.split_first().filter(|(p, _)| !p.is_empty()) else {
        return ActionOutcome::failed("the command is empty");
    };
    let limit = action.timeout.get();
    if limit.is_zero() {
        return ActionOutcome::failed("the timeout must be greater than zero");
    }

    let (mut output, stdout, stderr) = match OutputFile::new() {
        Ok(files) => files,
        Err(error) => {
            return ActionOutcome::failed(format!("cannot make a file for its output: {error}"));
        }
    };
    // A clean environment: the agent's secrets stay with the agent.
    let mut command = Command::new(program);
    command
        .args(args)
        .env_clear()
        .envs(child_env::from_agent(&action.pass_env, &action.env))
        .envs(facts)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .process_group(0)
        .kill_on_drop(true);
    if let Some(cwd) = &action.cwd {
        command.current_dir(cwd);
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) => {
            let place = action
                .cwd
                .as_ref()
                .map(|cwd| format!(" in {cwd}"))
                .unwrap_or_default();
            return ActionOutcome::failed(format!("cannot run {program:?}{place}: {error}"));
        }
    };
    let Some(pgid) = child.id() else {
        return ActionOutcome::failed(format!("{program:?} exited before medic saw its pid"));
    };
    // Declared after `child`, so it is dropped (and kills the group) first
    // when this future is cancelled.
    let mut group = GroupKillGuard::new(pgid);

    let finished = tokio::time::timeout(limit, child.wait()).await;
    let text = output.tail();
    match finished {
        Ok(Ok(status)) => {
            // What the command left running in the background on purpose
            // (a daemon it started) is not ours to kill.
            group.disarm();
            if status.success() {
                ActionOutcome::succeeded().with_output(text)
            } else {
                let error = match last_line(&text) {
                    Some(line) => format!("{}: {line}", describe_exit(status)),
                    None => describe_exit(status),
                };
                ActionOutcome::failed(error).with_output(text)
            }
        }
        Ok(Err(error)) => ActionOutcome::failed(format!("waiting for {program:?} failed: {error}"))
            .with_output(text),
        Err(_elapsed) => {
            // Kill before reaping: the unreaped leader keeps the group id ours.
            signal_group(pgid, Signal::SIGKILL);
            if let Err(error) = child.wait().await {
                tracing::warn!(%error, program, "could not reap a timed-out command");
            }
            group.disarm();
            ActionOutcome::failed(format!(
                "timed out after {}; its process group was killed",
                HumanDuration::new(limit)
            ))
            .with_output(text)
        }
    }
}

/// Where a command's stdout and stderr go: one unlinked temporary file,
/// both streams appended to it in the order they were written.
struct OutputFile {
    /// Our own handle, with its own offset: the command's appends do not move it.
    reader: File,
}

impl OutputFile {
    /// The file, and the command's stdout and stderr into it.
    fn new() -> io::Result<(Self, Stdio, Stdio)> {
        let named = tempfile::NamedTempFile::new()?;
        let sink = std::fs::OpenOptions::new()
            .append(true)
            .open(named.path())?;
        let stderr = sink.try_clone()?;
        // Unlinked now: the open handles keep it until the last one closes.
        let reader = named.into_file();
        Ok((Self { reader }, Stdio::from(sink), Stdio::from(stderr)))
    }

    /// The end of what was written, at most [`MAX_OUTPUT_BYTES`].
    fn tail(&mut self) -> String {
        let mut read = || -> io::Result<Vec<u8>> {
            let len = self.reader.metadata()?.len();
            let cap = u64::try_from(MAX_OUTPUT_BYTES).unwrap_or(u64::MAX);
            self.reader.seek(SeekFrom::Start(len.saturating_sub(cap)))?;
            let mut bytes = Vec::new();
            self.reader.by_ref().take(cap).read_to_end(&mut bytes)?;
            Ok(bytes)
        };
        match read() {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(error) => format!("(its output could not be read: {error})"),
        }
    }
}

/// `exit status 3` or `killed by signal 9`.
pub(crate) fn describe_exit(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => status.to_string(),
    }
}

/// The last non-empty line: where a failing command says why.
fn last_line(text: &str) -> Option<&str> {
    text.lines().map(str::trim).rfind(|line| !line.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_line_skips_blank_lines() {
        assert_eq!(last_line("a\nb\n\n  \n"), Some("b"));
        assert_eq!(last_line("\n"), None);
    }

    #[test]
    fn exits_are_described_like_a_shell_would() {
        assert_eq!(describe_exit(ExitStatus::from_raw(3 << 8)), "exit status 3");
        assert_eq!(describe_exit(ExitStatus::from_raw(9)), "killed by signal 9");
    }
}
