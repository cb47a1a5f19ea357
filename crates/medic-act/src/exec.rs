//! The `exec` action: an argv (never a shell string) in its own process
//! group, bounded by its timeout.

use std::collections::BTreeMap;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use medic_engine::config::{ExecAction, HumanDuration};
use medic_engine::safety::child_env;
use medic_engine::safety::{Refusal, Values, check_command, check_command_template, render_argv};
use nix::sys::signal::Signal;
use tokio::process::{Child, Command};

use crate::capture::{Captured, read_both};
use crate::outcome::{ActionOutcome, MAX_OUTPUT_BYTES};
use crate::process_group::{GroupKillGuard, signal_group};

/// After the command exits, how long to keep reading its pipes: a background
/// grandchild may hold them open forever, and the exit status is the verdict.
const OUTPUT_GRACE: Duration = Duration::from_millis(100);

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

    // A clean environment: the agent's secrets stay with the agent.
    let mut command = Command::new(program);
    command
        .args(args)
        .env_clear()
        .envs(child_env::from_agent(&action.pass_env, &action.env))
        .envs(facts)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
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
    let mut output = Captured::new(MAX_OUTPUT_BYTES);

    let finished = tokio::time::timeout(limit, wait_capturing(&mut child, &mut output)).await;
    let text = output.combined.text();
    let stderr = output.stderr.text();
    match finished {
        Ok(Ok(status)) => {
            // What the command left running in the background on purpose
            // (a daemon it started) is not ours to kill.
            group.disarm();
            if status.success() {
                ActionOutcome::succeeded().with_output(text)
            } else {
                let error = match last_line(&stderr).or_else(|| last_line(&text)) {
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

/// Waits for the child while reading its pipes. The buffer lives outside this
/// future, so what was read survives a timeout.
async fn wait_capturing(child: &mut Child, output: &mut Captured) -> io::Result<ExitStatus> {
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let reading = read_both(stdout, stderr, output);
    tokio::pin!(reading);
    tokio::select! {
        status = child.wait() => {
            let _ = tokio::time::timeout(OUTPUT_GRACE, &mut reading).await;
            status
        }
        () = &mut reading => child.wait().await,
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

/// The last non-empty line: where a failing command says why (stderr
/// first, stdout for commands that report errors there).
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
