//! Alerts from outside (Alertmanager): a firing alert is a decisive failure
//! of the target its labels name; when the last of a target's alerts resolves,
//! a target without probes of its own is healthy again (one with probes is
//! verified by them). Deliveries are stored (and re-deliveries dropped) by the
//! intake before anything here runs.

use std::collections::BTreeMap;

use medic_engine::config::{Health, Target};
use medic_model::{Signal, SignalSource};
use medic_store::NewDelivery;

use crate::agent::{Agent, AgentError};
use crate::intake::IntakeError;
use crate::targets::Origin;

/// Where alerts whose labels name no target go: diagnosed, then left to a
/// human (or to the remedies of a configured target with this name).
pub const ALERTS_TARGET: &str = "alerts";

/// Alerts kept as firing per target, at most.
const FIRING_REMEMBERED: usize = 10_000;

/// One alert, as the intake read it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AlertNotice {
    /// Who sent it (`alertmanager`).
    pub sender: String,
    /// The sender's stable identity of the alert.
    pub fingerprint: String,
    /// Firing (true) or resolved.
    pub firing: bool,
    /// Its labels (`alertname`, `service`, `severity`, …).
    pub labels: BTreeMap<String, String>,
    /// The `summary` or `description` annotation, if any.
    pub summary: Option<String>,
    /// All its annotations.
    pub annotations: BTreeMap<String, String>,
    /// Log lines the sender attached: diagnosis reads them like the
    /// target's own logs.
    pub evidence: Vec<String>,
    /// Whether a resolution may follow (Alertmanager's alerts, generic
    /// reports with an id). One that cannot be resolved (a failed pipeline
    /// step) is not kept as firing: its incident ends the outage.
    pub resolvable: bool,
}

impl AlertNotice {
    /// The alert's name, from its `alertname` label.
    pub fn name(&self) -> &str {
        self.labels
            .get("alertname")
            .map_or("unnamed alert", String::as_str)
    }

    /// The signal's message: how incidents opened by it are titled. A
    /// named alert says its name; a report (generic, pipeline) its summary.
    pub fn message(&self) -> String {
        let state = if self.firing { "firing" } else { "resolved" };
        match (self.labels.get("alertname"), &self.summary) {
            (Some(name), Some(summary)) => format!("alert {name} {state}: {summary}"),
            (Some(name), None) => format!("alert {name} {state}"),
            (None, Some(summary)) if self.firing => summary.clone(),
            (None, summary) => format!("{state}: {}", summary.as_deref().unwrap_or(self.name())),
        }
    }
}

impl Agent {
    /// Stores deliveries durably, batched with other requests' (group
    /// commit); for each, whether it is new rather than a re-delivery.
    pub async fn record_deliveries(
        &self,
        deliveries: Vec<NewDelivery>,
    ) -> Result<Vec<bool>, IntakeError> {
        self.inner.intake.record(deliveries).await
    }

    /// Whether a target of this name is watched.
    pub fn has_target(&self, name: &str) -> bool {
        self.inner.targets().contains_key(name)
    }

    /// The target an alert is about: the first of `labels` (in order) whose
    /// value names a watched target, else [`ALERTS_TARGET`].
    pub fn alert_target(&self, alert: &BTreeMap<String, String>, labels: &[String]) -> String {
        let targets = self.inner.targets();
        labels
            .iter()
            .filter_map(|label| alert.get(label))
            .find(|value| value.as_str() != ALERTS_TARGET && targets.contains_key(*value))
            .cloned()
            .unwrap_or_else(|| ALERTS_TARGET.to_string())
    }

    /// Acts on a new alert (not a re-delivery) for `target`: firing opens or
    /// joins the target's incident; resolved may end it.
    pub async fn alert(&self, target: &str, notice: &AlertNotice) -> Result<(), AgentError> {
        if target == ALERTS_TARGET {
            self.attach_alerts_target().await?;
        }
        // A target another replica owns: the alert is that replica's, with
        // its firing set (a resolution must reach where the firing went).
        let known = self.inner.targets().contains_key(target);
        if known && self.inner.leases.hand_off(target, notice) {
            return Ok(());
        }
        {
            let mut targets = self.inner.targets();
            let Some(runtime) = targets.get_mut(target) else {
                return Ok(());
            };
            if notice.firing && notice.resolvable {
                // Bounded: a storm of distinct alerts must not grow memory;
                // past this, the last resolution of the ones kept ends the outage.
                if runtime.firing_alerts.len() < FIRING_REMEMBERED {
                    runtime.firing_alerts.insert(notice.fingerprint.clone());
                }
            } else {
                runtime.firing_alerts.remove(&notice.fingerprint);
            }
        }
        let source = SignalSource::Alert {
            sender: notice.sender.clone(),
        };
        let message = notice.message();
        let signal = if notice.firing {
            // Annotations first: a label of the same name wins.
            let mut labels = notice.annotations.clone();
            labels.extend(notice.labels.clone());
            Signal::unhealthy(target, source, &message)
                .with_evidence(notice.evidence.clone())
                .with_labels(labels)
        } else {
            Signal {
                message,
                ..Signal::healthy(target, source)
            }
        };
        self.observe(signal);
        Ok(())
    }
}

impl Agent {
    /// Watches the [`ALERTS_TARGET`] pseudo-target from its first use on.
    pub(crate) async fn attach_alerts_target(&self) -> Result<(), AgentError> {
        if !self.inner.targets().contains_key(ALERTS_TARGET)
            && let Err(error) = self.attach(alerts_target(), Origin::Config).await
            // Another alert attached it meanwhile: fine.
            && !self.inner.targets().contains_key(ALERTS_TARGET)
        {
            return Err(error);
        }
        Ok(())
    }
}

/// The implicit target for unmatched alerts: no probes and no remedies, so
/// its incidents are diagnosed and escalated to a human.
fn alerts_target() -> Target {
    Target {
        name: ALERTS_TARGET.to_string(),
        labels: BTreeMap::new(),
        probes: Vec::new(),
        logs: Vec::new(),
        health: Health::default(),
        supervise: None,
        endpoints: Vec::new(),
        failback: Default::default(),
        failback_after: medic_engine::config::HumanDuration::new(std::time::Duration::from_secs(
            30,
        )),
        node: None,
        depends_on: Vec::new(),
        remedies: Vec::new(),
    }
}
