//! The supervisor: processes medic starts, owns and restarts, for hosts
//! without systemd or monit (`supervise = { command = [...] }`).
//!
//! Each process leads its own process group and has a watcher task
//! (`watcher.rs`) that is the only owner of its `Child`. When the process
//! exits unexpectedly the watcher sends an unhealthy [`Signal`] with
//! [`SignalSource::Exit`](medic_model::SignalSource::Exit) (`exited with
//! status N` / `killed by signal N`), stops whatever the process left in its
//! group, and restarts it: at once after a first crash, then after a backoff
//! (100 ms doubling to 10 s) while it keeps crashing, at most
//! `start_limit` starts per `start_window`. When that budget is spent it
//! stops restarting and says so (`start limit reached: N starts in WINDOW`),
//! so the agent escalates. Deliberate restarts (the `restart` action) and
//! stops kill the whole group: SIGTERM, 2 s of grace, then SIGKILL.
//!
//! With an [`identity`](SupervisorBuilder::identity), each process carries
//! a marker in its environment, and a copy an earlier (killed) agent left
//! running is adopted, watched through a pidfd, instead of a second copy
//! being started (`orphans.rs`).

mod budget;
mod launch;
mod orphans;
mod watcher;

pub use orphans::{MARKER, marker};

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use medic_engine::config::Target;
use medic_engine::safety::Refusal;
use medic_model::Signal;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use self::launch::Launcher;
use self::watcher::{Command, Timing, Watcher};

/// Why the supervisor could not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum SuperviseError {
    /// The target has no `supervise` section.
    #[error("target {0} is not supervised (it has no supervise = {{ command = [...] }})")]
    NotSupervised(String),
    /// The target was never started, or was stopped.
    #[error("target {0} is not started")]
    NotStarted(String),
    /// `start` of a target that already has a process.
    #[error("target {target} is already supervised (pid {pid:?})")]
    AlreadyStarted {
        /// The target.
        target: String,
        /// Its current process, if it is running.
        pid: Option<u32>,
    },
    /// `supervise.command` is empty.
    #[error("target {0}: the supervise command is empty")]
    EmptyCommand(String),
    /// The destructive-command guard refused the command.
    #[error("target {target}: {refusal}")]
    Refused {
        /// The target.
        target: String,
        /// Why.
        #[source]
        refusal: Refusal,
    },
    /// The process could not be spawned.
    #[error("target {target}: cannot start {program:?}: {source}")]
    Spawn {
        /// The target.
        target: String,
        /// The program.
        program: String,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// The target's watcher task ended (the runtime is shutting down).
    #[error("target {0}: its watcher has stopped")]
    WatcherGone(String),
}

/// Starts, watches, restarts and stops supervised processes. Clones share
/// the same processes; dropping the last clone stops them all.
///
/// ```no_run
/// use medic_act::Supervisor;
/// # async fn demo(target: medic_engine::config::Target) -> Result<(), medic_act::SuperviseError> {
/// let (signals, mut received) = tokio::sync::mpsc::channel(64);
/// let supervisor = Supervisor::new(signals);
/// let pid = supervisor.start(&target).await?;
/// // … the process dies: an exit signal arrives and it is restarted …
/// let exit = received.recv().await;
/// supervisor.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Supervisor {
    inner: Arc<Inner>,
}

struct Inner {
    signals: mpsc::Sender<Signal>,
    log_file: Option<PathBuf>,
    identity: Option<String>,
    timing: Timing,
    watchers: Mutex<HashMap<String, WatcherHandle>>,
}

/// The supervisor's side of one watcher.
struct WatcherHandle {
    commands: mpsc::Sender<Command>,
    pid: watch::Receiver<Option<u32>>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor")
            .field("targets", &self.targets())
            .field("log_file", &self.inner.log_file)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Supervisor`]; every setting has a sensible default.
#[derive(Debug)]
pub struct SupervisorBuilder {
    signals: mpsc::Sender<Signal>,
    log_file: Option<PathBuf>,
    identity: Option<String>,
    timing: Timing,
}

impl SupervisorBuilder {
    /// Names the agent (its store's URL): processes carry a marker derived
    /// from it and the target, and one a killed agent with the same identity
    /// left running is stopped before its target starts again.
    pub fn identity(mut self, identity: impl Into<String>) -> Self {
        self.identity = Some(identity.into());
        self
    }

    /// Appends the processes' stdout and stderr to this file (default: discarded).
    pub fn log_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.log_file = Some(path.into());
        self
    }

    /// The delay before the first automatic restart, doubling per crash in a
    /// row up to `max` (default 100 ms to 10 s). A process that ran at least
    /// `max` counts as having been stable: its next crash starts over.
    pub fn restart_backoff(mut self, initial: Duration, max: Duration) -> Self {
        // Never a busy loop, and never a cap below the start.
        self.timing.initial_backoff = initial.max(Duration::from_millis(1));
        self.timing.max_backoff = max.max(self.timing.initial_backoff);
        self
    }

    /// How long a stopped process group gets between SIGTERM and SIGKILL (default 2 s).
    pub fn stop_grace(mut self, grace: Duration) -> Self {
        self.timing.stop_grace = grace;
        self
    }

    /// The supervisor.
    pub fn build(self) -> Supervisor {
        Supervisor {
            inner: Arc::new(Inner {
                signals: self.signals,
                log_file: self.log_file,
                identity: self.identity,
                timing: self.timing,
                watchers: Mutex::new(HashMap::new()),
            }),
        }
    }
}

impl Supervisor {
    /// A supervisor with the default settings, sending exit signals to `signals`.
    pub fn new(signals: mpsc::Sender<Signal>) -> Self {
        Self::builder(signals).build()
    }

    /// A builder sending exit signals to `signals`.
    pub fn builder(signals: mpsc::Sender<Signal>) -> SupervisorBuilder {
        SupervisorBuilder {
            signals,
            log_file: None,
            identity: None,
            timing: Timing {
                initial_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(10),
                stop_grace: Duration::from_secs(2),
            },
        }
    }

    /// Starts the target's process and its watcher; returns the pid. The
    /// command and settings are read now: a later config change needs a
    /// `stop` and a `start`.
    pub async fn start(&self, target: &Target) -> Result<u32, SuperviseError> {
        let name = &target.name;
        let Some(spec) = &target.supervise else {
            return Err(SuperviseError::NotSupervised(name.clone()));
        };
        let marker = self.inner.identity.as_deref().map(|id| marker(id, name));
        let adopted = match &marker {
            Some(marker) => orphans::adopt_or_stop(marker, self.inner.timing.stop_grace).await,
            None => None,
        };
        let launcher = Launcher::new(name, spec, self.inner.log_file.clone(), marker)?;
        let mut watchers = self.lock();
        if let Some(existing) = watchers.get(name)
            && !existing.task.is_finished()
        {
            return Err(SuperviseError::AlreadyStarted {
                target: name.clone(),
                pid: *existing.pid.borrow(),
            });
        }
        let (pid_sender, pid) = watch::channel(None);
        let mut watcher = Watcher::new(
            name,
            launcher,
            spec.start_limit,
            spec.start_window.get(),
            self.inner.timing,
            self.inner.signals.clone(),
            pid_sender,
        );
        let process = match adopted {
            Some(process) => watcher.adopt(process),
            None => watcher.start()?,
        };
        let started_pid = process.pid;
        let (commands, received) = mpsc::channel(8);
        let task = tokio::spawn(watcher.run(process, received));
        watchers.insert(
            name.clone(),
            WatcherHandle {
                commands,
                pid,
                task,
            },
        );
        Ok(started_pid)
    }

    /// Stops the target's whole process group (SIGTERM, grace, SIGKILL) and
    /// starts it again; returns the new pid. Also revives a target that hit
    /// its start limit, with a fresh budget.
    pub async fn restart(&self, target: &str) -> Result<u32, SuperviseError> {
        let commands = self
            .lock()
            .get(target)
            .map(|handle| handle.commands.clone())
            .ok_or_else(|| SuperviseError::NotStarted(target.to_string()))?;
        let (reply, answer) = oneshot::channel();
        let gone = || SuperviseError::WatcherGone(target.to_string());
        commands
            .send(Command::Restart(reply))
            .await
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }

    /// Stops the target's process group and forgets the target.
    pub async fn stop(&self, target: &str) -> Result<(), SuperviseError> {
        let handle = self
            .lock()
            .remove(target)
            .ok_or_else(|| SuperviseError::NotStarted(target.to_string()))?;
        stop_watcher(handle).await;
        Ok(())
    }

    /// The target's running process, if any (none while backing off or after
    /// the start limit).
    pub fn pid(&self, target: &str) -> Option<u32> {
        self.lock()
            .get(target)
            .and_then(|handle| *handle.pid.borrow())
    }

    /// The supervised targets, sorted.
    pub fn targets(&self) -> Vec<String> {
        let mut names: Vec<String> = self.lock().keys().cloned().collect();
        names.sort();
        names
    }

    /// Stops every process group, all at once, and waits until they are gone.
    pub async fn shutdown(&self) {
        let handles: Vec<WatcherHandle> = self.lock().drain().map(|(_, h)| h).collect();
        let mut tasks = Vec::with_capacity(handles.len());
        // Ask everyone first, so the grace periods run in parallel; the
        // watcher tasks ending is the answer.
        for handle in handles {
            let (reply, _answer) = oneshot::channel();
            let _ = handle.commands.send(Command::Stop(reply)).await;
            tasks.push(handle.task);
        }
        for task in tasks {
            if let Err(error) = task.await {
                tracing::warn!(%error, "a supervisor watcher ended badly");
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, WatcherHandle>> {
        // The map only holds handles; a panic elsewhere cannot leave it torn.
        self.inner
            .watchers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

async fn stop_watcher(handle: WatcherHandle) {
    let (reply, answer) = oneshot::channel();
    if handle.commands.send(Command::Stop(reply)).await.is_ok() {
        let _ = answer.await;
    }
    if let Err(error) = handle.task.await {
        tracing::warn!(%error, "a supervisor watcher ended badly");
    }
}
