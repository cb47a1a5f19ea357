//! The exec probe: run an argv (never a shell string); exit 0 is healthy.

use std::collections::BTreeMap;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use medic_engine::config::ExecProbe;
use medic_engine::safety::{check_command, child_env};
use medic_model::{Signal, SignalSource};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};
use tokio::time::Instant;

use crate::error::ProbeBuildError;
use crate::excerpt::{TailBuffer, duration_text, last_lines, millis};

/// Output kept per stream: the end of the output, where errors usually are.
pub const OUTPUT_TAIL_BYTES: usize = 4 * 1024;

/// Output lines shown as evidence when the command fails.
const EVIDENCE_LINES: usize = 5;

/// After the command exits, how long to keep reading its pipes: a background
/// grandchild may hold them open forever, and the exit status is the verdict.
const OUTPUT_GRACE: Duration = Duration::from_millis(100);

/// A built exec probe.
#[derive(Debug, Clone)]
pub struct ExecCheck {
    name: String,
    command: Vec<String>,
    timeout: Duration,
    env: BTreeMap<String, String>,
    pass_env: Vec<String>,
}

impl ExecCheck {
    /// Builds the probe; `name` becomes the signal's probe name.
    pub fn new(probe: &ExecProbe, name: impl Into<String>) -> Result<Self, ProbeBuildError> {
        if probe.command.is_empty() {
            return Err(ProbeBuildError::EmptyCommand);
        }
        Ok(Self {
            name: name.into(),
            command: probe.command.clone(),
            timeout: probe.timeout.get(),
            env: probe.env.clone(),
            pass_env: probe.pass_env.clone(),
        })
    }

    /// Runs the command once, after the destructive-command guard allows it;
    /// on timeout the command is killed (and reaped) before this returns.
    pub async fn check(&self, target: &str) -> Signal {
        let source = SignalSource::Probe {
            probe: self.name.clone(),
        };
        if let Err(refusal) = check_command(&self.command) {
            return Signal::unhealthy(target, source, &refusal.to_string());
        }
        let Some((program, args)) = self.command.split_first() else {
            return Signal::unhealthy(target, source, "empty command");
        };
        let started = Instant::now();
        let mut child = match Command::new(program)
            .args(args)
            // A clean environment: the agent's secrets stay with the agent.
            .env_clear()
            .envs(child_env::from_agent(&self.pass_env, &self.env))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
        {
            Ok(child) => child,
            Err(error) => {
                return Signal::unhealthy(
                    target,
                    source,
                    &format!("cannot run {program:?}: {error}"),
                );
            }
        };
        let mut stdout = TailBuffer::new(OUTPUT_TAIL_BYTES);
        let mut stderr = TailBuffer::new(OUTPUT_TAIL_BYTES);
        let finished = tokio::time::timeout(
            self.timeout,
            wait_capturing_output(&mut child, &mut stdout, &mut stderr),
        )
        .await;
        let latency = millis(started.elapsed());
        let signal = match finished {
            Ok(Ok(status)) if status.success() => Signal::healthy(target, source),
            Ok(Ok(status)) => Signal::unhealthy(target, source, &describe_exit(status)),
            Ok(Err(error)) => Signal::unhealthy(
                target,
                source,
                &format!("waiting for {program:?} failed: {error}"),
            ),
            Err(_elapsed) => {
                // kill() sends SIGKILL and reaps, so no zombie is left behind.
                if let Err(error) = child.kill().await {
                    tracing::warn!(%error, program, "could not kill a timed-out exec probe");
                }
                Signal::unhealthy(
                    target,
                    source,
                    &format!("timed out after {}", duration_text(self.timeout)),
                )
            }
        };
        if signal.healthy {
            return signal.with_latency_ms(latency);
        }
        signal
            .with_latency_ms(latency)
            .with_evidence(output_evidence(&stdout, &stderr))
    }
}

/// Waits for the child while draining both pipes into tail buffers (a child
/// blocked on a full pipe would never exit). The buffers live outside this
/// future, so what was read survives a timeout.
async fn wait_capturing_output(
    child: &mut Child,
    stdout: &mut TailBuffer,
    stderr: &mut TailBuffer,
) -> io::Result<ExitStatus> {
    let stdout_pipe = child.stdout.take();
    let stderr_pipe = child.stderr.take();
    let draining = async {
        tokio::join!(drain(stdout_pipe, stdout), drain(stderr_pipe, stderr));
    };
    tokio::pin!(draining);
    tokio::select! {
        status = child.wait() => {
            let _ = tokio::time::timeout(OUTPUT_GRACE, &mut draining).await;
            status
        }
        () = &mut draining => child.wait().await,
    }
}

async fn drain(pipe: Option<impl AsyncRead + Unpin>, into: &mut TailBuffer) {
    let Some(mut pipe) = pipe else { return };
    let mut chunk = [0u8; 4096];
    // A read error ends the capture; the exit status still decides.
    while let Ok(read) = pipe.read(&mut chunk).await {
        if read == 0 {
            break;
        }
        into.push(&chunk[..read]);
    }
}

/// `exit status 3` or `killed by signal 9`.
fn describe_exit(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => status.to_string(),
    }
}

/// The last lines of stderr, where commands explain failures; stdout when
/// stderr is empty.
fn output_evidence(stdout: &TailBuffer, stderr: &TailBuffer) -> Vec<String> {
    let from_stderr = last_lines(&stderr.text(), EVIDENCE_LINES);
    if from_stderr.is_empty() {
        last_lines(&stdout.text(), EVIDENCE_LINES)
    } else {
        from_stderr
    }
}
