//! Maintenance windows: which targets a window covers and when it is in
//! force. Pure: the caller passes the time.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr as _;

use chrono::{DateTime, Duration, Utc};
use croner::Cron;

use crate::config::{HumanDuration, Maintenance};

/// One window, from the config or from the API.
#[derive(Debug, Clone)]
pub struct Window {
    /// Its name.
    pub name: String,
    /// The store's id of a window opened through the API; `None` for one
    /// written in the config.
    pub id: Option<i64>,
    /// Who opened it through the API (`None` for the config's).
    pub opened_by: Option<String>,
    targets: BTreeSet<String>,
    labels: BTreeMap<String, String>,
    when: When,
}

#[derive(Debug, Clone)]
enum When {
    Once(Span),
    Recurring {
        cron: Box<Cron>,
        zone: chrono_tz::Tz,
        lasts: Duration,
    },
}

/// One occurrence of a window: from `start` (included) to `end` (excluded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Span {
    /// When it starts.
    pub start: DateTime<Utc>,
    /// When it ends.
    pub end: DateTime<Utc>,
}

impl Span {
    fn holds(&self, now: DateTime<Utc>) -> bool {
        self.start <= now && now < self.end
    }
}

impl Window {
    /// A window of the config; the error names the key and the problem.
    pub fn from_config(window: &Maintenance) -> Result<Self, (&'static str, String)> {
        let when = match (
            &window.schedule,
            window.duration,
            &window.start,
            &window.end,
        ) {
            (Some(schedule), Some(duration), None, None) => {
                let cron = Cron::from_str(schedule).map_err(|e| {
                    (
                        "schedule",
                        format!("{schedule:?} is not a cron expression: {e}"),
                    )
                })?;
                let zone = match &window.timezone {
                    None => chrono_tz::UTC,
                    Some(name) => chrono_tz::Tz::from_str(name).map_err(|_| {
                        (
                            "timezone",
                            format!("{name:?} is not an IANA time zone (like \"Europe/Berlin\")"),
                        )
                    })?,
                };
                let lasts = Duration::from_std(duration.get())
                    .ok()
                    .filter(|d| *d > Duration::zero())
                    .ok_or(("duration", "must be longer than 0s".to_string()))?;
                When::Recurring {
                    cron: Box::new(cron),
                    zone,
                    lasts,
                }
            }
            (None, None, Some(start), Some(end)) => {
                if window.timezone.is_some() {
                    return Err((
                        "timezone",
                        "applies to `schedule` only: `start` and `end` carry their own offset"
                            .into(),
                    ));
                }
                let start = rfc3339(start).map_err(|e| ("start", e))?;
                let end = rfc3339(end).map_err(|e| ("end", e))?;
                if end <= start {
                    return Err(("end", format!("{end} is not after start {start}")));
                }
                When::Once(Span { start, end })
            }
            _ => {
                return Err((
                    "schedule",
                    "give either `schedule` with `duration` (recurring) or `start` with `end` (once)"
                        .into(),
                ));
            }
        };
        if window.targets.is_empty() && window.labels.is_empty() {
            return Err((
                "targets",
                "name the targets it covers (`targets` or `labels`)".into(),
            ));
        }
        Ok(Self {
            name: window.name.clone(),
            id: None,
            opened_by: None,
            targets: window.targets.iter().cloned().collect(),
            labels: window.labels.clone(),
            when,
        })
    }

    /// A one-off window opened through the API.
    pub fn once(
        id: i64,
        name: &str,
        opened_by: &str,
        targets: &[String],
        labels: &BTreeMap<String, String>,
        span: Span,
    ) -> Self {
        Self {
            name: name.to_string(),
            id: Some(id),
            opened_by: Some(opened_by.to_string()),
            targets: targets.iter().cloned().collect(),
            labels: labels.clone(),
            when: When::Once(span),
        }
    }

    /// Whether it covers the target `name` with `labels`.
    pub fn covers(&self, name: &str, labels: &BTreeMap<String, String>) -> bool {
        self.targets.contains(name)
            || (!self.labels.is_empty()
                && self
                    .labels
                    .iter()
                    .all(|(key, value)| labels.get(key) == Some(value)))
    }

    /// The targets it names, and the labels it matches.
    pub fn scope(&self) -> (&BTreeSet<String>, &BTreeMap<String, String>) {
        (&self.targets, &self.labels)
    }

    /// The occurrence in force at `now`, if any.
    pub fn active_at(&self, now: DateTime<Utc>) -> Option<Span> {
        match &self.when {
            When::Once(span) => span.holds(now).then_some(*span),
            When::Recurring { cron, zone, lasts } => {
                // The latest start at or before now is the one whose
                // occurrence ends last: if it is over, all are.
                let local = now.with_timezone(zone);
                let start = cron.find_previous_occurrence(&local, true).ok()?;
                let start = start.with_timezone(&Utc);
                let span = Span {
                    start,
                    end: start + *lasts,
                };
                span.holds(now).then_some(span)
            }
        }
    }

    /// The next occurrence that starts after `now`, if any.
    pub fn next_after(&self, now: DateTime<Utc>) -> Option<Span> {
        match &self.when {
            When::Once(span) => (span.start > now).then_some(*span),
            When::Recurring { cron, zone, lasts } => {
                let local = now.with_timezone(zone);
                let start = cron.find_next_occurrence(&local, false).ok()?;
                let start = start.with_timezone(&Utc);
                Some(Span {
                    start,
                    end: start + *lasts,
                })
            }
        }
    }

    /// Whether it is over for good at `now` (a one-off window that ended).
    pub fn is_over(&self, now: DateTime<Utc>) -> bool {
        matches!(&self.when, When::Once(span) if span.end <= now)
    }

    /// `schedule` in words, for a recurring window.
    pub fn schedule(&self) -> Option<String> {
        match &self.when {
            When::Once(_) => None,
            When::Recurring { cron, zone, lasts } => Some(format!(
                "{} ({zone}) for {}",
                cron.pattern,
                HumanDuration::new(lasts.to_std().unwrap_or_default())
            )),
        }
    }
}

fn rfc3339(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|e| format!("{text:?} is not an RFC 3339 time like \"2026-12-24T02:00:00Z\": {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("as written")
            .with_timezone(&Utc)
    }

    fn recurring(schedule: &str, minutes: u64, zone: Option<&str>) -> Maintenance {
        Maintenance {
            name: "nightly".into(),
            targets: vec!["db".into()],
            labels: BTreeMap::new(),
            schedule: Some(schedule.into()),
            duration: Some(HumanDuration::new(std::time::Duration::from_secs(
                minutes * 60,
            ))),
            timezone: zone.map(String::from),
            start: None,
            end: None,
        }
    }

    #[test]
    fn a_recurring_window_is_in_force_from_its_start_for_its_duration() {
        let window = Window::from_config(&recurring("0 2 * * *", 90, None)).expect("as written");
        assert_eq!(window.active_at(at("2026-12-07T01:59:59Z")), None);
        let span = window
            .active_at(at("2026-12-07T02:00:00Z"))
            .expect("as written");
        assert_eq!(span.end, at("2026-12-07T03:30:00Z"));
        assert!(window.active_at(at("2026-12-07T03:29:59Z")).is_some());
        assert_eq!(window.active_at(at("2026-12-07T03:30:00Z")), None);
        assert_eq!(
            window
                .next_after(at("2026-12-07T03:30:00Z"))
                .expect("as written")
                .start,
            at("2026-12-08T02:00:00Z")
        );
    }

    #[test]
    fn a_schedule_is_read_in_its_time_zone() {
        // 02:00 in Berlin is 01:00 UTC in winter.
        let window = Window::from_config(&recurring("0 2 * * *", 60, Some("Europe/Berlin")))
            .expect("as written");
        assert!(window.active_at(at("2026-12-07T01:30:00Z")).is_some());
        assert!(window.active_at(at("2026-12-07T02:30:00Z")).is_none());
    }

    #[test]
    fn a_one_off_window_covers_its_span_and_its_targets_and_labels() {
        let window = Window::from_config(&Maintenance {
            name: "upgrade".into(),
            targets: vec!["db".into()],
            labels: BTreeMap::from([("team".into(), "pay".into())]),
            schedule: None,
            duration: None,
            timezone: None,
            start: Some("2026-12-24T02:00:00+01:00".into()),
            end: Some("2026-12-24T03:00:00+01:00".into()),
        })
        .expect("as written");
        assert!(window.active_at(at("2026-12-24T01:00:00Z")).is_some());
        assert!(window.active_at(at("2026-12-24T02:00:00Z")).is_none());
        assert!(window.is_over(at("2026-12-24T02:00:00Z")));
        let pay = BTreeMap::from([("team".to_string(), "pay".to_string())]);
        assert!(window.covers("db", &BTreeMap::new()));
        assert!(window.covers("api", &pay));
        assert!(!window.covers("api", &BTreeMap::new()));
    }

    #[test]
    fn bad_windows_name_the_key() {
        let mut bad = recurring("0 2 * *", 60, None);
        assert_eq!(
            Window::from_config(&bad).expect_err("refused").0,
            "schedule"
        );
        bad = recurring("0 2 * * *", 60, Some("Mars/Olympus"));
        assert_eq!(
            Window::from_config(&bad).expect_err("refused").0,
            "timezone"
        );
        bad = recurring("0 2 * * *", 0, None);
        assert_eq!(
            Window::from_config(&bad).expect_err("refused").0,
            "duration"
        );
        bad = recurring("0 2 * * *", 60, None);
        bad.start = Some("2026-12-24T02:00:00Z".into());
        assert_eq!(
            Window::from_config(&bad).expect_err("refused").0,
            "schedule"
        );
        bad = recurring("0 2 * * *", 60, None);
        bad.targets.clear();
        assert_eq!(Window::from_config(&bad).expect_err("refused").0, "targets");
        let once = Maintenance {
            name: "x".into(),
            targets: vec!["db".into()],
            labels: BTreeMap::new(),
            schedule: None,
            duration: None,
            timezone: None,
            start: Some("2026-12-24T02:00:00Z".into()),
            end: Some("2026-12-24T01:00:00Z".into()),
        };
        assert_eq!(Window::from_config(&once).expect_err("refused").0, "end");
        let unparsable = Maintenance {
            end: Some("tomorrow".into()),
            ..once
        };
        assert_eq!(
            Window::from_config(&unparsable).expect_err("refused").0,
            "end"
        );
    }
}
