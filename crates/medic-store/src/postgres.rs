//! The PostgreSQL backend.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use medic_model::{
    ActionId, ActionRecord, ActionState, Approval, ApprovalId, ApprovalStatus, Diagnosis, Incident,
    IncidentId, IncidentStatus, NewPipelineRun, PipelineRun, PipelineRunId, PipelineRunStatus,
    RemedyStats, TimelineEntry,
};
use sqlx::Postgres;
use sqlx::Row;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::query::Query;
use sqlx::types::Json;

use crate::codec::{
    BackendRow, DELIVERIES_ON_CONFLICT, DELIVERIES_PER_STATEMENT, INSERT_DELIVERIES,
    SELECT_ACTIONS_IN_DOUBT, SELECT_ALL_REMEDY_STATS, SELECT_COMPONENTS,
    SELECT_DIAGNOSED_FINGERPRINTS, SELECT_FINGERPRINT_VERSION, SELECT_OPEN_INCIDENTS,
    action_columns, action_from_row, approval_columns, approval_from_row, component_from_row,
    counter_to_db, decode_all, decode_found, decode_optional, diagnosed_fingerprint_from_row,
    diagnosis_from_row, diagnosis_to_json, fresh_deliveries, incident_columns, incident_from_row,
    live, outcome_recover_ms, past_incident_from_row, pipeline_run_columns, pipeline_run_from_row,
    stats_columns, stats_from_row, time_to_recover_ms, timeline_columns, timeline_from_row,
    truncate_to_micros, window_from_columns, window_scope,
};
use crate::error::{
    action_refusal, approval_error, caused_by_error, component_error, decision_refusal,
    intent_error, pipeline_run_refusal, timeline_error, updated_or_refused,
};
use crate::{
    Fence, IncidentFilter, Lease, NewDelivery, NewIncident, PastIncident, Reopened, Replica,
    Result, Store, StoreError, StoredWindow,
};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// Connections per store; the agent's writes are small and short.
const POOL_SIZE: u32 = 8;

/// How long connecting may take before the cause is reported.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The store in a PostgreSQL database.
///
/// Tables live in the first schema of the connection's `search_path`, so
/// several stores can share a database:
/// `postgres://medic@db/medic?options=-c%20search_path%3Dmedic_prod`.
/// Commits are durable as the server is configured (`synchronous_commit = on`
/// by default). Status changes lock the incident row (`SELECT … FOR UPDATE`)
/// between the lifecycle check and the write.
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), medic_store::StoreError> {
/// use medic_store::{PgStore, Store};
/// let store = PgStore::connect("postgres://medic@127.0.0.1:5432/medic").await?;
/// assert_eq!(store.backend(), "postgres");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// Behind a pooler in transaction mode (`pool_mode=transaction` in the
    /// URL): see [`RunOn`].
    transaction_pooled: bool,
}

impl PgStore {
    /// Connects to `postgres://…` or `postgresql://…` and migrates the schema.
    ///
    /// `pool_mode=transaction` among the URL's parameters says the URL is a
    /// PgBouncer in transaction pooling mode: every statement then runs
    /// unnamed inside a transaction of its own, and migrations hold a
    /// transaction-level advisory lock instead of a session one.
    pub async fn connect(url: &str) -> Result<Self> {
        let (url, transaction_pooled) = pool_mode(url)?;
        let options = PgConnectOptions::from_str(&url)
            .map_err(|error| StoreError::BadUrl(format!("invalid PostgreSQL URL: {error}")))?;
        if transaction_pooled {
            Self::connect_pooled(options).await
        } else {
            Self::connect_with(options).await
        }
    }

    /// Connects with explicit options and migrates the schema.
    pub async fn connect_with(options: PgConnectOptions) -> Result<Self> {
        first_contact(&options).await?;
        let pool = pool(options).await?;
        MIGRATOR.run(&pool).await.map_err(StoreError::Migration)?;
        tracing::debug!("postgres store ready");
        Ok(Self {
            pool,
            transaction_pooled: false,
        })
    }

    /// Connects through a pooler in transaction mode and migrates the schema.
    pub async fn connect_pooled(options: PgConnectOptions) -> Result<Self> {
        first_contact(&options).await?;
        migrate_in_one_transaction(&options).await?;
        tracing::debug!("postgres store ready (transaction pooling)");
        Ok(Self {
            pool: pool(options).await?,
            transaction_pooled: true,
        })
    }

    /// Connects in a read-only session (`default_transaction_read_only`),
    /// never migrating (`medic check`), and reads which migrations the
    /// schema has.
    pub async fn connect_read_only(url: &str) -> Result<(Self, crate::SchemaVersion)> {
        let (url, transaction_pooled) = pool_mode(url)?;
        let options = PgConnectOptions::from_str(&url)
            .map_err(|error| StoreError::BadUrl(format!("invalid PostgreSQL URL: {error}")))?;
        // PgBouncer refuses startup `options`: through it the session is not
        // made read-only (`medic check` only reads either way).
        let options = if transaction_pooled {
            options
        } else {
            options.options([("default_transaction_read_only", "on")])
        };
        first_contact(&options).await?;
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_with(options)
            .await?;
        let store = Self {
            pool,
            transaction_pooled,
        };
        let has_table: bool =
            sqlx::query("SELECT to_regclass('_sqlx_migrations') IS NOT NULL AS has")
                .fetch_one_on(&store)
                .await?
                .try_get("has")?;
        let applied: Option<i64> = if has_table {
            sqlx::query("SELECT MAX(version) AS applied FROM _sqlx_migrations WHERE success")
                .fetch_one_on(&store)
                .await?
                .try_get("applied")?
        } else {
            None
        };
        let schema = crate::SchemaVersion::new(applied, &MIGRATOR);
        Ok((store, schema))
    }

    /// The connection pool, for tools and tests. Writes through it bypass the
    /// store's checks.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

async fn pool(options: PgConnectOptions) -> Result<PgPool> {
    Ok(PgPoolOptions::new()
        .max_connections(POOL_SIZE)
        .acquire_timeout(CONNECT_TIMEOUT)
        .connect_with(options)
        .await?)
}

/// Splits medic's own `pool_mode` parameter off a PostgreSQL URL: whether
/// the URL is a pooler in transaction mode (`pool_mode=transaction`) or a
/// server or session pooler (`pool_mode=session`, or none).
fn pool_mode(url: &str) -> Result<(String, bool)> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), false));
    };
    let mut transaction = false;
    let mut kept = Vec::new();
    for pair in query.split('&') {
        match pair.strip_prefix("pool_mode=") {
            Some("transaction") => transaction = true,
            Some("session") => transaction = false,
            Some(other) => {
                return Err(StoreError::BadUrl(format!(
                    "pool_mode={other:?} in the PostgreSQL URL: expected transaction or session"
                )));
            }
            None => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, transaction))
}

/// Migrations through a transaction pooler: one connection, one
/// transaction, a transaction-level advisory lock (a session lock would be
/// held by whichever server the pooler picked, and never released). The
/// migrator prepares named statements; they are deallocated before the
/// transaction ends, so the server goes back to the pool without them.
async fn migrate_in_one_transaction(options: &PgConnectOptions) -> Result<()> {
    use sqlx::Connection as _;
    let mut connection = sqlx::PgConnection::connect_with(options).await?;
    let mut tx = connection.begin().await?;
    sqlx::raw_sql("DEALLOCATE ALL; SELECT pg_advisory_xact_lock(7256047213874115170)")
        .execute(&mut *tx)
        .await?;
    let mut migrator = sqlx::migrate!("./migrations/postgres");
    migrator.set_locking(false);
    migrator
        .run(&mut *tx)
        .await
        .map_err(StoreError::Migration)?;
    sqlx::raw_sql("DEALLOCATE ALL").execute(&mut *tx).await?;
    tx.commit().await?;
    let _ = connection.close().await;
    Ok(())
}

/// How every statement runs, so one code path works on a direct connection
/// and behind PgBouncer in transaction pooling mode. Through such a pooler
/// consecutive round trips may reach different servers; sqlx parses a
/// statement in one round trip and runs it in the next. So there each
/// statement is unnamed (no server keeps it) and runs in a transaction of
/// its own (the pooler keeps one server for a transaction). Directly, the
/// statements are named and cached per connection, as sqlx does by default.
trait RunOn: Sized {
    /// Named unless the store is transaction-pooled; for statements run in
    /// a transaction the caller holds.
    fn unnamed_if_pooled(self, store: &PgStore) -> Self;
    async fn fetch_all_on(self, store: &PgStore) -> sqlx::Result<Vec<PgRow>>;
    async fn fetch_optional_on(self, store: &PgStore) -> sqlx::Result<Option<PgRow>>;
    async fn fetch_one_on(self, store: &PgStore) -> sqlx::Result<PgRow> {
        self.fetch_optional_on(store)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }
    async fn execute_on(self, store: &PgStore) -> sqlx::Result<sqlx::postgres::PgQueryResult>;
}

impl RunOn for Query<'_, Postgres, PgArguments> {
    fn unnamed_if_pooled(self, store: &PgStore) -> Self {
        self.persistent(!store.transaction_pooled)
    }

    async fn fetch_all_on(self, store: &PgStore) -> sqlx::Result<Vec<PgRow>> {
        if !store.transaction_pooled {
            return self.fetch_all(&store.pool).await;
        }
        let mut tx = store.pool.begin().await?;
        let rows = self.persistent(false).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        Ok(rows)
    }

    async fn fetch_optional_on(self, store: &PgStore) -> sqlx::Result<Option<PgRow>> {
        if !store.transaction_pooled {
            return self.fetch_optional(&store.pool).await;
        }
        let mut tx = store.pool.begin().await?;
        let row = self.persistent(false).fetch_optional(&mut *tx).await?;
        tx.commit().await?;
        Ok(row)
    }

    async fn execute_on(self, store: &PgStore) -> sqlx::Result<sqlx::postgres::PgQueryResult> {
        if !store.transaction_pooled {
            return self.execute(&store.pool).await;
        }
        let mut tx = store.pool.begin().await?;
        let done = self.persistent(false).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(done)
    }
}

impl PgStore {
    /// Every row `sql` selects by `key`, decoded.
    async fn select_all<K, T>(
        &self,
        sql: &'static str,
        key: K,
        decode: fn(&PgRow) -> Result<T>,
    ) -> Result<Vec<T>>
    where
        K: for<'k> sqlx::Encode<'k, Postgres> + sqlx::Type<Postgres> + Send,
    {
        decode_all(sqlx::query(sql).bind(key).fetch_all_on(self).await?, decode)
    }

    /// The row `sql` selects by `id`, decoded; no row is [`StoreError::NotFound`].
    async fn select_found<T>(
        &self,
        sql: &'static str,
        what: &'static str,
        id: i64,
        decode: fn(&PgRow) -> Result<T>,
    ) -> Result<T> {
        let row = sqlx::query(sql).bind(id).fetch_optional_on(self).await?;
        decode_found(row, decode, what, id)
    }
}

/// One connection attempt, so a wrong host, port, role or password is
/// reported with its cause within [`CONNECT_TIMEOUT`]: the pool retries a
/// refused connection until its own timeout and then says only that it
/// timed out.
async fn first_contact(options: &PgConnectOptions) -> Result<()> {
    use sqlx::Connection as _;
    match tokio::time::timeout(CONNECT_TIMEOUT, sqlx::PgConnection::connect_with(options)).await {
        Ok(Ok(connection)) => {
            let _ = connection.close().await;
            Ok(())
        }
        Ok(Err(error)) => Err(StoreError::Database(error)),
        Err(_) => Err(StoreError::Database(sqlx::Error::PoolTimedOut)),
    }
}

/// Times are TIMESTAMPTZ and JSON is JSONB, both decoded by sqlx.
impl BackendRow for PgRow {
    fn time(&self, _what: &'static str, column: &str) -> Result<DateTime<Utc>> {
        Ok(self.try_get(column)?)
    }

    fn opt_time(&self, _what: &'static str, column: &str) -> Result<Option<DateTime<Utc>>> {
        Ok(self.try_get(column)?)
    }

    fn json(&self, _what: &'static str, _row: &str, column: &str) -> Result<serde_json::Value> {
        let Json(value): Json<serde_json::Value> = self.try_get(column)?;
        Ok(value)
    }

    fn opt_json(
        &self,
        _what: &'static str,
        _row: &str,
        column: &str,
    ) -> Result<Option<serde_json::Value>> {
        let value: Option<Json<serde_json::Value>> = self.try_get(column)?;
        Ok(value.map(|Json(value)| value))
    }
}

#[async_trait::async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute_on(self).await?;
        Ok(())
    }

    async fn open_or_join_incident(&self, new: &NewIncident) -> Result<(Incident, bool)> {
        let at = truncate_to_micros(new.at);
        // Select first (joining is the common case), then insert unless the
        // partial unique index says a live one exists (the insert waits for a
        // concurrent inserter to commit), then select again. A live incident
        // can end between the two; a few rounds settle it.
        for _ in 0..3 {
            let live = sqlx::query(concat!(
                "SELECT ",
                incident_columns!(),
                " FROM incidents WHERE target = $1 AND fingerprint = $2 AND ",
                live!()
            ))
            .bind(&new.target)
            .bind(&new.fingerprint);
            if let Some(incident) =
                decode_optional(live.fetch_optional_on(self).await?, incident_from_row)?
            {
                return Ok((incident, false));
            }
            let insert = sqlx::query(concat!(
                "INSERT INTO incidents (target, fingerprint, status, title, category, severity, \
                 opened_at, updated_at) VALUES ($1, $2, 'open', $3, $4, $5, $6, $6) \
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
            .bind(at);
            if let Some(incident) =
                decode_optional(insert.fetch_optional_on(self).await?, incident_from_row)?
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
        let sql = concat!(
            "SELECT ",
            incident_columns!(),
            " FROM incidents WHERE id = $1"
        );
        self.select_found(sql, "incident", id, incident_from_row)
            .await
    }

    async fn list_incidents(&self, filter: &IncidentFilter) -> Result<Vec<Incident>> {
        let status = filter.status.map(|status| status.as_str());
        let query = sqlx::query(concat!(
            "SELECT ",
            incident_columns!(),
            " FROM incidents WHERE ($1::text IS NULL OR status = $1) \
             AND ($2::text IS NULL OR target = $2) AND ($3::bigint IS NULL OR id < $3) \
             ORDER BY id DESC LIMIT $4"
        ))
        .bind(status)
        .bind(filter.target.as_deref())
        .bind(filter.before_id)
        .bind(i64::from(filter.effective_limit()));
        decode_all(query.fetch_all_on(self).await?, incident_from_row)
    }

    async fn open_incidents(&self) -> Result<Vec<Incident>> {
        let rows = sqlx::query(SELECT_OPEN_INCIDENTS)
            .fetch_all_on(self)
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
        let mut tx = self.pool.begin().await?;
        let lock = sqlx::query(concat!(
            "SELECT ",
            incident_columns!(),
            " FROM incidents WHERE id = $1 FOR UPDATE"
        ))
        .bind(id);
        let current = decode_found(
            lock.unnamed_if_pooled(self)
                .fetch_optional(&mut *tx)
                .await?,
            incident_from_row,
            "incident",
            id,
        )?;
        current.status.transition(to)?;
        let closed_at = to.is_terminal().then_some(at);
        let ttr =
            (to == IncidentStatus::Resolved).then(|| time_to_recover_ms(current.opened_at, at));
        let query = sqlx::query(concat!(
            "UPDATE incidents SET status = $1, updated_at = $2, \
             closed_at = COALESCE($3, closed_at), \
             time_to_recover_ms = COALESCE($4, time_to_recover_ms) \
             WHERE id = $5 RETURNING ",
            incident_columns!()
        ))
        .bind(to.as_str())
        .bind(at)
        .bind(closed_at)
        .bind(ttr)
        .bind(id);
        let incident =
            incident_from_row(&query.unnamed_if_pooled(self).fetch_one(&mut *tx).await?)?;
        tx.commit().await?;
        Ok(incident)
    }

    async fn set_diagnosis(
        &self,
        id: IncidentId,
        diagnosis: &Diagnosis,
        at: DateTime<Utc>,
    ) -> Result<Incident> {
        let json = diagnosis_to_json(diagnosis)?;
        let query = sqlx::query(concat!(
            "UPDATE incidents SET category = $1, severity = $2, diagnosis = $3, updated_at = $4 \
             WHERE id = $5 RETURNING ",
            incident_columns!()
        ))
        .bind(diagnosis.category.as_str())
        .bind(diagnosis.severity.as_str())
        .bind(Json(json))
        .bind(truncate_to_micros(at))
        .bind(id);
        decode_found(
            query.fetch_optional_on(self).await?,
            incident_from_row,
            "incident",
            id,
        )
    }

    async fn diagnosis(&self, id: IncidentId) -> Result<Option<Diagnosis>> {
        let row = sqlx::query("SELECT diagnosis FROM incidents WHERE id = $1")
            .bind(id)
            .fetch_optional_on(self)
            .await?;
        decode_found(row, |row| diagnosis_from_row(row, id), "incident", id)
    }

    async fn append_timeline(&self, entry: &TimelineEntry) -> Result<TimelineEntry> {
        sqlx::query(concat!(
            "INSERT INTO timeline (incident_id, at, kind, message, data) \
             VALUES ($1, $2, $3, $4, $5) RETURNING ",
            timeline_columns!()
        ))
        .bind(entry.incident_id)
        .bind(truncate_to_micros(entry.at))
        .bind(entry.kind.as_str())
        .bind(&entry.message)
        .bind(Json(&entry.data))
        .fetch_one_on(self)
        .await
        .map_err(|error| timeline_error(error, entry))
        .and_then(|row| timeline_from_row(&row))
    }

    async fn timeline(&self, incident_id: IncidentId) -> Result<Vec<TimelineEntry>> {
        let sql = concat!(
            "SELECT ",
            timeline_columns!(),
            " FROM timeline WHERE incident_id = $1 ORDER BY at, id"
        );
        self.select_all(sql, incident_id, timeline_from_row).await
    }

    async fn record_intent(&self, action: &ActionRecord) -> Result<ActionRecord> {
        self.insert_intent(action, None).await
    }

    async fn record_intent_fenced(
        &self,
        action: &ActionRecord,
        fence: Option<&Fence>,
    ) -> Result<ActionRecord> {
        self.insert_intent(action, fence).await
    }

    async fn mark_running_fenced(
        &self,
        id: ActionId,
        at: DateTime<Utc>,
        fence: Option<&Fence>,
    ) -> Result<ActionRecord> {
        let Some(fence) = fence else {
            return self.mark_running(id, at).await;
        };
        let query = sqlx::query(concat!(
            "UPDATE actions SET state = 'running', started_at = $1 \
             WHERE id = $2 AND state = 'intended' AND EXISTS (SELECT 1 FROM leases l \
             WHERE l.target = actions.target AND l.owner = $3 AND l.epoch = $4 \
             AND l.expires_at > now()) RETURNING ",
            action_columns!()
        ))
        .bind(truncate_to_micros(at))
        .bind(id)
        .bind(&fence.owner)
        .bind(fence.epoch);
        let updated = decode_optional(query.fetch_optional_on(self).await?, action_from_row)?;
        if updated.is_none() {
            let lost = sqlx::query(
                "SELECT a.target FROM actions a WHERE a.id = $1 AND NOT EXISTS \
                 (SELECT 1 FROM leases l WHERE l.target = a.target AND l.owner = $2 \
                 AND l.epoch = $3 AND l.expires_at > now())",
            )
            .bind(id)
            .bind(&fence.owner)
            .bind(fence.epoch)
            .fetch_optional_on(self)
            .await?;
            if let Some(row) = lost {
                return Err(StoreError::LeaseLost {
                    target: row.try_get("target")?,
                });
            }
        }
        updated_or_refused(self, updated, id, ActionState::Running).await
    }

    async fn save_lifecycle_fenced(
        &self,
        incident_id: IncidentId,
        state: &serde_json::Value,
        at: DateTime<Utc>,
        fence: Option<&Fence>,
    ) -> Result<()> {
        let Some(fence) = fence else {
            return self.save_lifecycle(incident_id, state, at).await;
        };
        let written = sqlx::query(
            "INSERT INTO incident_lifecycle (incident_id, state, updated_at) \
             SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM leases l JOIN incidents i \
             ON i.target = l.target WHERE i.id = $1 AND l.owner = $4 AND l.epoch = $5 \
             AND l.expires_at > now()) \
             ON CONFLICT (incident_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
        )
        .bind(incident_id)
        .bind(Json(state))
        .bind(at)
        .bind(&fence.owner)
        .bind(fence.epoch)
        .execute_on(self)
        .await?
        .rows_affected();
        if written == 0 {
            let row = sqlx::query("SELECT target FROM incidents WHERE id = $1")
                .bind(incident_id)
                .fetch_optional_on(self)
                .await?;
            let target: Option<String> = row.map(|row| row.try_get("target")).transpose()?;
            return Err(StoreError::LeaseLost {
                target: target.unwrap_or_else(|| format!("of incident {incident_id}")),
            });
        }
        Ok(())
    }

    async fn next_orphaned_lease_expiry(
        &self,
        owner: &str,
        silent: Duration,
        ttl: Duration,
    ) -> Result<Option<Duration>> {
        // A replica killed between its heartbeat and its claim stays live
        // after its leases expire: the later of the two counts.
        let row = sqlx::query(
            "SELECT (EXTRACT(EPOCH FROM MIN(GREATEST(l.expires_at, \
                 r.seen_at + $3 * interval '1 millisecond')) - now()) * 1000)::float8 AS left_ms \
             FROM leases l JOIN replicas r ON r.id = l.owner \
             WHERE l.owner <> $1 AND l.expires_at > now() \
             AND r.seen_at < now() - $2 * interval '1 millisecond'",
        )
        .bind(owner)
        .bind(millis(silent))
        .bind(millis(ttl))
        .fetch_optional_on(self)
        .await?;
        let left_ms: Option<f64> = match row {
            Some(row) => row.try_get("left_ms")?,
            None => None,
        };
        Ok(left_ms.map(|ms| Duration::from_secs_f64(ms.max(0.0) / 1000.0)))
    }

    async fn heartbeat(&self, replica: &Replica, ttl: Duration) -> Result<Vec<Replica>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO replicas (id, node, seen_at) VALUES ($1, $2, now()) \
             ON CONFLICT (id) DO UPDATE SET node = excluded.node, seen_at = now()",
        )
        .bind(&replica.id)
        .bind(&replica.node)
        .unnamed_if_pooled(self)
        .execute(&mut *tx)
        .await?;
        // Rows of replicas long gone are only clutter.
        sqlx::query("DELETE FROM replicas WHERE seen_at < now() - $1 * interval '10 milliseconds'")
            .bind(millis(ttl))
            .unnamed_if_pooled(self)
            .execute(&mut *tx)
            .await?;
        let rows = sqlx::query(
            "SELECT id, node FROM replicas WHERE seen_at > now() - $1 * interval '1 millisecond' \
             ORDER BY id",
        )
        .bind(millis(ttl))
        .unnamed_if_pooled(self)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter()
            .map(|row| {
                Ok(Replica {
                    id: row.try_get("id")?,
                    node: row.try_get("node")?,
                })
            })
            .collect()
    }

    async fn claim_leases(
        &self,
        owner: &str,
        targets: &[String],
        ttl: Duration,
    ) -> Result<Vec<Lease>> {
        if targets.is_empty() {
            return Ok(Vec::new());
        }
        // One statement for all of them, on the database's clock. A lease
        // changes owner only once expired; the epoch grows when it does.
        let rows = sqlx::query(
            "INSERT INTO leases (target, owner, epoch, expires_at) \
             SELECT t, $1, 1, now() + $3 * interval '1 millisecond' FROM unnest($2::text[]) AS t \
             ON CONFLICT (target) DO UPDATE SET owner = excluded.owner, \
             epoch = CASE WHEN leases.owner = excluded.owner THEN leases.epoch ELSE leases.epoch + 1 END, \
             expires_at = excluded.expires_at \
             WHERE leases.owner = excluded.owner OR leases.expires_at <= now() \
             RETURNING target, owner, epoch",
        )
        .bind(owner)
        .bind(targets)
        .bind(millis(ttl))
        .fetch_all_on(self)
        .await?;
        rows.iter().map(lease_from_row).collect()
    }

    async fn release_leases(&self, owner: &str, targets: Option<&[String]>) -> Result<()> {
        sqlx::query(
            "UPDATE leases SET expires_at = now() WHERE owner = $1 \
             AND ($2::text[] IS NULL OR target = ANY($2))",
        )
        .bind(owner)
        .bind(targets)
        .execute_on(self)
        .await?;
        Ok(())
    }

    async fn hand_off(&self, target: &str, alert: &serde_json::Value) -> Result<()> {
        sqlx::query("INSERT INTO handoffs (target, alert) VALUES ($1, $2)")
            .bind(target)
            .bind(Json(alert))
            .execute_on(self)
            .await?;
        Ok(())
    }

    async fn take_handoffs(&self, targets: &[String]) -> Result<Vec<(String, serde_json::Value)>> {
        if targets.is_empty() {
            return Ok(Vec::new());
        }
        // Alerts nobody took within the hour (their target was removed) go.
        sqlx::query("DELETE FROM handoffs WHERE handed_at < now() - interval '1 hour'")
            .execute_on(self)
            .await?;
        let rows =
            sqlx::query("DELETE FROM handoffs WHERE target = ANY($1) RETURNING id, target, alert")
                .bind(targets)
                .fetch_all_on(self)
                .await?;
        let mut taken = rows
            .iter()
            .map(|row| {
                let id: i64 = row.try_get("id")?;
                let target: String = row.try_get("target")?;
                let Json(alert): Json<serde_json::Value> = row.try_get("alert")?;
                Ok((id, target, alert))
            })
            .collect::<Result<Vec<_>>>()?;
        taken.sort_by_key(|(id, _, _)| *id);
        Ok(taken.into_iter().map(|(_, t, s)| (t, s)).collect())
    }

    async fn leases(&self) -> Result<Vec<Lease>> {
        let rows = sqlx::query(
            "SELECT target, owner, epoch FROM leases WHERE expires_at > now() ORDER BY target",
        )
        .fetch_all_on(self)
        .await?;
        rows.iter().map(lease_from_row).collect()
    }

    async fn mark_running(&self, id: ActionId, at: DateTime<Utc>) -> Result<ActionRecord> {
        let query = sqlx::query(concat!(
            "UPDATE actions SET state = 'running', started_at = $1 \
             WHERE id = $2 AND state = 'intended' RETURNING ",
            action_columns!()
        ))
        .bind(truncate_to_micros(at))
        .bind(id);
        let updated = decode_optional(query.fetch_optional_on(self).await?, action_from_row)?;
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
            "UPDATE actions SET state = $1, output = COALESCE($2, output), \
             error = COALESCE($3, error), finished_at = $4 \
             WHERE id = $5 AND state IN ('intended', 'running') RETURNING ",
            action_columns!()
        ))
        .bind(state.as_str())
        .bind(output)
        .bind(error)
        .bind(truncate_to_micros(at))
        .bind(id);
        let updated = decode_optional(query.fetch_optional_on(self).await?, action_from_row)?;
        updated_or_refused(self, updated, id, state).await
    }

    async fn set_verified(&self, id: ActionId, verified: bool) -> Result<ActionRecord> {
        let query = sqlx::query(concat!(
            "UPDATE actions SET verified = $1 WHERE id = $2 AND state = 'succeeded' RETURNING ",
            action_columns!()
        ))
        .bind(verified)
        .bind(id);
        let updated = decode_optional(query.fetch_optional_on(self).await?, action_from_row)?;
        updated_or_refused(self, updated, id, ActionState::Succeeded).await
    }

    async fn action(&self, id: ActionId) -> Result<ActionRecord> {
        let sql = concat!("SELECT ", action_columns!(), " FROM actions WHERE id = $1");
        self.select_found(sql, "action", id, action_from_row).await
    }

    async fn actions(&self, incident_id: IncidentId) -> Result<Vec<ActionRecord>> {
        let sql = concat!(
            "SELECT ",
            action_columns!(),
            " FROM actions WHERE incident_id = $1 ORDER BY id"
        );
        self.select_all(sql, incident_id, action_from_row).await
    }

    async fn actions_in_doubt(&self) -> Result<Vec<ActionRecord>> {
        let rows = sqlx::query(SELECT_ACTIONS_IN_DOUBT)
            .fetch_all_on(self)
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
            "INSERT INTO incident_lifecycle (incident_id, state, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (incident_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
        )
        .bind(incident_id)
        .bind(Json(state))
        .bind(at)
        .execute_on(self)
        .await?;
        Ok(())
    }

    async fn lifecycle(&self, incident_id: IncidentId) -> Result<Option<serde_json::Value>> {
        let row = sqlx::query("SELECT state FROM incident_lifecycle WHERE incident_id = $1")
            .bind(incident_id)
            .fetch_optional_on(self)
            .await?;
        row.map(|row| row.json("lifecycle", &format!("incident {incident_id}"), "state"))
            .transpose()
    }

    async fn count_actions_since(&self, target: Option<&str>, since: DateTime<Utc>) -> Result<u64> {
        let count: i64 = sqlx::query(
            "SELECT COUNT(*) FROM actions WHERE intended_at >= $1 \
             AND ($2::text IS NULL OR target = $2) AND NOT dry_run AND state <> 'skipped'",
        )
        .bind(truncate_to_micros(since))
        .bind(target)
        .fetch_one_on(self)
        .await?
        .try_get(0)?;
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
             VALUES ($1, $2, 1, $3, $4) ON CONFLICT (fingerprint, remedy) DO UPDATE SET \
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
        stats_from_row(&query.fetch_one_on(self).await?)
    }

    async fn record_resolution(
        &self,
        incident: IncidentId,
        fingerprint: &str,
        remedy: &str,
        recover_ms: u64,
    ) -> Result<RemedyStats> {
        let mut tx = self.pool.begin().await?;
        let credited =
            sqlx::query("UPDATE incidents SET resolved_by = $1, resolved_by_ms = $2 WHERE id = $3")
                .bind(remedy)
                .bind(counter_to_db(recover_ms))
                .bind(incident)
                .unnamed_if_pooled(self)
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
             VALUES ($1, $2, 1, 1, $3) ON CONFLICT (fingerprint, remedy) DO UPDATE SET \
             attempts = remedy_stats.attempts + 1, successes = remedy_stats.successes + 1, \
             total_recover_ms = remedy_stats.total_recover_ms + excluded.total_recover_ms \
             RETURNING ",
            stats_columns!()
        ))
        .bind(fingerprint)
        .bind(remedy)
        .bind(counter_to_db(recover_ms));
        let stats = stats_from_row(&query.unnamed_if_pooled(self).fetch_one(&mut *tx).await?)?;
        tx.commit().await?;
        Ok(stats)
    }

    async fn revoke_reopened_success(
        &self,
        incident: &Incident,
        since: DateTime<Utc>,
    ) -> Result<Option<Reopened>> {
        let mut tx = self.pool.begin().await?;
        // Only the pair's previous incident counts, whatever its end.
        let previous = sqlx::query(
            "SELECT id, resolved_by, resolved_by_ms FROM incidents WHERE id = (SELECT MAX(id) \
             FROM incidents WHERE target = $1 AND fingerprint = $2 AND id < $3) \
             AND status = 'resolved' AND closed_at >= $4 AND resolved_by IS NOT NULL",
        )
        .bind(&incident.target)
        .bind(&incident.fingerprint)
        .bind(incident.id)
        .bind(truncate_to_micros(since))
        .unnamed_if_pooled(self)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(previous) = previous else {
            return Ok(None);
        };
        let id: i64 = previous.try_get("id")?;
        let remedy: String = previous.try_get("resolved_by")?;
        let credited_ms: Option<i64> = previous.try_get("resolved_by_ms")?;
        // The claim: of two agents revoking the same credit at once, the
        // second waits on the row lock, then finds it taken and stops.
        let claimed = sqlx::query(
            "UPDATE incidents SET resolved_by = NULL, resolved_by_ms = NULL \
             WHERE id = $1 AND resolved_by IS NOT NULL",
        )
        .bind(id)
        .unnamed_if_pooled(self)
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() != 1 {
            return Ok(None);
        }
        let stats = sqlx::query(concat!(
            "UPDATE remedy_stats SET successes = successes - 1, \
             total_recover_ms = GREATEST(total_recover_ms - $1, 0) \
             WHERE fingerprint = $2 AND remedy = $3 AND successes > 0 RETURNING ",
            stats_columns!()
        ))
        .bind(credited_ms.unwrap_or(0))
        .bind(&incident.fingerprint)
        .bind(&remedy)
        .unnamed_if_pooled(self)
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
             WHERE status = 'resolved' AND diagnosis IS NOT NULL ORDER BY id DESC LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all_on(self)
        .await?;
        decode_all(rows, past_incident_from_row)
    }

    async fn remedy_stats(&self, fingerprint: &str) -> Result<Vec<RemedyStats>> {
        let sql = concat!(
            "SELECT ",
            stats_columns!(),
            " FROM remedy_stats WHERE fingerprint = $1 ORDER BY remedy"
        );
        self.select_all(sql, fingerprint, stats_from_row).await
    }

    async fn all_remedy_stats(&self) -> Result<Vec<RemedyStats>> {
        let rows = sqlx::query(SELECT_ALL_REMEDY_STATS)
            .fetch_all_on(self)
            .await?;
        decode_all(rows, stats_from_row)
    }

    async fn import_remedy_stats(&self, stats: &[RemedyStats]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for entry in stats {
            sqlx::query(
                "INSERT INTO remedy_stats (fingerprint, remedy, attempts, successes, \
                 total_recover_ms) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (fingerprint, remedy) \
                 DO UPDATE SET attempts = excluded.attempts, successes = excluded.successes, \
                 total_recover_ms = excluded.total_recover_ms",
            )
            .bind(&entry.fingerprint)
            .bind(&entry.remedy)
            .bind(counter_to_db(entry.attempts))
            .bind(counter_to_db(entry.successes))
            .bind(counter_to_db(entry.total_recover_ms))
            .unnamed_if_pooled(self)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn fingerprint_version(&self) -> Result<u32> {
        let row = sqlx::query(SELECT_FINGERPRINT_VERSION)
            .fetch_one_on(self)
            .await?;
        let version: Option<i64> = row.try_get("version")?;
        Ok(version.and_then(|v| u32::try_from(v).ok()).unwrap_or(1))
    }

    async fn diagnosed_fingerprints(&self) -> Result<Vec<(String, Diagnosis)>> {
        let rows = sqlx::query(SELECT_DIAGNOSED_FINGERPRINTS)
            .fetch_all_on(self)
            .await?;
        decode_all(rows, diagnosed_fingerprint_from_row)
    }

    async fn rename_fingerprints(&self, renames: &[(String, String)], version: u32) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for (old, new) in renames.iter().filter(|(old, new)| old != new) {
            // A live incident keeps its name when its target already has a
            // live one under the new name: the unique index forbids two.
            sqlx::query(concat!(
                "UPDATE incidents SET fingerprint = $1 WHERE fingerprint = $2 AND NOT (",
                live!(),
                " AND EXISTS (SELECT 1 FROM incidents other WHERE other.target = incidents.target \
                 AND other.fingerprint = $1 AND other.",
                live!(),
                "))"
            ))
            .bind(new)
            .bind(old)
            .unnamed_if_pooled(self)
            .execute(&mut *tx)
            .await?;
            // Learned counts move to the new name, added to any it has.
            sqlx::query(
                "INSERT INTO remedy_stats (fingerprint, remedy, attempts, successes, total_recover_ms) \
                 SELECT $1, remedy, attempts, successes, total_recover_ms FROM remedy_stats \
                 WHERE fingerprint = $2 ON CONFLICT (fingerprint, remedy) DO UPDATE SET \
                 attempts = remedy_stats.attempts + excluded.attempts, \
                 successes = remedy_stats.successes + excluded.successes, \
                 total_recover_ms = remedy_stats.total_recover_ms + excluded.total_recover_ms",
            )
            .bind(new)
            .bind(old)
            .unnamed_if_pooled(self).execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM remedy_stats WHERE fingerprint = $1")
                .bind(old)
                .unnamed_if_pooled(self)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE fingerprint_version SET version = $1")
            .bind(i64::from(version))
            .unnamed_if_pooled(self)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn recent_actions(&self, target: Option<&str>, limit: u32) -> Result<Vec<ActionRecord>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            action_columns!(),
            " FROM actions WHERE ($1::TEXT IS NULL OR target = $1) AND finished_at IS NOT NULL \
             AND NOT dry_run AND state <> 'skipped' ORDER BY id DESC LIMIT $2"
        ))
        .bind(target)
        .bind(i64::from(limit))
        .fetch_all_on(self)
        .await?;
        decode_all(rows, action_from_row)
    }

    async fn acknowledge(&self, id: IncidentId, by: &str, at: DateTime<Utc>) -> Result<Incident> {
        let query = sqlx::query(concat!(
            "UPDATE incidents SET acknowledged_by = COALESCE(acknowledged_by, $1), \
             acknowledged_at = COALESCE(acknowledged_at, $2), updated_at = $3 WHERE id = $4 RETURNING ",
            incident_columns!()
        ))
        .bind(by)
        .bind(at)
        .bind(at)
        .bind(id);
        decode_found(
            query.fetch_optional_on(self).await?,
            incident_from_row,
            "incident",
            id,
        )
    }

    async fn request_approval(&self, approval: &Approval) -> Result<Approval> {
        sqlx::query(concat!(
            "INSERT INTO approvals (incident_id, action_id, target, remedy, reason, status, \
             requested_at, expires_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7) RETURNING ",
            approval_columns!()
        ))
        .bind(approval.incident_id)
        .bind(approval.action_id)
        .bind(&approval.target)
        .bind(&approval.remedy)
        .bind(&approval.reason)
        .bind(approval.requested_at)
        .bind(approval.expires_at)
        .fetch_one_on(self)
        .await
        .map_err(|error| approval_error(error, approval))
        .and_then(|row| approval_from_row(&row))
    }

    async fn approval(&self, id: ApprovalId) -> Result<Approval> {
        let sql = concat!(
            "SELECT ",
            approval_columns!(),
            " FROM approvals WHERE id = $1"
        );
        self.select_found(sql, "approval", id, approval_from_row)
            .await
    }

    async fn approvals(&self, pending_only: bool, limit: u32) -> Result<Vec<Approval>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            approval_columns!(),
            " FROM approvals WHERE (NOT $1 OR status = 'pending') ORDER BY id DESC LIMIT $2"
        ))
        .bind(pending_only)
        .bind(i64::from(limit))
        .fetch_all_on(self)
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
            "UPDATE approvals SET status = $1, decided_by = $2, decided_at = $3 \
             WHERE id = $4 AND status = 'pending' RETURNING ",
            approval_columns!()
        ))
        .bind(to.as_str())
        .bind(by)
        .bind(at)
        .bind(id);
        match decode_optional(query.fetch_optional_on(self).await?, approval_from_row)? {
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
        sqlx::query("INSERT INTO components (name, spec, created_at) VALUES ($1, $2, $3)")
            .bind(name)
            .bind(Json(spec))
            .bind(at)
            .execute_on(self)
            .await
            .map_err(|error| component_error(error, name))?;
        Ok(())
    }

    async fn delete_component(&self, name: &str) -> Result<bool> {
        let deleted = sqlx::query("DELETE FROM components WHERE name = $1")
            .bind(name)
            .execute_on(self)
            .await?;
        Ok(deleted.rows_affected() > 0)
    }

    async fn components(&self) -> Result<Vec<(String, serde_json::Value)>> {
        let rows = sqlx::query(SELECT_COMPONENTS).fetch_all_on(self).await?;
        decode_all(rows, component_from_row)
    }

    async fn active_endpoints(&self) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query("SELECT target, endpoint FROM active_endpoints ORDER BY target")
            .fetch_all_on(self)
            .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("target")?, row.try_get("endpoint")?)))
            .collect()
    }

    async fn set_active_endpoint(
        &self,
        target: &str,
        endpoint: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO active_endpoints (target, endpoint, changed_at) VALUES ($1, $2, $3) \
             ON CONFLICT (target) DO UPDATE SET endpoint = excluded.endpoint, changed_at = excluded.changed_at",
        )
        .bind(target)
        .bind(endpoint)
        .bind(at)
        .execute_on(self)
        .await?;
        Ok(())
    }

    async fn set_caused_by(&self, id: IncidentId, parent: IncidentId) -> Result<()> {
        let linked = sqlx::query("UPDATE incidents SET caused_by = $1 WHERE id = $2")
            .bind(parent)
            .bind(id)
            .execute_on(self)
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
        let rows = sqlx::query("SELECT id FROM incidents WHERE caused_by = $1 ORDER BY id")
            .bind(parent)
            .fetch_all_on(self)
            .await?;
        rows.iter().map(|row| Ok(row.try_get("id")?)).collect()
    }

    async fn open_maintenance(&self, window: &StoredWindow) -> Result<StoredWindow> {
        let row = sqlx::query(
            "INSERT INTO maintenance_windows (name, scope, starts_at, ends_at, opened_by, opened_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(&window.name)
        .bind(window_scope(window))
        .bind(window.starts_at)
        .bind(window.ends_at)
        .bind(&window.opened_by)
        .bind(window.opened_at)
        .fetch_one_on(self)
        .await?;
        Ok(StoredWindow {
            id: row.try_get("id")?,
            starts_at: truncate_to_micros(window.starts_at),
            ends_at: truncate_to_micros(window.ends_at),
            opened_at: truncate_to_micros(window.opened_at),
            ..window.clone()
        })
    }

    async fn maintenance_windows(&self, now: DateTime<Utc>) -> Result<Vec<StoredWindow>> {
        let rows = sqlx::query(
            "SELECT id, name, scope, starts_at, ends_at, opened_by, opened_at \
             FROM maintenance_windows WHERE ends_at > $1 ORDER BY starts_at, id",
        )
        .bind(now)
        .fetch_all_on(self)
        .await?;
        rows.iter().map(window_from_row).collect()
    }

    async fn end_maintenance(&self, id: i64, at: DateTime<Utc>) -> Result<Option<StoredWindow>> {
        let row = sqlx::query(
            "UPDATE maintenance_windows SET ends_at = LEAST(ends_at, $1) WHERE id = $2 \
             RETURNING id, name, scope, starts_at, ends_at, opened_by, opened_at",
        )
        .bind(at)
        .bind(id)
        .fetch_optional_on(self)
        .await?;
        row.as_ref().map(window_from_row).transpose()
    }

    async fn monitoring_pause(&self) -> Result<Option<(String, DateTime<Utc>)>> {
        let row = sqlx::query("SELECT paused_by, paused_at FROM monitoring_pause")
            .fetch_optional_on(self)
            .await?;
        row.map(|row| Ok((row.try_get("paused_by")?, row.try_get("paused_at")?)))
            .transpose()
    }

    async fn set_monitoring_pause(&self, pause: Option<(&str, DateTime<Utc>)>) -> Result<()> {
        let query = match pause {
            Some((by, at)) => sqlx::query(
                "INSERT INTO monitoring_pause (id, paused_by, paused_at) VALUES (1, $1, $2) \
                 ON CONFLICT (id) DO UPDATE SET paused_by = excluded.paused_by, paused_at = excluded.paused_at",
            )
            .bind(by)
            .bind(at),
            None => sqlx::query("DELETE FROM monitoring_pause"),
        };
        query.execute_on(self).await?;
        Ok(())
    }

    async fn record_deliveries(&self, deliveries: &[NewDelivery]) -> Result<Vec<bool>> {
        if deliveries.is_empty() {
            return Ok(Vec::new());
        }
        let insert = |chunk: &[NewDelivery]| {
            let mut insert = sqlx::QueryBuilder::<sqlx::Postgres>::new(INSERT_DELIVERIES);
            insert.push_values(chunk, |mut row, delivery| {
                row.push_bind(delivery.source.as_str())
                    .push_bind(delivery.key.as_str())
                    .push_bind(delivery.payload.get())
                    .push_bind(delivery.received_at);
            });
            insert.push(DELIVERIES_ON_CONFLICT);
            insert
        };
        if deliveries.len() <= DELIVERIES_PER_STATEMENT {
            // One statement is a transaction of its own: one round trip.
            let inserted = insert(deliveries).build().fetch_all_on(self).await?;
            return fresh_deliveries(deliveries, &inserted);
        }
        let mut tx = self.pool.begin().await?;
        let mut inserted = Vec::new();
        for chunk in deliveries.chunks(DELIVERIES_PER_STATEMENT) {
            inserted.extend(
                insert(chunk)
                    .build()
                    .unnamed_if_pooled(self)
                    .fetch_all(&mut *tx)
                    .await?,
            );
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
        sqlx::query("DELETE FROM replay_claims WHERE claimed_at < $1")
            .bind(forget_before)
            .execute_on(self)
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO replay_claims (key, claimed_at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(at)
        .execute_on(self)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    // Workflow runs.

    async fn start_pipeline_run(&self, run: &NewPipelineRun) -> Result<PipelineRun> {
        let at = truncate_to_micros(run.at);
        let query = sqlx::query(concat!(
            "INSERT INTO pipeline_runs (flow, flow_path, flow_digest, vars, state, next_step, \
             status, started_at, updated_at) VALUES ($1, $2, $3, $4, '{}', 0, 'running', $5, $5) \
             RETURNING ",
            pipeline_run_columns!()
        ))
        .bind(&run.flow)
        .bind(&run.flow_path)
        .bind(&run.flow_digest)
        .bind(Json(&run.vars))
        .bind(at);
        pipeline_run_from_row(&query.fetch_one_on(self).await?)
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
            "UPDATE pipeline_runs SET state = $1, next_step = $2, updated_at = $3 \
             WHERE id = $4 AND status = 'running' RETURNING ",
            pipeline_run_columns!()
        ))
        .bind(Json(state))
        .bind(i64::from(next_step))
        .bind(at)
        .bind(id);
        match decode_optional(query.fetch_optional_on(self).await?, pipeline_run_from_row)? {
            Some(run) => Ok(run),
            None => Err(pipeline_run_refusal(self.pipeline_run(id).await)),
        }
    }

    async fn pipeline_run(&self, id: PipelineRunId) -> Result<PipelineRun> {
        let sql = concat!(
            "SELECT ",
            pipeline_run_columns!(),
            " FROM pipeline_runs WHERE id = $1"
        );
        self.select_found(sql, "pipeline run", id, pipeline_run_from_row)
            .await
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
            "UPDATE pipeline_runs SET status = $1, reason = $2, updated_at = $3, finished_at = $3 \
             WHERE id = $4 AND status = 'running' RETURNING ",
            pipeline_run_columns!()
        ))
        .bind(status.as_str())
        .bind(reason)
        .bind(at)
        .bind(id);
        match decode_optional(query.fetch_optional_on(self).await?, pipeline_run_from_row)? {
            Some(run) => Ok(run),
            None => Err(pipeline_run_refusal(self.pipeline_run(id).await)),
        }
    }
}

fn lease_from_row(row: &PgRow) -> Result<Lease> {
    Ok(Lease {
        target: row.try_get("target")?,
        owner: row.try_get("owner")?,
        epoch: row.try_get("epoch")?,
    })
}

/// A duration in whole milliseconds, for `n * interval '1 millisecond'`.
fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl PgStore {
    /// The intent's insert; with a fence, the lease is checked by the insert
    /// itself: no gap between the check and the write for a takeover to slip
    /// into. Refused with [`StoreError::LeaseLost`], writing nothing.
    async fn insert_intent(
        &self,
        action: &ActionRecord,
        fence: Option<&Fence>,
    ) -> Result<ActionRecord> {
        let row = sqlx::query(concat!(
            "INSERT INTO actions (incident_id, target, remedy, kind, state, step, dry_run, \
             output, error, intended_at) SELECT $1, $2, $3, $4, 'intended', $5, $6, $7, $8, $9 \
             WHERE $10::text IS NULL OR EXISTS (SELECT 1 FROM leases WHERE target = $2 \
             AND owner = $10 AND epoch = $11 AND expires_at > now()) RETURNING ",
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
        .bind(truncate_to_micros(action.intended_at))
        .bind(fence.map(|f| f.owner.as_str()))
        .bind(fence.map(|f| f.epoch))
        .fetch_optional_on(self)
        .await
        .map_err(|error| intent_error(error, action))?;
        match row {
            Some(row) => action_from_row(&row),
            None => Err(StoreError::LeaseLost {
                target: action.target.clone(),
            }),
        }
    }
}

fn window_from_row(row: &PgRow) -> Result<StoredWindow> {
    let scope: String = row.try_get("scope")?;
    window_from_columns(
        row.try_get("id")?,
        row.try_get("name")?,
        &scope,
        (row.try_get("starts_at")?, row.try_get("ends_at")?),
        row.try_get("opened_by")?,
        row.try_get("opened_at")?,
    )
}
