//! Which targets this replica owns. With a PostgreSQL store any number of
//! agents share the targets: each target's work belongs to the replica that
//! holds its lease in the store, and only that replica opens its incidents,
//! records intents and acts. Only the owner probes a target: the others
//! leave its probes idle and show its state as unknown (its incidents, in
//! the store, are the same on every replica). A replica that takes a
//! target over starts from unknown and probes it afresh.
//!
//! Every third of `[cluster] lease`, a replica heartbeats, works out which
//! targets it should own (rendezvous hashing over the live replicas, so
//! targets spread evenly and move as few as possible when one joins or
//! leaves), then claims or renews those leases in one statement and lets go
//! of the rest. A target whose incident is still at work is kept until the
//! incident ends, so a rebalance never cuts a remedy short. A lease counts
//! as held only until `lease` after the claim was *sent*, so a replica cut
//! off from the store stops acting on its own clock before another may
//! claim. Writes that decide an action carry the lease's epoch and the
//! store refuses them once it moved on (`StoreError::LeaseLost`).
//!
//! A single-node store (SQLite) has no leases: this replica holds all.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use medic_engine::config::Config;
use medic_engine::health::TargetState;
use medic_model::{Signal, SignalSource};
use medic_probe::scheduler::Pace;
use medic_store::{Fence, Replica, StoreError};

use crate::agent::Inner;
use crate::alerts::AlertNotice;

/// This replica's leases.
#[derive(Debug)]
pub(crate) struct Leases {
    /// False on a single-node store: every target is ours.
    shared: bool,
    me: Replica,
    ttl: Duration,
    held: Mutex<HashMap<String, Held>>,
    /// Alerts for targets another replica owns, in arrival order, on their
    /// way to the store (`hand_off`); the receiver is taken by [`keep`].
    handoffs: tokio::sync::mpsc::UnboundedSender<(String, AlertNotice)>,
    handoffs_out: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<(String, AlertNotice)>>>,
    /// When a round last reached the store.
    renewed: Mutex<Option<Instant>>,
    /// Targets with an incident not yet resolved (open or escalated), as of
    /// the last round that gained targets: only those need a look in the
    /// store when a newly gained target first shows healthy. `None` when
    /// that read failed: then every one gets its look.
    unsettled: Mutex<Option<HashSet<String>>>,
}

#[derive(Debug, Clone, Copy)]
struct Held {
    epoch: i64,
    /// When the lease may have expired in the store, on our clock.
    until: Instant,
}

impl Leases {
    /// Leases for `config`'s store: shared when it is PostgreSQL.
    pub(crate) fn new(config: &Config, backend: &str) -> Self {
        let node = config.cluster.node.clone().unwrap_or_else(host_name);
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let (handoffs, handoffs_out) = tokio::sync::mpsc::unbounded_channel();
        Self {
            handoffs,
            handoffs_out: Mutex::new(Some(handoffs_out)),
            renewed: Mutex::new(None),
            unsettled: Mutex::new(Some(HashSet::new())),
            shared: backend == "postgres",
            me: Replica {
                id: format!("{node}:{}:{}", std::process::id(), &nonce[..8]),
                node,
            },
            ttl: config.cluster.lease.get(),
            held: Mutex::new(HashMap::new()),
        }
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<String, Held>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether this replica may act for `target` now.
    pub(crate) fn holds(&self, target: &str) -> bool {
        !self.shared
            || self
                .held()
                .get(target)
                .is_some_and(|held| Instant::now() < held.until)
    }

    /// What a write for `target` carries: `None` on a single-node store.
    /// A lease that is not held gives epoch 0, which the store refuses.
    pub(crate) fn fence(&self, target: &str) -> Option<Fence> {
        self.shared.then(|| Fence {
            owner: self.me.id.clone(),
            epoch: self.held().get(target).map_or(0, |held| held.epoch),
        })
    }

    /// Leaves an alert for `target`'s owner, when that is another replica:
    /// true if it was handed off (and this replica must not act on it).
    pub(crate) fn hand_off(&self, target: &str, notice: &AlertNotice) -> bool {
        if self.holds(target) {
            return false;
        }
        // The receiver lives as long as the agent.
        let _ = self.handoffs.send((target.to_string(), notice.clone()));
        true
    }

    /// Why this replica cannot do its share now (its leases could not be
    /// renewed for a whole lease), for `/ready`; `None` when it can.
    pub(crate) fn unready(&self) -> Option<String> {
        if !self.shared {
            return None;
        }
        let renewed = *self.renewed.lock().unwrap_or_else(|e| e.into_inner());
        match renewed {
            Some(at) if at.elapsed() <= self.ttl => None,
            Some(at) => Some(format!(
                "leases not renewed for {:.1}s (lease {:?})",
                at.elapsed().as_secs_f64(),
                self.ttl
            )),
            None => Some("leases not claimed yet".into()),
        }
    }

    /// Whether `target` may have an incident to close when it shows healthy
    /// for the first time here. Always on a single-node store; on a shared
    /// one, only when the last look at the store found one (thousands of
    /// targets taken over must not mean thousands of reads).
    pub(crate) fn may_have_incidents(&self, target: &str) -> bool {
        !self.shared
            || (self.unsettled.lock().unwrap_or_else(|e| e.into_inner()))
                .as_ref()
                .is_none_or(|unsettled| unsettled.contains(target))
    }

    /// This replica, as the others see it.
    pub(crate) fn me(&self) -> &Replica {
        &self.me
    }

    /// Whether targets are shared with other replicas.
    pub(crate) fn shared(&self) -> bool {
        self.shared
    }
}

/// The host's name, for a replica without `[cluster] node`.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|name| name.trim().to_string())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// Whether this agent is the only live one on its store (always, on a
/// single-node store). Says so in the store, as a heartbeat.
pub(crate) async fn alone(
    leases: &Leases,
    store: &dyn medic_store::Store,
) -> Result<bool, StoreError> {
    if !leases.shared {
        return Ok(true);
    }
    let live = store.heartbeat(&leases.me, leases.ttl).await?;
    Ok(live.iter().all(|replica| replica.id == leases.me.id))
}

/// The first round, at start: failures are left to [`keep`].
pub(crate) async fn start(inner: &Arc<Inner>) {
    if let Err(error) = renew(inner).await {
        tracing::warn!(%error, "could not claim leases at start; retrying");
    }
}

/// Keeps this replica's leases, for as long as the agent runs.
pub(crate) async fn keep(inner: Arc<Inner>) {
    let leases = &inner.leases;
    let outgoing = leases
        .handoffs_out
        .lock()
        .ok()
        .and_then(|mut out| out.take());
    if let Some(outgoing) = outgoing {
        tokio::spawn(send_handoffs(inner.clone(), outgoing));
    }
    let mut ticks = tokio::time::interval(leases.ttl / 3);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut orphaned: Option<Duration> = None;
    loop {
        // The next round comes at the tick, or as soon as the leases of a
        // replica that stopped renewing expire: its targets are taken over
        // at the earliest moment the fencing allows, not up to a round later.
        let early = orphaned.take().map(|left| left + EXPIRY_MARGIN);
        tokio::select! {
            _ = ticks.tick() => {}
            () = sleep_if_some(early) => {}
        }
        if let Err(error) = renew(&inner).await {
            // Held leases lapse on their own clock; the next tick tries again.
            tracing::warn!(%error, "could not renew leases");
            continue;
        }
        if let Err(error) = take_handoffs(&inner).await {
            tracing::warn!(%error, "could not take alerts handed off by other replicas");
        }
        if let Err(error) = crate::agent::follow_monitoring_pause(&inner).await {
            tracing::warn!(%error, "could not read whether monitoring is paused");
        }
        orphaned = match (inner.store)
            .next_orphaned_lease_expiry(&leases.me.id, leases.ttl / 2, leases.ttl)
            .await
        {
            Ok(left) => left,
            Err(error) => {
                tracing::warn!(%error, "could not read the leases of silent replicas");
                None
            }
        };
    }
}

/// How long after a silent replica's leases expire the early round runs
/// (the database's clock and ours need not tick together).
const EXPIRY_MARGIN: Duration = Duration::from_millis(20);

async fn sleep_if_some(duration: Option<Duration>) {
    match duration {
        Some(duration) => tokio::time::sleep(duration).await,
        None => std::future::pending().await,
    }
}

/// One round: heartbeat, choose, claim, let go, and take up what was gained.
async fn renew(inner: &Arc<Inner>) -> Result<(), StoreError> {
    let leases = &inner.leases;
    let replicas = inner.store.heartbeat(&leases.me, leases.ttl).await?;
    let (wanted, unwanted) = choose(inner, &replicas);
    // Let go here before the store does: never a moment in which another
    // replica may claim a lease this one still counts as held. Leases that
    // lapsed (the store was away) do not count as held before: they are
    // gained again, and a task they stopped is taken up anew.
    let before: HashSet<String> = {
        let mut held = leases.held();
        let now = Instant::now();
        let before = (held.iter())
            .filter(|(_, lease)| lease.until > now)
            .map(|(target, _)| target.clone())
            .collect();
        for target in &unwanted {
            held.remove(target);
        }
        before
    };
    let sent = Instant::now();
    let granted = inner
        .store
        .claim_leases(&leases.me.id, &wanted, leases.ttl)
        .await?;
    if !unwanted.is_empty() {
        inner
            .store
            .release_leases(&leases.me.id, Some(&unwanted))
            .await?;
    }
    let until = sent + leases.ttl;
    *leases.renewed.lock().unwrap_or_else(|e| e.into_inner()) = Some(sent);
    let (gained, granted_names) = {
        let mut held = leases.held();
        held.clear();
        for lease in &granted {
            held.insert(
                lease.target.clone(),
                Held {
                    epoch: lease.epoch,
                    until,
                },
            );
        }
        let gained: Vec<String> = granted
            .iter()
            .map(|l| l.target.clone())
            .filter(|t| !before.contains(t))
            .collect();
        let names: HashSet<&str> = granted.iter().map(|l| l.target.as_str()).collect();
        (gained, names)
    };
    // Probed here but not held: let go this round, or in an earlier one
    // whose claim failed after the release.
    let lost: Vec<String> = (inner.targets().iter())
        .filter(|(name, runtime)| runtime.owned && !granted_names.contains(name.as_str()))
        .map(|(name, _)| name.clone())
        .collect();
    if !gained.is_empty() || !lost.is_empty() {
        tracing::info!(
            replica = %leases.me.id,
            gained = gained.len(),
            lost = lost.len(),
            replicas = replicas.len(),
            "leases changed"
        );
        tracing::debug!(?gained, ?lost, "leases changed");
    }
    for target in &lost {
        stop_watching(inner, target);
    }
    if !gained.is_empty() {
        // Read before the gained targets' probes start: an old owner can
        // open no incident once its lease moved on.
        // The leases are held already: a failed read must not keep the
        // gained targets from being watched, only make each look for itself.
        let unsettled = match unsettled_targets(inner.store.as_ref()).await {
            Ok(unsettled) => Some(unsettled),
            Err(error) => {
                tracing::warn!(%error, "could not read which targets have incidents");
                None
            }
        };
        *leases.unsettled.lock().unwrap_or_else(|e| e.into_inner()) = unsettled;
    }
    for target in gained {
        crate::failover::follow_store(inner, &target).await;
        if start_watching(inner, &target) {
            take_up(inner, &target).await;
        }
    }
    Ok(())
}

/// The targets with an open or escalated incident: two reads, however
/// many targets there are (escalated ones a page at a time).
async fn unsettled_targets(store: &dyn medic_store::Store) -> Result<HashSet<String>, StoreError> {
    let mut targets: HashSet<String> = (store.open_incidents().await?)
        .into_iter()
        .map(|incident| incident.target)
        .collect();
    let mut filter = medic_store::IncidentFilter::default()
        .with_status(medic_model::IncidentStatus::Escalated)
        .with_limit(medic_store::IncidentFilter::MAX_LIMIT);
    loop {
        let page = store.list_incidents(&filter).await?;
        let Some(last) = page.last().map(|incident| incident.id) else {
            break;
        };
        targets.extend(page.into_iter().map(|incident| incident.target));
        filter.before_id = Some(last);
    }
    Ok(targets)
}

/// Another replica owns `target` now: its probes go idle here, and what
/// they said is forgotten (it would only grow stale).
fn stop_watching(inner: &Inner, target: &str) {
    let mut targets = inner.targets();
    let Some(runtime) = targets.get_mut(target) else {
        return;
    };
    runtime.owned = false;
    runtime.newly_owned = false;
    if runtime.probes.is_empty() {
        return;
    }
    runtime.health.forget();
    runtime.latencies = std::collections::VecDeque::new();
    runtime.forget_outage_errors();
    runtime.state.send_replace(TargetState::Unknown);
    // Its series are its new owner's to export.
    inner.metrics.forget_target(target);
    for probe in &runtime.probes {
        inner.scheduler.set_pace(*probe, Pace::Idle);
    }
}

/// `target` is this replica's now: its probes start (from an unknown
/// state, their first verdict taking it over). True when it should be
/// taken up at once instead: it was watched here all along (its lease had
/// only lapsed) or it has no probes to give a verdict.
fn start_watching(inner: &Inner, target: &str) -> bool {
    let mut targets = inner.targets();
    let Some(runtime) = targets.get_mut(target) else {
        return false;
    };
    let watched_already = std::mem::replace(&mut runtime.owned, true);
    if !watched_already {
        inner.metrics.target_state(target, runtime.health.state());
    }
    if watched_already || runtime.probes.is_empty() {
        return true;
    }
    runtime.newly_owned = true;
    let pace = runtime.pace();
    for probe in &runtime.probes {
        inner.scheduler.set_pace(*probe, pace);
    }
    false
}

/// The first verdict on a target this replica took over says it is down:
/// its incident is opened or joined here and carried on from its kept
/// lifecycle, unless its last incident already went to a human.
pub(crate) async fn take_over_outage(inner: Arc<Inner>, signal: Signal, flapping: bool) {
    let target = signal.target.clone();
    if let Ok(true) = handed_to_a_human(&inner, &target).await {
        tracing::info!(%target, "taken over while down; its last incident is with a human");
        free(&inner, &target);
        return;
    }
    handle_taken_over(inner, signal, flapping).await;
}

/// Writes alerts for other replicas' targets to the store, in order; one
/// that cannot be written is retried until it can (the store is away).
async fn send_handoffs(
    inner: Arc<Inner>,
    mut outgoing: tokio::sync::mpsc::UnboundedReceiver<(String, AlertNotice)>,
) {
    while let Some((target, notice)) = outgoing.recv().await {
        let value = serde_json::json!(notice);
        let mut waits = crate::incident::store_waits();
        while let Err(error) = inner.store.hand_off(&target, &value).await {
            tracing::warn!(%target, %error, "could not hand an alert off; retrying");
            tokio::time::sleep(waits.next().unwrap_or(Duration::from_secs(4))).await;
        }
    }
}

/// Takes the alerts other replicas received for targets this one owns, and
/// looks at them as if they had come here.
async fn take_handoffs(inner: &Arc<Inner>) -> Result<(), StoreError> {
    let owned: Vec<String> = (inner.leases.held().iter())
        .filter(|(_, lease)| Instant::now() < lease.until)
        .map(|(target, _)| target.clone())
        .collect();
    let agent = crate::agent::Agent {
        inner: inner.clone(),
    };
    for (target, value) in inner.store.take_handoffs(&owned).await? {
        let notice = match serde_json::from_value::<AlertNotice>(value) {
            Ok(notice) => notice,
            Err(error) => {
                tracing::warn!(%target, %error, "an alert handed off could not be read");
                continue;
            }
        };
        if let Err(error) = agent.alert(&target, &notice).await {
            tracing::warn!(%target, %error, "an alert handed off could not be taken up");
        }
    }
    Ok(())
}

/// The targets this replica should own (by rendezvous hashing among the
/// live replicas it may share with, or because its incident is at work
/// here), and those it holds but should let go.
fn choose(inner: &Inner, replicas: &[Replica]) -> (Vec<String>, Vec<String>) {
    let me = &inner.leases.me;
    let held: HashSet<String> = inner.leases.held().keys().cloned().collect();
    let targets = inner.targets();
    let mut wanted = Vec::new();
    for (name, runtime) in targets.iter() {
        let node = runtime.config.node.as_ref();
        if node.is_some_and(|node| *node != me.node) {
            continue;
        }
        let candidates = replicas
            .iter()
            .filter(|r| node.is_none_or(|node| r.node == *node));
        let preferred = candidates
            .max_by_key(|r| weight(&r.id, name))
            .is_none_or(|r| r.id == me.id);
        let at_work = runtime.busy && held.contains(name);
        // Registered through this replica's API (or the catch-all for
        // unmatched alerts): the others do not know it, so it stays here.
        let known_here_only = !matches!(runtime.origin, crate::targets::Origin::Config);
        if preferred || at_work || known_here_only {
            wanted.push(name.clone());
        }
    }
    let unwanted = {
        let wanted: HashSet<&String> = wanted.iter().collect();
        held.iter()
            .filter(|t| !wanted.contains(t))
            .cloned()
            .collect()
    };
    (wanted, unwanted)
}

/// The rendezvous weight of (replica, target): FNV-1a, then MurmurHash3's
/// final mix (FNV alone leaves similar names' weights correlated, and the
/// spread uneven). Stable across builds and hosts, so every replica makes
/// the same choice.
fn weight(replica: &str, target: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in replica.bytes().chain([0]).chain(target.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    hash ^ (hash >> 33)
}

/// A target this replica has just come to own: if it is down with no task
/// at work (its previous owner died or let go), its incident is opened or
/// joined here and carried on from its kept lifecycle; if it is healthy, an
/// incident its previous owner left open is closed.
async fn take_up(inner: &Arc<Inner>, target: &str) {
    let (signal, flapping, healthy_at, probed) = {
        let mut targets = inner.targets();
        let Some(runtime) = targets.get_mut(target) else {
            return;
        };
        if runtime.busy {
            return;
        }
        match runtime.health.state() {
            TargetState::Unhealthy | TargetState::Flapping => {}
            TargetState::Healthy => {
                let target = target.to_string();
                tokio::spawn(crate::incident::close_recovered(inner.clone(), target));
                return;
            }
            _ => return,
        }
        runtime.busy = true;
        let flapping = runtime.health.state() == TargetState::Flapping;
        let signal = runtime.last_failure.clone().unwrap_or_else(|| {
            Signal::unhealthy(
                target,
                SignalSource::Probe {
                    probe: "lease".into(),
                },
                "unhealthy when this replica took it over",
            )
        });
        // Without probes (alerts and logs only) there is nothing to look at again.
        let probed = (!runtime.probes.is_empty()).then_some(runtime.probes_seen);
        (signal, flapping, runtime.healthy_at, probed)
    };
    // Its last incident was escalated or failed: a human has it, as on a
    // single node, until the target recovers and fails again.
    match handed_to_a_human(inner, target).await {
        Ok(false) => {}
        Ok(true) => {
            free(inner, target);
            return;
        }
        Err(error) => {
            tracing::warn!(%target, %error, "could not read its incidents; taking it up");
        }
    }
    if let Some(at) = healthy_at
        && let Err(error) = crate::incident::close_recovered_before(inner, target, at).await
    {
        tracing::warn!(%target, %error, "could not close incidents it recovered from");
    }
    let target = target.to_string();
    tokio::spawn(look_again_then_handle(
        inner.clone(),
        target,
        signal,
        flapping,
        probed,
    ));
}

/// A target that looked down when this replica took it over. Its state here
/// may be old (probes back off while a target is down, and this replica did
/// not own it), so it is probed at the fast pace until a fresh answer comes,
/// and only a target still down gets an incident task: a fix run on an old
/// view would hit a target that had recovered, and its verification would
/// then blame the next, unrelated failure on it.
async fn look_again_then_handle(
    inner: Arc<Inner>,
    target: String,
    signal: Signal,
    flapping: bool,
    probed: Option<u64>,
) {
    if let Some(probes_seen) = probed
        && !still_down(&inner, &target, probes_seen).await
    {
        // Recovering: the owner's usual watch takes it from here, and an
        // incident left open is closed once it is healthy.
        free(&inner, &target);
        tracing::info!(%target, "taken over: it had recovered meanwhile");
        let mut state = inner.targets().get(&target).map(|r| r.state.subscribe());
        if let Some(state) = state.as_mut()
            && crate::incident::wait_for_health(state, FRESH_LOOK_LIMIT).await
        {
            crate::incident::close_recovered(inner, target).await;
        }
        return;
    }
    handle_taken_over(inner, signal, flapping).await;
}

/// A target taken over while down gets its incident task here.
async fn handle_taken_over(inner: Arc<Inner>, signal: Signal, flapping: bool) {
    tracing::info!(target = %signal.target, "taking over a target that is down");
    if flapping {
        crate::incident::flapping(inner, signal).await;
    } else {
        crate::incident::handle(inner, signal).await;
    }
}

/// Probes `target` at the fast pace until an answer newer than
/// `probes_seen` comes (or [`FRESH_LOOK_LIMIT`] passes): whether it is down.
async fn still_down(inner: &Inner, target: &str, probes_seen: u64) -> bool {
    crate::incident::set_verifying(inner, target, true);
    let deadline = tokio::time::Instant::now() + FRESH_LOOK_LIMIT;
    let down = loop {
        let (seen, state) = match inner.targets().get(target) {
            Some(runtime) => (runtime.probes_seen, runtime.health.state()),
            None => return false, // removed meanwhile
        };
        let fresh = seen > probes_seen;
        if fresh || tokio::time::Instant::now() >= deadline {
            break matches!(state, TargetState::Unhealthy | TargetState::Flapping);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    crate::incident::set_verifying(inner, target, false);
    down
}

/// How long a replica taking a target over waits for a fresh probe answer.
const FRESH_LOOK_LIMIT: Duration = Duration::from_secs(5);

/// Whether the target's newest incident ended with a human (escalated or
/// failed) and none is open.
async fn handed_to_a_human(inner: &Inner, target: &str) -> Result<bool, StoreError> {
    let filter = medic_store::IncidentFilter::default()
        .with_target(target)
        .with_limit(1);
    let newest = inner.store.list_incidents(&filter).await?;
    Ok(newest.first().is_some_and(|incident| {
        matches!(
            incident.status,
            medic_model::IncidentStatus::Escalated | medic_model::IncidentStatus::Failed
        )
    }))
}

fn free(inner: &Inner, target: &str) {
    if let Some(runtime) = inner.targets().get_mut(target) {
        runtime.busy = false;
    }
}

/// Lets go of every lease at shutdown, so the others take over at once.
pub(crate) async fn release_all(inner: &Inner) {
    if !inner.leases.shared {
        return;
    }
    inner.leases.held().clear();
    if let Err(error) = inner.store.release_leases(&inner.leases.me.id, None).await {
        tracing::warn!(%error, "could not release leases at shutdown");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendezvous_spreads_targets_and_moves_few_when_a_replica_leaves() {
        let replicas = ["a:1:x", "b:2:y", "c:3:z"];
        fn owner(among: &[&'static str], target: &str) -> &'static str {
            among
                .iter()
                .copied()
                .max_by_key(|r| weight(r, target))
                .expect("some replica")
        }
        let targets: Vec<String> = (0..3000).map(|i| format!("target-{i}")).collect();
        let mut counts = HashMap::new();
        for t in &targets {
            *counts.entry(owner(&replicas, t)).or_insert(0) += 1;
        }
        for r in replicas {
            let n = counts[r];
            assert!((800..1200).contains(&n), "{r} owns {n} of 3000");
        }
        // c leaves: only c's targets move.
        let moved = targets
            .iter()
            .filter(|t| owner(&replicas, t) != owner(&replicas[..2], t))
            .count();
        assert_eq!(moved, counts["c:3:z"]);
    }
}
