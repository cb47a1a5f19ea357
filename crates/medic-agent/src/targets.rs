//! What the agent keeps per target at run time.

use medic_engine::config::Target;
use medic_engine::health::{TargetHealth, TargetState, Thresholds};
use medic_probe::log::LogTail;
use medic_probe::scheduler::{Pace, ProbeId};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use medic_resilience::health::ComponentHealth;
use tokio::sync::watch;

use crate::components::ComponentSpec;

/// Where a target was defined.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Origin {
    /// The config file: changed by editing the file.
    Config,
    /// `POST /api/v1/components`, with its registration body.
    Api(Box<ComponentSpec>),
}

/// Probe latencies kept per target for the dashboard's sparkline.
const LATENCY_HISTORY: usize = 60;

/// One target's live state.
pub(crate) struct TargetRuntime {
    pub config: Target,
    pub health: TargetHealth,
    pub probes: Vec<ProbeId>,
    /// The active one of `config.endpoints` (None without endpoints).
    pub endpoint: Option<String>,
    /// A task waits to resolve its recurring incident once it is quiet.
    pub quiet_watch: bool,
    pub logs: Vec<LogTail>,
    /// Incident tasks watch this to verify a remedy.
    pub state: watch::Sender<TargetState>,
    /// An incident task is working on this target.
    pub busy: bool,
    /// Its incident waits for a fix to show: probe fast.
    pub verifying: bool,
    /// Per watched log, when its latest matching lines came (ms, oldest
    /// first, at most `threshold` of them).
    pub log_hits: HashMap<String, VecDeque<u64>>,
    /// Per log file, how many lines had been read when the target was last
    /// healthy: diagnosis looks only at what was logged since.
    pub log_marks: Vec<u64>,
    /// The supervised process's exit since the target was last healthy: the
    /// most telling signal when a crash makes the probes fail.
    pub last_exit: Option<medic_model::Signal>,
    /// The latest failure seen, for a replica that takes the target over
    /// while it is down.
    pub last_failure: Option<medic_model::Signal>,
    /// When the target last turned healthy: a replica taking it over knows
    /// whether it recovered since its old owner's incident opened.
    pub healthy_at: Option<chrono::DateTime<chrono::Utc>>,
    /// This replica owns it (always, on a single-node store): only the
    /// owner probes a target; the others leave its probes idle.
    pub owned: bool,
    /// It came to this replica from another and its probes have not yet
    /// given a verdict: an outage found then is taken over, not new.
    pub newly_owned: bool,
    /// Probe answers received: a replica taking the target over waits for
    /// a fresh one (probes back off while a target is down).
    pub probes_seen: u64,
    /// Probe outcomes over the last minute: intermittent failures that never
    /// reach the failure threshold in a row still show as an error rate.
    /// Shared with the agent's health registry (system health).
    pub errors: Arc<ComponentHealth>,
    /// The latest probe latencies, oldest first.
    pub latencies: VecDeque<f64>,
    /// Where the target was defined.
    pub origin: Origin,
    /// Fingerprints of the alerts firing on it now.
    pub firing_alerts: BTreeSet<String>,
    /// Alert messages that started an incident task since the target was
    /// last healthy: a storm of one alert across many instances is one
    /// incident, another alert is another.
    pub alerts_handled: BTreeSet<String>,
    /// New alerts that arrived while an incident task was at work, for the
    /// task to take up when it is done.
    pub alerts_waiting: VecDeque<medic_model::Signal>,
}

/// Alert messages remembered per outage, and new alerts kept waiting for a
/// busy task; past these, further new ones wait for the target to be
/// healthy again (an alert storm must not grow memory).
const ALERTS_REMEMBERED: usize = 1000;
const ALERTS_WAITING: usize = 16;

impl TargetRuntime {
    /// Counts a matching line of the log at `path`: true once `threshold`
    /// of them fall within `window`, whatever the probes say.
    pub fn log_threshold_reached(&mut self, path: &str, now_ms: u64) -> bool {
        let Some(watch) = self.config.logs.iter().find(|l| l.path == path) else {
            return true;
        };
        let threshold = usize::try_from(watch.threshold.max(1)).unwrap_or(usize::MAX);
        let window_ms = u64::try_from(watch.window.get().as_millis()).unwrap_or(u64::MAX);
        let hits = self.log_hits.entry(watch.path.clone()).or_default();
        hits.push_back(now_ms);
        while hits.len() > threshold
            || hits
                .front()
                .is_some_and(|&at| now_ms.saturating_sub(at) > window_ms)
        {
            hits.pop_front();
        }
        hits.len() >= threshold
    }

    /// How often its probes run now: not at all while another replica owns
    /// it; fast while a change of state is being
    /// confirmed or a fix verified; backing off while it stays down with
    /// nothing to confirm (a struggling service is not hammered by the tool
    /// meant to help it); else at their own interval.
    pub fn pace(&self) -> Pace {
        if !self.owned {
            return Pace::Idle;
        }
        match self.health.state() {
            _ if self.health.wants_fast_confirmation() => Pace::Fast,
            TargetState::Unhealthy | TargetState::Flapping if self.verifying => Pace::Fast,
            TargetState::Unhealthy | TargetState::Flapping => Pace::BackOff {
                max: self.config.health.down_interval.get(),
            },
            _ => Pace::Normal,
        }
    }

    /// Whether an alert on this (already unhealthy) target should start an
    /// incident task now: the first time its message is seen in this
    /// outage, and no task at work (then it waits for that task).
    pub(crate) fn takes_new_alert(&mut self, signal: &medic_model::Signal) -> bool {
        if self.alerts_handled.contains(&signal.message)
            || self.alerts_handled.len() >= ALERTS_REMEMBERED
        {
            return false;
        }
        if self.busy {
            let queued = self
                .alerts_waiting
                .iter()
                .any(|s| s.message == signal.message);
            if !queued && self.alerts_waiting.len() < ALERTS_WAITING {
                self.alerts_waiting.push_back(signal.clone());
            }
            return false;
        }
        self.alerts_handled.insert(signal.message.clone());
        true
    }

    /// The next waiting alert a finished task should handle, if the target
    /// is still down.
    pub(crate) fn next_waiting_alert(&mut self) -> Option<medic_model::Signal> {
        while let Some(signal) = self.alerts_waiting.pop_front() {
            if self.health.state() == TargetState::Unhealthy
                && self.alerts_handled.len() < ALERTS_REMEMBERED
                && self.alerts_handled.insert(signal.message.clone())
            {
                return Some(signal);
            }
        }
        None
    }
}

/// Results needed before an error rate is trusted.
pub(crate) const ERROR_RATE_MIN_CALLS: u64 = 10;

impl TargetRuntime {
    pub(crate) fn new(
        config: Target,
        logs: Vec<LogTail>,
        errors: Arc<ComponentHealth>,
        origin: Origin,
        pause_when_flapping: bool,
        owned: bool,
    ) -> Self {
        let h = &config.health;
        let thresholds = Thresholds {
            failure_threshold: h.failure_threshold,
            success_threshold: h.success_threshold,
            flap_limit: h.flap_limit,
            flap_window_ms: u64::try_from(h.flap_window.get().as_millis()).unwrap_or(u64::MAX),
            pause_when_flapping,
        };
        Self {
            health: TargetHealth::new(thresholds),
            config,
            probes: Vec::new(),
            endpoint: None,
            quiet_watch: false,
            log_marks: vec![0; logs.len()],
            logs,
            state: watch::Sender::new(TargetState::Unknown),
            busy: false,
            verifying: false,
            log_hits: HashMap::new(),
            last_exit: None,
            last_failure: None,
            healthy_at: None,
            owned,
            newly_owned: false,
            probes_seen: 0,
            errors,
            // Grown as probes answer: 10 000 targets a replica does not
            // probe need none.
            latencies: VecDeque::new(),
            origin,
            firing_alerts: BTreeSet::new(),
            alerts_handled: BTreeSet::new(),
            alerts_waiting: VecDeque::new(),
        }
    }

    /// Forgets what happened before: called when the target turns healthy.
    /// The logs are read up to now first, so lines the outage wrote but the
    /// last poll had not reached yet count as the past, not the next failure.
    pub(crate) fn mark_healthy(&mut self) {
        for tail in &mut self.logs {
            if let Err(e) = tail.poll() {
                tracing::debug!(path = %tail.path().display(), error = %e, "log poll failed");
            }
        }
        self.log_marks = self.logs.iter().map(|tail| tail.lines_seen()).collect();
        self.healthy_at = Some(chrono::Utc::now());
        self.last_exit = None;
        self.log_hits.clear();
        self.alerts_handled.clear();
        self.alerts_waiting.clear();
        self.firing_alerts.clear();
    }

    /// Remembers a probe's latency for the sparkline.
    pub(crate) fn record_latency(&mut self, latency_ms: f64) {
        if self.latencies.len() == LATENCY_HISTORY {
            self.latencies.pop_front();
        }
        self.latencies.push_back(latency_ms);
    }

    /// After an outage is over, the error window starts afresh, so the
    /// outage's failures do not count against the fixed target. (A target that
    /// was only suspect keeps its window: that is how intermittent failures add up.)
    pub(crate) fn forget_outage_errors(&mut self) {
        self.errors.reset();
    }

    /// Reads what the log files have now, then returns the lines logged since
    /// the target was last healthy, oldest first.
    pub(crate) fn fresh_log_lines(&mut self) -> Vec<String> {
        for tail in &mut self.logs {
            if let Err(e) = tail.poll() {
                tracing::debug!(path = %tail.path().display(), error = %e, "log poll failed");
            }
        }
        // Log lines become evidence, timeline entries and escalations.
        medic_engine::redact::redact_lines(
            self.logs
                .iter()
                .zip(&self.log_marks)
                .flat_map(|(tail, mark)| tail.recent_since(*mark)),
        )
    }
}
