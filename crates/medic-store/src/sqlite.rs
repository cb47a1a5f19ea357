//! The SQLite backend: one file, WAL, `synchronous = FULL`.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use medic_model::{
    ActionId, ActionRecord, ActionState, Approval, ApprovalId, ApprovalStatus, Diagnosis, Incident,
    IncidentId, IncidentStatus, NewPipelineRun, PipelineRun, PipelineRunId, PipelineRunStatus,
    RemedyStats, TimelineEntry,
};
use sqlx::Row;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};

use crate::codec::{
    BackendRow, DELIVERIES_ON_CONFLICT, DELIVERIES_PER_STATEMENT, INSERT_DELIVERIES,
    SELECT_ACTIONS_IN_DOUBT, SELECT_ALL_REMEDY_STATS, SELECT_COMPONENTS,
    SELECT_DIAGNOSED_FINGERPRINTS, SELECT_FINGERPRINT_VERSION, SELECT_OPEN_INCIDENTS,
    action_columns, action_from_row, approval_columns, approval_from_row, component_from_row,
    counter_to_db, decode_all, decode_found, decode_optional, diagnosed_fingerprint_from_row,
    diagnosis_from_row, diagnosis_to_json, fresh_deliveries, from_micros, incident_columns,
    incident_from_row, live, outcome_recover_ms, parse_json, past_incident_from_row,
    pipeline_run_columns, pipeline_run_from_row, select_all, select_found, stats_columns,
    stats_from_row, time_to_recover_ms, timeline_columns, timeline_from_row, to_micros,
    truncate_to_micros, window_from_columns, window_scope,
};
use crate::error::{
    action_refusal, approval_error, caused_by_error, component_error, decision_refusal,
    intent_error, pipeline_run_refusal, timeline_error, updated_or_refused,
};
use crate::{
    IncidentFilter, NewDelivery, NewIncident, PastIncident, Reopened, Result, Store, StoreError,
    StoredWindow,
};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a writer waits for another writer's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections to a database file: WAL lets readers run beside the one writer.
const FILE_POOL_SIZE: u32 = 4;

/// The store in a SQLite database file (or in memory, for tests).
///
/// Every connection runs with `journal_mode = WAL`, `synchronous = FULL` (a
/// commit is on disk before it returns: nothing acknowledged is lost, even on
/// power loss), `foreign_keys = ON` and a 5 s `busy_timeout`. Multi-statement
/// writes use `BEGIN IMMEDIATE`, so a transaction that reads then writes holds
/// the write lock from its first statement and cannot fail half-way on a lock
/// upgrade.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), medic_store::StoreError> {
/// use medic_store::{SqliteStore, Store};
/// let path = std::env::temp_dir().join(format!("medic-doc-{}.db", std::process::id()));
/// let store = SqliteStore::open(&path).await?;
/// assert_eq!(store.backend(), "sqlite");
/// store.close().await;
/// # for suffix in ["", "-wal", "-shm"] {
/// #     let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
/// # }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Connects to `sqlite://PATH`, `sqlite:PATH` or `sqlite::memory:`,
    /// creating the file (and its directory) if missing, and migrates it.
    pub async fn connect(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|error| StoreError::BadUrl(format!("invalid SQLite URL: {error}")))?;
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if !in_memory && options.get_filename().as_os_str().is_empty() {
            return Err(StoreError::BadUrl(
                "the SQLite URL names no file (expected sqlite://PATH or sqlite::memory:)".into(),
            ));
        }
        Self::connect_with(options, in_memory).await
    }

    /// Opens (creating if missing) the database file at `path` and migrates it.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        let options = SqliteConnectOptions::new().filename(path.as_ref());
        Self::connect_with(options, false).await
    }

    /// Opens an existing database file without creating, migrating or
    /// writing it (`medic check`), and reads which migrations it has.
    pub async fn open_read_only(url: &str) -> Result<(Self, crate::SchemaVersion)> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|error| StoreError::BadUrl(format!("invalid SQLite URL: {error}")))?
            .read_only(true)
            .create_if_missing(false)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        let has_table: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
        )
        .fetch_one(&pool)
        .await?;
        let applied: Option<i64> = if has_table == 0 {
            None
        } else {
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&pool)
                .await?
        };
        let schema = crate::SchemaVersion::new(applied, &MIGRATOR);
        Ok((Self { pool }, schema))
    }

    /// A fresh private in-memory database, gone when the store is dropped.
    pub async fn in_memory() -> Result<Self> {
        Self::connect("sqlite::memory:").await
    }

    async fn connect_with(options: SqliteConnectOptions, in_memory: bool) -> Result<Self> {
        let options = options
            .create_if_missing(true)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool_options = if in_memory {
            // An in-memory database lives as long as one connection to it: keep
            // exactly one, forever.
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            if let Some(parent) = options.get_filename().parent()
                && !parent.as_os_str().is_empty()
            {
                std::fs::create_dir_all(parent).map_err(|error| {
                    StoreError::BadUrl(format!(
                        "cannot create the directory {} for the SQLite file: {error}",
                        parent.display()
                    ))
                })?;
            }
            SqlitePoolOptions::new().max_connections(FILE_POOL_SIZE)
        };
        let options = if in_memory {
            options
        } else {
            options.journal_mode(SqliteJournalMode::Wal)
        };
        let pool = pool_options.connect_with(options).await?;
        MIGRATOR.run(&pool).await.map_err(StoreError::Migration)?;
        tracing::debug!(in_memory, "sqlite store ready");
        Ok(Self { pool })
    }

    /// The connection pool, for tools and tests. Writes through it bypass the
    /// store's checks.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    async fn fetch_incident<'c, E>(executor: E, id: IncidentId) -> Result<Incident>
    where
        E: sqlx::Executor<'c, Database = sqlx::Sqlite>,
    {
        let query = sqlx::query(concat!(
            "SELECT ",
            incident_columns!(),
            " FROM incidents WHERE id = ?"
        ))
        .bind(id);
        decode_found(
            query.fetch_optional(executor).await?,
            incident_from_row,
            "incident",
            id,
        )
    }
}

/// Times are INTEGER unix microseconds; JSON is TEXT.
impl BackendRow for SqliteRow {
    fn time(&self, what: &'static str, column: &str) -> Result<DateTime<Utc>> {
        from_micros(what, self.try_get(column)?)
    }

    fn opt_time(&self, what: &'static str, column: &str) -> Result<Option<DateTime<Utc>>> {
        let micros: Option<i64> = self.try_get(column)?;
        micros.map(|micros| from_micros(what, micros)).transpose()
    }

    fn json(&self, what: &'static str, row: &str, column: &str) -> Result<serde_json::Value> {
        let text: String = self.try_get(column)?;
        parse_json(what, row, &text)
    }

    fn opt_json(
        &self,
        what: &'static str,
        row: &str,
        column: &str,
    ) -> Result<Option<serde_json::Value>> {
        let text: Option<String> = self.try_get(column)?;
        text.map(|text| parse_json(what, row, &text)).transpose()
    }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT count(*) FROM sqlite_master")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn open_or_join_incident(&self, new: &NewIncident) -> Result<(Incident, bool)> {
        let at = to_micros(new.at);
        // Select first (joining is the common case), then insert unless the
        // partial unique index says a live one exists, then select again. A
        // live incident can end between the two; a few rounds settle it.
        for _ in 0..3 {
            let live = sqlx::query(concat!(
                "SELECT ",
                incident_columns!(),
                " FROM incidents WHERE target = ? AND fingerprint = ? AND ",
                live!()
            ))
            .bind(&new.target)
            .bind(&new.fingerprint);
            if let Some(incident) =
                decode_optional(live.fetch_optional(&self.pool).await?, incident_from_row)?
            {
                return Ok((incident, false));
            }
            let insert = sqlx::query(concat!(
                "INSERT INTO incidents (target, fingerprint, status, title, category, severity, \
                 opened_at, updated_at) VALUES (?, ?, 'open', ?, ?, ?, ?, ?) \
                 ON CONFLICT (target, fingerprint) WHERE ",
                live!(),
                " DO NOTHING RETURNING ",
                incident_columns!()
            ))
            .bind(&new.target)
            .bind(&new.fingerprint)
            .bind(&new.title)
            .bind(new.category.map(|category| category.as_str()))
            .bind(new.severity.map(|severity| severity.as_str()))
            .bind(at)
            .bind(at);
            if let Some(incident) =
                decode_optional(insert.fetch_optional(&self.pool).await?, incident_from_row)?
            {
                return Ok((incident, true));
            }
        }
        Err(StoreError::Contention(format!(
            "the live incident of {}/{} kept opening and closing",
            new.target, new.fingerprint
        )))
    }

    async fn incident(&self, id: IncidentId) -> Result<Incident> {
        Self::fetch_incident(&self.pool, id).await
    }

    async fn list_incidents(&self, filter: &IncidentFilter) -> Result<Vec<Incident>> {
        let status = filter.status.map(|status| status.as_str());
        let query = sqlx::query(concat!(
            "SELECT ",
            incident_columns!(),
            " FROM incidents WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR target = ?2) \
             AND (?3 IS NULL OR id < ?3) ORDER BY id DESC LIMIT ?4"
        ))
        .bind(status)
        .bind(filter.target.as_deref())
        .bind(filter.before_id)
        .bind(i64::from(filter.effective_limit()));
        decode_all(query.fetch_all(&self.pool).await?, incident_from_row)
    }

    async fn open_incidents(&self) -> Result<Vec<Incident>> {
        let rows = sqlx::query(SELECT_OPEN_INCIDENTS)
            .fetch_all(&self.pool)
            .await?;
        decode_all(rows, incident_from_row)
    }

    async fn set_status(
        &self,
        id: IncidentId,
        to: IncidentStatus,
        at: DateTime<Utc>,
    ) -> Result<Incident> {
        let at = truncate_to_micros(at);
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let current = Self::fetch_incident(&mut *tx, id).await?;
        current.status.transition(to)?;
        let closed_at = to.is_terminal().then(|| to_micros(at));
        let ttr =
            (to == IncidentStatus::Resolved).then(|| time_to_recover_ms(current.opened_at, at));
        let query = sqlx::query(concat!(
            "UPDATE incidents SET status = ?, updated_at = ?, \
             closed_at = COALESCE(?, closed_at), \
             time_to_recover_ms = COALESCE(?, time_to_recover_ms) \
             WHERE id = ? RETURNING ",
            incident_columns!()
        ))
        .bind(to.as_str())
        .bind(to_micros(at))
        .bind(closed_at)
        .bind(ttr)
        .bind(id);
        let incident = incident_from_row(&query.fetch_one(&mut *tx).await?)?;
        tx.commit().await?;
        Ok(incident)
    }

    async fn set_diagnosis(
        &self,
        id: IncidentId,
        diagnosis: &Diagnosis,
        at: DateTime<Utc>,
    ) -> Result<Incident> {
        let json = diagnosis_to_json(diagnosis)?.to_string();
        let query = sqlx::query(concat!(
            "UPDATE incidents SET category = ?, severity = ?, diagnosis = ?, updated_at = ? \
             WHERE id = ? RETURNING ",
            incident_columns!()
        ))
        .bind(diagnosis.category.as_str())
        .bind(diagnosis.severity.as_str())
        .bind(json)
        .bind(to_micros(at))
        .bind(id);
        decode_found(
            query.fetch_optional(&self.pool).await?,
            incident_from_row,
            "incident",
            id,
        )
    }

    async fn diagnosis(&self, id: IncidentId) -> Result<Option<Diagnosis>> {
        let row = sqlx::query("SELECT diagnosis FROM incidents WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        decode_found(row, |row| diagnosis_from_row(row, id), "incident", id)
    }

    async fn append_timeline(&self, entry: &TimelineEntry) -> Result<TimelineEntry> {
        sqlx::query(concat!(
            "INSERT INTO timeline (incident_id, at, kind, message, data) VALUES (?, ?, ?, ?, ?) \
             RETURNING ",
            timeline_columns!()
        ))
        .bind(entry.incident_id)
        .bind(to_micros(entry.at))
        .bind(entry.kind.as_str())
        .bind(&entry.message)
        .bind(entry.data.to_string())
        .fetch_one(&self.pool)
        .await
        .map_err(|error| timeline_error(error, entry))
        .and_then(|row| timeline_from_row(&row))
    }

    async fn timeline(&self, incident_id: IncidentId) -> Result<Vec<TimelineEntry>> {
        let sql = concat!(
            "SELECT ",
            timeline_columns!(),
            " FROM timeline WHERE incident_id = ? ORDER BY at, id"
        );
        select_all(&self.pool, sql, incident_id, timeline_from_row).await
    }

    async fn record_intent(&self, action: &ActionRecord) -> Result<ActionRecord> {
        sqlx::query(concat!(
            "INSERT INTO actions (incident_id, target, remedy, kind, state, step, dry_run, \
             output, error, intended_at) VALUES (?, ?, ?, ?, 'intended', ?, ?, ?, ?, ?) \
             RETURNING ",
            action_columns!()
        ))
        .bind(action.incident_id)
        .bind(&action.target)
        .bind(&action.remedy)
        .bind(&action.kind)
        .bind(i64::from(action.step))
        .bind(action.dry_run)
        .bind(action.output.as_deref())
        .bind(action.error.as_deref())
        .bind(to_micros(action.intended_at))
        .fetch_one(&self.pool)
        .await
        .map_err(|error| intent_error(error, action))
        .and_then(|row| action_from_row(&row))
    }

    async fn mark_running(&self, id: ActionId, at: DateTime<Utc>) -> Result<ActionRecord> {
        let query = sqlx::query(concat!(
            "UPDATE actions SET state = 'running', started_at = ? \
             WHERE id = ? AND state = 'intended' RETURNING ",
            action_columns!()
        ))
        .bind(to_micros(at))
        .bind(id);
        let updated = decode_optional(query.fetch_optional(&self.pool).await?, action_from_row)?;
        updated_or_refused(self, updated, id, ActionState::Running).await
    }

    async fn finish_action(
        &self,
        id: ActionId,
        state: ActionState,
        output: Option<&str>,
        error: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<ActionRecord> {
        if !state.is_finished() {
            return Err(action_refusal(self, id, state).await);
        }
        let query = sqlx::query(concat!(
            "UPDATE actions SET state = ?, output = COALESCE(?, output), \
             error = COALESCE(?, error), finished_at = ? \
             WHERE id = ? AND state IN ('intended', 'running') RETURNING ",
            action_columns!()
        ))
        .bind(state.as_str())
        .bind(output)
        .bind(error)
        .bind(to_micros(at))
        .bind(id);
        let updated = decode_optional(query.fetch_optional(&self.pool).await?, action_from_row)?;
        updated_or_refused(self, updated, id, state).await
    }

    async fn set_verified(&self, id: ActionId, verified: bool) -> Result<ActionRecord> {
        let query = sqlx::query(concat!(
            "UPDATE actions SET verified = ? WHERE id = ? AND state = 'succeeded' RETURNING ",
            action_columns!()
        ))
        .bind(verified)
        .bind(id);
        let updated = decode_optional(query.fetch_optional(&self.pool).await?, action_from_row)?;
        updated_or_refused(self, updated, id, ActionState::Succeeded).await
    }

    async fn action(&self, id: ActionId) -> Result<ActionRecord> {
        let sql = concat!("SELECT ", action_columns!(), " FROM actions WHERE id = ?");
        select_found(&self.pool, sql, "action", id, action_from_row).await
    }

    async fn actions(&self, incident_id: IncidentId) -> Result<Vec<ActionRecord>> {
        let sql = concat!(
            "SELECT ",
            action_columns!(),
            " FROM actions WHERE incident_id = ? ORDER BY id"
        );
        select_all(&self.pool, sql, incident_id, action_from_row).await
    }

    async fn actions_in_doubt(&self) -> Result<Vec<ActionRecord>> {
        let rows = sqlx::query(SELECT_ACTIONS_IN_DOUBT)
            .fetch_all(&self.pool)
            .await?;
        decode_all(rows, action_from_row)
    }

    async fn save_lifecycle(
        &self,
        incident_id: IncidentId,
        state: &serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO incident_lifecycle (incident_id, state, updated_at) VALUES (?, ?, ?) \
             ON CONFLICT (incident_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
        )
        .bind(incident_id)
        .bind(state.to_string())
        .bind(to_micros(at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn lifecycle(&self, incident_id: IncidentId) -> Result<Option<serde_json::Value>> {
        let row = sqlx::query("SELECT state FROM incident_lifecycle WHERE incident_id = ?")
            .bind(incident_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| row.json("lifecycle", &format!("incident {incident_id}"), "state"))
            .transpose()
    }

    async fn count_actions_since(&self, target: Option<&str>, since: DateTime<Utc>) -> Result<u64> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM actions WHERE intended_at >= ?1 AND (?2 IS NULL OR target = ?2) \
             AND dry_run = 0 AND state <> 'skipped'",
        )
        .bind(to_micros(since))
        .bind(target)
        .fetch_one(&self.pool)
        .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn record_outcome(
        &self,
        fingerprint: &str,
        remedy: &str,
        success: bool,
        recover_ms: Option<u64>,
    ) -> Result<RemedyStats> {
        let query = sqlx::query(concat!(
            "INSERT INTO remedy_stats (fingerprint, remedy, attempts, successes, total_recover_ms) \
             VALUES (?, ?, 1, ?, ?) ON CONFLICT (fingerprint, remedy) DO UPDATE SET \
             attempts = remedy_stats.attempts + 1, \
             successes = remedy_stats.successes + excluded.successes, \
             total_recover_ms = remedy_stats.total_recover_ms + excluded.total_recover_ms \
             RETURNING ",
            stats_columns!()
        ))
        .bind(fingerprint)
        .bind(remedy)
        .bind(i64::from(success))
        .bind(outcome_recover_ms(success, recover_ms));
        stats_from_row(&query.fetch_one(&self.pool).await?)
    }

    async fn record_resolution(
        &self,
        incident: IncidentId,
        fingerprint: &str,
        remedy: &str,
        recover_ms: u64,
    ) -> Result<RemedyStats> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let credited =
            sqlx::query("UPDATE incidents SET resolved_by = ?, resolved_by_ms = ? WHERE id = ?")
                .bind(remedy)
                .bind(counter_to_db(recover_ms))
                .bind(incident)
                .execute(&mut *tx)
                .await?;
        if credited.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                what: "incident",
                id: incident,
            });
        }
        let query = sqlx::query(concat!(
            "INSERT INTO remedy_stats (fingerprint, remedy, attempts, successes, total_recover_ms) \
             VALUES (?, ?, 1, 1, ?) ON CONFLICT (fingerprint, remedy) DO UPDATE SET \
             attempts = remedy_stats.attempts + 1, successes = remedy_stats.successes + 1, \
             total_recover_ms = remedy_stats.total_recover_ms + excluded.total_recover_ms \
             RETURNING ",
            stats_columns!()
        ))
        .bind(fingerprint)
        .bind(remedy)
        .bind(counter_to_db(recover_ms));
        let stats = stats_from_row(&query.fetch_one(&mut *tx).await?)?;
        tx.commit().await?;
        Ok(stats)
    }

    async fn revoke_reopened_success(
        &self,
        incident: &Incident,
        since: DateTime<Utc>,
    ) -> Result<Option<Reopened>> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        // Only the pair's previous incident counts, whatever its end.
        let previous = sqlx::query(
            "SELECT id, resolved_by, resolved_by_ms FROM incidents WHERE id = (SELECT MAX(id) \
             FROM incidents WHERE target = ? AND fingerprint = ? AND id < ?) \
             AND status = 'resolved' AND closed_at >= ? AND resolved_by IS NOT NULL",
        )
        .bind(&incident.target)
        .bind(&incident.fingerprint)
        .bind(incident.id)
        .bind(to_micros(since))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(previous) = previous else {
            return Ok(None);
        };
        let id: i64 = previous.try_get("id")?;
        let remedy: String = previous.try_get("resolved_by")?;
        let credited_ms: Option<i64> = previous.try_get("resolved_by_ms")?;
        sqlx::query("UPDATE incidents SET resolved_by = NULL, resolved_by_ms = NULL WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let stats = sqlx::query(concat!(
            "UPDATE remedy_stats SET successes = successes - 1, \
             total_recover_ms = MAX(total_recover_ms - ?, 0) \
             WHERE fingerprint = ? AND remedy = ? AND successes > 0 RETURNING ",
            stats_columns!()
        ))
        .bind(credited_ms.unwrap_or(0))
        .bind(&incident.fingerprint)
        .bind(&remedy)
        .fetch_optional(&mut *tx)
        .await?;
        let stats = decode_optional(stats, stats_from_row)?;
        tx.commit().await?;
        Ok(Some(Reopened {
            previous: id,
            remedy,
            stats,
        }))
    }

    async fn resolved_incidents(&self, limit: u32) -> Result<Vec<PastIncident>> {
        let rows = sqlx::query(
            "SELECT id, target, fingerprint, diagnosis, resolved_by FROM incidents \
             WHERE status = 'resolved' AND diagnosis IS NOT NULL ORDER BY id DESC LIMIT ?",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        decode_all(rows, past_incident_from_row)
    }

    async fn remedy_stats(&self, fingerprint: &str) -> Result<Vec<RemedyStats>> {
        let sql = concat!(
            "SELECT ",
            stats_columns!(),
            " FROM remedy_stats WHERE fingerprint = ? ORDER BY remedy"
        );
        select_all(&self.pool, sql, fingerprint, stats_from_row).await
    }

    async fn all_remedy_stats(&self) -> Result<Vec<RemedyStats>> {
        let rows = sqlx::query(SELECT_ALL_REMEDY_STATS)
            .fetch_all(&self.pool)
            .await?;
        decode_all(rows, stats_from_row)
    }

    async fn import_remedy_stats(&self, stats: &[RemedyStats]) -> Result<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        for entry in stats {
            sqlx::query(
                "INSERT INTO remedy_stats (fingerprint, remedy, attempts, successes, \
                 total_recover_ms) VALUES (?, ?, ?, ?, ?) ON CONFLICT (fingerprint, remedy) \
                 DO UPDATE SET attempts = excluded.attempts, successes = excluded.successes, \
                 total_recover_ms = excluded.total_recover_ms",
            )
            .bind(&entry.fingerprint)
            .bind(&entry.remedy)
            .bind(counter_to_db(entry.attempts))
            .bind(counter_to_db(entry.successes))
            .bind(counter_to_db(entry.total_recover_ms))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn fingerprint_version(&self) -> Result<u32> {
        let row = sqlx::query(SELECT_FINGERPRINT_VERSION)
            .fetch_one(&self.pool)
            .await?;
        let version: Option<i64> = row.try_get("version")?;
        Ok(version.and_then(|v| u32::try_from(v).ok()).unwrap_or(1))
    }

    async fn diagnosed_fingerprints(&self) -> Result<Vec<(String, Diagnosis)>> {
        let rows = sqlx::query(SELECT_DIAGNOSED_FINGERPRINTS)
            .fetch_all(&self.pool)
            .await?;
        decode_all(rows, diagnosed_fingerprint_from_row)
    }

    async fn rename_fingerprints(&self, renames: &[(String, String)], version: u32) -> Result<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        for (old, new) in renames.iter().filter(|(old, new)| old != new) {
            // A live incident keeps its name when its target already has a
            // live one under the new name: the unique index forbids two.
            sqlx::query(concat!(
                "UPDATE incidents SET fingerprint = ?1 WHERE fingerprint = ?2 AND NOT (",
                live!(),
                " AND EXISTS (SELECT 1 FROM incidents other WHERE other.target = incidents.target \
                 AND other.fingerprint = ?1 AND other.",
                live!(),
                "))"
            ))
            .bind(new)
            .bind(old)
            .execute(&mut *tx)
            .await?;
            // Learned counts move to the new name, added to any it has.
            sqlx::query(
                "INSERT INTO remedy_stats (fingerprint, remedy, attempts, successes, total_recover_ms) \
                 SELECT ?1, remedy, attempts, successes, total_recover_ms FROM remedy_stats \
                 WHERE fingerprint = ?2 ON CONFLICT (fingerprint, remedy) DO UPDATE SET \
                 attempts = remedy_stats.attempts + excluded.attempts, \
                 successes = remedy_stats.successes + excluded.successes, \
                 total_recover_ms = remedy_stats.total_recover_ms + excluded.total_recover_ms",
            )
            .bind(new)
            .bind(old)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM remedy_stats WHERE fingerprint = ?1")
                .bind(old)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE fingerprint_version SET version = ?1")
            .bind(i64::from(version))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn recent_actions(&self, target: Option<&str>, limit: u32) -> Result<Vec<ActionRecord>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            action_columns!(),
            " FROM actions WHERE (?1 IS NULL OR target = ?1) AND finished_at IS NOT NULL \
             AND dry_run = 0 AND state <> 'skipped' ORDER BY id DESC LIMIT ?2"
        ))
        .bind(target)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        decode_all(rows, action_from_row)
    }

    async fn acknowledge(&self, id: IncidentId, by: &str, at: DateTime<Utc>) -> Result<Incident> {
        let query = sqlx::query(concat!(
            "UPDATE incidents SET acknowledged_by = COALESCE(acknowledged_by, ?), \
             acknowledged_at = COALESCE(acknowledged_at, ?), updated_at = ? WHERE id = ? RETURNING ",
            incident_columns!()
        ))
        .bind(by)
        .bind(to_micros(at))
        .bind(to_micros(at))
        .bind(id);
        decode_found(
            query.fetch_optional(&self.pool).await?,
            incident_from_row,
            "incident",
            id,
        )
    }

    async fn request_approval(&self, approval: &Approval) -> Result<Approval> {
        sqlx::query(concat!(
            "INSERT INTO approvals (incident_id, action_id, target, remedy, reason, status, \
             requested_at, expires_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?) RETURNING ",
            approval_columns!()
        ))
        .bind(approval.incident_id)
        .bind(approval.action_id)
        .bind(&approval.target)
        .bind(&approval.remedy)
        .bind(&approval.reason)
        .bind(to_micros(approval.requested_at))
        .bind(to_micros(approval.expires_at))
        .fetch_one(&self.pool)
        .await
        .map_err(|error| approval_error(error, approval))
        .and_then(|row| approval_from_row(&row))
    }

    async fn approval(&self, id: ApprovalId) -> Result<Approval> {
        let sql = concat!(
            "SELECT ",
            approval_columns!(),
            " FROM approvals WHERE id = ?"
        );
        select_found(&self.pool, sql, "approval", id, approval_from_row).await
    }

    async fn approvals(&self, pending_only: bool, limit: u32) -> Result<Vec<Approval>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            approval_columns!(),
            " FROM approvals WHERE (?1 = 0 OR status = 'pending') ORDER BY id DESC LIMIT ?2"
        ))
        .bind(pending_only)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        decode_all(rows, approval_from_row)
    }

    async fn decide_approval(
        &self,
        id: ApprovalId,
        to: ApprovalStatus,
        by: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Approval> {
        let query = sqlx::query(concat!(
            "UPDATE approvals SET status = ?, decided_by = ?, decided_at = ? \
             WHERE id = ? AND status = 'pending' RETURNING ",
            approval_columns!()
        ))
        .bind(to.as_str())
        .bind(by)
        .bind(to_micros(at))
        .bind(id);
        match decode_optional(query.fetch_optional(&self.pool).await?, approval_from_row)? {
            Some(decided) => Ok(decided),
            None => Err(decision_refusal(self.approval(id).await?)),
        }
    }

    async fn save_component(
        &self,
        name: &str,
        spec: &serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query("INSERT INTO components (name, spec, created_at) VALUES (?, ?, ?)")
            .bind(name)
            .bind(spec.to_string())
            .bind(to_micros(at))
            .execute(&self.pool)
            .await
            .map_err(|error| component_error(error, name))?;
        Ok(())
    }

    async fn delete_component(&self, name: &str) -> Result<bool> {
        let deleted = sqlx::query("DELETE FROM components WHERE name = ?")
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(deleted.rows_affected() > 0)
    }

    async fn components(&self) -> Result<Vec<(String, serde_json::Value)>> {
        let rows = sqlx::query(SELECT_COMPONENTS).fetch_all(&self.pool).await?;
        decode_all(rows, component_from_row)
    }

    async fn active_endpoints(&self) -> Result<Vec<(String, String)>> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT target, endpoint FROM active_endpoints ORDER BY target")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows)
    }

    async fn set_active_endpoint(
        &self,
        target: &str,
        endpoint: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO active_endpoints (target, endpoint, changed_at) VALUES (?, ?, ?) \
             ON CONFLICT (target) DO UPDATE SET endpoint = excluded.endpoint, changed_at = excluded.changed_at",
        )
        .bind(target)
        .bind(endpoint)
        .bind(to_micros(at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn set_caused_by(&self, id: IncidentId, parent: IncidentId) -> Result<()> {
        let linked = sqlx::query("UPDATE incidents SET caused_by = ? WHERE id = ?")
            .bind(parent)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(|error| caused_by_error(error, parent))?;
        if linked.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                what: "incident",
                id,
            });
        }
        Ok(())
    }

    async fn incidents_caused_by(&self, parent: IncidentId) -> Result<Vec<IncidentId>> {
        let rows: Vec<(i64,)> =
            sqlx::query_as("SELECT id FROM incidents WHERE caused_by = ? ORDER BY id")
                .bind(parent)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    async fn open_maintenance(&self, window: &StoredWindow) -> Result<StoredWindow> {
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO maintenance_windows (name, scope, starts_at, ends_at, opened_by, opened_at) \
             VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&window.name)
        .bind(window_scope(window))
        .bind(to_micros(window.starts_at))
        .bind(to_micros(window.ends_at))
        .bind(&window.opened_by)
        .bind(to_micros(window.opened_at))
        .fetch_one(&self.pool)
        .await?;
        Ok(StoredWindow {
            id,
            starts_at: truncate_to_micros(window.starts_at),
            ends_at: truncate_to_micros(window.ends_at),
            opened_at: truncate_to_micros(window.opened_at),
            ..window.clone()
        })
    }

    async fn maintenance_windows(&self, now: DateTime<Utc>) -> Result<Vec<StoredWindow>> {
        let rows: Vec<WindowRow> = sqlx::query_as(
            "SELECT id, name, scope, starts_at, ends_at, opened_by, opened_at \
             FROM maintenance_windows WHERE ends_at > ? ORDER BY starts_at, id",
        )
        .bind(to_micros(now))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(window_from_row).collect()
    }

    async fn end_maintenance(&self, id: i64, at: DateTime<Utc>) -> Result<Option<StoredWindow>> {
        let row: Option<WindowRow> = sqlx::query_as(
            "UPDATE maintenance_windows SET ends_at = MIN(ends_at, ?) WHERE id = ? \
             RETURNING id, name, scope, starts_at, ends_at, opened_by, opened_at",
        )
        .bind(to_micros(at))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(window_from_row).transpose()
    }

    async fn monitoring_pause(&self) -> Result<Option<(String, DateTime<Utc>)>> {
        let row: Option<(String, i64)> =
            sqlx::query_as("SELECT paused_by, paused_at FROM monitoring_pause")
                .fetch_optional(&self.pool)
                .await?;
        row.map(|(by, at)| Ok((by, from_micros("monitoring_pause.paused_at", at)?)))
            .transpose()
    }

    async fn set_monitoring_pause(&self, pause: Option<(&str, DateTime<Utc>)>) -> Result<()> {
        let query = match pause {
            Some((by, at)) => sqlx::query(
                "INSERT INTO monitoring_pause (id, paused_by, paused_at) VALUES (1, ?, ?) \
                 ON CONFLICT (id) DO UPDATE SET paused_by = excluded.paused_by, paused_at = excluded.paused_at",
            )
            .bind(by)
            .bind(to_micros(at)),
            None => sqlx::query("DELETE FROM monitoring_pause"),
        };
        query.execute(&self.pool).await?;
        Ok(())
    }

    async fn record_deliveries(&self, deliveries: &[NewDelivery]) -> Result<Vec<bool>> {
        if deliveries.is_empty() {
            return Ok(Vec::new());
        }
        let insert = |chunk: &[NewDelivery]| {
            let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(INSERT_DELIVERIES);
            insert.push_values(chunk, |mut row, delivery| {
                row.push_bind(delivery.source.as_str())
                    .push_bind(delivery.key.as_str())
                    .push_bind(delivery.payload.get())
                    .push_bind(to_micros(delivery.received_at));
            });
            insert.push(DELIVERIES_ON_CONFLICT);
            insert
        };
        if deliveries.len() <= DELIVERIES_PER_STATEMENT {
            // One statement is a transaction of its own: one round trip.
            let inserted = insert(deliveries).build().fetch_all(&self.pool).await?;
            return fresh_deliveries(deliveries, &inserted);
        }
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let mut inserted = Vec::new();
        for chunk in deliveries.chunks(DELIVERIES_PER_STATEMENT) {
            inserted.extend(insert(chunk).build().fetch_all(&mut *tx).await?);
        }
        tx.commit().await?;
        fresh_deliveries(deliveries, &inserted)
    }

    async fn claim_replay(
        &self,
        key: &str,
        at: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> Result<bool> {
        sqlx::query("DELETE FROM replay_claims WHERE claimed_at < ?")
            .bind(to_micros(forget_before))
            .execute(&self.pool)
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO replay_claims (key, claimed_at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(to_micros(at))
        .execute(&self.pool)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    // Workflow runs.

    async fn start_pipeline_run(&self, run: &NewPipelineRun) -> Result<PipelineRun> {
        let at = to_micros(run.at);
        let query = sqlx::query(concat!(
            "INSERT INTO pipeline_runs (flow, flow_path, flow_digest, vars, state, next_step, \
             status, started_at, updated_at) VALUES (?, ?, ?, ?, '{}', 0, 'running', ?, ?) \
             RETURNING ",
            pipeline_run_columns!()
        ))
        .bind(&run.flow)
        .bind(&run.flow_path)
        .bind(&run.flow_digest)
        .bind(run.vars.to_string())
        .bind(at)
        .bind(at);
        pipeline_run_from_row(&query.fetch_one(&self.pool).await?)
    }

    async fn checkpoint_pipeline_run(
        &self,
        id: PipelineRunId,
        state: &serde_json::Value,
        next_step: u32,
        at: DateTime<Utc>,
    ) -> Result<PipelineRun> {
        // One statement: the state and the step index commit together.
        let query = sqlx::query(concat!(
            "UPDATE pipeline_runs SET state = ?, next_step = ?, updated_at = ? \
             WHERE id = ? AND status = 'running' RETURNING ",
            pipeline_run_columns!()
        ))
        .bind(state.to_string())
        .bind(i64::from(next_step))
        .bind(to_micros(at))
        .bind(id);
        match decode_optional(
            query.fetch_optional(&self.pool).await?,
            pipeline_run_from_row,
        )? {
            Some(run) => Ok(run),
            None => Err(pipeline_run_refusal(self.pipeline_run(id).await)),
        }
    }

    async fn pipeline_run(&self, id: PipelineRunId) -> Result<PipelineRun> {
        let sql = concat!(
            "SELECT ",
            pipeline_run_columns!(),
            " FROM pipeline_runs WHERE id = ?"
        );
        select_found(&self.pool, sql, "pipeline run", id, pipeline_run_from_row).await
    }

    async fn finish_pipeline_run(
        &self,
        id: PipelineRunId,
        status: PipelineRunStatus,
        reason: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<PipelineRun> {
        if !status.is_finished() {
            return Err(StoreError::NotAnEndStatus(status));
        }
        let query = sqlx::query(concat!(
            "UPDATE pipeline_runs SET status = ?, reason = ?, updated_at = ?, finished_at = ? \
             WHERE id = ? AND status = 'running' RETURNING ",
            pipeline_run_columns!()
        ))
        .bind(status.as_str())
        .bind(reason)
        .bind(to_micros(at))
        .bind(to_micros(at))
        .bind(id);
        match decode_optional(
            query.fetch_optional(&self.pool).await?,
            pipeline_run_from_row,
        )? {
            Some(run) => Ok(run),
            None => Err(pipeline_run_refusal(self.pipeline_run(id).await)),
        }
    }
}

/// A `maintenance_windows` row as SQLite keeps it.
type WindowRow = (i64, String, String, i64, i64, String, i64);

fn window_from_row(
    (id, name, scope, starts_at, ends_at, opened_by, opened_at): WindowRow,
) -> Result<StoredWindow> {
    let time = |what, micros| from_micros(what, micros);
    window_from_columns(
        id,
        name,
        &scope,
        (
            time("maintenance_windows.starts_at", starts_at)?,
            time("maintenance_windows.ends_at", ends_at)?,
        ),
        opened_by,
        time("maintenance_windows.opened_at", opened_at)?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::parse_enum;

    #[tokio::test]
    async fn connections_use_the_durable_settings() {
        let path = std::env::temp_dir().join(format!(
            "medic-store-pragmas-{}-{}.db",
            std::process::id(),
            Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        let store = SqliteStore::open(&path).await.expect("open");
        let mut conn = store.pool().acquire().await.expect("connection");
        let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut *conn)
            .await
            .expect("journal_mode");
        let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&mut *conn)
            .await
            .expect("synchronous");
        let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&mut *conn)
            .await
            .expect("foreign_keys");
        let busy_timeout: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
            .fetch_one(&mut *conn)
            .await
            .expect("busy_timeout");
        drop(conn);
        store.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        assert_eq!(journal, "wal");
        assert_eq!(synchronous, 2, "FULL");
        assert_eq!(foreign_keys, 1);
        assert_eq!(busy_timeout, 5_000);
    }

    #[tokio::test]
    async fn a_url_without_a_file_is_refused() {
        let error = SqliteStore::connect("sqlite://")
            .await
            .expect_err("no file");
        assert!(matches!(error, StoreError::BadUrl(_)), "{error}");
    }

    #[tokio::test]
    async fn sql_state_literals_are_model_states() {
        // Guards the SQL literals 'intended' / 'running' / 'skipped' against renames.
        for text in ["intended", "running", "skipped"] {
            parse_enum::<ActionState>("action state", "test", text).expect("known state");
        }
    }
}
