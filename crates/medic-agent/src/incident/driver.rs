//! The incident's driver. medic-engine's [`Lifecycle`] decides; this file
//! does the IO it asks for. It opens (or joins) and diagnoses the incident,
//! then carries out the machine's commands in order, feeding back what came
//! of each as the next event.
//!
//! The lifecycle is kept in the store after every transition, before its
//! commands run, so an agent that restarts (or a task that starts over after
//! a store outage) carries the incident on from where it stood: a finished
//! action's outcome is read back, an action in flight is waited out and
//! never run again, and the next rung never races it.

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::time::Duration;

use chrono::Utc;
use medic_act::ActionContext;
use medic_engine::config::{Action, Mode, Policy};
use medic_engine::diagnosis::{Diagnoser, Finding, Symptoms};
use medic_engine::health::TargetState;
use medic_engine::lifecycle::{
    Choice, Command, Event, Lifecycle, Phase, Rung, SUPERVISOR_RESTART, Settings, Verdict,
};
use medic_engine::plan::{Decision, Explorer, Hold};
use medic_engine::redact::redact_in_place;
use medic_model::{
    ActionRecord, ActionState, Diagnosis, Incident, IncidentStatus, Signal, SignalSource,
    TimelineKind,
};
use medic_store::{NewIncident, StoreError};
use serde_json::json;

use super::{
    FastProbes, PlanningFacts, Snapshot, intent, note, record_diagnosis, send_escalations,
    set_status, snapshot, store_waits, wait_for_health,
};
use crate::agent::Inner;
use crate::approval;
use crate::learning::{self, Lent};
use crate::live::LiveEvent;

mod dependencies;

/// How long an action of a remedy the config no longer has is waited out.
const UNKNOWN_ACTION_DOUBT: Duration = Duration::from_secs(30);

/// Opens or joins the incident for `signal`, diagnoses it, and carries its
/// lifecycle to the end (or on from where a previous run left it).
pub(super) async fn run(inner: &Inner, signal: &Signal) -> Result<(), StoreError> {
    // Also on a retry after a store error: the lease may have moved on.
    if !inner.leases.holds(&signal.target) {
        return Err(StoreError::LeaseLost {
            target: signal.target.clone(),
        });
    }
    let Some(mut target) = snapshot(inner, &signal.target) else {
        return Ok(());
    };
    // A crash explains failing probes better than the probes do.
    let cause = target.exit.clone().unwrap_or_else(|| signal.clone());
    // Lines a sender attached to its alert count like the target's own logs.
    if matches!(cause.source, SignalSource::Alert { .. }) {
        target.logs.extend(cause.evidence.iter().cloned());
    }
    let mut finding = inner.diagnoser.diagnose(&Symptoms {
        signal: &cause,
        log_lines: &target.logs,
    });
    // Where medic runs can change what a finding means (a container's limits).
    if let Some(remark) = inner.host.remark(finding.diagnosis.category) {
        finding.diagnosis.evidence.push(remark);
    }
    let fingerprint = finding.fingerprint.clone();
    let mut new = NewIncident::new(
        &signal.target,
        &fingerprint,
        &format!("{}: {}", signal.target, signal.message),
        Utc::now(),
    );
    new.category = Some(finding.diagnosis.category);
    new.severity = Some(finding.diagnosis.severity);
    let (mut incident, created) = inner.store.open_or_join_incident(&new).await?;
    tracing::Span::current().record("incident", incident.id);
    if created {
        inner
            .metrics
            .incident_opened(&incident.target, finding.diagnosis.category.as_str());
        inner.live.send(LiveEvent::Incident(incident.clone()));
        learning::on_open(inner, &incident).await?;
    }
    let opened = if created { "opened" } else { "joined" };
    note(
        inner,
        &incident,
        TimelineKind::Signal,
        &format!("{opened}: {}", signal.message),
        json!(signal),
    )
    .await?;
    let lent = learning::borrow(inner, &fingerprint, &mut finding.diagnosis).await?;
    let similar = finding
        .diagnosis
        .similar_to
        .as_ref()
        .map_or(String::new(), |s| format!("; {s}"));
    let summary = format!(
        "{} ({:.0}% sure): {}{similar}",
        finding.diagnosis.category,
        finding.diagnosis.confidence * 100.0,
        finding.diagnosis.root_cause
    );
    record_diagnosis(inner, &mut incident, &finding.diagnosis, &summary).await?;

    let saved = if created {
        None
    } else {
        saved_lifecycle(inner, &incident).await?
    };
    let policy = &inner.config.policy;
    let settings = Settings {
        verify_window_ms: millis(target.config.health.verify_window.get()),
        approval_timeout_ms: millis(policy.approval_timeout.get()),
        dry_run: policy.mode == Mode::DryRun,
        has_remedies: !target.config.remedies.is_empty(),
    };
    let mut driver = Driver {
        inner,
        signal,
        cause,
        target,
        incident,
        fingerprint,
        diagnosis: finding.diagnosis.clone(),
        finding: Some(finding),
        preferred: None,
        lent,
        explorer: learning::explorer(),
        lifecycle: Lifecycle::new(settings),
        intents: HashMap::new(),
        verifying: None,
        held: HashSet::new(),
        paused_by: None,
        dependencies: Default::default(),
        saved: saved.is_some(),
    };
    let first = match saved {
        Some(saved) => driver.resume(saved).await?,
        None => {
            if !created {
                // Joined without a kept lifecycle (an older version's
                // incident): number on after the actions it already has.
                let known = inner.store.actions(driver.incident.id).await?;
                driver.lifecycle.next_step = known.iter().map(|a| a.step).max().unwrap_or(0) + 1;
            }
            let restarted = driver.target.exit.is_some()
                && inner.supervisor.pid(&driver.target.config.name).is_some();
            driver.transition(Event::Begin { restarted }).await?
        }
    };
    driver.drive(first).await
}

/// The lifecycle a previous run kept for `incident`; one that cannot be
/// read (written by another version, say) is noted and not used.
async fn saved_lifecycle(
    inner: &Inner,
    incident: &Incident,
) -> Result<Option<Lifecycle>, StoreError> {
    let Some(value) = inner.store.lifecycle(incident.id).await? else {
        return Ok(None);
    };
    match serde_json::from_value(value) {
        Ok(lifecycle) => Ok(Some(lifecycle)),
        Err(e) => {
            let why = format!("its kept lifecycle could not be read ({e}): planning afresh");
            note(inner, incident, TimelineKind::Note, &why, json!({})).await?;
            Ok(None)
        }
    }
}

struct Driver<'a> {
    inner: &'a Inner,
    signal: &'a Signal,
    /// What caused it: the process's exit, else the signal.
    cause: Signal,
    target: Snapshot,
    incident: Incident,
    fingerprint: String,
    /// The rules' finding until the model (if any) has been consulted,
    /// once, when remedies are first chosen.
    finding: Option<Finding>,
    /// The diagnosis remedies are chosen by: the rules', then the refined one.
    diagnosis: Diagnosis,
    /// The model's preferred remedy.
    preferred: Option<String>,
    lent: Lent,
    explorer: Explorer,
    lifecycle: Lifecycle,
    /// The actions this run recorded, by id.
    intents: HashMap<i64, ActionRecord>,
    /// The succeeded action whose fix is being verified.
    verifying: Option<i64>,
    /// Remedies already noted as held back, with the reason.
    held: HashSet<(String, &'static str)>,
    /// The maintenance window the ladder waits for, if any.
    paused_by: Option<String>,
    /// What this incident knows of the target's dependencies.
    dependencies: dependencies::DependencyWait<'a>,
    /// Whether the store holds a lifecycle of this incident.
    saved: bool,
}

/// A remedy the policy held back, for the timeline and the counter.
struct Held {
    remedy: String,
    /// The counter's label.
    reason: &'static str,
    message: String,
    /// Noted every time it happens (a cooldown's deferral says how long);
    /// skips and brakes are noted once per incident and reason.
    deferral: bool,
}

impl Held {
    fn skipped(remedy: &str, reason: &'static str, why: &str) -> Self {
        Self {
            remedy: remedy.to_string(),
            reason,
            message: format!("{remedy} skipped: {why}"),
            deferral: false,
        }
    }

    /// Held by the storm brake: it waits, noted once per incident.
    fn braked(remedy: &str, why: &str) -> Self {
        Self {
            remedy: remedy.to_string(),
            reason: "storm_brake",
            message: format!("{remedy} deferred: {why}"),
            deferral: false,
        }
    }

    fn deferred(remedy: &str, wait_ms: u64) -> Self {
        let wait = medic_engine::config::HumanDuration::new(Duration::from_millis(wait_ms));
        Self {
            remedy: remedy.to_string(),
            reason: "cooldown",
            message: format!("{remedy} deferred {wait}: the target's cooldown has not ended"),
            deferral: true,
        }
    }
}

impl Driver<'_> {
    /// Carries out commands, and those of the transitions they lead to,
    /// until none is left: the lifecycle has ended.
    async fn drive(&mut self, first: Vec<Command>) -> Result<(), StoreError> {
        let mut queue = VecDeque::from(first);
        while let Some(command) = queue.pop_front() {
            // Another replica owns the target now: it carries the incident
            // on from the kept lifecycle; this one stops before acting again.
            let target = &self.incident.target;
            if !self.inner.leases.holds(target) {
                return Err(StoreError::LeaseLost {
                    target: target.clone(),
                });
            }
            if let Some(event) = self.execute(command).await? {
                queue.extend(self.transition(event).await?);
            }
        }
        Ok(())
    }

    /// The machine takes `event`; the new lifecycle is kept before any of
    /// its commands runs.
    async fn transition(&mut self, event: Event) -> Result<Vec<Command>, StoreError> {
        let commands = self.lifecycle.on(event, now_ms());
        // Planning before anything was kept resumes exactly as a fresh
        // start does: one write per incident saved, which alert storms feel.
        if self.saved || self.lifecycle.phase != Phase::Planning {
            self.save().await?;
        }
        Ok(commands)
    }

    /// Records an action's intent, fenced by this replica's lease.
    async fn record_intent(&self, record: &ActionRecord) -> Result<ActionRecord, StoreError> {
        let fence = self.inner.leases.fence(&record.target);
        (self.inner.store)
            .record_intent_fenced(record, fence.as_ref())
            .await
    }

    async fn save(&mut self) -> Result<(), StoreError> {
        self.saved = true;
        let state = json!(self.lifecycle);
        let (inner, id) = (self.inner, self.incident.id);
        let fence = inner.leases.fence(&self.incident.target);
        patiently(|| {
            inner
                .store
                .save_lifecycle_fenced(id, &state, Utc::now(), fence.as_ref())
        })
        .await
    }

    /// Carries on a lifecycle a previous run kept.
    async fn resume(&mut self, mut saved: Lifecycle) -> Result<Vec<Command>, StoreError> {
        // A previous run ended it but stopped before the store said so.
        let healthy = *self.target.state.borrow() == TargetState::Healthy;
        let end = match saved.phase {
            // It failed again before the store heard of the recovery: this
            // signal is a new failure, handled in the same incident.
            Phase::Resolved if !healthy => {
                saved.phase = Phase::New;
                self.lifecycle = saved;
                return self.transition(Event::Begin { restarted: false }).await;
            }
            Phase::Resolved => Some(Command::Resolve {
                after: None,
                note: "healthy again".into(),
            }),
            Phase::Escalated => Some(Command::Escalate { page: false }),
            Phase::Failed => Some(Command::Fail),
            Phase::New | Phase::ClosedElsewhere => {
                saved.phase = Phase::New;
                self.lifecycle = saved;
                return self.transition(Event::Begin { restarted: false }).await;
            }
            _ => None,
        };
        let from = phase_name(&saved.phase);
        self.lifecycle = saved;
        if let Some(end) = end {
            return Ok(vec![end]);
        }
        note(
            self.inner,
            &self.incident,
            TimelineKind::Note,
            &format!("carried on from where an earlier run left it ({from})"),
            json!({"lifecycle": self.lifecycle}),
        )
        .await?;
        match self.lifecycle.phase.clone() {
            // The action finished before its agent stopped: its outcome stands.
            Phase::Acting { action_id, .. } => {
                let action = self.inner.store.action(action_id).await?;
                match action.state {
                    ActionState::Succeeded | ActionState::Failed => {
                        let success = action.state == ActionState::Succeeded;
                        self.verifying = success.then_some(action_id);
                        return self
                            .transition(Event::ActionFinished { action_id, success })
                            .await;
                    }
                    // In doubt: waited out below. Started by a replica that
                    // has since lost the target (a single node settles its
                    // own at start): its outcome is unknown, and stays so.
                    ActionState::Running => {
                        let why = "its replica lost the target while this action ran; \
                                   it will not be run again";
                        let settled = (self.inner.store)
                            .finish_action(
                                action_id,
                                ActionState::Unknown,
                                None,
                                Some(why),
                                Utc::now(),
                            )
                            .await;
                        match settled {
                            Ok(_) | Err(StoreError::ActionAlreadyFinished { .. }) => {}
                            Err(e) => return Err(e),
                        }
                    }
                    ActionState::Unknown => {}
                    // It never started (or was closed without running): plan again.
                    ActionState::Intended | ActionState::Skipped => {
                        self.settle_unstarted().await?;
                        self.lifecycle.phase = Phase::Planning;
                    }
                }
            }
            // Its intent was recorded but it never started: it will not now.
            Phase::Intending { .. } | Phase::AwaitingApproval { .. } => {
                self.settle_unstarted().await?;
            }
            _ => {}
        }
        let doubt = match &self.lifecycle.phase {
            Phase::Acting { rung, .. } => self
                .target
                .config
                .remedies
                .iter()
                .find(|r| r.name == rung.remedy)
                .map_or(UNKNOWN_ACTION_DOUBT, |r| r.action.longest_run()),
            _ => Duration::ZERO,
        };
        let commands = self.lifecycle.resume(now_ms(), millis(doubt));
        self.save().await?;
        Ok(commands)
    }

    /// Closes this incident's actions that were recorded but never started.
    async fn settle_unstarted(&mut self) -> Result<(), StoreError> {
        for action in self.inner.store.actions(self.incident.id).await? {
            if action.state == ActionState::Intended {
                self.finish_skipped(&action, super::NOT_STARTED).await?;
            }
        }
        Ok(())
    }

    /// Does what `command` says; the event it leads to, if any.
    async fn execute(&mut self, command: Command) -> Result<Option<Event>, StoreError> {
        let inner = self.inner;
        match command {
            Command::Plan => self.plan().await.map(Some),
            Command::RecordRestart { step } => {
                self.record_restart(step).await?;
                Ok(None)
            }
            Command::RecordIntent { rung, step } => {
                let record = intent(&self.incident, &rung.remedy, &rung.kind, step, false);
                // Durable before anything runs: a crash now leaves an action
                // in doubt, which is never run again.
                let recorded = self.record_intent(&record).await?;
                let action_id = recorded.id;
                self.intents.insert(action_id, recorded);
                Ok(Some(Event::IntentRecorded { action_id }))
            }
            Command::RecordSkipped { rung, step, why } => {
                let record = intent(&self.incident, &rung.remedy, &rung.kind, step, true);
                let recorded = self.record_intent(&record).await?;
                let why = self.dry_run_answer(&rung.remedy, why).await;
                self.finish_skipped(&recorded, &why).await?;
                Ok(None)
            }
            Command::AskApproval {
                action_id, reason, ..
            } => {
                let record = self.recorded(action_id).await?;
                set_status(inner, &mut self.incident, IncidentStatus::AwaitingApproval).await?;
                let verdict = approval::wait(
                    inner,
                    &self.incident,
                    &mut self.target.state,
                    &record,
                    &reason,
                )
                .await?;
                // The ladder moves on (an expiry escalates instead).
                if matches!(
                    verdict,
                    approval::Verdict::Rejected(_) | approval::Verdict::NotNeeded
                ) {
                    set_status(inner, &mut self.incident, IncidentStatus::Diagnosing).await?;
                }
                Ok(Some(match verdict {
                    approval::Verdict::Approved => Event::Decided(Verdict::Approved),
                    approval::Verdict::Rejected(by) => Event::Decided(Verdict::Rejected { by }),
                    approval::Verdict::Expired => Event::Decided(Verdict::Expired),
                    approval::Verdict::NotNeeded => Event::Healthy,
                }))
            }
            Command::Skip { action_id, why } => {
                let record = self.recorded(action_id).await?;
                self.finish_skipped(&record, &why).await?;
                Ok(None)
            }
            Command::Run { action_id, rung } => self.act(action_id, &rung).await.map(Some),
            Command::RecordFailure { remedy } => {
                inner
                    .store
                    .record_outcome(&self.fingerprint, &remedy, false, None)
                    .await?;
                Ok(None)
            }
            Command::Verify => {
                // A resumed run can verify an action whose start never
                // reached the incident's status.
                if !matches!(
                    self.incident.status,
                    IncidentStatus::Remediating | IncidentStatus::Verifying
                ) {
                    set_status(inner, &mut self.incident, IncidentStatus::Remediating).await?;
                }
                set_status(inner, &mut self.incident, IncidentStatus::Verifying).await?;
                Ok(None)
            }
            Command::WaitForHealth { until_ms } => {
                let window = until_ms.map_or(Duration::MAX, |until| {
                    Duration::from_millis(until.saturating_sub(now_ms()))
                });
                // Verifying a fix: probe fast, so a recovery shows at once.
                let verifying = matches!(self.lifecycle.phase, Phase::Verifying { .. });
                let fast_probes =
                    verifying.then(|| FastProbes::start(inner, &self.target.config.name));
                let healthy = wait_for_health(&mut self.target.state, window).await;
                drop(fast_probes);
                if let Some(action_id) = self.verifying.take().filter(|_| verifying) {
                    self.record_verification(action_id, healthy).await?;
                }
                Ok(Some(if healthy {
                    Event::Healthy
                } else {
                    Event::StillUnhealthy
                }))
            }
            Command::Note { kind, text } => {
                note(inner, &self.incident, kind, &text, json!({})).await?;
                Ok(None)
            }
            Command::Resolve { after, note: text } => {
                self.resolve(after.as_deref(), &text).await?;
                Ok(None)
            }
            Command::Escalate { page } => {
                if page {
                    self.page_unanswered().await?;
                }
                set_status(inner, &mut self.incident, IncidentStatus::Escalated).await?;
                Ok(None)
            }
            Command::Fail => {
                set_status(inner, &mut self.incident, IncidentStatus::Failed).await?;
                Ok(None)
            }
        }
    }

    /// Looks at the target and the incident, and chooses the next rung.
    async fn plan(&mut self) -> Result<Event, StoreError> {
        let inner = self.inner;
        // A human may have ended it through the API meanwhile.
        self.incident = inner.store.incident(self.incident.id).await?;
        if self.incident.status.is_terminal() {
            return Ok(Event::ClosedElsewhere);
        }
        // Removed through the API: its health is no longer watched, so no
        // remedy could be verified. The incident ends here, unhealed.
        if !inner.targets().contains_key(&self.target.config.name) {
            let why = "its target was removed while the incident was open: nothing is left to heal";
            note(inner, &self.incident, TimelineKind::Note, why, json!({})).await?;
            set_status(inner, &mut self.incident, IncidentStatus::Failed).await?;
            return Ok(Event::ClosedElsewhere);
        }
        if *self.target.state.borrow() == TargetState::Healthy {
            return Ok(Event::Healthy);
        }
        if let Some(wait) = self.held_by_maintenance().await? {
            return Ok(Event::Planned(Choice::Defer { wait_ms: wait }));
        }
        if let Some(wait) = self.held_by_dependency().await? {
            return Ok(Event::Planned(Choice::Defer { wait_ms: wait }));
        }
        self.consult().await?;
        let known = PlanningFacts::read(inner, &self.incident, &self.fingerprint).await?;
        // The store's count of steps wins over the one kept (an older run's
        // actions are numbered there too).
        self.lifecycle.next_step = self.lifecycle.next_step.max(known.next_step);
        let mut situation = known.situation(&self.diagnosis, &self.fingerprint);
        situation.borrowed = self.lent.borrowed();
        let policy = self.policy();
        let mut steps =
            learning::ladder(&self.target.config, &policy, &situation, &mut self.explorer);
        crate::llm::reorder(&mut steps, self.preferred.as_deref(), &known.history);
        let mut held = Vec::new();
        let mut choice = Choice::Exhausted;
        let brake = self.storm_brake();
        for step in &steps {
            let name = &step.remedy.name;
            let breaker_open = inner.executor.is_open(&self.target.config.name, name);
            let rung = || Rung {
                remedy: name.clone(),
                kind: step.remedy.action.kind().to_string(),
                escalation: matches!(step.remedy.action, Action::Escalate(_)),
            };
            choice = match &step.decision {
                Decision::Skip {
                    hold: Hold::Tried, ..
                } => continue,
                Decision::Skip { reason, hold } => {
                    held.push(Held::skipped(name, hold.as_str(), reason));
                    continue;
                }
                // It failed too often lately.
                _ if breaker_open => {
                    let why = "its circuit breaker is open: it failed too often lately";
                    held.push(Held::skipped(name, "breaker_open", why));
                    continue;
                }
                Decision::Defer { wait_ms } => {
                    held.push(Held::deferred(name, *wait_ms));
                    Choice::Defer { wait_ms: *wait_ms }
                }
                Decision::Run | Decision::NeedsApproval { .. }
                    if step.remedy.is_disruptive() && brake.is_some() =>
                {
                    let why = brake.as_deref().unwrap_or_default();
                    held.push(Held::braked(name, why));
                    Choice::Defer {
                        wait_ms: Self::brake_recheck_ms(),
                    }
                }
                Decision::Run => Choice::Run(rung()),
                Decision::DryRun => Choice::DryRun(rung()),
                Decision::NeedsApproval { reason } => Choice::Ask {
                    rung: rung(),
                    reason: reason.clone(),
                },
            };
            break;
        }
        drop(steps);
        for held in held {
            self.note_held(held).await?;
        }
        Ok(Event::Planned(choice))
    }

    /// In dry-run mode, a remedy that can be tried without effect
    /// (Kubernetes' `dryRun=All`) is, and its answer joins the note.
    async fn dry_run_answer(&self, remedy: &str, why: String) -> String {
        if self.inner.config.policy.mode != Mode::DryRun {
            return why;
        }
        let action = (self.target.config.remedies.iter())
            .find(|r| r.name == remedy)
            .map(|r| r.action.clone());
        let Some(action) = action else {
            return why;
        };
        match self.inner.executor.dry_run(&action).await {
            Some(outcome) if outcome.success => {
                format!("{why}; {}", outcome.output.unwrap_or_default())
            }
            Some(outcome) => format!(
                "{why}; the dry run was refused: {}",
                outcome.error.unwrap_or_default()
            ),
            None => why,
        }
    }

    /// While a maintenance window covers the target, remedies wait: how
    /// long to wait before looking again (at most a second, so a window
    /// ended early through the API is seen at once). The pause and its end
    /// are timeline notes.
    async fn held_by_maintenance(&mut self) -> Result<Option<u64>, StoreError> {
        let now = Utc::now();
        let config = &self.target.config;
        let covering = (self.inner.maintenance).covering(&config.name, &config.labels, now);
        let Some((window, until)) = covering else {
            if let Some(window) = self.paused_by.take() {
                let text = format!("maintenance window {window:?} is over: healing goes on");
                note(
                    self.inner,
                    &self.incident,
                    TimelineKind::Note,
                    &text,
                    json!({}),
                )
                .await?;
            }
            return Ok(None);
        };
        if self.paused_by.as_deref() != Some(window.as_str()) {
            let text = format!(
                "maintenance window {window:?} covers {} until {}: remedies wait, probes go on",
                config.name,
                until.format("%Y-%m-%d %H:%M:%S UTC")
            );
            self.inner.metrics.action_skipped("maintenance");
            let data = json!({"maintenance": window, "until": until});
            note(self.inner, &self.incident, TimelineKind::Note, &text, data).await?;
            self.paused_by = Some(window);
        }
        let left = (until - now).to_std().unwrap_or_default();
        Ok(Some(millis(left.clamp(
            Duration::from_millis(100),
            Duration::from_secs(1),
        ))))
    }

    /// The policy, with the cooldown doubled for every change of state past
    /// the flap limit while the target keeps flapping (up to ×32): healing
    /// goes on, ever more slowly, instead of chasing every flip.
    fn policy(&self) -> Policy {
        let mut policy = self.inner.config.policy.clone();
        let excess = self
            .inner
            .targets()
            .get(&self.target.config.name)
            .map_or(0, |runtime| runtime.health.excess_flips());
        if excess > 0 {
            let factor = 1u32 << excess.min(5);
            let cooldown = policy.cooldown.get().saturating_mul(factor);
            policy.cooldown = medic_engine::config::HumanDuration::new(cooldown);
        }
        policy
    }

    /// A remedy held back says so on the timeline (once per incident and
    /// reason: the ladder is planned again after every step) and counts.
    async fn note_held(&mut self, held: Held) -> Result<(), StoreError> {
        let key = (held.remedy.clone(), held.reason);
        if !held.deferral && !self.held.insert(key) {
            return Ok(());
        }
        self.inner.metrics.action_skipped(held.reason);
        note(
            self.inner,
            &self.incident,
            TimelineKind::Note,
            &held.message,
            json!({"remedy": held.remedy, "held": held.reason}),
        )
        .await
    }

    /// A second opinion, once, when remedies are first to be chosen (not
    /// before a crashed process's restart): it can take up to `llm.timeout`.
    async fn consult(&mut self) -> Result<(), StoreError> {
        let Some(finding) = self.finding.take() else {
            return Ok(());
        };
        let inner = self.inner;
        let remedies: Vec<String> = self
            .target
            .config
            .remedies
            .iter()
            .map(|r| r.name.clone())
            .collect();
        // The policy weighs what the rules and history are sure of: a model
        // that agrees raises the confidence shown, never the one that decides
        // whether a remedy runs without a human.
        let deciding_confidence = finding.diagnosis.confidence;
        let symptoms = Symptoms {
            signal: &self.cause,
            log_lines: &self.target.logs,
        };
        let (combined, preferred) =
            crate::llm::consult(inner, &mut self.incident, finding, &symptoms, &remedies).await?;
        let mut diagnosis = Diagnosis {
            confidence: combined.confidence.min(deciding_confidence),
            ..combined
        };
        // The model's words reach actions (placeholders, MEDIC_ROOT_CAUSE) too.
        redact_in_place(&mut diagnosis.root_cause);
        // What worked before, here or on similar incidents, outranks an
        // opinion; a dry run shows the plain ranked order.
        let preferred = preferred.filter(|_| {
            inner.config.policy.mode != Mode::DryRun && self.lent.borrowed().stats.is_empty()
        });
        self.diagnosis = diagnosis;
        self.preferred = preferred;
        Ok(())
    }

    /// The supervisor already restarted the crashed process: that restart is
    /// the incident's first action.
    async fn record_restart(&mut self, step: u32) -> Result<(), StoreError> {
        let inner = self.inner;
        let record = intent(&self.incident, SUPERVISOR_RESTART, "restart", step, false);
        set_status(inner, &mut self.incident, IncidentStatus::Remediating).await?;
        let recorded = self.record_intent(&record).await?;
        inner.store.mark_running(recorded.id, Utc::now()).await?;
        self.verifying = Some(recorded.id);
        let output = match inner.supervisor.pid(&self.target.config.name) {
            Some(pid) => format!("the supervisor restarted the process (pid {pid})"),
            None => "the supervisor restarted the process".to_string(),
        };
        let finished = inner
            .store
            .finish_action(
                recorded.id,
                ActionState::Succeeded,
                Some(&output),
                None,
                Utc::now(),
            )
            .await?;
        inner
            .metrics
            .action_finished(SUPERVISOR_RESTART, "restart", true);
        note(
            inner,
            &self.incident,
            TimelineKind::Action,
            &output,
            json!(finished),
        )
        .await
    }

    /// Runs a recorded action and records what came of it.
    async fn act(&mut self, action_id: i64, rung: &Rung) -> Result<Event, StoreError> {
        let inner = self.inner;
        let Some(remedy) = self
            .target
            .config
            .remedies
            .iter()
            .find(|r| r.name == rung.remedy)
            .cloned()
        else {
            // Only a resumed lifecycle can name a remedy the config lost.
            let why = "not run: the config no longer has this remedy";
            let record = self.recorded(action_id).await?;
            self.finish_skipped(&record, why).await?;
            return Ok(Event::ActionFinished {
                action_id,
                success: false,
            });
        };
        set_status(inner, &mut self.incident, IncidentStatus::Remediating).await?;
        // The lease is checked inside the write: a replica whose lease
        // moved on since its last command never starts the action.
        let fence = inner.leases.fence(&self.incident.target);
        (inner.store)
            .mark_running_fenced(action_id, Utc::now(), fence.as_ref())
            .await?;
        let context = ActionContext {
            alert: self.signal.labels.clone(),
            ..self.context(&remedy.name)
        };
        // A failover probes the candidates and re-aims the probes: the
        // agent's work, not a bare action's.
        let outcome = match &remedy.action {
            Action::Failover(_) => {
                crate::failover::fail_over(inner, &self.target.config.name).await
            }
            action => {
                inner
                    .executor
                    .run(&self.target.config, action, &context)
                    .await
            }
        };
        let state = if outcome.success {
            ActionState::Succeeded
        } else {
            ActionState::Failed
        };
        inner
            .metrics
            .action_finished(&remedy.name, remedy.action.kind(), outcome.success);
        // It ran: its outcome is kept whatever the store is going through.
        let finished = patiently(|| {
            inner.store.finish_action(
                action_id,
                state,
                outcome.output.as_deref(),
                outcome.error.as_deref(),
                Utc::now(),
            )
        })
        .await?;
        let message = match &outcome.error {
            None => format!(
                "{} ({}) succeeded in {} ms",
                remedy.name,
                remedy.action.kind(),
                outcome.duration_ms
            ),
            Some(error) => format!("{} ({}) failed: {error}", remedy.name, remedy.action.kind()),
        };
        note(
            inner,
            &self.incident,
            TimelineKind::Action,
            &message,
            json!(finished),
        )
        .await?;
        if outcome.success && !matches!(remedy.action, Action::Escalate(_)) {
            self.verifying = Some(action_id);
        }
        Ok(Event::ActionFinished {
            action_id,
            success: outcome.success,
        })
    }

    /// Keeps the verified outcome of a succeeded action: what recovery
    /// statistics and the success ratio count.
    async fn record_verification(&self, action_id: i64, healthy: bool) -> Result<(), StoreError> {
        let inner = self.inner;
        match patiently(|| inner.store.set_verified(action_id, healthy)).await {
            Ok(_) => {
                if healthy {
                    inner.metrics.fix_verified();
                }
                Ok(())
            }
            // Not a succeeded action (one in doubt, closed as unknown).
            Err(
                StoreError::ActionAlreadyFinished { .. }
                | StoreError::InvalidActionTransition { .. },
            ) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Ends the incident resolved; a remedy that did it is learned.
    async fn resolve(&mut self, after: Option<&str>, text: &str) -> Result<(), StoreError> {
        let inner = self.inner;
        if let Some(remedy) = after {
            let recover_ms = (Utc::now() - self.incident.opened_at)
                .num_milliseconds()
                .max(0) as u64;
            inner
                .store
                .record_resolution(self.incident.id, &self.fingerprint, remedy, recover_ms)
                .await?;
        }
        note(
            inner,
            &self.incident,
            TimelineKind::Verification,
            text,
            json!({"remedy": after}),
        )
        .await?;
        set_status(inner, &mut self.incident, IncidentStatus::Resolved).await
    }

    /// An approval nobody answered: tell a human through the target's
    /// escalation remedies, if it has any.
    async fn page_unanswered(&mut self) -> Result<(), StoreError> {
        let contexts: Vec<ActionContext> = self
            .target
            .config
            .remedies
            .iter()
            .filter(|r| matches!(r.action, Action::Escalate(_)))
            .map(|r| ActionContext {
                root_cause: format!("an approval expired: {}", self.diagnosis.root_cause),
                ..self.context(&r.name)
            })
            .collect();
        send_escalations(self.inner, &self.incident, &self.target.config, contexts).await
    }

    /// What an action of `remedy` is told about the incident.
    fn context(&self, remedy: &str) -> ActionContext {
        let diagnosis = &self.diagnosis;
        let endpoint = self
            .inner
            .targets()
            .get(&self.target.config.name)
            .and_then(|runtime| runtime.endpoint.clone())
            .unwrap_or_default();
        ActionContext {
            target: self.target.config.name.clone(),
            endpoint,
            incident_id: self.incident.id,
            fingerprint: self.fingerprint.clone(),
            title: self.incident.title.clone(),
            category: diagnosis.category.to_string(),
            severity: diagnosis.severity.to_string(),
            root_cause: diagnosis.root_cause.clone(),
            evidence: diagnosis.evidence.clone(),
            remedy: remedy.to_string(),
            alert: Default::default(),
        }
    }

    /// The action `id` as this run recorded it, else as the store has it.
    async fn recorded(&self, id: i64) -> Result<ActionRecord, StoreError> {
        match self.intents.get(&id) {
            Some(record) => Ok(record.clone()),
            None => self.inner.store.action(id).await,
        }
    }

    /// Closes a recorded action as skipped, with the reason on the timeline.
    async fn finish_skipped(&self, recorded: &ActionRecord, why: &str) -> Result<(), StoreError> {
        let finished = self
            .inner
            .store
            .finish_action(
                recorded.id,
                ActionState::Skipped,
                None,
                Some(why),
                Utc::now(),
            )
            .await?;
        note(
            self.inner,
            &self.incident,
            TimelineKind::Action,
            &format!("{}: {why}", recorded.remedy),
            json!(finished),
        )
        .await
    }
}

/// Retries `op` while the store is unavailable (0.5 s doubling to 4 s): for
/// what must not be lost once done, an action's outcome and the lifecycle.
async fn patiently<T, F, Fut>(mut op: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let mut delays = store_waits();
    loop {
        match op().await {
            Err(e) if e.is_unavailable() => {
                let delay = delays.next().unwrap_or(Duration::from_secs(1));
                tracing::warn!(error = %e, ?delay, "store unavailable; keeping the incident's state until it returns");
                tokio::time::sleep(delay).await;
            }
            done => return done,
        }
    }
}

/// The phase's name, for the timeline.
fn phase_name(phase: &Phase) -> String {
    serde_json::to_value(phase)
        .ok()
        .and_then(|v| v["phase"].as_str().map(|s| s.replace('_', " ")))
        .unwrap_or_default()
}

/// Wall-clock milliseconds: deadlines kept in the store outlive the process.
fn now_ms() -> u64 {
    u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0)
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
