//! Failover between a target's `endpoints`: which one is active (kept in
//! the store, so a restart stays where a failover went), moving to the next
//! endpoint that probes healthy, and going back to the primary by itself
//! (`failback = "auto"`) once it has been healthy for `failback_after`.
//!
//! The active endpoint is what `{{target.endpoint}}` means in the target's
//! probes and actions. medic moves no traffic itself: a remedy after the
//! failover (an HTTP call to a proxy's API, say) tells whoever does.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use medic_act::ActionOutcome;
use medic_engine::config::{Failback, Target};

use crate::agent::Inner;
use crate::live::LiveEvent;

/// How often the failback watcher looks at targets away from their primary.
const FAILBACK_TICK: Duration = Duration::from_secs(1);

/// The `failover` action: the next endpoint after the active one (in list
/// order, wrapping) that passes the target's probes becomes active. Fails,
/// naming each candidate's problem, when none does.
pub(crate) async fn fail_over(inner: &Inner, target: &str) -> ActionOutcome {
    let Some((config, active)) = current(inner, target) else {
        return ActionOutcome::failed(format!("target {target} is no longer watched"));
    };
    let count = config.endpoints.len();
    if count < 2 {
        return ActionOutcome::failed(format!(
            "target {target} has {count} endpoint(s); failover needs at least two"
        ));
    }
    let start = config
        .endpoints
        .iter()
        .position(|e| *e == active)
        .unwrap_or(0);
    let mut refused = Vec::new();
    for offset in 1..count {
        let candidate = &config.endpoints[(start + offset) % count];
        match probe_endpoint(inner, &config, candidate).await {
            Ok(()) => {
                return match switch(inner, target, candidate, "failover").await {
                    Ok(from) => ActionOutcome::succeeded().with_output(format!(
                        "active endpoint: {candidate} (was {from}); it passed the target's probes"
                    )),
                    Err(why) => ActionOutcome::failed(why),
                };
            }
            Err(why) => refused.push(format!("{candidate}: {why}")),
        }
    }
    ActionOutcome::failed(format!(
        "no other endpoint is healthy ({})",
        refused.join("; ")
    ))
}

/// The target's config and active endpoint, if it is watched.
fn current(inner: &Inner, target: &str) -> Option<(Target, String)> {
    let targets = inner.targets();
    let runtime = targets.get(target)?;
    Some((
        runtime.config.clone(),
        runtime.endpoint.clone().unwrap_or_default(),
    ))
}

/// Runs the target's endpoint probes once against `endpoint`; the first
/// failure is the error. A target whose probes do not use the endpoint
/// cannot be checked there, and says so.
async fn probe_endpoint(inner: &Inner, config: &Target, endpoint: &str) -> Result<(), String> {
    let probes: Vec<_> = config.probes.iter().filter(|p| p.uses_endpoint()).collect();
    if probes.is_empty() {
        return Err(
            "no probe of the target uses {{target.endpoint}}, so it cannot be checked".into(),
        );
    }
    for probe in probes {
        let aimed = probe.at_endpoint(endpoint);
        let check = inner
            .prober
            .build(&aimed, medic_probe::default_probe_name(&aimed))
            .map_err(|e| e.to_string())?;
        let signal = check.check(&config.name).await;
        if !signal.healthy {
            return Err(signal.message);
        }
    }
    Ok(())
}

/// Makes `to` the target's active endpoint: kept in the store first, then
/// its probes are rebuilt against it. The endpoint it left is returned.
async fn switch(inner: &Inner, target: &str, to: &str, why: &str) -> Result<String, String> {
    let Some((config, _)) = current(inner, target) else {
        return Err(format!("target {target} is no longer watched"));
    };
    let checks = crate::agent::build_checks(inner, &config, Some(to))?;
    inner
        .store
        .set_active_endpoint(target, to, Utc::now())
        .await
        .map_err(|e| format!("the new endpoint could not be kept: {e}"))?;
    aim(inner, target, to, checks, why)
}

/// A replica that takes `target` over aims its probes where the store says
/// the previous owner's failover went.
pub(crate) async fn follow_store(inner: &Inner, target: &str) {
    let Some((config, active)) = current(inner, target) else {
        return;
    };
    if config.endpoints.len() < 2 {
        return;
    }
    let kept = match inner.store.active_endpoints().await {
        Ok(kept) => kept,
        Err(error) => {
            tracing::warn!(%target, %error, "could not read the active endpoint");
            return;
        }
    };
    let Some((_, endpoint)) = kept
        .into_iter()
        .find(|(name, endpoint)| name == target && config.endpoints.contains(endpoint))
    else {
        return;
    };
    if endpoint == active {
        return;
    }
    let aimed = crate::agent::build_checks(inner, &config, Some(&endpoint))
        .and_then(|checks| aim(inner, target, &endpoint, checks, "taken over"));
    if let Err(why) = aimed {
        tracing::warn!(%target, "could not follow the active endpoint: {why}");
    }
}

/// Re-aims the target's probes (`checks`, built for `to`) and says so.
fn aim(
    inner: &Inner,
    target: &str,
    to: &str,
    checks: crate::agent::Checks,
    why: &str,
) -> Result<String, String> {
    let from = {
        let mut targets = inner.targets();
        let Some(runtime) = targets.get_mut(target) else {
            return Err(format!("target {target} is no longer watched"));
        };
        for probe in runtime.probes.drain(..) {
            inner.scheduler.remove(probe);
        }
        crate::agent::schedule(inner, runtime, checks);
        runtime.endpoint.replace(to.to_string()).unwrap_or_default()
    };
    tracing::info!(%target, %from, %to, "{why}: active endpoint changed");
    inner.live.send(LiveEvent::Endpoint {
        target: target.to_string(),
        from: from.clone(),
        to: to.to_string(),
        reason: why.to_string(),
    });
    Ok(from)
}

/// Watches targets with `failback = "auto"` that are away from their
/// primary: once the primary has passed the probes continuously for
/// `failback_after`, it is active again.
pub(crate) async fn watch_failbacks(inner: Arc<Inner>) {
    // Since when each target's primary has been passing (absent: it is not),
    // and when it was last probed (at the target's probe interval).
    let mut passing: HashMap<String, Instant> = HashMap::new();
    let mut probed: HashMap<String, Instant> = HashMap::new();
    let mut ticks = tokio::time::interval(FAILBACK_TICK);
    loop {
        ticks.tick().await;
        let away: Vec<(Target, String)> = inner
            .targets()
            .values()
            .filter(|r| r.config.failback == Failback::Auto && !r.busy)
            .filter(|r| inner.leases.holds(&r.config.name))
            .filter_map(|r| {
                let primary = r.config.endpoints.first()?;
                (r.endpoint.as_ref() != Some(primary)).then(|| (r.config.clone(), primary.clone()))
            })
            .collect();
        passing.retain(|name, _| away.iter().any(|(t, _)| t.name == *name));
        probed.retain(|name, _| away.iter().any(|(t, _)| t.name == *name));
        for (config, primary) in away {
            let interval = config.probes.iter().map(|p| p.interval().get()).min();
            let due = probed
                .get(&config.name)
                .is_none_or(|at| at.elapsed() >= interval.unwrap_or(FAILBACK_TICK));
            if !due {
                continue;
            }
            probed.insert(config.name.clone(), Instant::now());
            if probe_endpoint(&inner, &config, &primary).await.is_err() {
                passing.remove(&config.name);
                continue;
            }
            let since = *passing
                .entry(config.name.clone())
                .or_insert_with(Instant::now);
            if since.elapsed() < config.failback_after.get() {
                continue;
            }
            passing.remove(&config.name);
            if let Err(why) = switch(&inner, &config.name, &primary, "failback").await {
                tracing::warn!(target = %config.name, "failback to {primary} failed: {why}");
            }
        }
    }
}
