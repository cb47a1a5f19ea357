//! `POST /webhooks/alertmanager`: Alertmanager's webhook payload, version 4.
//!
//! Alertmanager delivers at least once and re-sends a group every repeat
//! interval, so each alert is stored under (fingerprint, startsAt, status):
//! a repeat of the same firing is recognised and dropped, while its
//! resolution (same fingerprint and startsAt, other status) is new. A 4xx
//! stops Alertmanager's retries, so only a payload that can never be read
//! gets one; a store that cannot take the batch now answers 503 (retried).

use std::collections::BTreeMap;

use axum::Json as Reply;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use medic_agent::AlertNotice;
use medic_store::NewDelivery;
use serde_json::json;
use serde_json::value::RawValue;

use crate::ApiState;
use crate::error::{ApiError, ApiResult};
use crate::extract::Body;

const SOURCE: &str = "alertmanager";

/// The notification Alertmanager posts. Fields medic does not use
/// (`groupLabels`, `commonLabels`, `externalURL`, …) are accepted and ignored,
/// so a newer Alertmanager with more fields is not refused.
#[derive(Debug, serde::Deserialize)]
struct Notification {
    version: String,
    #[serde(default)]
    receiver: String,
    #[serde(rename = "groupKey", default)]
    group_key: String,
    #[serde(rename = "truncatedAlerts", default)]
    truncated_alerts: u64,
    /// Kept as sent: each is stored as it came, then read into an [`Alert`].
    alerts: Vec<Box<RawValue>>,
}

/// The parts of an alert medic acts on; the rest (`endsAt`, which reads
/// `0001-01-01T00:00:00Z` while firing, `generatorURL`) is kept in the
/// stored delivery.
#[derive(Debug, serde::Deserialize)]
struct Alert {
    status: Status,
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(rename = "startsAt")]
    starts_at: String,
    /// Absent from hand-written payloads: derived from the labels then.
    #[serde(default)]
    fingerprint: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Firing,
    Resolved,
}

impl Alert {
    fn status_name(&self) -> &'static str {
        match self.status {
            Status::Firing => "firing",
            Status::Resolved => "resolved",
        }
    }

    /// The delivery key: the same alert's repeats share it.
    fn key(&self) -> String {
        format!(
            "{}/{}/{}",
            self.fingerprint,
            self.starts_at,
            self.status_name()
        )
    }

    fn notice(&self) -> AlertNotice {
        AlertNotice {
            sender: SOURCE.to_string(),
            fingerprint: self.fingerprint.clone(),
            firing: self.status == Status::Firing,
            labels: self.labels.clone(),
            annotations: self.annotations.clone(),
            summary: ["summary", "description", "message"]
                .iter()
                .find_map(|name| self.annotations.get(*name))
                .cloned(),
            evidence: Vec::new(),
            resolvable: true,
        }
    }
}

pub(in crate::routes) async fn receive(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<impl IntoResponse> {
    let (notification, alerts) =
        super::accept(&state, SOURCE, &headers, &body, |n: Notification| {
            read(&n).map(|alerts| (n, alerts))
        })
        .await?;
    if notification.truncated_alerts > 0 {
        tracing::warn!(
            receiver = %notification.receiver,
            truncated = notification.truncated_alerts,
            "Alertmanager left alerts out of this notification (max_alerts)"
        );
    }
    let now = chrono::Utc::now();
    let deliveries = alerts
        .iter()
        .zip(notification.alerts)
        .map(|(alert, raw)| NewDelivery::new(SOURCE, &alert.key(), raw, now))
        .collect();
    let labels = state.alert_target_labels.clone();
    let received = alerts.len();
    // Acting on what was stored runs in its own task: a request cut off
    // after the commit must not leave alerts stored but never acted on.
    let opened_on = super::store_then_act(&state, SOURCE, deliveries, move |agent, fresh| async move {
        let mut opened_on = Vec::new();
        for (alert, new) in alerts.iter().zip(&fresh) {
            if !new {
                continue;
            }
            let target = agent.alert_target(&alert.labels, &labels);
            if let Err(error) = agent.alert(&target, &alert.notice()).await {
                // Stored already: answering an error would only make it
                // re-sent and dropped as a duplicate.
                tracing::error!(%target, %error, "alert stored but not acted on");
            }
            opened_on.push(json!({"target": target, "status": alert.status_name(), "fingerprint": alert.fingerprint}));
        }
        opened_on
    })
    .await?;
    Ok((
        StatusCode::OK,
        Reply(json!({
            "received": received,
            "new": opened_on.len(),
            "group_key": notification.group_key,
            "alerts": opened_on,
        })),
    ))
}

/// Reads each alert, and checks what serde cannot: the version, times and
/// fingerprints. Errors name the alert (`alerts[2].startsAt: …`).
fn read(notification: &Notification) -> Result<Vec<Alert>, ApiError> {
    if notification.version != "4" {
        return Err(ApiError::new(
            "invalid_body",
            format!(
                "version: {:?} is not Alertmanager's webhook payload version \"4\"",
                notification.version
            ),
        ));
    }
    let mut alerts = Vec::with_capacity(notification.alerts.len());
    for (index, raw) in notification.alerts.iter().enumerate() {
        let bad = |what: String| ApiError::new("invalid_body", format!("alerts[{index}].{what}"));
        let mut alert: Alert = serde_json::from_str(raw.get())
            .map_err(|e| ApiError::new("invalid_body", format!("alerts[{index}]: {e}")))?;
        if chrono::DateTime::parse_from_rfc3339(&alert.starts_at).is_err() {
            return Err(bad(format!(
                "startsAt: {:?} is not an RFC 3339 time",
                alert.starts_at
            )));
        }
        if alert.fingerprint.is_empty() {
            alert.fingerprint = label_fingerprint(&alert.labels);
        }
        if alert.fingerprint.len() > 128 {
            return Err(bad("fingerprint: longer than 128 bytes".into()));
        }
        alerts.push(alert);
    }
    Ok(alerts)
}

/// A stable identity from the labels alone, as Alertmanager's own is.
fn label_fingerprint(labels: &BTreeMap<String, String>) -> String {
    let mut text = String::new();
    for (name, value) in labels {
        text.push_str(name);
        text.push('\u{0}');
        text.push_str(value);
        text.push('\u{0}');
    }
    crate::auth::hex(&crate::auth::sha256(text.as_bytes())[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notification(body: serde_json::Value) -> Result<Vec<Alert>, ApiError> {
        let parsed: Notification = serde_json::from_str(&body.to_string()).expect("shape");
        read(&parsed)
    }

    #[test]
    fn repeats_share_a_key_and_resolution_does_not() {
        let alert = |status| {
            json!({"version": "4", "alerts": [{"status": status, "labels": {"alertname": "Down", "service": "db"},
                "startsAt": "2026-11-26T06:00:00.5Z", "endsAt": "0001-01-01T00:00:00Z"}]})
        };
        let firing = notification(alert("firing")).expect("valid");
        let again = notification(alert("firing")).expect("valid");
        let resolved = notification(alert("resolved")).expect("valid");
        assert_eq!(firing[0].key(), again[0].key());
        assert_ne!(firing[0].key(), resolved[0].key());
        assert_eq!(firing[0].fingerprint.len(), 16);
    }

    #[test]
    fn unreadable_payloads_name_the_field() {
        let error = notification(json!({"version": "3", "alerts": []})).expect_err("v3");
        assert!(format!("{error:?}").contains("version"), "{error:?}");
        let error = notification(
            json!({"version": "4", "alerts": [{"status": "firing", "labels": {},
            "startsAt": "yesterday"}]}),
        )
        .expect_err("time");
        assert!(
            format!("{error:?}").contains("alerts[0].startsAt"),
            "{error:?}"
        );
    }
}
