//! One incident, from the signal that opened it to its end: diagnose, plan,
//! record the intent, act, verify, learn — down the remedy ladder until the
//! target is healthy again or the ladder ends. `driver.rs` carries one
//! incident's lifecycle; this file is the task around it and the writes
//! other parts of the agent share (timeline, status, pages).

mod driver;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use medic_act::ActionContext;
use medic_engine::config::{Action, EscalateAction, EscalationFormat, Target};
use medic_engine::health::TargetState;
use medic_engine::plan::Situation;
use medic_engine::redact::{redact_in_place, redact_json, redact_lines, redacted};
use medic_model::{
    ActionRecord, ActionState, Diagnosis, Incident, IncidentStatus, RemedyStats, Signal,
    TimelineEntry, TimelineKind,
};
use medic_resilience::backoff::{Backoff, Jitter};
use medic_store::{IncidentFilter, NewIncident, StoreError};
use serde_json::json;
use tokio::sync::watch;

use crate::agent::Inner;
use crate::live::LiveEvent;

/// Tries of an incident task when the store fails under it.
const STORE_ATTEMPTS: u32 = 4;

/// Runs the incident for `signal.target`, then frees the target for the next one.
///
/// A store that fails for a moment (a restarted PostgreSQL, a busy SQLite)
/// does not end the incident: the task starts over after a backoff, which is
/// safe because every step it already took is recorded (it joins the same
/// incident and carries its kept lifecycle on, as after a restart).
pub(crate) async fn handle(inner: Arc<Inner>, signal: Signal) {
    let target = signal.target.clone();
    let mut next = Some(signal);
    while let Some(signal) = next {
        handle_one(&inner, &signal).await;
        next = release(&inner, &target);
    }
}

/// Frees the target once its task is done, unless new alerts came in
/// meanwhile: the next of those is returned, to be handled first.
///
/// A target known only from reports that are never resolved (a failed
/// pipeline step, a generic report without an id) has nothing left firing
/// once its incident is over: it is healthy again, so the next report
/// opens a new incident instead of finding the target still down.
fn release(inner: &Arc<Inner>, target: &str) -> Option<Signal> {
    let mut targets = inner.targets();
    let runtime = targets.get_mut(target)?;
    let next = runtime.next_waiting_alert();
    if next.is_none() {
        runtime.busy = false;
        // Recoveries while a task was at work did not look at the recurring
        // target's escalated incident: look once it is quiet.
        if runtime.health.is_recurring() && runtime.health.state() == TargetState::Healthy {
            watch_quiet(inner, runtime);
        }
        let reported_only = runtime.config.probes.is_empty()
            && runtime.config.supervise.is_none()
            && runtime.firing_alerts.is_empty()
            && runtime.health.state() == TargetState::Unhealthy
            && !runtime.alerts_handled.is_empty();
        if reported_only {
            let now_ms = u64::try_from(inner.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
            if let Some(transition) = runtime.health.observe_decisive_success(now_ms) {
                runtime.mark_healthy();
                runtime.state.send_replace(transition.to);
                inner.metrics.target_state(target, transition.to);
                inner.live.send(LiveEvent::Target {
                    name: target.to_string(),
                    from: transition.from,
                    to: transition.to,
                    message: "nothing left firing once its incident ended".into(),
                });
            }
        }
    }
    next
}

async fn handle_one(inner: &Arc<Inner>, signal: &Signal) {
    let target = signal.target.clone();
    let mut delays = store_waits();
    // Every log line of the incident's work carries its target and, once
    // known, its id (`run` records it), also the executors' lines.
    let span = tracing::info_span!("incident", target = %target, incident = tracing::field::Empty);
    let mut attempt = 0;
    loop {
        let error =
            match tracing::Instrument::instrument(driver::run(inner, signal), span.clone()).await {
                Ok(()) => break,
                // Someone resolved it by hand while an action ran: nothing is wrong.
                Err(StoreError::InvalidTransition(e)) => {
                    tracing::info!(%target, "the incident ended elsewhere ({e}); this task stops");
                    break;
                }
                Err(StoreError::LeaseLost { .. }) => {
                    tracing::info!(%target, "another replica owns the target now; this task stops");
                    break;
                }
                Err(e) => e,
            };
        // An unreachable store is waited out however long it lasts: giving
        // up would leave the outage unrecorded and the target unhealed. Other
        // store errors get a few tries.
        attempt += 1;
        let unavailable = error.is_unavailable();
        if !unavailable && (attempt >= STORE_ATTEMPTS || !store_may_recover(&error)) {
            tracing::error!(%target, error = %error, "incident handling stopped on a store error");
            break;
        }
        let delay = delays.next().unwrap_or(Duration::from_secs(1));
        if unavailable {
            tracing::warn!(%target, error = %error, ?delay, "store unavailable; the incident waits for it");
        } else {
            tracing::warn!(%target, error = %error, attempt, ?delay, "store error in an incident; starting over");
        }
        tokio::time::sleep(delay).await;
    }
}

/// Waits between tries against a store that is away: 0.5 s doubling to
/// 4 s, jittered, for as long as it takes.
pub(crate) fn store_waits() -> impl Iterator<Item = Duration> {
    Backoff::try_new(
        Duration::from_millis(500),
        Duration::from_secs(4),
        2.0,
        Jitter::Equal,
    )
    .ok()
    .map(|backoff| backoff.delays())
    .into_iter()
    .flatten()
    .chain(std::iter::repeat(Duration::from_secs(1)))
}

/// Errors worth starting over for: the database, not the data.
fn store_may_recover(error: &StoreError) -> bool {
    matches!(error, StoreError::Database(_) | StoreError::Contention(_))
}

/// The fingerprint prefix of a flapping target's incident.
const FLAPPING: &str = "flapping:";

/// A flapping target: automation pauses (no remedy runs while flapping) and
/// the target's escalations, if it has any, tell a human.
pub(crate) async fn flapping(inner: Arc<Inner>, signal: Signal) {
    let target = signal.target.clone();
    if let Err(e) = escalate_flapping(&inner, &signal, true).await {
        tracing::error!(%target, error = %e, "recording a flapping target failed");
    }
    if let Some(next) = release(&inner, &target) {
        handle(inner, next).await;
    }
}

/// A target that flaps while healing goes on (`on_flapping = "heal"`): a
/// human is told once, in an escalated incident of its own; the target's
/// incidents and remedies carry on beside it.
pub(crate) async fn recurring(inner: Arc<Inner>, signal: Signal) {
    if let Err(e) = escalate_flapping(&inner, &signal, false).await {
        tracing::error!(target = %signal.target, error = %e, "recording a recurring failure failed");
    }
}

async fn escalate_flapping(inner: &Inner, signal: &Signal, paused: bool) -> Result<(), StoreError> {
    let Some(target) = snapshot(inner, &signal.target) else {
        return Ok(());
    };
    let title = if paused {
        format!("{}: flapping", signal.target)
    } else {
        format!("{}: recurring", signal.target)
    };
    let fingerprint = format!("{FLAPPING}{}", signal.target);
    let (mut incident, _) = inner
        .store
        .open_or_join_incident(&NewIncident::new(
            &signal.target,
            &fingerprint,
            &title,
            Utc::now(),
        ))
        .await?;
    let h = &target.config.health;
    let message = if paused {
        format!(
            "more than {} healthy/unhealthy changes within {}: automation paused until it settles",
            h.flap_limit, h.flap_window
        )
    } else {
        format!(
            "recurring: more than {} healthy/unhealthy changes within {}; remedies keep running \
             (the cooldown doubling with every change past the limit); no further page until \
             it has been quiet for {}",
            h.flap_limit, h.flap_window, h.flap_window
        )
    };
    tracing::warn!(target = %signal.target, "{message}");
    note(
        inner,
        &incident,
        TimelineKind::Note,
        &message,
        json!(signal),
    )
    .await?;
    let contexts = target
        .config
        .remedies
        .iter()
        .filter(|r| matches!(r.action, Action::Escalate(_)))
        .map(|remedy| ActionContext {
            target: target.config.name.clone(),
            endpoint: target.endpoint.clone().unwrap_or_default(),
            incident_id: incident.id,
            fingerprint: fingerprint.clone(),
            title: title.clone(),
            category: "unknown".into(),
            severity: "high".into(),
            root_cause: message.clone(),
            evidence: vec![signal.message.clone()],
            remedy: remedy.name.clone(),
            alert: Default::default(),
        })
        .collect();
    send_escalations(inner, &incident, &target.config, contexts).await?;
    set_status(inner, &mut incident, IncidentStatus::Escalated).await
}

/// Resolves the target's open incidents that no task is working on: they were
/// left by an earlier run of the agent, and the target has recovered.
pub(crate) async fn close_recovered(inner: Arc<Inner>, target: String) {
    match resolve_escalated(&inner, &target).await {
        Ok(true) => {
            if let Some(runtime) = inner.targets().get_mut(&target) {
                watch_quiet(&inner, runtime);
            }
        }
        Ok(false) => {}
        Err(e) => tracing::error!(%target, error = %e, "cannot resolve escalated incidents"),
    }
    let open = match inner.store.open_incidents().await {
        Ok(open) => open,
        Err(e) => {
            tracing::error!(%target, error = %e, "cannot list open incidents");
            return;
        }
    };
    for mut incident in open.into_iter().filter(|i| i.target == target) {
        // A task may have started meanwhile; it owns the incident then.
        if inner
            .targets()
            .get(&target)
            .is_none_or(|runtime| runtime.busy)
        {
            return;
        }
        if let Err(e) = resolve_recovered(&inner, &mut incident, "healthy again").await {
            tracing::error!(%target, incident = incident.id, error = %e, "cannot resolve a recovered incident");
        }
    }
}

/// For a replica taking over a target that is down now: resolves the open
/// incidents its previous owner opened before the target was last seen
/// healthy here (`healthy_at`). The target recovered from those, unseen by
/// their owner, which died; the failure now is a new one, with an incident
/// of its own, not a failed fix of the old (whose next rung would page).
pub(crate) async fn close_recovered_before(
    inner: &Inner,
    target: &str,
    healthy_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let open = inner.store.open_incidents().await?;
    for mut incident in open.into_iter().filter(|i| i.target == target) {
        if incident.opened_at < healthy_at {
            let note = format!(
                "healthy again (seen by another replica at {}) before the target failed anew",
                healthy_at.format("%H:%M:%S%.3f")
            );
            resolve_recovered(inner, &mut incident, &note).await?;
        }
    }
    Ok(())
}

async fn resolve_recovered(
    inner: &Inner,
    incident: &mut Incident,
    why: &str,
) -> Result<(), StoreError> {
    settle_left_behind(inner, incident).await?;
    note(inner, incident, TimelineKind::Verification, why, json!({})).await?;
    set_status(inner, incident, IncidentStatus::Resolved)
        .await
        .map(|_| ())
}

/// What the incident task needs from the target's runtime, taken under the lock once.
struct Snapshot {
    config: Target,
    logs: Vec<String>,
    state: watch::Receiver<TargetState>,
    /// The supervised process's exit, if it caused this.
    exit: Option<Signal>,
    /// The active endpoint, if the target has endpoints.
    endpoint: Option<String>,
}

fn snapshot(inner: &Inner, target: &str) -> Option<Snapshot> {
    let mut targets = inner.targets();
    let runtime = targets.get_mut(target)?;
    Some(Snapshot {
        config: runtime.config.clone(),
        logs: runtime.fresh_log_lines(),
        state: runtime.state.subscribe(),
        exit: runtime.last_exit.clone(),
        endpoint: runtime.endpoint.clone(),
    })
}

/// An action about to be recorded as intended (the store assigns the id).
pub(crate) fn intent(
    incident: &Incident,
    remedy: &str,
    kind: &str,
    step: u32,
    dry_run: bool,
) -> ActionRecord {
    ActionRecord {
        id: 0,
        incident_id: incident.id,
        target: incident.target.clone(),
        remedy: remedy.to_string(),
        kind: kind.to_string(),
        state: ActionState::Intended,
        step,
        dry_run,
        output: None,
        error: None,
        intended_at: Utc::now(),
        started_at: None,
        finished_at: None,
        verified: None,
    }
}

pub(crate) async fn note(
    inner: &Inner,
    incident: &Incident,
    kind: TimelineKind,
    message: &str,
    mut data: serde_json::Value,
) -> Result<(), StoreError> {
    // Everything on the timeline is kept and shown: secrets out.
    redact_json(&mut data);
    let entry = TimelineEntry::new(incident.id, kind, &redacted(message)).with_data(data);
    let written = inner.store.append_timeline(&entry).await?;
    inner.live.send(LiveEvent::Timeline(written));
    Ok(())
}

pub(crate) async fn set_status(
    inner: &Inner,
    incident: &mut Incident,
    to: IncidentStatus,
) -> Result<(), StoreError> {
    if incident.status == to {
        return Ok(());
    }
    let from = incident.status;
    *incident = inner.store.set_status(incident.id, to, Utc::now()).await?;
    if let Some(ms) = incident
        .time_to_recover_ms
        .filter(|_| to == IncidentStatus::Resolved)
    {
        inner.metrics.recovered(u64::try_from(ms).unwrap_or(0));
    }
    inner.live.send(LiveEvent::Incident(incident.clone()));
    let message = format!("{from} → {to}");
    note(
        inner,
        incident,
        TimelineKind::Status,
        &message,
        json!({"from": from, "to": to}),
    )
    .await?;
    if to == IncidentStatus::Resolved {
        resolve_pages(inner, incident).await?;
    }
    Ok(())
}

/// An escalated incident has ended for medic, but a human was paged for it:
/// when the target is healthy again, the problem is gone, so its recent
/// escalated incidents are resolved (with their time to recover), which
/// also resolves the PagerDuty alerts they opened. A flapping target's
/// incident stays while it still flaps: healthy for a moment is not stable.
/// True when such an incident was left open for that reason.
async fn resolve_escalated(inner: &Inner, target: &str) -> Result<bool, StoreError> {
    let escalated = inner
        .store
        .list_incidents(&IncidentFilter {
            status: Some(IncidentStatus::Escalated),
            target: Some(target.to_string()),
            limit: 20,
            before_id: None,
        })
        .await?;
    let mut left_flapping = false;
    for mut incident in escalated {
        // Read afresh for each: the target may have failed again meanwhile.
        let Some((healthy, flapping)) = inner.targets().get(target).map(|runtime| {
            let healthy = runtime.health.state() == TargetState::Healthy;
            (healthy, runtime.health.is_recurring())
        }) else {
            return Ok(false);
        };
        if !healthy {
            return Ok(false);
        }
        if incident.fingerprint.starts_with(FLAPPING) && flapping {
            left_flapping = true;
            continue;
        }
        note(
            inner,
            &incident,
            TimelineKind::Verification,
            "healthy again after the escalation",
            json!({}),
        )
        .await?;
        set_status(inner, &mut incident, IncidentStatus::Resolved).await?;
    }
    Ok(left_flapping)
}

/// How often a recurring target is looked at for quiet.
const QUIET_CHECK: Duration = Duration::from_secs(1);

/// Starts, once per target, the wait that resolves a recurring target's
/// incident when it has been quiet ([`resolve_when_quiet`]).
fn watch_quiet(inner: &Arc<Inner>, runtime: &mut crate::targets::TargetRuntime) {
    if !std::mem::replace(&mut runtime.quiet_watch, true) {
        tokio::spawn(resolve_when_quiet(
            inner.clone(),
            runtime.config.name.clone(),
        ));
    }
}

/// A recurring target's incident, left open while the target still flipped,
/// is resolved once it has been quiet for the flap window and is healthy;
/// looking stops when the target fails again (its next recovery looks anew).
async fn resolve_when_quiet(inner: Arc<Inner>, target: String) {
    keep_quiet_watch(&inner, &target).await;
    if let Some(runtime) = inner.targets().get_mut(&target) {
        runtime.quiet_watch = false;
    }
}

async fn keep_quiet_watch(inner: &Arc<Inner>, target: &str) {
    loop {
        // The health knows when the flips stop counting: looked at in
        // memory every second, the store only once it is quiet.
        tokio::time::sleep(QUIET_CHECK).await;
        let Some((healthy, recurring)) = inner.targets().get(target).map(|runtime| {
            (
                runtime.health.state() == TargetState::Healthy,
                runtime.health.is_recurring(),
            )
        }) else {
            return;
        };
        if !healthy {
            return;
        }
        if recurring {
            continue;
        }
        match resolve_escalated(inner, target).await {
            Ok(true) => continue,
            Ok(false) => return,
            Err(e) => {
                tracing::error!(%target, error = %e, "cannot resolve a recurring target's incident");
                return;
            }
        }
    }
}

/// A resolved incident takes back the PagerDuty alerts it opened: every
/// PagerDuty escalation that was delivered for it (a ladder rung that
/// succeeded, or a page noted as delivered) gets a `resolve` with the same
/// `dedup_key`. Each delivery is noted on the timeline.
async fn resolve_pages(inner: &Inner, incident: &Incident) -> Result<(), StoreError> {
    let Some(target) = snapshot(inner, &incident.target) else {
        return Ok(());
    };
    let pagerduty: Vec<(&str, &EscalateAction)> = target
        .config
        .remedies
        .iter()
        .filter_map(|remedy| match &remedy.action {
            Action::Escalate(page) if page.format == EscalationFormat::Pagerduty => {
                Some((remedy.name.as_str(), page))
            }
            _ => None,
        })
        .collect();
    if pagerduty.is_empty() {
        return Ok(());
    }
    let timeline = inner.store.timeline(incident.id).await?;
    let mut delivered: Vec<String> = inner
        .store
        .actions(incident.id)
        .await?
        .into_iter()
        .filter(|action| action.state == ActionState::Succeeded)
        .map(|action| action.remedy)
        .collect();
    delivered.extend(
        timeline
            .iter()
            .filter(|entry| entry.data["delivered"] == json!(true))
            .filter_map(|entry| entry.data["escalation"].as_str().map(str::to_string)),
    );
    let resolved: Vec<&str> = timeline
        .iter()
        .filter(|entry| entry.data["resolved"] == json!(true))
        .filter_map(|entry| entry.data["escalation"].as_str())
        .collect();
    for (remedy, page) in pagerduty {
        if !delivered.iter().any(|name| name == remedy) || resolved.contains(&remedy) {
            continue;
        }
        let context = ActionContext {
            target: incident.target.clone(),
            incident_id: incident.id,
            fingerprint: incident.fingerprint.clone(),
            title: incident.title.clone(),
            remedy: remedy.to_string(),
            ..ActionContext::default()
        };
        let Some(outcome) = inner.executor.resolve_page(page, &context).await else {
            continue;
        };
        let result = match &outcome.error {
            None => format!("{remedy}: PagerDuty alert resolved"),
            Some(error) => format!("{remedy}: resolving the PagerDuty alert failed: {error}"),
        };
        note(
            inner,
            incident,
            TimelineKind::Action,
            &result,
            json!({"escalation": remedy, "event_action": "resolve", "delivered": false, "resolved": outcome.success}),
        )
        .await?;
    }
    Ok(())
}

/// An incident is being diagnosed: its status says so, the diagnosis is
/// stored, and the timeline gets `summary`.
pub(crate) async fn record_diagnosis(
    inner: &Inner,
    incident: &mut Incident,
    diagnosis: &Diagnosis,
    summary: &str,
) -> Result<(), StoreError> {
    if incident.status == IncidentStatus::Open {
        set_status(inner, incident, IncidentStatus::Diagnosing).await?;
    }
    // Root cause and evidence quote what was seen: secrets out before they
    // are kept (the signals and logs were redacted; a model's answer was not).
    let mut diagnosis = diagnosis.clone();
    redact_in_place(&mut diagnosis.root_cause);
    diagnosis.evidence = redact_lines(std::mem::take(&mut diagnosis.evidence));
    let diagnosis = &diagnosis;
    *incident = inner
        .store
        .set_diagnosis(incident.id, diagnosis, Utc::now())
        .await?;
    note(
        inner,
        incident,
        TimelineKind::Diagnosis,
        summary,
        json!(diagnosis),
    )
    .await
}

/// What the planner needs from the store besides the config: what this
/// incident tried, what the fingerprint's remedies achieved, and the
/// action budgets' counts.
pub(crate) struct PlanningFacts {
    tried: Vec<String>,
    history: Vec<RemedyStats>,
    since_last_action_ms: Option<u64>,
    target_actions_last_hour: u64,
    all_actions_last_hour: u64,
    /// The step number the next action gets.
    pub next_step: u32,
}

impl PlanningFacts {
    pub(crate) async fn read(
        inner: &Inner,
        incident: &Incident,
        fingerprint: &str,
    ) -> Result<Self, StoreError> {
        let actions = inner.store.actions(incident.id).await?;
        let hour_ago = Utc::now() - chrono::Duration::hours(1);
        Ok(Self {
            tried: used_up(&actions),
            next_step: actions.iter().map(|a| a.step).max().unwrap_or(0) + 1,
            history: inner.store.remedy_stats(fingerprint).await?,
            // The cooldown is the target's, across its incidents: a fix that
            // ran for the last outage holds back the next one's for a while.
            // Pages are not held back, nor do they hold anything back.
            since_last_action_ms: actions
                .iter()
                .chain(
                    &inner
                        .store
                        .recent_actions(Some(&incident.target), 20)
                        .await?,
                )
                .filter(|a| !a.dry_run && a.state != ActionState::Skipped && a.kind != "escalate")
                .map(|a| a.intended_at)
                .max()
                .map(|at| (Utc::now() - at).num_milliseconds().max(0) as u64),
            target_actions_last_hour: inner
                .store
                .count_actions_since(Some(&incident.target), hour_ago)
                .await?,
            all_actions_last_hour: inner.store.count_actions_since(None, hour_ago).await?,
        })
    }

    pub(crate) fn situation<'a>(
        &'a self,
        diagnosis: &'a Diagnosis,
        fingerprint: &'a str,
    ) -> Situation<'a> {
        Situation {
            diagnosis,
            fingerprint,
            history: &self.history,
            borrowed: Default::default(),
            tried: &self.tried,
            since_last_action_ms: self.since_last_action_ms,
            target_actions_last_hour: self.target_actions_last_hour,
            all_actions_last_hour: self.all_actions_last_hour,
        }
    }
}

/// Closes the actions of a recovered incident that another run (a replica
/// that lost the target, or an agent that died) left without an outcome: a
/// running one is `unknown` (it may have done the fix), an intended one
/// never started.
async fn settle_left_behind(inner: &Inner, incident: &Incident) -> Result<(), StoreError> {
    for action in inner.store.actions(incident.id).await? {
        let (state, why) = match action.state {
            ActionState::Running => (
                ActionState::Unknown,
                "its agent stopped while this action ran; the target was healthy when the incident was taken over",
            ),
            ActionState::Intended => (
                ActionState::Skipped,
                "not run: its agent stopped first, and the target recovered",
            ),
            _ => continue,
        };
        match (inner.store)
            .finish_action(action.id, state, None, Some(why), Utc::now())
            .await
        {
            Ok(_) | Err(StoreError::ActionAlreadyFinished { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Why an intent its agent never started (it died first) was closed.
pub(crate) const NOT_STARTED: &str = "not run: its agent stopped before it started";

/// The remedies this incident has used up. An intent its agent never
/// started uses nothing up. An HTTP request its agent left in doubt
/// (`unknown`: the agent died while it ran) may never have been sent, and
/// the far side has done it or not by now: it gets one more try, as a new
/// action; a second doubt uses it up. A command in doubt is used up: it
/// may still be running, orphaned, and a second copy would race it.
fn used_up(actions: &[medic_model::ActionRecord]) -> Vec<String> {
    let mut doubts: std::collections::HashMap<&str, u32> = Default::default();
    let mut used = Vec::new();
    for action in actions {
        if action.state == ActionState::Skipped && action.error.as_deref() == Some(NOT_STARTED) {
            continue;
        }
        if action.state == ActionState::Unknown && action.kind == "http" {
            let seen = doubts.entry(action.remedy.as_str()).or_default();
            *seen += 1;
            if *seen < 2 {
                continue;
            }
        }
        used.push(action.remedy.clone());
    }
    used
}

/// While alive, the target's probes run fast: a fix is being verified.
pub(crate) struct FastProbes<'a> {
    inner: &'a Inner,
    target: String,
}

impl<'a> FastProbes<'a> {
    pub(crate) fn start(inner: &'a Inner, target: &str) -> Self {
        set_verifying(inner, target, true);
        Self {
            inner,
            target: target.to_string(),
        }
    }
}

impl Drop for FastProbes<'_> {
    fn drop(&mut self) {
        set_verifying(self.inner, &self.target, false);
    }
}

pub(crate) fn set_verifying(inner: &Inner, target: &str, verifying: bool) {
    let mut targets = inner.targets();
    let Some(runtime) = targets.get_mut(target) else {
        return;
    };
    runtime.verifying = verifying;
    let pace = runtime.pace();
    for probe in &runtime.probes {
        inner.scheduler.set_pace(*probe, pace);
    }
}

/// Waits until the target is healthy; false if `window` passes first.
pub(crate) async fn wait_for_health(
    state: &mut watch::Receiver<TargetState>,
    window: Duration,
) -> bool {
    let healthy = async {
        loop {
            if *state.borrow_and_update() == TargetState::Healthy {
                return true;
            }
            if state.changed().await.is_err() {
                return false;
            }
        }
    };
    tokio::time::timeout(window, healthy).await.unwrap_or(false)
}

/// Runs the target's escalation remedies (one context each) and notes each reply.
pub(crate) async fn send_escalations(
    inner: &Inner,
    incident: &Incident,
    config: &Target,
    contexts: Vec<ActionContext>,
) -> Result<(), StoreError> {
    for context in contexts {
        let Some(remedy) = config.remedies.iter().find(|r| r.name == context.remedy) else {
            continue;
        };
        let outcome = inner.executor.run(config, &remedy.action, &context).await;
        let delivered = outcome.success;
        let result = match outcome.error {
            None => outcome.output.unwrap_or_else(|| "sent".into()),
            Some(error) => error,
        };
        note(
            inner,
            incident,
            TimelineKind::Action,
            &format!("{}: {result}", remedy.name),
            json!({"escalation": remedy.name, "delivered": delivered}),
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use medic_model::{ActionRecord, ActionState};

    fn action(remedy: &str, state: ActionState) -> ActionRecord {
        ActionRecord {
            id: 0,
            incident_id: 1,
            target: "shop".into(),
            remedy: remedy.into(),
            kind: "http".into(),
            state,
            step: 1,
            dry_run: false,
            output: None,
            error: None,
            intended_at: chrono::Utc::now(),
            started_at: None,
            finished_at: None,
            verified: None,
        }
    }

    #[test]
    fn an_http_remedy_left_in_doubt_gets_one_more_try() {
        use ActionState::{Failed, Succeeded, Unknown};
        assert_eq!(
            super::used_up(&[action("fix", Unknown)]),
            Vec::<String>::new()
        );
        assert_eq!(
            super::used_up(&[action("fix", Unknown), action("fix", Unknown)]),
            vec!["fix"]
        );
        assert_eq!(
            super::used_up(&[action("fix", Unknown), action("page", Succeeded)]),
            vec!["page"]
        );
        assert_eq!(super::used_up(&[action("fix", Failed)]), vec!["fix"]);
        let mut command = action("fix", Unknown);
        command.kind = "exec".into();
        assert_eq!(super::used_up(&[command]), vec!["fix"]);
        let mut never_started = action("fix", ActionState::Skipped);
        never_started.error = Some(super::NOT_STARTED.into());
        assert_eq!(super::used_up(&[never_started]), Vec::<String>::new());
        let mut rejected = action("fix", ActionState::Skipped);
        rejected.error = Some("rejected by ana".into());
        assert_eq!(super::used_up(&[rejected]), vec!["fix"]);
    }
}
