//! A victim waits for its dependencies (`depends_on`). While a dependency
//! is down, the dependent's incident runs no remedy: restarting an app
//! because its database is away heals nothing and may harm. Its incident is
//! linked to the dependency's (`caused_by`) and resolves when the dependent
//! recovers. Before the first remedy, dependencies still undecided are
//! probed at the fast pace until they say how they are. A dependent still
//! failing `health.verify_window` after its dependencies recovered gets its
//! own ladder. Also the storm brake (`policy.min_healthy`).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use medic_engine::health::TargetState;
use medic_model::TimelineKind;
use medic_store::StoreError;
use serde_json::json;

use super::{Driver, millis};
use crate::incident::{FastProbes, note};

/// How often a victim looks at its dependencies again.
const RECHECK: Duration = Duration::from_millis(500);
/// How long undecided dependencies are probed fast before the first remedy.
const DECIDE_WITHIN: Duration = Duration::from_secs(3);
/// How often a braked remedy is reconsidered.
const BRAKE_RECHECK_MS: u64 = 2_000;

/// What a dependent's incident knows of its dependencies.
#[derive(Default)]
pub(super) struct DependencyWait<'a> {
    /// Dependencies seen down during this incident (noted once each).
    waited_for: BTreeSet<String>,
    /// When the last one came back, while the dependent still fails.
    recovered_at: Option<Instant>,
    /// Until when undecided dependencies are probed fast.
    deciding_until: Option<Instant>,
    probing: Vec<FastProbes<'a>>,
    /// The dependencies are settled: the ladder may run.
    settled: bool,
}

fn is_down(state: TargetState) -> bool {
    matches!(
        state,
        TargetState::Unhealthy | TargetState::Flapping | TargetState::Recovering
    )
}

impl<'a> Driver<'a> {
    /// How long to wait before planning again while a dependency holds the
    /// ladder back; `None` when remedies may run.
    pub(super) async fn held_by_dependency(&mut self) -> Result<Option<u64>, StoreError> {
        let needs = self.target.config.depends_on.clone();
        if needs.is_empty() || self.dependencies.settled {
            return Ok(None);
        }
        let states: Vec<(String, TargetState)> = {
            let targets = self.inner.targets();
            needs
                .iter()
                .map(|name| {
                    let state = targets
                        .get(name)
                        .map_or(TargetState::Unknown, |r| r.health.state());
                    (name.clone(), state)
                })
                .collect()
        };
        let down: Vec<String> = states
            .iter()
            .filter(|(_, state)| is_down(*state))
            .map(|(name, _)| name.clone())
            .collect();
        if !down.is_empty() {
            self.dependencies.recovered_at = None;
            for dependency in &down {
                self.wait_for(dependency).await?;
            }
            return Ok(Some(millis(RECHECK)));
        }
        let undecided: Vec<&String> = states
            .iter()
            .filter(|(_, state)| matches!(state, TargetState::Suspect | TargetState::Unknown))
            .map(|(name, _)| name)
            .collect();
        if !undecided.is_empty() {
            // A dependent's probe may fail before its dependency's: ask the
            // dependencies now, at the fast pace, before any remedy.
            let inner = self.inner;
            let until = *self
                .dependencies
                .deciding_until
                .get_or_insert_with(|| Instant::now() + DECIDE_WITHIN);
            if self.dependencies.probing.is_empty() {
                self.dependencies.probing = undecided
                    .iter()
                    .map(|name| FastProbes::start(inner, name))
                    .collect();
            }
            if Instant::now() < until {
                return Ok(Some(100));
            }
        }
        self.dependencies.probing.clear();
        if self.dependencies.waited_for.is_empty() {
            self.dependencies.settled = true;
            return Ok(None);
        }
        // They are back; the dependent usually follows by itself.
        let verify = self.target.config.health.verify_window.get();
        let since = *self
            .dependencies
            .recovered_at
            .get_or_insert_with(Instant::now);
        let waited = since.elapsed();
        if waited < verify {
            return Ok(Some(millis((verify - waited).min(RECHECK))));
        }
        self.dependencies.settled = true;
        let text = format!(
            "{} still fails {} after {} recovered: its own remedies now",
            self.target.config.name,
            medic_engine::config::HumanDuration::new(verify),
            self.dependencies
                .waited_for
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
        note(
            self.inner,
            &self.incident,
            TimelineKind::Note,
            &text,
            json!({}),
        )
        .await?;
        Ok(None)
    }

    /// Notes once that `dependency` is down, and links this incident to
    /// the dependency's open incident once there is one.
    async fn wait_for(&mut self, dependency: &str) -> Result<(), StoreError> {
        let inner = self.inner;
        let name = self.target.config.name.clone();
        if self.dependencies.waited_for.insert(dependency.to_string()) {
            inner.metrics.action_skipped("dependency_down");
            let text = format!(
                "{dependency} is down and {name} depends on it: no remedy for {name} while it \
                 lasts; this incident resolves when {name} recovers"
            );
            let data = json!({"depends_on": dependency});
            note(inner, &self.incident, TimelineKind::Note, &text, data).await?;
        }
        if self.incident.caused_by.is_some() {
            return Ok(());
        }
        let open = inner.store.open_incidents().await?;
        let Some(parent) = open.iter().find(|i| i.target == dependency) else {
            return Ok(());
        };
        inner
            .store
            .set_caused_by(self.incident.id, parent.id)
            .await?;
        self.incident.caused_by = Some(parent.id);
        let text = format!("caused by {dependency}'s incident #{}", parent.id);
        let data = json!({"caused_by": parent.id});
        note(inner, &self.incident, TimelineKind::Note, &text, data).await?;
        let text = format!(
            "{name}'s incident #{} waits for this one (depends_on)",
            self.incident.id
        );
        let data = json!({"dependent": self.incident.id});
        note(inner, parent, TimelineKind::Note, &text, data).await
    }

    /// The storm brake: why a disruptive remedy must wait, if too few of
    /// this target's group are healthy (`policy.min_healthy`).
    pub(super) fn storm_brake(&self) -> Option<String> {
        let policy = &self.inner.config.policy;
        let floor = policy.min_healthy_fraction()?;
        let group_key = policy.min_healthy_by.as_deref();
        let mine = group_key.and_then(|key| self.target.config.labels.get(key));
        let targets = self.inner.targets();
        let group: Vec<TargetState> = targets
            .values()
            .filter(|runtime| match group_key {
                None => true,
                Some(key) => runtime.config.labels.get(key) == mine,
            })
            .map(|runtime| runtime.health.state())
            .collect();
        let healthy = group.iter().filter(|s| **s == TargetState::Healthy).count();
        #[allow(clippy::cast_precision_loss)] // target counts are small
        let share = healthy as f64 / group.len().max(1) as f64;
        (share < floor).then(|| {
            let which = match (group_key, mine) {
                (Some(key), Some(value)) => format!("{key}={value}"),
                (Some(key), None) => format!("targets without {key}"),
                (None, _) => "all targets".to_string(),
            };
            format!(
                "only {healthy} of {} ({which}) are healthy, under min_healthy {}: a disruptive \
                 remedy waits (the storm brake)",
                group.len(),
                policy.min_healthy.as_deref().unwrap_or_default()
            )
        })
    }

    /// Milliseconds before a braked remedy is looked at again.
    pub(super) fn brake_recheck_ms() -> u64 {
        BRAKE_RECHECK_MS
    }
}
