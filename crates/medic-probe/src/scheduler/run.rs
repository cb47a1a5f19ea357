//! The scheduling task: sleeps until the earliest due probe, starts its
//! check, and puts the probe back in the heap at its next due instant.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use medic_model::Signal;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;

use super::stats::Counters;
use super::timing::{grid_point_at_or_after, spread_offset, step};
use super::{Command, MIN_INTERVAL, Pace, ProbeId, ScheduledProbe, SchedulerConfig};
use crate::check::Check;

/// A heap entry. Entries are never updated in place: a probe rescheduled
/// out of turn (fast mode, resume) gets a new generation, and entries of
/// older generations or removed probes are dropped when they surface.
type Due = Reverse<(Instant, ProbeId, u64)>;

/// One scheduled probe's state.
struct Slot {
    target: String,
    check: Arc<dyn Check>,
    interval: Duration,
    /// The normal schedule is `anchor + k·interval`.
    anchor: Instant,
    /// How it runs now.
    mode: Mode,
    generation: u64,
    /// Set while a check of this probe runs, so it never overlaps itself.
    running: Arc<AtomicBool>,
}

/// A slot's pace, with what its schedule needs.
#[derive(Debug, Clone, Copy)]
enum Mode {
    Normal,
    /// The fast schedule is `anchor + k·fast_interval`.
    Fast {
        anchor: Instant,
    },
    /// The next gap, doubling up to `max`.
    BackOff {
        next: Duration,
        max: Duration,
    },
    /// Not scheduled at all.
    Idle,
}

impl Mode {
    fn pace(self) -> Pace {
        match self {
            Mode::Normal => Pace::Normal,
            Mode::Fast { .. } => Pace::Fast,
            Mode::BackOff { max, .. } => Pace::BackOff { max },
            Mode::Idle => Pace::Idle,
        }
    }
}

pub(super) struct ScheduleLoop {
    fast_interval: Duration,
    results: mpsc::Sender<Signal>,
    counters: Arc<Counters>,
    concurrency: Arc<Semaphore>,
    slots: HashMap<ProbeId, Slot>,
    heap: BinaryHeap<Due>,
    paused: bool,
}

impl ScheduleLoop {
    pub(super) fn new(
        config: SchedulerConfig,
        results: mpsc::Sender<Signal>,
        counters: Arc<Counters>,
    ) -> Self {
        Self {
            fast_interval: config.fast_interval.max(MIN_INTERVAL),
            results,
            counters,
            concurrency: Arc::new(Semaphore::new(config.max_concurrent_checks.max(1))),
            slots: HashMap::new(),
            heap: BinaryHeap::new(),
            paused: false,
        }
    }

    pub(super) async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        loop {
            let next_due = match self.heap.peek() {
                Some(Reverse((due, _, _))) if !self.paused => Some(*due),
                _ => None,
            };
            tokio::select! {
                // Commands first: a set_fast must not wait behind a burst of due probes.
                biased;
                command = commands.recv() => match command {
                    Some(command) => self.apply(command),
                    None => break,
                },
                () = self.results.closed() => break,
                () = sleep_until_or_forever(next_due) => self.start_due_checks(),
            }
        }
    }

    fn apply(&mut self, command: Command) {
        let now = Instant::now();
        match command {
            Command::Add(id, probe) => self.add(id, probe, now),
            Command::Remove(id) => {
                self.slots.remove(&id);
            }
            Command::SetPace(id, pace) => self.set_pace(id, pace, now),
            Command::Pause => self.paused = true,
            Command::Resume => {
                if self.paused {
                    self.paused = false;
                    self.reschedule_all(now);
                }
            }
        }
    }

    fn add(&mut self, id: ProbeId, probe: ScheduledProbe, now: Instant) {
        let interval = probe.interval.max(MIN_INTERVAL);
        let anchor = now + spread_offset(&probe.target, probe.probe_index, interval);
        self.slots.insert(
            id,
            Slot {
                target: probe.target,
                check: probe.check,
                interval,
                anchor,
                mode: Mode::Normal,
                generation: 0,
                running: Arc::new(AtomicBool::new(false)),
            },
        );
        self.heap.push(Reverse((anchor, id, 0)));
    }

    fn set_pace(&mut self, id: ProbeId, pace: Pace, now: Instant) {
        let Some(slot) = self.slots.get_mut(&id) else {
            return;
        };
        let mode = match pace {
            Pace::Normal => Mode::Normal,
            Pace::Fast => Mode::Fast {
                anchor: now + self.fast_interval,
            },
            Pace::BackOff { max } => {
                let max = max.max(slot.interval);
                Mode::BackOff {
                    next: slot.interval.saturating_mul(2).min(max),
                    max,
                }
            }
            Pace::Idle => Mode::Idle,
        };
        if slot.mode.pace() == mode.pace() {
            return;
        }
        // The new generation drops the entry already in the heap.
        slot.generation += 1;
        slot.mode = mode;
        let due = match mode {
            Mode::Fast { anchor } => anchor,
            // A backoff carries on from the current schedule, then stretches.
            Mode::Normal | Mode::BackOff { .. } => {
                grid_point_at_or_after(slot.anchor, slot.interval, now)
            }
            Mode::Idle => return,
        };
        self.heap.push(Reverse((due, id, slot.generation)));
    }

    /// After a pause, every probe continues at its next place in its own
    /// schedule; the runs the pause swallowed are not "missed".
    fn reschedule_all(&mut self, now: Instant) {
        self.heap.clear();
        for (&id, slot) in &mut self.slots {
            slot.generation += 1;
            let due = match slot.mode {
                Mode::Fast { anchor } => grid_point_at_or_after(anchor, self.fast_interval, now),
                Mode::Normal | Mode::BackOff { .. } => {
                    grid_point_at_or_after(slot.anchor, slot.interval, now)
                }
                Mode::Idle => continue,
            };
            self.heap.push(Reverse((due, id, slot.generation)));
        }
    }

    fn start_due_checks(&mut self) {
        let now = Instant::now();
        while let Some(&Reverse((due, id, generation))) = self.heap.peek() {
            if due > now {
                break;
            }
            self.heap.pop();
            let Some(slot) = self.slots.get_mut(&id) else {
                continue;
            };
            if slot.generation != generation {
                continue;
            }
            let interval = match &mut slot.mode {
                Mode::Fast { .. } => self.fast_interval,
                Mode::Normal => slot.interval,
                Mode::BackOff { next, max } => {
                    let this = *next;
                    *next = next.saturating_mul(2).min(*max);
                    this
                }
                // Never pushed while idle; an entry from before is stale.
                Mode::Idle => continue,
            };
            let next = step(due, interval, now);
            if next.missed > 0 {
                self.counters.record_missed(next.missed);
                tracing::debug!(target = %slot.target, missed = next.missed, "probe scheduler fell behind");
            }
            self.heap.push(Reverse((next.next_due, id, generation)));
            if slot.running.swap(true, Ordering::AcqRel) {
                self.counters.record_skipped_in_flight();
                continue;
            }
            self.counters
                .record_start(now.saturating_duration_since(due));
            spawn_check(slot, &self.concurrency, &self.results);
        }
    }
}

/// Runs one check of `slot` in its own task.
fn spawn_check(slot: &Slot, concurrency: &Arc<Semaphore>, results: &mpsc::Sender<Signal>) {
    let running = RunningGuard(Arc::clone(&slot.running));
    let check = Arc::clone(&slot.check);
    let target = slot.target.clone();
    let concurrency = Arc::clone(concurrency);
    let results = results.clone();
    tokio::spawn(async move {
        // Held until the signal is handed over, so a slow consumer also
        // slows this probe rather than piling up its signals.
        let _running = running;
        let signal = {
            let Ok(_slot) = concurrency.acquire_owned().await else {
                return;
            };
            check.check(&target).await
        };
        // A closed channel means the scheduler is stopping.
        let _ = results.send(signal).await;
    });
}

/// Clears a probe's running flag when its check task ends, however it ends
/// (a panicking check must not silence the probe forever).
struct RunningGuard(Arc<AtomicBool>);

impl Drop for RunningGuard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

async fn sleep_until_or_forever(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => std::future::pending().await,
    }
}
