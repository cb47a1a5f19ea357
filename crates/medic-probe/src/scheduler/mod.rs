//! Keeping time for many probes: one task, one min-heap of due instants, a
//! semaphore bounding how many checks run at once.
//!
//! - First runs are spread over the interval ([`spread_offset`]) so 10 000
//!   probes at 1 s do not all fire at the same instant.
//! - Drift-free: the next run is due one interval after the previous *due*
//!   instant, not after the check finished; a schedule that fell a whole
//!   interval behind skips ahead and counts the missed runs.
//! - A probe never overlaps itself: if its previous check is still running,
//!   the run is skipped and counted.
//! - [`Scheduler::set_pace`] switches a probe to the short confirm interval
//!   while its target is suspect or a fix is being verified, to a backoff
//!   (the interval doubling up to a cap) while its target stays down with
//!   nothing to confirm, and back to its own place in the spread; to
//!   idle while another replica owns its target.
//! - All timing uses tokio's clock, so tests run it with paused time.

mod run;
mod stats;
mod timing;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use medic_model::Signal;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::check::Check;

pub use stats::{LATE_AFTER, SchedulerStats};
pub use timing::spread_offset;

/// Intervals shorter than this are raised to it: a zero interval would spin.
pub const MIN_INTERVAL: Duration = Duration::from_millis(1);

/// How the scheduler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchedulerConfig {
    /// Checks allowed to run at the same time (default 512); the others wait
    /// for a slot. Raised to at least 1.
    pub max_concurrent_checks: usize,
    /// The interval of a probe in fast mode (default 100 ms, the product's
    /// confirm interval).
    pub fast_interval: Duration,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            max_concurrent_checks: 512,
            fast_interval: Duration::from_millis(100),
        }
    }
}

/// One probe to schedule.
#[derive(Clone)]
pub struct ScheduledProbe {
    /// The target its signals are about.
    pub target: String,
    /// Its position among the target's probes; with `target` it picks the
    /// probe's place in the spread.
    pub probe_index: usize,
    /// How often it runs (at least [`MIN_INTERVAL`]).
    pub interval: Duration,
    /// What it runs.
    pub check: Arc<dyn Check>,
}

impl std::fmt::Debug for ScheduledProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScheduledProbe")
            .field("target", &self.target)
            .field("probe_index", &self.probe_index)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

/// Names a probe added to a [`Scheduler`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProbeId(u64);

/// What the handle asks of the scheduling task.
#[derive(Debug)]
enum Command {
    Add(ProbeId, ScheduledProbe),
    Remove(ProbeId),
    SetPace(ProbeId, Pace),
    Pause,
    Resume,
}

/// How often a probe runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// At its own interval, at its place in the spread.
    Normal,
    /// At the fast confirm interval, the first run one fast interval from now.
    Fast,
    /// Its interval, doubled after every run up to `max` (never below the
    /// interval): for a target that stays down with nothing to confirm.
    BackOff {
        /// The longest interval.
        max: Duration,
    },
    /// Not at all: another replica owns its target and probes it. Back to
    /// another pace, it takes up its own schedule again.
    Idle,
}

/// The handle to a running scheduler. Dropping it (or [`Scheduler::shutdown`])
/// stops scheduling; checks already running finish and send their signals.
#[derive(Debug)]
pub struct Scheduler {
    commands: mpsc::UnboundedSender<Command>,
    counters: Arc<stats::Counters>,
    paused: AtomicBool,
    next_id: AtomicU64,
    task: JoinHandle<()>,
}

impl Scheduler {
    /// Starts the scheduling task on the current tokio runtime; every check's
    /// signal is sent to `results`. Scheduling stops when `results` closes.
    pub fn start(config: SchedulerConfig, results: mpsc::Sender<Signal>) -> Self {
        let (commands, command_receiver) = mpsc::unbounded_channel();
        let counters = Arc::new(stats::Counters::default());
        let task = tokio::spawn(
            run::ScheduleLoop::new(config, results, Arc::clone(&counters)).run(command_receiver),
        );
        Self {
            commands,
            counters,
            paused: AtomicBool::new(false),
            next_id: AtomicU64::new(0),
            task,
        }
    }

    /// Adds a probe; its first run falls at its [`spread_offset`] from now.
    pub fn add(&self, probe: ScheduledProbe) -> ProbeId {
        let id = ProbeId(self.next_id.fetch_add(1, Ordering::Relaxed));
        self.send(Command::Add(id, probe));
        id
    }

    /// Stops scheduling a probe (a check already running still reports).
    pub fn remove(&self, id: ProbeId) {
        self.send(Command::Remove(id));
    }

    /// Sets a probe's [`Pace`]. Setting the pace it already has changes
    /// nothing (a backoff keeps its current step).
    pub fn set_pace(&self, id: ProbeId, pace: Pace) {
        self.send(Command::SetPace(id, pace));
    }

    /// Stops starting checks until [`Scheduler::resume`].
    pub fn pause(&self) {
        self.paused.store(true, Ordering::Relaxed);
        self.send(Command::Pause);
    }

    /// Starts checks again, each probe at its next place in its schedule;
    /// runs that fell in the pause are not counted as missed.
    pub fn resume(&self) {
        self.paused.store(false, Ordering::Relaxed);
        self.send(Command::Resume);
    }

    /// Whether the scheduler is paused.
    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::Relaxed)
    }

    /// The counters so far (missed runs, lateness, …), e.g. for a benchmark.
    pub fn stats(&self) -> SchedulerStats {
        self.counters.snapshot()
    }

    /// Stops scheduling and waits for the task to end.
    pub async fn shutdown(self) {
        let Scheduler { commands, task, .. } = self;
        drop(commands);
        if let Err(error) = task.await {
            tracing::warn!(%error, "the probe scheduler task ended abnormally");
        }
    }

    fn send(&self, command: Command) {
        // Fails only when the task has stopped, because the results receiver
        // was dropped; nothing is scheduled any more, so nothing is lost.
        if self.commands.send(command).is_err() {
            tracing::debug!("probe scheduler has stopped; command ignored");
        }
    }
}
