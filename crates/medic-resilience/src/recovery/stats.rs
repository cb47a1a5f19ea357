//! Recovery statistics: what was tried to recover, and how often it worked.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use chrono::{DateTime, Utc};

/// One recovery: a failed call and what was done about it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RecoveryRecord {
    /// The component that failed.
    pub component: String,
    /// The operation that failed.
    pub operation: String,
    /// What was done: `retry`, `fallback`, `circuit_breaker`, or a remedy's name.
    pub action: String,
    /// Whether the caller got a good result in the end.
    pub success: bool,
    /// Attempts made, the first included.
    pub attempts: u32,
    /// From the first failure to the final result, in milliseconds.
    pub duration_ms: f64,
    /// The error category of the first failure (`network`, `timeout`, …).
    pub error_category: String,
    /// The last error message, if the recovery failed.
    pub error: Option<String>,
    /// When the recovery finished.
    pub timestamp: DateTime<Utc>,
}

/// Totals over a set of recoveries.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct RecoveryTotals {
    /// Recoveries attempted.
    pub total_recoveries: u64,
    /// Recoveries that ended well.
    pub successful_recoveries: u64,
    /// Recoveries that did not.
    pub failed_recoveries: u64,
    /// `successful / total`, 0 with none.
    pub success_rate: f64,
    /// Mean duration in milliseconds, 0 with none.
    pub avg_duration_ms: f64,
}

/// Statistics in the shape of `GET /api/v1/recovery/stats`.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct RecoveryStats {
    /// Across everything.
    pub overall: RecoveryTotals,
    /// Per action.
    pub by_action: BTreeMap<String, RecoveryTotals>,
    /// Per component.
    pub by_component: BTreeMap<String, RecoveryTotals>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    total: u64,
    successful: u64,
    duration_ms: f64,
}

impl Sums {
    fn add(&mut self, record: &RecoveryRecord) {
        self.total += 1;
        self.successful += u64::from(record.success);
        self.duration_ms += record.duration_ms;
    }

    fn totals(self) -> RecoveryTotals {
        let total = self.total as f64;
        RecoveryTotals {
            total_recoveries: self.total,
            successful_recoveries: self.successful,
            failed_recoveries: self.total - self.successful,
            success_rate: if self.total == 0 {
                0.0
            } else {
                self.successful as f64 / total
            },
            avg_duration_ms: if self.total == 0 {
                0.0
            } else {
                self.duration_ms / total
            },
        }
    }
}

#[derive(Debug, Default)]
struct Log {
    overall: Sums,
    by_action: BTreeMap<String, Sums>,
    by_component: BTreeMap<String, Sums>,
    /// Per component and action, so stats can be filtered by component.
    by_component_action: BTreeMap<(String, String), Sums>,
    recent: VecDeque<RecoveryRecord>,
}

/// Running totals of every recovery, plus the most recent ones.
///
/// ```
/// use medic_resilience::recovery::{RecoveryLog, RecoveryRecord};
/// let log = RecoveryLog::new(100);
/// log.record(RecoveryRecord {
///     component: "db".into(), operation: "query".into(), action: "retry".into(),
///     success: true, attempts: 2, duration_ms: 120.0, error_category: "network".into(),
///     error: None, timestamp: chrono::Utc::now(),
/// });
/// let stats = log.stats(None);
/// assert_eq!(stats.overall.total_recoveries, 1);
/// assert_eq!(stats.by_action["retry"].success_rate, 1.0);
/// assert_eq!(log.recent(10).len(), 1);
/// ```
#[derive(Debug)]
pub struct RecoveryLog {
    keep_recent: usize,
    log: Mutex<Log>,
}

impl Default for RecoveryLog {
    /// Keeps the last 1 000 records.
    fn default() -> Self {
        Self::new(1_000)
    }
}

impl RecoveryLog {
    /// A log that keeps the last `keep_recent` records (totals cover all of them).
    pub fn new(keep_recent: usize) -> Self {
        Self {
            keep_recent: keep_recent.max(1),
            log: Mutex::new(Log::default()),
        }
    }

    /// Adds one recovery.
    pub fn record(&self, record: RecoveryRecord) {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        log.overall.add(&record);
        log.by_action
            .entry(record.action.clone())
            .or_default()
            .add(&record);
        log.by_component
            .entry(record.component.clone())
            .or_default()
            .add(&record);
        log.by_component_action
            .entry((record.component.clone(), record.action.clone()))
            .or_default()
            .add(&record);
        if log.recent.len() == self.keep_recent {
            log.recent.pop_front();
        }
        log.recent.push_back(record);
    }

    /// Totals overall, by action and by component; filtered to one component if given.
    pub fn stats(&self, component: Option<&str>) -> RecoveryStats {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        match component {
            None => RecoveryStats {
                overall: log.overall.totals(),
                by_action: log
                    .by_action
                    .iter()
                    .map(|(k, v)| (k.clone(), v.totals()))
                    .collect(),
                by_component: log
                    .by_component
                    .iter()
                    .map(|(k, v)| (k.clone(), v.totals()))
                    .collect(),
            },
            Some(component) => {
                let overall = log.by_component.get(component).copied().unwrap_or_default();
                RecoveryStats {
                    overall: overall.totals(),
                    by_action: log
                        .by_component_action
                        .iter()
                        .filter(|((c, _), _)| c == component)
                        .map(|((_, action), v)| (action.clone(), v.totals()))
                        .collect(),
                    by_component: log
                        .by_component
                        .get(component)
                        .map(|v| (component.to_string(), v.totals()))
                        .into_iter()
                        .collect(),
                }
            }
        }
    }

    /// The newest `count` records, newest first.
    pub fn recent(&self, count: usize) -> Vec<RecoveryRecord> {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        log.recent.iter().rev().take(count).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(component: &str, action: &str, success: bool, ms: f64) -> RecoveryRecord {
        RecoveryRecord {
            component: component.into(),
            operation: "op".into(),
            action: action.into(),
            success,
            attempts: 1,
            duration_ms: ms,
            error_category: "network".into(),
            error: None,
            timestamp: Utc::now(),
        }
    }

    #[test]
    fn totals_by_action_and_component_and_filtered() {
        let log = RecoveryLog::new(2);
        log.record(record("db", "retry", true, 10.0));
        log.record(record("db", "fallback", false, 30.0));
        log.record(record("api", "retry", true, 20.0));
        let all = log.stats(None);
        assert_eq!(all.overall.total_recoveries, 3);
        assert_eq!(all.overall.failed_recoveries, 1);
        assert_eq!(all.overall.avg_duration_ms, 20.0);
        assert_eq!(all.by_action["retry"].total_recoveries, 2);
        assert_eq!(all.by_component["db"].success_rate, 0.5);
        let db = log.stats(Some("db"));
        assert_eq!(db.overall.total_recoveries, 2);
        assert_eq!(db.by_action.len(), 2);
        assert_eq!(db.by_component.keys().collect::<Vec<_>>(), ["db"]);
        let recent = log.recent(10);
        assert_eq!(recent.len(), 2, "keeps only the last two");
        assert_eq!(recent[0].component, "api", "newest first");
    }

    #[test]
    fn json_shape_matches_the_api_contract() {
        let log = RecoveryLog::default();
        log.record(record("db", "retry", true, 10.0));
        let json = serde_json::to_value(log.stats(None)).expect("json");
        for key in [
            "total_recoveries",
            "successful_recoveries",
            "failed_recoveries",
            "success_rate",
            "avg_duration_ms",
        ] {
            assert!(json["overall"].get(key).is_some(), "missing overall.{key}");
        }
        assert!(json["by_action"]["retry"].is_object());
        assert!(json["by_component"]["db"].is_object());
    }
}
