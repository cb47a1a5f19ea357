//! Prometheus series (`/metrics`), all under the `medic_` prefix. The agent
//! records as it works; the API only encodes.

use std::sync::atomic::AtomicU64;

use medic_engine::health::TargetState;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TargetLabel {
    target: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct IncidentLabels {
    target: String,
    category: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabels {
    action: String,
    kind: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    target: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ApprovalLabels {
    remedy: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct IntakeLabels {
    source: String,
    outcome: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;

fn probe_histogram() -> Histogram {
    // 1 ms … ~16 s
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// Every series the agent exports.
pub struct Metrics {
    registry: Registry,
    incidents: Family<IncidentLabels, Counter>,
    actions: Family<ActionLabels, Counter>,
    success_ratio: FloatGauge,
    probe_duration: Family<TargetLabel, Histogram, fn() -> Histogram>,
    health: Family<StateLabels, Gauge>,
    latency: Family<TargetLabel, FloatGauge>,
    time_to_recover: Histogram,
    intake: Family<IntakeLabels, Counter>,
    approvals: Family<ApprovalLabels, Counter>,
    skipped: Family<ReasonLabel, Counter>,
    probe_runs: Family<OutcomeLabel, Counter>,
    /// Held while `probe_runs` catch up, so two scrapes never add twice.
    probe_runs_sync: std::sync::Mutex<()>,
    /// (verified, finished) remedy actions, for the ratio.
    tally: std::sync::Mutex<(u64, u64)>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every series registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("medic");
        let incidents = Family::<IncidentLabels, Counter>::default();
        registry.register(
            "incidents",
            "Incidents opened, by target and diagnosed category",
            incidents.clone(),
        );
        let actions = Family::<ActionLabels, Counter>::default();
        registry.register(
            "actions",
            "Remedy actions finished, by remedy, kind and outcome",
            actions.clone(),
        );
        let success_ratio = FloatGauge::default();
        registry.register(
            "remediation_success_ratio",
            "Share of remedy actions since the agent started whose fix was verified (the target healthy within its verify window); an action that succeeded and healed nothing counts as a miss. Pages are not remedies",
            success_ratio.clone(),
        );
        let probe_duration: Family<TargetLabel, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(probe_histogram);
        registry.register(
            "probe_duration_seconds",
            "How long each probe took",
            probe_duration.clone(),
        );
        let health = Family::<StateLabels, Gauge>::default();
        registry.register(
            "target_health_status",
            "1 for each target's current state, 0 for the others",
            health.clone(),
        );
        let latency = Family::<TargetLabel, FloatGauge>::default();
        registry.register(
            "target_latency_seconds",
            "The latest probe latency of each target",
            latency.clone(),
        );
        let time_to_recover = Histogram::new(exponential_buckets(0.1, 2.0, 14));
        registry.register(
            "time_to_recover_seconds",
            "From an incident's detection to its verified recovery",
            time_to_recover.clone(),
        );
        let intake = Family::<IntakeLabels, Counter>::default();
        registry.register(
            "intake_requests",
            "Events and webhooks received, by source and outcome",
            intake.clone(),
        );
        let approvals = Family::<ApprovalLabels, Counter>::default();
        registry.register(
            "approvals",
            "Approval requests, by remedy and how they ended",
            approvals.clone(),
        );
        let skipped = Family::<ReasonLabel, Counter>::default();
        registry.register(
            "actions_skipped",
            "Remedies held back, by reason: deferred (cooldown) or skipped (budget, breaker)",
            skipped.clone(),
        );
        let probe_runs = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "probe_runs",
            "Probe runs due on this replica, by outcome: on_time (started within 100 ms of its due instant), late, missed (the scheduler fell a whole interval behind), skipped (its previous check still ran)",
            probe_runs.clone(),
        );
        Self {
            registry,
            incidents,
            actions,
            success_ratio,
            probe_duration,
            health,
            latency,
            time_to_recover,
            intake,
            approvals,
            skipped,
            probe_runs,
            probe_runs_sync: std::sync::Mutex::new(()),
            tally: std::sync::Mutex::new((0, 0)),
        }
    }

    /// The text exposition (OpenMetrics), for `/metrics`.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::error!(error = %e, "encoding metrics failed");
        }
        text
    }

    /// Brings the probe-run counters up to the scheduler's own.
    pub(crate) fn probe_scheduler(&self, stats: medic_probe::scheduler::SchedulerStats) {
        let _sync = self
            .probe_runs_sync
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let on_time = stats.checks_started.saturating_sub(stats.late_runs);
        for (outcome, total) in [
            ("on_time", on_time),
            ("late", stats.late_runs),
            ("missed", stats.missed_runs),
            ("skipped", stats.skipped_in_flight),
        ] {
            let counter = self.probe_runs.get_or_create(&OutcomeLabel { outcome });
            counter.inc_by(total.saturating_sub(counter.get()));
        }
    }

    /// A remedy held back: `cooldown`, `global_budget`, `target_budget`,
    /// `breaker_open`.
    pub(crate) fn action_skipped(&self, reason: &str) {
        self.skipped
            .get_or_create(&ReasonLabel {
                reason: reason.into(),
            })
            .inc();
    }

    pub(crate) fn incident_opened(&self, target: &str, category: &str) {
        self.incidents
            .get_or_create(&IncidentLabels {
                target: target.into(),
                category: category.into(),
            })
            .inc();
    }

    pub(crate) fn action_finished(&self, remedy: &str, kind: &str, success: bool) {
        let outcome = if success { "success" } else { "failure" };
        self.actions
            .get_or_create(&ActionLabels {
                action: remedy.into(),
                kind: kind.into(),
                outcome: outcome.into(),
            })
            .inc();
        if kind != "escalate" {
            self.tally_remedy(false);
        }
    }

    /// A remedy's fix held: the target was healthy within its verify window.
    pub(crate) fn fix_verified(&self) {
        self.tally_remedy(true);
    }

    /// One more finished remedy (`verified: false`), or one of those verified.
    fn tally_remedy(&self, verified: bool) {
        let mut tally = self.tally.lock().unwrap_or_else(|e| e.into_inner());
        if verified {
            tally.0 += 1;
        } else {
            tally.1 += 1;
        }
        let (verified, finished) = *tally;
        self.success_ratio
            .set(verified as f64 / finished.max(verified).max(1) as f64);
    }

    pub(crate) fn probed(&self, target: &str, latency_ms: Option<f64>) {
        let Some(ms) = latency_ms.filter(|ms| ms.is_finite() && *ms >= 0.0) else {
            return;
        };
        let label = TargetLabel {
            target: target.into(),
        };
        self.probe_duration
            .get_or_create(&label)
            .observe(ms / 1_000.0);
        self.latency.get_or_create(&label).set(ms / 1_000.0);
    }

    pub(crate) fn target_state(&self, target: &str, state: TargetState) {
        for candidate in TargetState::ALL {
            let value = i64::from(*candidate == state);
            self.health
                .get_or_create(&StateLabels {
                    target: target.into(),
                    state: candidate.as_str().into(),
                })
                .set(value);
        }
    }

    pub(crate) fn forget_target(&self, target: &str) {
        for candidate in TargetState::ALL {
            self.health.remove(&StateLabels {
                target: target.into(),
                state: candidate.as_str().into(),
            });
        }
        let label = TargetLabel {
            target: target.into(),
        };
        self.latency.remove(&label);
        self.probe_duration.remove(&label);
    }

    pub(crate) fn recovered(&self, time_to_recover_ms: u64) {
        self.time_to_recover
            .observe(time_to_recover_ms as f64 / 1_000.0);
    }

    /// Counts one event or webhook request (`source` = `events`,
    /// `alertmanager`, …; `outcome` = `accepted`, `rejected`, …).
    pub fn intake(&self, source: &str, outcome: &str) {
        self.intake
            .get_or_create(&IntakeLabels {
                source: source.into(),
                outcome: outcome.into(),
            })
            .inc();
    }

    pub(crate) fn approval(&self, remedy: &str, outcome: &str) {
        self.approvals
            .get_or_create(&ApprovalLabels {
                remedy: remedy.into(),
                outcome: outcome.into(),
            })
            .inc();
    }
}
