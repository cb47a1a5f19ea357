//! One task per supervised process: the only owner of its `Child`, so exits,
//! restarts and stops never race. It waits for the process to exit or for a
//! command; an unexpected exit becomes a signal and, within the start
//! budget, a restart after a backoff.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::Duration;

use medic_engine::config::HumanDuration;
use medic_model::{Signal, SignalSource};
use tokio::sync::mpsc::error::SendTimeoutError;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::SuperviseError;
use super::budget::StartBudget;
use super::launch::{Launcher, RunningProcess};

/// How long a signal may wait for room in a full channel.
const EMIT_TIMEOUT: Duration = Duration::from_secs(1);

/// What the supervisor asks of a watcher.
#[derive(Debug)]
pub(super) enum Command {
    /// Stop the group (if running) and start again now; answers the new pid.
    Restart(oneshot::Sender<Result<u32, SuperviseError>>),
    /// Stop the group and end the watcher.
    Stop(oneshot::Sender<()>),
}

/// Delays and grace periods.
#[derive(Debug, Clone, Copy)]
pub(super) struct Timing {
    /// Delay before the first automatic restart; doubles per crash in a row.
    pub(super) initial_backoff: Duration,
    /// The longest delay; a process that ran at least this long was stable,
    /// and its next crash starts the backoff over.
    pub(super) max_backoff: Duration,
    /// How long a stopped group gets between SIGTERM and SIGKILL.
    pub(super) stop_grace: Duration,
}

/// Where a watcher's process is.
enum Phase {
    /// Boxed: a `Child` is large next to the other phases.
    Running(Box<RunningProcess>),
    /// Crashed; restarts at the instant unless told otherwise first.
    BackingOff(Instant),
    /// Crashed too often; waits for a deliberate restart or a stop.
    GaveUp,
}

/// What woke the watcher, with the process if one was running.
enum Event {
    /// The status is `None` for an adopted process (not our child).
    Exited(Box<RunningProcess>, std::io::Result<Option<ExitStatus>>),
    BackoffOver,
    /// `None`: every supervisor handle is gone.
    Command(Option<Command>, Option<Box<RunningProcess>>),
}

pub(super) struct Watcher {
    target: String,
    launcher: Launcher,
    budget: StartBudget,
    start_limit: u32,
    start_window: Duration,
    timing: Timing,
    signals: mpsc::Sender<Signal>,
    pid: watch::Sender<Option<u32>>,
    crashes_in_a_row: u32,
    last_exit_code: Option<i32>,
}

impl Watcher {
    pub(super) fn new(
        target: &str,
        launcher: Launcher,
        start_limit: u32,
        start_window: Duration,
        timing: Timing,
        signals: mpsc::Sender<Signal>,
        pid: watch::Sender<Option<u32>>,
    ) -> Self {
        Self {
            target: target.to_string(),
            launcher,
            budget: StartBudget::new(start_limit, start_window),
            start_limit,
            start_window,
            timing,
            signals,
            pid,
            crashes_in_a_row: 0,
            last_exit_code: None,
        }
    }

    /// Starts the process (counted against the budget) and publishes its pid.
    pub(super) fn start(&mut self) -> Result<RunningProcess, SuperviseError> {
        self.budget.record(Instant::now());
        let process = self.launcher.launch()?;
        tracing::info!(supervised = self.target, pid = process.pid, "started");
        self.pid.send_replace(Some(process.pid));
        Ok(process)
    }

    /// Takes an adopted process as its own (no start used up) and
    /// publishes its pid.
    pub(super) fn adopt(&mut self, process: RunningProcess) -> RunningProcess {
        tracing::info!(supervised = self.target, pid = process.pid, "adopted");
        self.pid.send_replace(Some(process.pid));
        process
    }

    /// The watcher's life: ends on `Stop`, or when every supervisor handle
    /// is gone; either way the process group is stopped first.
    pub(super) async fn run(
        mut self,
        first: RunningProcess,
        mut commands: mpsc::Receiver<Command>,
    ) {
        let mut phase = Phase::Running(Box::new(first));
        loop {
            let event = match phase {
                Phase::Running(mut process) => tokio::select! {
                    status = process.wait() => Event::Exited(process, status),
                    command = commands.recv() => Event::Command(command, Some(process)),
                },
                Phase::BackingOff(until) => tokio::select! {
                    () = tokio::time::sleep_until(until) => Event::BackoffOver,
                    command = commands.recv() => Event::Command(command, None),
                },
                Phase::GaveUp => Event::Command(commands.recv().await, None),
            };
            phase = match event {
                Event::Exited(process, status) => self.on_exit(*process, status).await,
                Event::BackoffOver => self.start_after_backoff().await,
                Event::Command(command, running) => {
                    if let Some(process) = running {
                        self.stop(*process).await;
                    }
                    match command {
                        Some(Command::Restart(reply)) => self.restart_on_request(reply).await,
                        Some(Command::Stop(reply)) => {
                            let _ = reply.send(());
                            return;
                        }
                        None => return,
                    }
                }
            };
        }
    }

    async fn stop(&mut self, process: RunningProcess) {
        let pid = process.pid;
        process.terminate(self.timing.stop_grace).await;
        self.pid.send_replace(None);
        tracing::info!(supervised = self.target, pid, "stopped");
    }

    /// The process exited by itself: report it, clean up its group, and
    /// schedule a restart if the budget allows.
    async fn on_exit(
        &mut self,
        process: RunningProcess,
        status: std::io::Result<Option<ExitStatus>>,
    ) -> Phase {
        let (pid, ran_for) = (process.pid, process.started.elapsed());
        let adopted = process.adopted();
        self.pid.send_replace(None);
        process.clean_up_after_exit(self.timing.stop_grace).await;
        let (code, message) = match &status {
            Ok(Some(status)) => (status.code(), exit_message(*status)),
            Ok(None) => (
                None,
                "exited (adopted from an earlier agent: its status is not known)".into(),
            ),
            Err(error) => (None, format!("lost track of the process: {error}")),
        };
        self.last_exit_code = code;
        tracing::warn!(supervised = self.target, pid, %message, "supervised process exited");
        let evidence = vec![format!(
            "pid {pid} ran for {}{}",
            HumanDuration::new(Duration::from_millis(
                u64::try_from(ran_for.as_millis()).unwrap_or(u64::MAX)
            )),
            if adopted { " since it was adopted" } else { "" }
        )];
        self.emit(
            Signal::unhealthy(&self.target, SignalSource::Exit { code }, &message)
                .with_evidence(evidence),
        )
        .await;
        if ran_for >= self.timing.max_backoff {
            self.crashes_in_a_row = 0;
        }
        self.schedule_restart().await
    }

    /// Backs off, or gives up (and says so) when the budget is spent.
    async fn schedule_restart(&mut self) -> Phase {
        self.crashes_in_a_row = self.crashes_in_a_row.saturating_add(1);
        let delay = restart_delay(self.timing, self.crashes_in_a_row);
        let at = Instant::now() + delay;
        if self.budget.allows(at) {
            return Phase::BackingOff(at);
        }
        let message = format!(
            "start limit reached: {} starts in {}",
            self.start_limit,
            HumanDuration::new(self.start_window)
        );
        tracing::error!(supervised = self.target, %message, "not restarting");
        self.emit(Signal::unhealthy(
            &self.target,
            SignalSource::Exit {
                code: self.last_exit_code,
            },
            &message,
        ))
        .await;
        Phase::GaveUp
    }

    async fn start_after_backoff(&mut self) -> Phase {
        match self.start() {
            Ok(process) => Phase::Running(Box::new(process)),
            Err(error) => {
                let message = format!("cannot restart: {error}");
                self.emit(Signal::unhealthy(
                    &self.target,
                    SignalSource::Exit { code: None },
                    &message,
                ))
                .await;
                self.schedule_restart().await
            }
        }
    }

    /// A deliberate restart: the budget and backoff start over, because the
    /// caller (the policy, a human) already decided this start is wanted.
    async fn restart_on_request(
        &mut self,
        reply: oneshot::Sender<Result<u32, SuperviseError>>,
    ) -> Phase {
        self.budget.clear();
        self.crashes_in_a_row = 0;
        match self.start() {
            Ok(process) => {
                let _ = reply.send(Ok(process.pid));
                Phase::Running(Box::new(process))
            }
            Err(error) => {
                let _ = reply.send(Err(error));
                self.schedule_restart().await
            }
        }
    }

    /// Sends a signal, waiting a little for room in the channel: a receiver
    /// that stopped draining must not wedge the watcher, or `stop` and
    /// `shutdown` would never be heard.
    async fn emit(&self, signal: Signal) {
        match self.signals.send_timeout(signal, EMIT_TIMEOUT).await {
            Ok(()) => {}
            Err(SendTimeoutError::Timeout(signal)) => tracing::warn!(
                supervised = self.target,
                message = signal.message,
                "the signal channel is full; dropping a supervisor signal"
            ),
            // Nobody listening: the agent is shutting down.
            Err(SendTimeoutError::Closed(_)) => {}
        }
    }
}

/// `exited with status 3` or `killed by signal 9`.
fn exit_message(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => format!("exited ({status})"),
    }
}

/// No wait after a first crash (a process that ran fine should be back at
/// once), then `initial · 2^(crashes − 2)`, capped.
fn restart_delay(timing: Timing, crashes_in_a_row: u32) -> Duration {
    if crashes_in_a_row <= 1 {
        return Duration::ZERO;
    }
    let doublings = crashes_in_a_row.saturating_sub(2).min(31);
    timing
        .initial_backoff
        .saturating_mul(1u32 << doublings)
        .min(timing.max_backoff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let timing = Timing {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
            stop_grace: Duration::from_secs(2),
        };
        let delays: Vec<u128> = (1..=9)
            .map(|n| restart_delay(timing, n).as_millis())
            .collect();
        assert_eq!(delays, [0, 100, 200, 400, 800, 1600, 3200, 6400, 10_000]);
        assert_eq!(restart_delay(timing, u32::MAX), Duration::from_secs(10));
    }
}
