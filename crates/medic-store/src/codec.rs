//! Conversions shared by the backends: database values to model types, with
//! every failure a [`StoreError::Corrupt`] rather than a panic.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use medic_model::{
    ActionRecord, ActionState, Approval, ApprovalStatus, Category, Diagnosis, Incident, IncidentId,
    IncidentStatus, PipelineRun, PipelineRunStatus, RemedyStats, Severity, TimelineEntry,
    TimelineKind,
};
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Row, Type};

use crate::StoreError;

/// The columns of an incident, in the order both backends select them.
macro_rules! incident_columns {
    () => {
        "id, target, fingerprint, status, title, category, severity, \
         opened_at, updated_at, closed_at, time_to_recover_ms, acknowledged_by, acknowledged_at, \
         caused_by"
    };
}

/// The columns of an action.
macro_rules! action_columns {
    () => {
        "id, incident_id, target, remedy, kind, state, step, dry_run, output, error, \
         intended_at, started_at, finished_at, verified"
    };
}

/// The columns of a timeline entry.
macro_rules! timeline_columns {
    () => {
        "id, incident_id, at, kind, message, data"
    };
}

/// The columns of an approval.
macro_rules! approval_columns {
    () => {
        "id, incident_id, action_id, target, remedy, reason, status, requested_at, \
         expires_at, decided_by, decided_at"
    };
}

/// The columns of a remedy_stats row.
macro_rules! stats_columns {
    () => {
        "fingerprint, remedy, attempts, successes, total_recover_ms"
    };
}

/// The columns of a pipeline run.
macro_rules! pipeline_run_columns {
    () => {
        "id, flow, flow_path, flow_digest, vars, state, next_step, status, reason, \
         started_at, updated_at, finished_at"
    };
}

/// The live-incident predicate; must match the partial unique index.
macro_rules! live {
    () => {
        "status NOT IN ('resolved', 'escalated', 'failed')"
    };
}

pub(crate) use {
    action_columns, approval_columns, incident_columns, live, pipeline_run_columns, stats_columns,
    timeline_columns,
};

/// Every live incident, oldest first (no parameters: the same in both dialects).
pub(crate) const SELECT_OPEN_INCIDENTS: &str = concat!(
    "SELECT ",
    incident_columns!(),
    " FROM incidents WHERE ",
    live!(),
    " ORDER BY id"
);

/// Every action still `intended` or `running`, oldest first.
pub(crate) const SELECT_ACTIONS_IN_DOUBT: &str = concat!(
    "SELECT ",
    action_columns!(),
    " FROM actions WHERE state IN ('intended', 'running') ORDER BY id"
);

/// The whole fix catalog, by fingerprint then remedy.
pub(crate) const SELECT_ALL_REMEDY_STATS: &str = concat!(
    "SELECT ",
    stats_columns!(),
    " FROM remedy_stats ORDER BY fingerprint, remedy"
);

/// Every registered component's name and spec, by name.
pub(crate) const SELECT_COMPONENTS: &str = "SELECT name, spec FROM components ORDER BY name";

/// Deliveries are inserted many rows to a statement (one round trip to the
/// database instead of one per delivery), at most this many: 4 parameters
/// each stays far below either backend's parameter limit.
pub(crate) const DELIVERIES_PER_STATEMENT: usize = 1024;

/// The start of the multi-row insert; the backend adds the `VALUES` rows.
pub(crate) const INSERT_DELIVERIES: &str =
    "INSERT INTO deliveries (source, key, payload, received_at) ";

/// Re-deliveries insert nothing; the rows that were inserted come back.
pub(crate) const DELIVERIES_ON_CONFLICT: &str =
    " ON CONFLICT (source, key) DO NOTHING RETURNING source, key";

/// For each delivery, whether it was inserted: `inserted` holds the
/// (source, key) of the inserted rows, each once, so only the first of
/// several equal deliveries in a batch counts as new.
pub(crate) fn fresh_deliveries<R: DbRow>(
    deliveries: &[crate::NewDelivery],
    inserted: &[R],
) -> Result<Vec<bool>, StoreError> {
    let mut unclaimed = std::collections::HashSet::with_capacity(inserted.len());
    for row in inserted {
        let source: String = row.value("source")?;
        let key: String = row.value("key")?;
        unclaimed.insert((source, key));
    }
    Ok(deliveries
        .iter()
        // Owned keys: HashSet<(String, String)> cannot be probed by borrowed parts.
        .map(|d| unclaimed.remove(&(d.source.clone(), d.key.clone())))
        .collect())
}

/// The statuses that end an incident, as SQL text. The backends' `live!()`
/// predicate and the partial unique index in both migrations spell them out;
/// the tests below pin them to [`IncidentStatus::is_terminal`].
#[cfg(test)]
pub(crate) const TERMINAL_STATUSES: [&str; 3] = ["resolved", "escalated", "failed"];

/// Parses enum text read from the database.
pub(crate) fn parse_enum<T>(what: &'static str, row: &str, text: &str) -> Result<T, StoreError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    text.parse().map_err(|error: T::Err| StoreError::Corrupt {
        what,
        detail: format!("{row}: {error}"),
    })
}

fn parse_optional_enum<T>(
    what: &'static str,
    row: &str,
    text: Option<String>,
) -> Result<Option<T>, StoreError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    text.map(|text| parse_enum(what, row, &text)).transpose()
}

/// A time with its sub-microsecond part dropped: what both backends store.
pub(crate) fn truncate_to_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}

/// A time as unix microseconds (the SQLite representation).
pub(crate) fn to_micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// Unix microseconds read from SQLite, as a time.
pub(crate) fn from_micros(what: &'static str, micros: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(micros).ok_or_else(|| StoreError::Corrupt {
        what,
        detail: format!("{micros} µs since 1970 is not a representable time"),
    })
}

/// Milliseconds from `opened_at` to `at`, never negative (clocks can step back).
pub(crate) fn time_to_recover_ms(opened_at: DateTime<Utc>, at: DateTime<Utc>) -> i64 {
    (at - opened_at).num_milliseconds().max(0)
}

/// A counter as the database stores it (signed 64 bits), clamped.
pub(crate) fn counter_to_db(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The recovery time one outcome adds to a remedy's total: 0 unless it succeeded.
pub(crate) fn outcome_recover_ms(success: bool, recover_ms: Option<u64>) -> i64 {
    if success {
        recover_ms.map_or(0, counter_to_db)
    } else {
        0
    }
}

fn counter_from_db(what: &'static str, row: &str, value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt {
        what,
        detail: format!("{row}: negative counter {value}"),
    })
}

/// JSON text read from SQLite.
pub(crate) fn parse_json(
    what: &'static str,
    row: &str,
    text: &str,
) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(text).map_err(|error| StoreError::Corrupt {
        what,
        detail: format!("{row}: {error}"),
    })
}

/// A stored diagnosis document.
pub(crate) fn diagnosis_from_json(
    row: &str,
    value: serde_json::Value,
) -> Result<Diagnosis, StoreError> {
    serde_json::from_value(value).map_err(|error| StoreError::Corrupt {
        what: "diagnosis",
        detail: format!("{row}: {error}"),
    })
}

/// A diagnosis as the JSON document both backends store.
pub(crate) fn diagnosis_to_json(diagnosis: &Diagnosis) -> Result<serde_json::Value, StoreError> {
    serde_json::to_value(diagnosis).map_err(|error| StoreError::Corrupt {
        what: "diagnosis",
        detail: format!("cannot be written as JSON: {error}"),
    })
}

/// An incident row, its values decoded but not yet parsed.
pub(crate) struct IncidentRow {
    pub id: i64,
    pub target: String,
    pub fingerprint: String,
    pub status: String,
    pub title: String,
    pub category: Option<String>,
    pub severity: Option<String>,
    pub opened_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub time_to_recover_ms: Option<i64>,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub caused_by: Option<i64>,
}

impl IncidentRow {
    pub(crate) fn into_incident(self) -> Result<Incident, StoreError> {
        let row = format!("incident {}", self.id);
        Ok(Incident {
            id: self.id,
            status: parse_enum::<IncidentStatus>("incident status", &row, &self.status)?,
            category: parse_optional_enum::<Category>("incident category", &row, self.category)?,
            severity: parse_optional_enum::<Severity>("incident severity", &row, self.severity)?,
            target: self.target,
            fingerprint: self.fingerprint,
            title: self.title,
            opened_at: self.opened_at,
            updated_at: self.updated_at,
            closed_at: self.closed_at,
            time_to_recover_ms: self.time_to_recover_ms,
            acknowledged_by: self.acknowledged_by,
            acknowledged_at: self.acknowledged_at,
            caused_by: self.caused_by,
        })
    }
}

/// A timeline row, its values decoded but not yet parsed.
pub(crate) struct TimelineRow {
    pub id: i64,
    pub incident_id: i64,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub message: String,
    pub data: serde_json::Value,
}

impl TimelineRow {
    pub(crate) fn into_entry(self) -> Result<TimelineEntry, StoreError> {
        let row = format!("timeline entry {}", self.id);
        Ok(TimelineEntry {
            id: self.id,
            incident_id: self.incident_id,
            at: self.at,
            kind: parse_enum::<TimelineKind>("timeline kind", &row, &self.kind)?,
            message: self.message,
            data: self.data,
        })
    }
}

/// An action row, its values decoded but not yet parsed.
pub(crate) struct ActionRow {
    pub id: i64,
    pub incident_id: i64,
    pub target: String,
    pub remedy: String,
    pub kind: String,
    pub state: String,
    pub step: i64,
    pub dry_run: bool,
    pub output: Option<String>,
    pub error: Option<String>,
    pub intended_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub verified: Option<bool>,
}

impl ActionRow {
    pub(crate) fn into_record(self) -> Result<ActionRecord, StoreError> {
        let row = format!("action {}", self.id);
        let step = u32::try_from(self.step).map_err(|_| StoreError::Corrupt {
            what: "action step",
            detail: format!("{row}: {} is not a step number", self.step),
        })?;
        Ok(ActionRecord {
            id: self.id,
            incident_id: self.incident_id,
            state: parse_enum::<ActionState>("action state", &row, &self.state)?,
            step,
            target: self.target,
            remedy: self.remedy,
            kind: self.kind,
            dry_run: self.dry_run,
            output: self.output,
            error: self.error,
            intended_at: self.intended_at,
            started_at: self.started_at,
            finished_at: self.finished_at,
            verified: self.verified,
        })
    }
}

/// A remedy_stats row.
pub(crate) struct StatsRow {
    pub fingerprint: String,
    pub remedy: String,
    pub attempts: i64,
    pub successes: i64,
    pub total_recover_ms: i64,
}

impl StatsRow {
    pub(crate) fn into_stats(self) -> Result<RemedyStats, StoreError> {
        let row = format!("remedy stats ({}, {})", self.fingerprint, self.remedy);
        Ok(RemedyStats {
            attempts: counter_from_db("remedy attempts", &row, self.attempts)?,
            successes: counter_from_db("remedy successes", &row, self.successes)?,
            total_recover_ms: counter_from_db("remedy recovery time", &row, self.total_recover_ms)?,
            fingerprint: self.fingerprint,
            remedy: self.remedy,
        })
    }
}

/// What differs between the backends' rows: how times and JSON documents are
/// stored. `what` names the value and `row` the row in [`StoreError::Corrupt`].
pub(crate) trait BackendRow: Row {
    /// A NOT NULL time column.
    fn time(&self, what: &'static str, column: &str) -> Result<DateTime<Utc>, StoreError>;
    /// A nullable time column.
    fn opt_time(
        &self,
        what: &'static str,
        column: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError>;
    /// A NOT NULL JSON column.
    fn json(
        &self,
        what: &'static str,
        row: &str,
        column: &str,
    ) -> Result<serde_json::Value, StoreError>;
    /// A nullable JSON column.
    fn opt_json(
        &self,
        what: &'static str,
        row: &str,
        column: &str,
    ) -> Result<Option<serde_json::Value>, StoreError>;
}

/// A column decoded as `T` the same way by every backend.
pub(crate) trait Column<T> {
    /// The value of `name`.
    fn value(&self, name: &str) -> Result<T, StoreError>;
}

impl<R, T> Column<T> for R
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    T: for<'r> Decode<'r, R::Database> + Type<R::Database>,
{
    fn value(&self, name: &str) -> Result<T, StoreError> {
        Ok(self.try_get(name)?)
    }
}

/// A backend row with every column type the model tables use.
pub(crate) trait DbRow:
    BackendRow
    + Column<String>
    + Column<Option<String>>
    + Column<i64>
    + Column<Option<i64>>
    + Column<bool>
    + Column<Option<bool>>
{
}

impl<R> DbRow for R where
    R: BackendRow
        + Column<String>
        + Column<Option<String>>
        + Column<i64>
        + Column<Option<i64>>
        + Column<bool>
        + Column<Option<bool>>
{
}

/// An incident selected with `incident_columns!()`.
pub(crate) fn incident_from_row<R: DbRow>(row: &R) -> Result<Incident, StoreError> {
    IncidentRow {
        id: row.value("id")?,
        target: row.value("target")?,
        fingerprint: row.value("fingerprint")?,
        status: row.value("status")?,
        title: row.value("title")?,
        category: row.value("category")?,
        severity: row.value("severity")?,
        opened_at: row.time("incident opened_at", "opened_at")?,
        updated_at: row.time("incident updated_at", "updated_at")?,
        closed_at: row.opt_time("incident closed_at", "closed_at")?,
        time_to_recover_ms: row.value("time_to_recover_ms")?,
        acknowledged_by: row.value("acknowledged_by")?,
        acknowledged_at: row.opt_time("incident acknowledged_at", "acknowledged_at")?,
        caused_by: row.value("caused_by")?,
    }
    .into_incident()
}

/// A timeline entry selected with `timeline_columns!()`.
pub(crate) fn timeline_from_row<R: DbRow>(row: &R) -> Result<TimelineEntry, StoreError> {
    let id: i64 = row.value("id")?;
    TimelineRow {
        id,
        incident_id: row.value("incident_id")?,
        at: row.time("timeline at", "at")?,
        kind: row.value("kind")?,
        message: row.value("message")?,
        data: row.json("timeline data", &format!("timeline entry {id}"), "data")?,
    }
    .into_entry()
}

/// An action selected with `action_columns!()`.
pub(crate) fn action_from_row<R: DbRow>(row: &R) -> Result<ActionRecord, StoreError> {
    ActionRow {
        id: row.value("id")?,
        incident_id: row.value("incident_id")?,
        target: row.value("target")?,
        remedy: row.value("remedy")?,
        kind: row.value("kind")?,
        state: row.value("state")?,
        step: row.value("step")?,
        dry_run: row.value("dry_run")?,
        output: row.value("output")?,
        error: row.value("error")?,
        intended_at: row.time("action intended_at", "intended_at")?,
        started_at: row.opt_time("action started_at", "started_at")?,
        finished_at: row.opt_time("action finished_at", "finished_at")?,
        verified: row.value("verified")?,
    }
    .into_record()
}

/// An approval selected with `approval_columns!()`.
pub(crate) fn approval_from_row<R: DbRow>(row: &R) -> Result<Approval, StoreError> {
    let id: i64 = row.value("id")?;
    let status: String = row.value("status")?;
    Ok(Approval {
        id,
        incident_id: row.value("incident_id")?,
        action_id: row.value("action_id")?,
        target: row.value("target")?,
        remedy: row.value("remedy")?,
        reason: row.value("reason")?,
        status: parse_enum::<ApprovalStatus>(
            "approval status",
            &format!("approval {id}"),
            &status,
        )?,
        requested_at: row.time("approval requested_at", "requested_at")?,
        expires_at: row.time("approval expires_at", "expires_at")?,
        decided_by: row.value("decided_by")?,
        decided_at: row.opt_time("approval decided_at", "decided_at")?,
    })
}

/// A component row: its name and registration spec.
pub(crate) fn component_from_row<R: DbRow>(
    row: &R,
) -> Result<(String, serde_json::Value), StoreError> {
    let name: String = row.value("name")?;
    let spec = row.json("component spec", &format!("component {name}"), "spec")?;
    Ok((name, spec))
}

/// A pipeline run selected with `pipeline_run_columns!()`.
pub(crate) fn pipeline_run_from_row<R: DbRow>(row: &R) -> Result<PipelineRun, StoreError> {
    let id: i64 = row.value("id")?;
    let name = format!("pipeline run {id}");
    let status: String = row.value("status")?;
    let next_step: i64 = row.value("next_step")?;
    Ok(PipelineRun {
        id,
        flow: row.value("flow")?,
        flow_path: row.value("flow_path")?,
        flow_digest: row.value("flow_digest")?,
        vars: row.json("pipeline run vars", &name, "vars")?,
        state: row.json("pipeline run state", &name, "state")?,
        next_step: u32::try_from(next_step).map_err(|_| StoreError::Corrupt {
            what: "pipeline run next step",
            detail: format!("{name}: {next_step} is not a step index"),
        })?,
        status: parse_enum::<PipelineRunStatus>("pipeline run status", &name, &status)?,
        reason: row.value("reason")?,
        started_at: row.time("pipeline run started_at", "started_at")?,
        updated_at: row.time("pipeline run updated_at", "updated_at")?,
        finished_at: row.opt_time("pipeline run finished_at", "finished_at")?,
    })
}

/// Remedy stats selected with `stats_columns!()`.
pub(crate) fn stats_from_row<R: DbRow>(row: &R) -> Result<RemedyStats, StoreError> {
    StatsRow {
        fingerprint: row.value("fingerprint")?,
        remedy: row.value("remedy")?,
        attempts: row.value("attempts")?,
        successes: row.value("successes")?,
        total_recover_ms: row.value("total_recover_ms")?,
    }
    .into_stats()
}

/// A resolved incident selected as `id, target, fingerprint, diagnosis, resolved_by`.
pub(crate) fn past_incident_from_row<R: DbRow>(row: &R) -> Result<crate::PastIncident, StoreError> {
    let id: i64 = row.value("id")?;
    let diagnosis = diagnosis_from_row(row, id)?.ok_or_else(|| StoreError::Corrupt {
        what: "diagnosis",
        detail: format!("incident {id}: missing"),
    })?;
    Ok(crate::PastIncident {
        id,
        target: row.value("target")?,
        fingerprint: row.value("fingerprint")?,
        diagnosis,
        resolved_by: row.value("resolved_by")?,
    })
}

/// The `diagnosis` column of incident `id`.
pub(crate) fn diagnosis_from_row<R: BackendRow>(
    row: &R,
    id: IncidentId,
) -> Result<Option<Diagnosis>, StoreError> {
    let row_name = format!("incident {id}");
    row.opt_json("diagnosis", &row_name, "diagnosis")?
        .map(|value| diagnosis_from_json(&row_name, value))
        .transpose()
}

/// Decodes every row.
pub(crate) fn decode_all<R, T>(
    rows: Vec<R>,
    decode: impl Fn(&R) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    rows.iter().map(decode).collect()
}

/// Decodes the row, if any.
pub(crate) fn decode_optional<R, T>(
    row: Option<R>,
    decode: impl Fn(&R) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    row.as_ref().map(decode).transpose()
}

/// Decodes the row; no row is [`StoreError::NotFound`] for `what` `id`.
pub(crate) fn decode_found<R, T>(
    row: Option<R>,
    decode: impl Fn(&R) -> Result<T, StoreError>,
    what: &'static str,
    id: i64,
) -> Result<T, StoreError> {
    decode_optional(row, decode)?.ok_or(StoreError::NotFound { what, id })
}

/// The rows `sql` selects with its one parameter bound to `key`, decoded.
pub(crate) async fn select_all<'k, DB, K, T>(
    pool: &Pool<DB>,
    sql: &'static str,
    key: K,
    decode: fn(&DB::Row) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    K: Encode<'k, DB> + Type<DB>,
{
    decode_all(sqlx::query(sql).bind(key).fetch_all(pool).await?, decode)
}

/// The row `sql` selects by `id`, decoded; no row is [`StoreError::NotFound`].
pub(crate) async fn select_found<DB, T>(
    pool: &Pool<DB>,
    sql: &'static str,
    what: &'static str,
    id: i64,
    decode: fn(&DB::Row) -> Result<T, StoreError>,
) -> Result<T, StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    i64: for<'k> Encode<'k, DB> + Type<DB>,
{
    let row = sqlx::query(sql).bind(id).fetch_optional(pool).await?;
    decode_found(row, decode, what, id)
}

/// Every incident with a diagnosis, for renaming fingerprints.
pub(crate) const SELECT_DIAGNOSED_FINGERPRINTS: &str =
    "SELECT id, fingerprint, diagnosis FROM incidents WHERE diagnosis IS NOT NULL ORDER BY id";

/// A `(fingerprint, diagnosis)` row of [`SELECT_DIAGNOSED_FINGERPRINTS`].
pub(crate) fn diagnosed_fingerprint_from_row<R: DbRow>(
    row: &R,
) -> Result<(String, Diagnosis), StoreError> {
    let id: i64 = row.value("id")?;
    let diagnosis = diagnosis_from_row(row, id)?.ok_or_else(|| StoreError::Corrupt {
        what: "diagnosis",
        detail: format!("incident {id}: missing"),
    })?;
    Ok((row.value("fingerprint")?, diagnosis))
}

/// The fingerprint version a store records (`0007_fingerprint_version`).
pub(crate) const SELECT_FINGERPRINT_VERSION: &str =
    "SELECT MAX(version) AS version FROM fingerprint_version";

/// A maintenance window's `scope` column: its targets and labels as JSON.
pub(crate) fn window_scope(window: &crate::StoredWindow) -> String {
    serde_json::json!({"targets": window.targets, "labels": window.labels}).to_string()
}

/// A maintenance window from its columns (times already decoded).
pub(crate) fn window_from_columns(
    id: i64,
    name: String,
    scope: &str,
    (starts_at, ends_at): (DateTime<Utc>, DateTime<Utc>),
    opened_by: String,
    opened_at: DateTime<Utc>,
) -> Result<crate::StoredWindow, StoreError> {
    #[derive(serde::Deserialize)]
    struct Scope {
        targets: Vec<String>,
        labels: std::collections::BTreeMap<String, String>,
    }
    let scope: Scope = serde_json::from_str(scope).map_err(|error| StoreError::Corrupt {
        what: "maintenance_windows.scope",
        detail: format!("window {id}: {error}"),
    })?;
    Ok(crate::StoredWindow {
        id,
        name,
        targets: scope.targets,
        labels: scope.labels,
        starts_at,
        ends_at,
        opened_by,
        opened_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_statuses_match_the_model() {
        let terminal: Vec<&str> = IncidentStatus::ALL
            .iter()
            .filter(|status| status.is_terminal())
            .map(|status| status.as_str())
            .collect();
        assert_eq!(terminal, TERMINAL_STATUSES);
    }

    #[test]
    fn migrations_use_the_terminal_statuses() {
        let predicate = "WHERE status NOT IN ('resolved', 'escalated', 'failed')";
        for migration in [
            include_str!("../migrations/sqlite/0001_initial.sql"),
            include_str!("../migrations/postgres/0001_initial.sql"),
        ] {
            assert!(migration.contains(predicate));
        }
    }

    #[test]
    fn unknown_enum_text_is_corrupt_not_a_panic() {
        let error = parse_enum::<IncidentStatus>("incident status", "incident 3", "sleeping")
            .expect_err("unknown status");
        assert!(matches!(
            error,
            StoreError::Corrupt {
                what: "incident status",
                ..
            }
        ));
        assert!(error.to_string().contains("incident 3"), "{error}");
    }

    #[test]
    fn micros_round_trip_and_truncate() {
        let at = DateTime::from_timestamp(1_767_225_600, 123_456_789).expect("valid time");
        let stored = truncate_to_micros(at);
        assert_eq!(stored.timestamp_subsec_nanos(), 123_456_000);
        assert_eq!(from_micros("t", to_micros(at)).expect("in range"), stored);
        assert!(from_micros("t", i64::MAX).is_err());
    }

    #[test]
    fn time_to_recover_is_never_negative() {
        let opened = DateTime::from_timestamp(100, 0).expect("valid time");
        assert_eq!(
            time_to_recover_ms(opened, opened + chrono::Duration::milliseconds(1500)),
            1500
        );
        assert_eq!(
            time_to_recover_ms(opened, opened - chrono::Duration::seconds(1)),
            0
        );
    }

    #[test]
    fn negative_counters_are_corrupt() {
        let row = StatsRow {
            fingerprint: "f".into(),
            remedy: "r".into(),
            attempts: -1,
            successes: 0,
            total_recover_ms: 0,
        };
        assert!(matches!(row.into_stats(), Err(StoreError::Corrupt { .. })));
        assert_eq!(counter_to_db(u64::MAX), i64::MAX);
    }
}
