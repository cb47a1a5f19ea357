//! # medic-store
//!
//! medic's durable memory: incidents and their timelines, every remedy
//! action from intent to outcome, and what each remedy achieved for each
//! failure fingerprint. The product promises that *nothing acknowledged is
//! lost* and that *a killed agent never runs the same action step twice*;
//! this crate is where those promises are kept.
//!
//! ## One trait, two backends
//!
//! [`Store`] is the only thing the rest of medic sees (as `Arc<dyn Store>`,
//! from [`connect`]). It has two implementations with the same semantics:
//!
//! - [`SqliteStore`]: the default, one embedded file, no setup.
//! - [`PgStore`]: PostgreSQL, for teams that already run it or want several
//!   agents to share one history.
//!
//! Each backend has its own numbered migrations (`migrations/sqlite/`,
//! `migrations/postgres/`), applied on connect by `sqlx::migrate!`. The SQL is
//! written per backend rather than abstracted: the two dialects differ where
//! it matters (types, locking), and each file stays readable on its own. What
//! keeps them honest is one conformance suite (`tests/it/`), written once
//! against `&dyn Store` and run against both.
//!
//! Values are stored plainly: enums as their snake_case text (text the model
//! does not know reads back as [`StoreError::Corrupt`], never a panic), JSON as
//! `JSONB` in PostgreSQL and `TEXT` in SQLite, times as `TIMESTAMPTZ` in
//! PostgreSQL and as `INTEGER` unix microseconds in SQLite (they sort and
//! compare as numbers). Both keep microseconds; finer parts are truncated.
//!
//! ## Durability
//!
//! A method returns `Ok` only after its transaction committed. SQLite runs in
//! WAL mode with `synchronous = FULL`, so a commit is on disk before it is
//! acknowledged, even across power loss (`NORMAL` would be faster and lose the
//! last commits); `foreign_keys = ON`; a 5 s `busy_timeout` lets concurrent
//! writers queue instead of failing. PostgreSQL relies on the server's
//! `synchronous_commit` (on by default).
//!
//! ## Deduplication
//!
//! An incident is identified by (target, fingerprint) while it is live. Both
//! schemas enforce it with a partial unique index,
//! `UNIQUE (target, fingerprint) WHERE status NOT IN ('resolved', 'escalated', 'failed')`,
//! and [`Store::open_or_join_incident`] selects the live incident, or inserts
//! with `ON CONFLICT … DO NOTHING` and selects again: two agents (or two
//! tasks) seeing the same failure at once get one incident, whatever the
//! timing. An ended incident does not match; a recurrence opens a new one.
//!
//! ## Lifecycle checks
//!
//! [`Store::set_status`] checks [`medic_model::IncidentStatus::transition`] and
//! writes in one transaction that holds the row: `SELECT … FOR UPDATE` in
//! PostgreSQL, `BEGIN IMMEDIATE` (the write lock from the first statement) in
//! SQLite. Two racing changes cannot both pass the check.
//!
//! ## Actions are recorded as intended before they run
//!
//! A remedy action has side effects outside medic (a restart, a failover, a
//! page). If the agent dies while one runs, the store is the only witness.
//! So the executor calls [`Store::record_intent`] *before* it acts, then
//! [`Store::mark_running`], then [`Store::finish_action`]. After a crash,
//! [`Store::actions_in_doubt`] lists exactly the actions whose outcome is
//! unknown: the agent verifies the target and finishes them (usually as
//! `unknown`) instead of running them again. Two rules make this safe to
//! repeat: an (incident, step) pair can be recorded only once
//! ([`StoreError::Duplicate`]), and an action that has an outcome cannot be
//! finished again ([`StoreError::ActionAlreadyFinished`]).
//!
//! The same table feeds the rate limits: [`Store::count_actions_since`]
//! counts real (not dry-run, not skipped) actions, so hourly budgets survive
//! restarts.
//!
//! ## Workflow runs
//!
//! `medic pipeline` records each run ([`Store::start_pipeline_run`]) and
//! checkpoints it after every step ([`Store::checkpoint_pipeline_run`]: the
//! state and the next step's index in one statement), so a killed run
//! resumes after its last finished step. A run ends once
//! ([`Store::finish_pipeline_run`]); an ended run takes no more checkpoints
//! ([`StoreError::PipelineRunFinished`]).
//!
//! ## Learning
//!
//! [`Store::record_outcome`] is an upsert on (fingerprint, remedy) adding one
//! attempt, maybe one success and its time to recover;
//! [`Store::import_remedy_stats`] replaces rows wholesale, for sharing a fix
//! catalog between installations.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), medic_store::StoreError> {
//! let store = medic_store::connect("sqlite::memory:").await?;
//! let stats = store.record_outcome("db:refused", "reconnect-db", true, Some(800)).await?;
//! assert_eq!((stats.attempts, stats.successes, stats.total_recover_ms), (1, 1, 800));
//! # Ok(())
//! # }
//! ```

mod agent_lock;
mod codec;
mod error;
mod postgres;
mod sqlite;
mod store;

use std::sync::Arc;

pub use agent_lock::{AgentLock, lock_single_agent};
pub use error::{StoreError, explain};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use store::{
    Fence, IncidentFilter, Lease, NewDelivery, NewIncident, PastIncident, Reopened, Replica,
    Result, Store, StoredWindow,
};

/// Opens the store a URL names and applies its migrations.
///
/// - `sqlite://PATH`, `sqlite:PATH` (created if missing, with its directory),
///   `sqlite::memory:` (private, for tests);
/// - `postgres://…` or `postgresql://…` (a `search_path` given with
///   `?options=-c%20search_path%3DSCHEMA` selects the schema).
///
/// Any other scheme is [`StoreError::BadUrl`], naming the scheme (never the
/// rest of the URL, which may hold a password).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let error = medic_store::connect("mysql://db/medic").await.unwrap_err();
/// assert!(error.to_string().contains("mysql"));
/// let store = medic_store::connect("sqlite::memory:").await.unwrap();
/// assert_eq!(store.backend(), "sqlite");
/// # }
/// ```
pub async fn connect(url: &str) -> Result<Arc<dyn Store>> {
    let Some((scheme, _)) = url.split_once(':') else {
        return Err(StoreError::BadUrl(
            "the storage URL has no scheme; expected sqlite://PATH or postgres://…".into(),
        ));
    };
    match scheme.to_ascii_lowercase().as_str() {
        "sqlite" => Ok(Arc::new(SqliteStore::connect(url).await?)),
        "postgres" | "postgresql" => Ok(Arc::new(PgStore::connect(url).await?)),
        other => Err(StoreError::BadUrl(format!(
            "unsupported storage URL scheme {other:?}; expected sqlite://PATH or postgres://…"
        ))),
    }
}

/// Which migrations a store's schema has, against the newest this medic knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaVersion {
    /// The newest migration applied; `None` when the schema was never created.
    pub applied: Option<i64>,
    /// The newest migration this build carries.
    pub latest: i64,
}

impl SchemaVersion {
    fn new(applied: Option<i64>, migrator: &sqlx::migrate::Migrator) -> Self {
        let latest = migrator.iter().map(|m| m.version).max().unwrap_or(0);
        Self { applied, latest }
    }

    /// Whether every migration this build knows is applied.
    pub fn is_current(&self) -> bool {
        self.applied.is_some_and(|applied| applied >= self.latest)
    }
}

/// Opens the store a URL names for reading only: no file is created, no
/// migration runs, PostgreSQL sessions are read-only. Returns the store and
/// its schema version; a schema behind this build is
/// [`StoreError::SchemaBehind`], since the queries would not match it.
pub async fn connect_read_only(url: &str) -> Result<(Arc<dyn Store>, SchemaVersion)> {
    let scheme = url.split_once(':').map(|(s, _)| s.to_ascii_lowercase());
    let (store, schema): (Arc<dyn Store>, SchemaVersion) = match scheme.as_deref() {
        Some("sqlite") => {
            let (store, schema) = SqliteStore::open_read_only(url).await?;
            (Arc::new(store), schema)
        }
        Some("postgres" | "postgresql") => {
            let (store, schema) = PgStore::connect_read_only(url).await?;
            (Arc::new(store), schema)
        }
        Some(other) => {
            return Err(StoreError::BadUrl(format!(
                "unsupported storage URL scheme {other:?}; expected sqlite://PATH or postgres://…"
            )));
        }
        None => {
            return Err(StoreError::BadUrl(
                "the storage URL has no scheme; expected sqlite://PATH or postgres://…".into(),
            ));
        }
    };
    if !schema.is_current() {
        store.close().await;
        return Err(StoreError::SchemaBehind {
            applied: schema.applied.unwrap_or(0),
            latest: schema.latest,
        });
    }
    Ok((store, schema))
}
