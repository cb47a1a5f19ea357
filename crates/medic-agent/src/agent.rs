//! Starting, running and stopping the agent.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use medic_act::{Executor, Supervisor};
use medic_engine::config::{Config, OnFlapping};
use medic_engine::diagnosis::RulesDiagnoser;
use medic_engine::health::TargetState;
use medic_model::{ActionState, Approval, ApprovalId, ApprovalStatus, Signal};
use medic_probe::log::LogTail;
use medic_probe::scheduler::{ScheduledProbe, Scheduler, SchedulerConfig};
use medic_probe::{Prober, default_probe_name};
use medic_resilience::clock::Clock;
use medic_resilience::health::{HealthRegistry, HealthThresholds};
use medic_store::Store;
use tokio::sync::{mpsc, oneshot};

use crate::components::ComponentSpec;
use crate::intake::IntakeWriter;
use crate::live::{LiveEvent, LiveFeed};
use crate::metrics::Metrics;
use crate::targets::{Origin, TargetRuntime};

/// Why the agent could not start.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// A probe or log watch could not be built from the config.
    #[error("target {target}: {message}")]
    Target {
        /// The target.
        target: String,
        /// What is wrong.
        message: String,
    },
    /// The store refused a startup step.
    #[error("store: {0}")]
    Store(#[from] medic_store::StoreError),
}

/// Tunables that are not part of the config file.
#[derive(Debug, Clone, Copy)]
pub struct AgentOptions {
    /// How often log files are polled for new lines.
    pub log_poll_interval: Duration,
}

impl Default for AgentOptions {
    fn default() -> Self {
        Self {
            log_poll_interval: Duration::from_millis(250),
        }
    }
}

/// Shared by the signal loop, the incident tasks and the API.
pub(crate) struct Inner {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub executor: Executor,
    pub diagnoser: RulesDiagnoser,
    /// The `[llm]` second opinion, when configured.
    pub llm: Option<medic_llm::LlmDiagnoser>,
    pub targets: Mutex<BTreeMap<String, TargetRuntime>>,
    pub scheduler: Scheduler,
    pub supervisor: Supervisor,
    pub prober: Prober,
    pub epoch: Instant,
    /// Every target's and event-reporting component's error window.
    pub health: HealthRegistry,
    pub live: LiveFeed,
    pub metrics: Metrics,
    /// Incident tasks waiting for a human, by approval.
    pub waiting: Mutex<HashMap<ApprovalId, oneshot::Sender<Approval>>>,
    /// Webhook deliveries on their way to the store.
    pub intake: IntakeWriter,
    /// The host, as read at start.
    pub host: medic_engine::host::HostContext,
    /// The targets this replica owns (all of them on a single-node store).
    pub leases: crate::leases::Leases,
    /// Maintenance windows, the config's and the API's.
    pub maintenance: crate::maintenance::Maintenance,
}

impl Inner {
    pub(crate) fn targets(&self) -> MutexGuard<'_, BTreeMap<String, TargetRuntime>> {
        self.targets.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn waiting(&self) -> MutexGuard<'_, HashMap<ApprovalId, oneshot::Sender<Approval>>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// A running agent. Dropping it does not stop it: call [`Agent::shutdown`].
#[derive(Clone)]
pub struct Agent {
    pub(crate) inner: Arc<Inner>,
}

impl Agent {
    /// Starts probing, supervising and healing the configured targets.
    ///
    /// Actions whose outcome a previous run never recorded are closed as
    /// `unknown` first: they are never run again, and their incidents go on
    /// from the next remedy once the target has been probed anew. Stored
    /// fingerprints of an older version are then renamed (see
    /// `fingerprints.rs`).
    pub async fn start(
        config: Config,
        store: Arc<dyn Store>,
        options: AgentOptions,
    ) -> Result<Agent, AgentError> {
        // The only agent on the store settles what its previous run left in
        // flight. With other live replicas, an action in flight may be one
        // of theirs: the replica that takes its target over settles it
        // (driver.rs).
        let leases = crate::leases::Leases::new(&config, store.backend());
        if crate::leases::alone(&leases, store.as_ref()).await? {
            settle_actions_in_doubt(store.as_ref()).await?;
        }
        // Before any new incident is named: learned statistics under
        // fingerprints of an older scheme move to today's names.
        crate::fingerprints::migrate_fingerprints(store.as_ref()).await?;
        let (signals, mut incoming) = mpsc::channel::<Signal>(4096);
        let fast_interval = config
            .targets
            .iter()
            .map(|t| t.health.confirm_interval.get())
            .min()
            .unwrap_or(Duration::from_millis(100));
        let scheduler = Scheduler::start(
            SchedulerConfig {
                fast_interval,
                ..SchedulerConfig::default()
            },
            signals.clone(),
        );
        let supervisor = Supervisor::builder(signals.clone())
            .identity(config.storage.url.clone())
            .build();
        let prober =
            Prober::with_tls(config.tls.clone()).with_kubernetes(config.kubernetes.clone());
        let executor = Executor::builder()
            .supervisor(supervisor.clone())
            .tls(config.tls.clone())
            .public_url(config.server.public_url.clone())
            .kubernetes(config.kubernetes.clone())
            .build()
            .map_err(|e| AgentError::Target {
                target: "*".into(),
                message: format!("tls: {e}"),
            })?;

        let host = crate::host::detect();
        tracing::info!(%host, "host");
        let maintenance = crate::maintenance::Maintenance::new(&config);
        // Windows opened through the API before this start hold from the first signal.
        maintenance.refresh(store.as_ref()).await?;
        let inner = Arc::new(Inner {
            leases,
            maintenance,
            host,
            executor,
            intake: IntakeWriter::start(store.clone()),
            diagnoser: RulesDiagnoser::from_config(&config.diagnosis),
            llm: crate::llm::build(&config.llm, &config.tls),
            targets: Mutex::new(BTreeMap::new()),
            scheduler,
            supervisor,
            prober,
            store,
            config,
            epoch: Instant::now(),
            health: HealthRegistry::new(
                ERROR_WINDOW,
                ERROR_SAMPLES,
                HealthThresholds::default(),
                Clock::Std,
            ),
            live: LiveFeed::new(),
            metrics: Metrics::new(),
            waiting: Mutex::new(HashMap::new()),
        });
        let agent = Agent { inner };
        // A pause from before a restart (maintenance) or another replica holds.
        follow_monitoring_pause(&agent.inner).await?;
        for target in &agent.inner.config.targets {
            agent.attach(target.clone(), Origin::Config).await?;
        }
        agent.restore_components().await?;
        if agent.inner.leases.shared() {
            // Own a share before the first signal is looked at; a store that
            // is away now is retried by the keeper.
            crate::leases::start(&agent.inner).await;
            tokio::spawn(crate::leases::keep(agent.inner.clone()));
        }
        tokio::spawn(crate::failover::watch_failbacks(agent.inner.clone()));
        tokio::spawn(crate::maintenance::watch(agent.inner.clone()));
        let looping = agent.clone();
        tokio::spawn(async move {
            while let Some(signal) = incoming.recv().await {
                looping.observe(signal);
            }
        });
        let polling = agent.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(options.log_poll_interval);
            loop {
                ticks.tick().await;
                polling.poll_logs();
            }
        });
        Ok(agent)
    }

    /// The store the agent records into.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// Each target's current state.
    pub fn target_states(&self) -> BTreeMap<String, TargetState> {
        self.inner
            .targets()
            .iter()
            .map(|(name, runtime)| (name.clone(), runtime.health.state()))
            .collect()
    }

    /// Starts watching one target: its log tails, probes and supervised process.
    pub(crate) async fn attach(
        &self,
        target: medic_engine::config::Target,
        origin: Origin,
    ) -> Result<(), AgentError> {
        let inner = &self.inner;
        let fail = |message: String| AgentError::Target {
            target: target.name.clone(),
            message,
        };
        if inner.targets().contains_key(&target.name) {
            return Err(fail("a target with this name exists".into()));
        }
        let logs = target
            .logs
            .iter()
            .map(|watch| LogTail::new(watch).map_err(|e| fail(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        // Where a failover went before a restart, if it is still listed.
        let endpoint = if target.endpoints.is_empty() {
            None
        } else {
            let kept = inner.store.active_endpoints().await?;
            let kept = kept
                .into_iter()
                .find(|(name, endpoint)| {
                    *name == target.name && target.endpoints.contains(endpoint)
                })
                .map(|(_, endpoint)| endpoint);
            kept.or_else(|| target.endpoints.first().cloned())
        };
        let checks = build_checks(inner, &target, endpoint.as_deref()).map_err(fail)?;
        // A target bound to another node is that node's replicas' to run.
        let elsewhere = inner.leases.shared()
            && target
                .node
                .as_ref()
                .is_some_and(|node| *node != inner.leases.me().node);
        if target.supervise.is_some() && !elsewhere {
            inner
                .supervisor
                .start(&target)
                .await
                .map_err(|e| fail(format!("supervise: {e}")))?;
        }
        let errors = inner.health.component(&target.name);
        let pause_when_flapping = inner.config.policy.on_flapping == OnFlapping::Pause;
        let owned = !inner.leases.shared();
        let mut runtime = TargetRuntime::new(
            target.clone(),
            logs,
            errors,
            origin,
            pause_when_flapping,
            owned,
        );
        runtime.endpoint = endpoint;
        schedule(inner, &mut runtime, checks);
        // Checked again as it goes in: two first alerts may attach the
        // `alerts` pseudo-target at once, and the live one must not be replaced.
        match inner.targets().entry(target.name.clone()) {
            std::collections::btree_map::Entry::Occupied(_) => {
                return Err(fail("a target with this name exists".into()));
            }
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(runtime);
            }
        }
        // A target's series are the replica's that probes it (its owner).
        if owned {
            inner
                .metrics
                .target_state(&target.name, TargetState::Unknown);
        }
        Ok(())
    }

    /// Re-registers the components registered through the API in earlier runs.
    /// One that no longer validates (the config changed under it) is logged and
    /// left out, not fatal: the config file's targets must still come up.
    async fn restore_components(&self) -> Result<(), AgentError> {
        for (name, spec) in self.inner.store.components().await? {
            let restored = serde_json::from_value::<ComponentSpec>(spec)
                .map_err(|e| e.to_string())
                .and_then(|spec| {
                    spec.to_target(&self.current_config())
                        .map(|target| (target, spec))
                        .map_err(|errors| {
                            errors
                                .iter()
                                .map(ToString::to_string)
                                .collect::<Vec<_>>()
                                .join("; ")
                        })
                });
            match restored {
                Ok((target, spec)) => self.attach(target, Origin::Api(Box::new(spec))).await?,
                Err(why) => tracing::warn!(component = %name, "not restored: {why}"),
            }
        }
        Ok(())
    }

    /// The config file's settings with the targets watched now.
    pub(crate) fn current_config(&self) -> Config {
        let mut config = self.inner.config.clone();
        config.targets = self
            .inner
            .targets()
            .values()
            .map(|runtime| runtime.config.clone())
            .collect();
        config
    }

    /// Stops supervised processes (so no orphan keeps a port).
    pub async fn shutdown(&self) {
        crate::leases::release_all(&self.inner).await;
        self.inner.supervisor.shutdown().await;
    }

    /// One probe result, supervisor event or log match.
    pub(crate) fn observe(&self, mut signal: Signal) {
        // What a signal says is kept (timeline, titles), shown and may fill a
        // placeholder: control characters and secrets out first.
        clean_signal(&mut signal);
        let now_ms = self.inner.now_ms();
        let mut targets = self.inner.targets();
        let Some(runtime) = targets.get_mut(&signal.target) else {
            tracing::debug!(target = %signal.target, "signal for an unknown target");
            return;
        };
        let exited =
            !signal.healthy && matches!(signal.source, medic_model::SignalSource::Exit { .. });
        let reported = matches!(signal.source, medic_model::SignalSource::Event { .. });
        let alert = matches!(signal.source, medic_model::SignalSource::Alert { .. });
        let logged = match &signal.source {
            medic_model::SignalSource::Log { path } => Some(path.clone()),
            _ => None,
        };
        if matches!(signal.source, medic_model::SignalSource::Probe { .. }) {
            self.inner.metrics.probed(&signal.target, signal.latency_ms);
            runtime.probes_seen += 1;
            if let Some(ms) = signal.latency_ms {
                runtime.record_latency(ms);
            }
            self.inner.live.send(LiveEvent::Probe {
                target: signal.target.clone(),
                healthy: signal.healthy,
                latency_ms: signal.latency_ms,
            });
        }
        if !signal.healthy {
            runtime.last_failure = Some(signal.clone());
        }
        // Every replica watches; only the target's owner opens incidents and acts.
        let owned = self.inner.leases.holds(&signal.target);
        let mut signal = signal;
        let transition = if exited {
            // A dead process needs no confirming probe.
            runtime.last_exit = Some(signal.clone());
            runtime.health.observe_decisive_failure(now_ms)
        } else if let Some(path) = logged {
            // `threshold` matching lines within `window` are an outage,
            // whatever the probes say; fewer change nothing.
            if !runtime.log_threshold_reached(&path, now_ms) {
                return;
            }
            runtime.health.observe_decisive_failure(now_ms)
        } else if let Some(rate) = error_rate_breach(runtime, &signal) {
            // Failures that come and go never reach the threshold in a row,
            // but a fifth of all probes failing is an outage all the same.
            signal.message = format!(
                "{} (error rate {:.0}% over the last minute)",
                signal.message,
                rate * 100.0
            );
            runtime.health.observe_decisive_failure(now_ms)
        } else if alert {
            // An alert is the verdict of a monitoring system that has already
            // confirmed it: no threshold of our own applies. A resolved alert
            // ends the outage only when no other alert fires on the target and
            // the target has no probes of its own to verify the fix.
            if !signal.healthy {
                runtime.health.observe_decisive_failure(now_ms)
            } else if runtime.firing_alerts.is_empty() && runtime.config.probes.is_empty() {
                runtime.health.observe_decisive_success(now_ms)
            } else {
                None
            }
        } else if reported {
            // Application events count through the error rate only: a busy
            // application's successes must not outvote the probes.
            None
        } else {
            runtime.health.observe(signal.healthy, now_ms)
        };
        // A maintenance window holds incidents and remedies back; probes go on.
        let held = self.inner.maintenance.covering(
            &signal.target,
            &runtime.config.labels,
            chrono::Utc::now(),
        );
        let Some(transition) = transition else {
            // A new alert on a target that is down already is news all the
            // same (another failure, or one whose incident was escalated and
            // ended): it opens or joins an incident once no task is at work.
            if owned
                && held.is_none()
                && alert
                && !signal.healthy
                && runtime.health.state() == TargetState::Unhealthy
                && runtime.takes_new_alert(&signal)
            {
                runtime.busy = true;
                tokio::spawn(crate::incident::handle(self.inner.clone(), signal));
            }
            return;
        };
        if transition.to == TargetState::Healthy {
            runtime.mark_healthy();
            if transition.from != TargetState::Suspect {
                runtime.forget_outage_errors();
            }
            // Its first verdict since start or takeover: a shared store was
            // read once for all targets, and this one may have nothing open.
            let nothing_open = transition.from == TargetState::Unknown
                && !self.inner.leases.may_have_incidents(&signal.target);
            if owned && !runtime.busy && !nothing_open {
                // Incidents left open by an earlier run (or by a flapping spell)
                // end when the target is healthy again.
                let inner = self.inner.clone();
                tokio::spawn(crate::incident::close_recovered(
                    inner,
                    signal.target.clone(),
                ));
            }
        }
        if runtime.health.take_recurrence_onset() && owned && held.is_none() {
            // Healing goes on; a human hears of the recurrence once.
            tokio::spawn(crate::incident::recurring(
                self.inner.clone(),
                signal.clone(),
            ));
        }
        tracing::info!(target = %signal.target, from = ?transition.from, to = ?transition.to, message = %signal.message, "target state changed");
        self.inner
            .metrics
            .target_state(&signal.target, transition.to);
        self.inner.live.send(LiveEvent::Target {
            name: signal.target.clone(),
            from: transition.from,
            to: transition.to,
            message: signal.message.clone(),
        });
        runtime.state.send_replace(transition.to);
        let pace = runtime.pace();
        for probe in &runtime.probes {
            self.inner.scheduler.set_pace(*probe, pace);
        }
        let starts_incident = matches!(
            transition.to,
            TargetState::Unhealthy | TargetState::Flapping
        );
        if owned && starts_incident && runtime.busy && alert {
            // Its task is still at work on the last outage: it takes this one up next.
            runtime.takes_new_alert(&signal);
        }
        // The first verdict since this replica took the target over.
        let decided = transition.to != TargetState::Suspect;
        let taken_over = decided && std::mem::take(&mut runtime.newly_owned);
        if let Some((window, until)) = held.as_ref().filter(|_| owned && starts_incident) {
            tracing::info!(target = %signal.target, %window, %until, "down during a maintenance window: no incident until it ends");
        } else if owned && starts_incident && !runtime.busy {
            if alert {
                runtime.alerts_handled.insert(signal.message.clone());
            }
            runtime.busy = true;
            let inner = self.inner.clone();
            let flapping = transition.to == TargetState::Flapping;
            if taken_over {
                tokio::spawn(crate::leases::take_over_outage(inner, signal, flapping));
            } else if flapping {
                tokio::spawn(crate::incident::flapping(inner, signal));
            } else {
                tokio::spawn(crate::incident::handle(inner, signal));
            }
        }
    }

    /// Reads new log lines: they feed diagnosis through `recent`, and lines
    /// matching a target's `patterns` count as failures of that target, so
    /// repeated error lines open an incident even while probes still pass.
    fn poll_logs(&self) {
        let mut signals = Vec::new();
        {
            let mut targets = self.inner.targets();
            for (name, runtime) in targets.iter_mut() {
                for tail in &mut runtime.logs {
                    match tail.poll() {
                        Ok(matches) => {
                            let path = tail.path().display().to_string();
                            signals.extend(matches.iter().map(|m| m.to_signal(name, &path)));
                        }
                        // Read errors wait for the next poll.
                        Err(e) => {
                            tracing::debug!(path = %tail.path().display(), error = %e, "log poll failed")
                        }
                    }
                }
            }
        }
        for signal in signals {
            self.observe(signal);
        }
    }
}

/// Pauses or resumes probing as the store says: a monitoring pause is kept
/// there, for every agent on the store.
pub(crate) async fn follow_monitoring_pause(inner: &Inner) -> Result<(), medic_store::StoreError> {
    let pause = inner.store.monitoring_pause().await?;
    match pause {
        Some((by, at)) if !inner.scheduler.is_paused() => {
            inner.scheduler.pause();
            tracing::warn!(%by, %at, "monitoring is paused (kept in the store)");
        }
        None if inner.scheduler.is_paused() => {
            inner.scheduler.resume();
            tracing::info!("monitoring resumed (by another replica)");
        }
        _ => {}
    }
    Ok(())
}

/// Records a probe result in the target's error window; returns the error
/// rate when a failure takes it into the unhealthy tier (≥ 20 %, from
/// medic-resilience's health tiers) while the target still counts as healthy.
fn error_rate_breach(runtime: &mut TargetRuntime, signal: &Signal) -> Option<f64> {
    if !matches!(
        signal.source,
        medic_model::SignalSource::Probe { .. } | medic_model::SignalSource::Event { .. }
    ) {
        return None;
    }
    let latency = latency_of(signal.latency_ms);
    if signal.healthy {
        runtime.errors.record_success(latency);
        return None;
    }
    runtime.errors.record_failure(latency, &signal.message);
    if !matches!(
        runtime.health.state(),
        TargetState::Healthy | TargetState::Suspect
    ) {
        return None;
    }
    let snapshot = runtime.errors.snapshot();
    let breached = snapshot.calls >= crate::targets::ERROR_RATE_MIN_CALLS
        && snapshot.status >= medic_resilience::health::HealthStatus::Unhealthy;
    breached.then_some(snapshot.error_rate)
}

/// A reported latency as a duration; nonsense (negative, NaN, centuries) is zero.
pub(crate) fn latency_of(latency_ms: Option<f64>) -> Duration {
    Duration::try_from_secs_f64(latency_ms.unwrap_or(0.0) / 1_000.0).unwrap_or_default()
}

/// Closes actions a previous run left without an outcome.
async fn settle_actions_in_doubt(store: &dyn Store) -> Result<(), AgentError> {
    for action in store.actions_in_doubt().await? {
        let note = "the agent stopped while this action was in flight; it will not be run again";
        store
            .finish_action(
                action.id,
                ActionState::Unknown,
                None,
                Some(note),
                chrono::Utc::now(),
            )
            .await?;
        tracing::warn!(incident = action.incident_id, remedy = %action.remedy, "{note}");
    }
    // Nobody waits for these any more; their actions were settled above.
    for approval in store.approvals(true, u32::MAX).await? {
        store
            .decide_approval(
                approval.id,
                ApprovalStatus::Expired,
                None,
                chrono::Utc::now(),
            )
            .await?;
        tracing::warn!(
            approval = approval.id,
            "expired: the agent restarted while it was pending"
        );
    }
    Ok(())
}

/// How far back a component's error rate looks, and how many results it keeps.
const ERROR_WINDOW: Duration = Duration::from_secs(60);
const ERROR_SAMPLES: usize = 200;

/// A signal's text without control characters and with secrets hidden:
/// its message, evidence and labels.
fn clean_signal(signal: &mut Signal) {
    use medic_engine::redact::{redact_in_place, redact_lines};
    use medic_engine::text::remove_controls;
    remove_controls(&mut signal.message);
    redact_in_place(&mut signal.message);
    signal.evidence.iter_mut().for_each(remove_controls);
    if !signal.evidence.is_empty() {
        signal.evidence = redact_lines(std::mem::take(&mut signal.evidence));
    }
    for value in signal.labels.values_mut() {
        remove_controls(value);
        redact_in_place(value);
    }
}

/// Built probes: index among the target's probes, interval, check.
pub(crate) type Checks = Vec<(usize, Duration, Arc<medic_probe::ProbeCheck>)>;

/// A target's probes, built, with `{{target.endpoint}}` aimed at `endpoint`.
pub(crate) fn build_checks(
    inner: &Inner,
    target: &medic_engine::config::Target,
    endpoint: Option<&str>,
) -> Result<Checks, String> {
    let mut checks = Vec::new();
    for (index, probe) in target.probes.iter().enumerate() {
        let aimed = match endpoint {
            Some(endpoint) if probe.uses_endpoint() => probe.at_endpoint(endpoint),
            _ => probe.clone(),
        };
        let check = inner
            .prober
            .build(&aimed, default_probe_name(&aimed))
            .map_err(|e| format!("probes[{index}]: {e}"))?;
        checks.push((index, aimed.interval().get(), Arc::new(check)));
    }
    Ok(checks)
}

/// Hands built probes to the scheduler, at the target's current pace.
pub(crate) fn schedule(inner: &Inner, runtime: &mut TargetRuntime, checks: Checks) {
    let pace = runtime.pace();
    for (probe_index, interval, check) in checks {
        let id = inner.scheduler.add(ScheduledProbe {
            target: runtime.config.name.clone(),
            probe_index,
            interval,
            check,
        });
        inner.scheduler.set_pace(id, pace);
        runtime.probes.push(id);
    }
}
