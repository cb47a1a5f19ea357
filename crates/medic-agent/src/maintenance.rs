//! Maintenance windows: the config's `[[maintenance]]` and those opened
//! through the API (kept in the store, so every replica and a restarted
//! agent honour them). While a window covers a target its probes go on and
//! its state is shown, but no incident opens and an open incident's ladder
//! waits (`incident/driver.rs`). When the last window over a target ends
//! and the target is still down, its incident opens at once.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use medic_engine::config::{Config, ConfigError};
use medic_engine::health::TargetState;
use medic_engine::maintenance::{Span, Window};
use medic_store::{Store, StoreError, StoredWindow};

use crate::Agent;
use crate::agent::Inner;
use crate::control::ControlError;
use crate::live::LiveEvent;

/// How often windows are looked at: a window that ends is acted on within
/// this long, well inside a probe interval.
const TICK: Duration = Duration::from_millis(250);
/// How often the store is read for windows other replicas opened or ended.
const STORE_EVERY: u32 = 4;

/// The windows an agent knows.
pub(crate) struct Maintenance {
    configured: Vec<Window>,
    stored: Mutex<Vec<Window>>,
}

/// A window as the API and the dashboard show it: its occurrence in force,
/// or else its next one.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WindowView {
    /// The store's id (windows opened through the API); `None` for the
    /// config's, which are ended by editing the config.
    pub id: Option<i64>,
    /// Its name.
    pub name: String,
    /// `config` or `api`.
    pub source: &'static str,
    /// Who opened it through the API.
    pub opened_by: Option<String>,
    /// The targets it names.
    pub targets: Vec<String>,
    /// The labels it matches.
    pub labels: BTreeMap<String, String>,
    /// A recurring window's schedule, in words.
    pub schedule: Option<String>,
    /// Whether it is in force now.
    pub active: bool,
    /// When the occurrence shown starts.
    pub starts_at: DateTime<Utc>,
    /// When it ends.
    pub ends_at: DateTime<Utc>,
    /// The targets it covers now (or will, when upcoming).
    pub covers: Vec<String>,
}

/// `POST /api/v1/maintenance`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceRequest {
    /// Its name (default `maintenance by <key name>`).
    pub name: Option<String>,
    /// The targets it covers by name.
    #[serde(default)]
    pub targets: Vec<String>,
    /// The labels a covered target carries.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// When it starts (default now).
    pub starts_at: Option<DateTime<Utc>>,
    /// When it ends; or give `duration`.
    pub ends_at: Option<DateTime<Utc>>,
    /// How long it lasts from its start (`30m`, `2h`).
    pub duration: Option<medic_engine::config::HumanDuration>,
}

/// A window opened through the API lasts at most this long: a forgotten
/// one must not switch healing off for good.
const LONGEST: chrono::Duration = chrono::Duration::days(7);

impl Maintenance {
    /// The config's windows (already validated by `medic check`).
    pub(crate) fn new(config: &Config) -> Self {
        let configured = config
            .maintenance
            .iter()
            .filter_map(|window| Window::from_config(window).ok())
            .collect();
        Self {
            configured,
            stored: Mutex::new(Vec::new()),
        }
    }

    fn stored(&self) -> MutexGuard<'_, Vec<Window>> {
        self.stored.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads the API's windows that have not ended.
    pub(crate) async fn refresh(&self, store: &dyn Store) -> Result<(), StoreError> {
        let windows = store.maintenance_windows(Utc::now()).await?;
        *self.stored() = windows.iter().map(window_of).collect();
        Ok(())
    }

    /// Takes a window the API opened or ended at once (the store has it).
    fn keep(&self, window: &StoredWindow) {
        let mut stored = self.stored();
        stored.retain(|known| known.id != Some(window.id));
        stored.push(window_of(window));
    }

    /// Whether there is no window at all (the usual case: nothing to do).
    fn is_empty(&self) -> bool {
        self.configured.is_empty() && self.stored().is_empty()
    }

    /// The window in force over the target now (the one ending last), by
    /// name and end.
    pub(crate) fn covering(
        &self,
        target: &str,
        labels: &BTreeMap<String, String>,
        now: DateTime<Utc>,
    ) -> Option<(String, DateTime<Utc>)> {
        let stored = self.stored();
        if self.configured.is_empty() && stored.is_empty() {
            return None;
        }
        self.configured
            .iter()
            .chain(stored.iter())
            .filter(|window| window.covers(target, labels))
            .filter_map(|window| Some((window.name.clone(), window.active_at(now)?.end)))
            .max_by_key(|(_, end)| *end)
    }

    /// Every window in force or still to come, with the targets it covers.
    fn views(&self, targets: &BTreeMap<String, BTreeMap<String, String>>) -> Vec<WindowView> {
        let now = Utc::now();
        let stored = self.stored();
        let mut views: Vec<WindowView> = self
            .configured
            .iter()
            .chain(stored.iter())
            .filter_map(|window| {
                let (active, span) = match window.active_at(now) {
                    Some(span) => (true, span),
                    None => (false, window.next_after(now)?),
                };
                Some(view(window, active, span, targets))
            })
            .collect();
        views.sort_by_key(|view| (!view.active, view.starts_at));
        views
    }
}

fn window_of(stored: &StoredWindow) -> Window {
    Window::once(
        stored.id,
        &stored.name,
        &stored.opened_by,
        &stored.targets,
        &stored.labels,
        Span {
            start: stored.starts_at,
            end: stored.ends_at,
        },
    )
}

fn view(
    window: &Window,
    active: bool,
    span: Span,
    targets: &BTreeMap<String, BTreeMap<String, String>>,
) -> WindowView {
    let (named, labels) = window.scope();
    WindowView {
        id: window.id,
        name: window.name.clone(),
        source: if window.id.is_some() { "api" } else { "config" },
        opened_by: window.opened_by.clone(),
        targets: named.iter().cloned().collect(),
        labels: labels.clone(),
        schedule: window.schedule(),
        active,
        starts_at: span.start,
        ends_at: span.end,
        covers: targets
            .iter()
            .filter(|(name, labels)| window.covers(name, labels))
            .map(|(name, _)| name.clone())
            .collect(),
    }
}

impl Agent {
    /// Maintenance windows in force, then those to come.
    pub fn maintenance_windows(&self) -> Vec<WindowView> {
        let targets = target_labels(&self.inner);
        self.inner.maintenance.views(&targets)
    }

    /// Opens a maintenance window (kept in the store, for every replica).
    pub async fn open_maintenance(
        &self,
        request: MaintenanceRequest,
        by: &str,
    ) -> Result<WindowView, ControlError> {
        let now = Utc::now();
        let known = target_labels(&self.inner);
        let mut problems = Vec::new();
        let mut problem = |path: &str, message: String| {
            problems.push(ConfigError {
                path: path.to_string(),
                message,
            })
        };
        if request.targets.is_empty() && request.labels.is_empty() {
            problem(
                "targets",
                "name the targets it covers (`targets` or `labels`)".into(),
            );
        }
        for (i, name) in request.targets.iter().enumerate() {
            if !known.contains_key(name) {
                problem(
                    &format!("targets[{i}]"),
                    format!("no target is named {name:?}"),
                );
            }
        }
        let starts_at = request.starts_at.unwrap_or(now);
        let ends_at = match (request.ends_at, request.duration) {
            (Some(end), None) => Some(end),
            (None, Some(duration)) => chrono::Duration::from_std(duration.get())
                .ok()
                .map(|d| starts_at + d),
            _ => {
                problem("ends_at", "give either `ends_at` or `duration`".into());
                None
            }
        };
        if let Some(end) = ends_at {
            if end <= starts_at.max(now) {
                problem("ends_at", format!("{end} is not after its start and now"));
            } else if end - starts_at > LONGEST {
                problem("ends_at", "a window lasts at most 7 days".into());
            }
        }
        let name = request
            .name
            .map(|name| name.trim().to_string())
            .unwrap_or_else(|| format!("maintenance by {by}"));
        if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
            problem("name", "1 to 200 characters, no control characters".into());
        }
        let ends_at = match ends_at {
            Some(ends_at) if problems.is_empty() => ends_at,
            _ => return Err(ControlError::Invalid(problems)),
        };
        let stored = self
            .inner
            .store
            .open_maintenance(&StoredWindow {
                id: 0,
                name,
                targets: request.targets,
                labels: request.labels,
                starts_at,
                ends_at,
                opened_by: by.to_string(),
                opened_at: now,
            })
            .await?;
        self.inner.maintenance.keep(&stored);
        tracing::warn!(window = %stored.name, id = stored.id, by = %by, until = %stored.ends_at, "maintenance window opened through the API");
        let window = window_of(&stored);
        let span = window.active_at(Utc::now()).unwrap_or(Span {
            start: starts_at,
            end: ends_at,
        });
        Ok(view(
            &window,
            window.active_at(Utc::now()).is_some(),
            span,
            &known,
        ))
    }

    /// Ends a window opened through the API now; `None` if there is none
    /// by that id.
    pub async fn end_maintenance(
        &self,
        id: i64,
        by: &str,
    ) -> Result<Option<WindowView>, ControlError> {
        let Some(stored) = self.inner.store.end_maintenance(id, Utc::now()).await? else {
            return Ok(None);
        };
        self.inner.maintenance.keep(&stored);
        tracing::warn!(window = %stored.name, id, by = %by, "maintenance window ended through the API");
        let span = Span {
            start: stored.starts_at.min(stored.ends_at),
            end: stored.ends_at,
        };
        Ok(Some(view(
            &window_of(&stored),
            false,
            span,
            &target_labels(&self.inner),
        )))
    }
}

fn target_labels(inner: &Inner) -> BTreeMap<String, BTreeMap<String, String>> {
    inner
        .targets()
        .iter()
        .map(|(name, runtime)| (name.clone(), runtime.config.labels.clone()))
        .collect()
}

/// Follows the windows for as long as the agent runs: each start and end
/// is a live event and a log line, and a target whose last window ended
/// while it is down gets its incident at once.
pub(crate) async fn watch(inner: Arc<Inner>) {
    let mut covered: BTreeMap<String, String> = BTreeMap::new();
    let mut ticks = tokio::time::interval(TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for tick in 0u32.. {
        ticks.tick().await;
        if tick % STORE_EVERY == 0
            && let Err(error) = inner.maintenance.refresh(inner.store.as_ref()).await
        {
            // The windows known stay in force until the store answers.
            tracing::debug!(%error, "maintenance windows: store read failed");
        }
        if covered.is_empty() && inner.maintenance.is_empty() {
            // No window and none just ended: skip the walk over every target.
            continue;
        }
        let now = Utc::now();
        let now_covered: BTreeMap<String, String> = target_labels(&inner)
            .into_iter()
            .filter_map(|(target, labels)| {
                let (window, _) = inner.maintenance.covering(&target, &labels, now)?;
                Some((target, window))
            })
            .collect();
        announce(&inner, &now_covered, &covered, "started");
        announce(&inner, &covered, &now_covered, "ended");
        for target in covered.keys().filter(|t| !now_covered.contains_key(*t)) {
            open_if_still_down(&inner, target);
        }
        covered = now_covered;
    }
}

/// One live event per window whose targets are in `now` but not `before`.
fn announce(
    inner: &Inner,
    now: &BTreeMap<String, String>,
    before: &BTreeMap<String, String>,
    state: &'static str,
) {
    let mut by_window: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (target, window) in now {
        if !before.contains_key(target) {
            by_window.entry(window).or_default().insert(target.clone());
        }
    }
    for (window, targets) in by_window {
        tracing::info!(window, ?targets, state, "maintenance window");
        inner.live.send(LiveEvent::Maintenance {
            window: window.to_string(),
            state: state.to_string(),
            targets: targets.into_iter().collect(),
        });
    }
}

/// The window over `target` ended: if it is still down and nothing works
/// on it, its incident opens now, without waiting for a new failure.
fn open_if_still_down(inner: &Arc<Inner>, target: &str) {
    let mut targets = inner.targets();
    let Some(runtime) = targets.get_mut(target) else {
        return;
    };
    let down = matches!(
        runtime.health.state(),
        TargetState::Unhealthy | TargetState::Flapping
    );
    if !down || runtime.busy || !inner.leases.holds(target) {
        return;
    }
    let Some(signal) = runtime.last_failure.clone() else {
        return;
    };
    runtime.busy = true;
    tracing::info!(
        target,
        "maintenance over and the target is still down: opening its incident"
    );
    tokio::spawn(crate::incident::handle(inner.clone(), signal));
}
