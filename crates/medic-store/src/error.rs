//! The store's one error type.

use medic_model::{
    ActionId, ActionRecord, ActionState, Approval, ApprovalId, ApprovalStatus, IncidentId,
    InvalidTransition, PipelineRun, PipelineRunId, PipelineRunStatus, TimelineEntry,
};
use sqlx::error::ErrorKind;

/// What can go wrong talking to the store.
///
/// Callers usually care about three cases: [`StoreError::NotFound`] (a 404),
/// the refusals that protect the lifecycle ([`StoreError::InvalidTransition`],
/// [`StoreError::ActionAlreadyFinished`], [`StoreError::InvalidActionTransition`],
/// [`StoreError::Duplicate`]: a 409), and everything else (the database is
/// unwell: a 500 and a retry later).
///
/// ```
/// use medic_store::StoreError;
/// let err = StoreError::NotFound { what: "incident", id: 42 };
/// assert_eq!(err.to_string(), "incident 42 not found");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No row with that id.
    #[error("{what} {id} not found")]
    NotFound {
        /// What was looked up (`"incident"`, `"action"`).
        what: &'static str,
        /// The id that matched nothing.
        id: i64,
    },

    /// The incident lifecycle forbids this status change.
    #[error(transparent)]
    InvalidTransition(#[from] InvalidTransition),

    /// The action already has an outcome; it is never finished twice (this is
    /// what makes crash recovery idempotent).
    #[error("action {id} is already finished ({state})")]
    ActionAlreadyFinished {
        /// The action.
        id: ActionId,
        /// Its recorded outcome.
        state: ActionState,
    },

    /// The action cannot move to that state (e.g. `running` twice, or
    /// "finishing" into `intended`).
    #[error("action {id} cannot go from {from} to {to}")]
    InvalidActionTransition {
        /// The action.
        id: ActionId,
        /// Its current state.
        from: ActionState,
        /// The refused state.
        to: ActionState,
    },

    /// A fenced write for a target whose lease this replica no longer
    /// holds (it expired, or moved to another replica): nothing was written.
    #[error("the lease of target {target} is no longer held by this replica")]
    LeaseLost {
        /// The target.
        target: String,
    },

    /// A row that must be unique already exists (an action step recorded twice).
    #[error("{what} already recorded: {key}")]
    Duplicate {
        /// What was duplicated (`"action step"`).
        what: &'static str,
        /// The key that already exists.
        key: String,
    },

    /// An approval was already decided (or expired); it cannot change again.
    #[error("approval {id} is already {status}")]
    AlreadyDecided {
        /// The approval.
        id: ApprovalId,
        /// What it became.
        status: ApprovalStatus,
    },

    /// A pipeline run has ended; it takes no more checkpoints or outcomes.
    #[error("pipeline run {id} is already {status}")]
    PipelineRunFinished {
        /// The run.
        id: PipelineRunId,
        /// How it ended.
        status: PipelineRunStatus,
    },

    /// A pipeline run can only end as succeeded, failed or escalated.
    #[error("a pipeline run cannot end as {0}")]
    NotAnEndStatus(PipelineRunStatus),

    /// Concurrent writers kept changing the row this call needed; nothing was
    /// written. Rare; retry.
    #[error("{0}; nothing was written, try again")]
    Contention(String),

    /// The database failed or could not be reached; the message says why
    /// in one line (refused, DNS, authentication, TLS, timeout).
    #[error("database error: {}", explain(.0))]
    Database(#[source] sqlx::Error),

    /// The store's schema is older than this medic (or missing): `medic
    /// migrate` brings it up to date; `medic serve` does so at start.
    #[error(
        "the schema is at version {applied} of {latest}; run `medic migrate` (or start `medic serve`, which migrates)"
    )]
    SchemaBehind {
        /// The newest migration applied (0: none).
        applied: i64,
        /// The newest migration this medic knows.
        latest: i64,
    },

    /// The schema migrations could not be applied.
    #[error("could not apply the store's schema migrations")]
    Migration(#[source] sqlx::migrate::MigrateError),

    /// The storage URL cannot be used.
    #[error("bad storage URL: {0}")]
    BadUrl(String),

    /// Another agent already works on this SQLite file.
    #[error("{0}")]
    InUse(String),

    /// A value in the database does not parse (unknown enum text, bad JSON,
    /// a negative counter): written by another version, or by hand.
    #[error("corrupt {what} in the store: {detail}")]
    Corrupt {
        /// Which value (`"incident status"`, `"timeline data"`).
        what: &'static str,
        /// Which row and why.
        detail: String,
    },
}

impl StoreError {
    /// Whether the database could not be reached or was too busy to answer
    /// (refused, timed out, pool exhausted, SQLite locked): a passing state
    /// worth a retry, not a fault in the request.
    pub fn is_unavailable(&self) -> bool {
        let StoreError::Database(error) = self else {
            return false;
        };
        match error {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            // SQLITE_BUSY / SQLITE_LOCKED (and their extended codes), and PostgreSQL's "cannot connect now"
            // (57P03, starting or shutting down) and admin shutdown (57P01).
            sqlx::Error::Database(db) => matches!(
                db.code().as_deref(),
                Some("5" | "6" | "261" | "262" | "517" | "773" | "57P01" | "57P03")
            ),
            _ => false,
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        StoreError::Database(error)
    }
}

/// Why a database call failed, in one line for the person reading the log:
/// the cause sqlx reports is often several layers down, or just a code.
pub fn explain(error: &sqlx::Error) -> String {
    use std::io::ErrorKind as Io;
    match error {
        sqlx::Error::Io(io) => match io.kind() {
            Io::ConnectionRefused => {
                "connection refused: nothing listens at that host and port (is the server running?)"
                    .into()
            }
            Io::TimedOut => "connection timed out: the host does not answer (firewall?)".into(),
            Io::PermissionDenied => format!("permission denied: {io}"),
            Io::NotFound => format!("not found: {io}"),
            _ if io.to_string().contains("lookup") => {
                format!("DNS: cannot resolve the host ({io})")
            }
            // sqlx hands rustls's verdict on the server over wrapped in an
            // io::Error: say it is TLS, so nobody looks for a network fault.
            _ if io
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some()) =>
            {
                format!("TLS: {io} (check sslrootcert and the host name the certificate is for)")
            }
            _ => format!("cannot connect: {io}"),
        },
        sqlx::Error::Tls(tls) => format!("TLS: {tls}"),
        sqlx::Error::PoolTimedOut => {
            "no connection within the connect timeout: the server did not answer in time".into()
        }
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default().to_string();
            let why = match code.as_str() {
                "28P01" | "28000" => "authentication failed",
                "3D000" => "no such database",
                "3F000" => "no such schema",
                "42501" => "permission denied",
                "25006" => "the connection is read-only",
                _ => "the server refused",
            };
            format!("{why}: {} (code {code})", db.message())
        }
        sqlx::Error::Configuration(config) => format!("bad connection settings: {config}"),
        other => other.to_string(),
    }
}

/// The database's error kind, if it is a constraint violation we translate.
pub(crate) fn constraint_kind(error: &sqlx::Error) -> Option<ErrorKind> {
    match error {
        sqlx::Error::Database(db) => Some(db.kind()),
        _ => None,
    }
}

/// Translates a failed action insert: unknown incident, or a step recorded twice.
pub(crate) fn intent_error(error: sqlx::Error, action: &ActionRecord) -> StoreError {
    match constraint_kind(&error) {
        Some(ErrorKind::ForeignKeyViolation) => StoreError::NotFound {
            what: "incident",
            id: action.incident_id,
        },
        Some(ErrorKind::UniqueViolation) => StoreError::Duplicate {
            what: "action step",
            key: format!("incident {} step {}", action.incident_id, action.step),
        },
        _ => error.into(),
    }
}

/// Translates a failed link to a parent incident: an unknown parent is
/// [`StoreError::NotFound`].
pub(crate) fn caused_by_error(error: sqlx::Error, parent: IncidentId) -> StoreError {
    match constraint_kind(&error) {
        Some(ErrorKind::ForeignKeyViolation) => StoreError::NotFound {
            what: "incident",
            id: parent,
        },
        _ => error.into(),
    }
}

/// Translates a failed timeline insert: an unknown incident is [`StoreError::NotFound`].
pub(crate) fn timeline_error(error: sqlx::Error, entry: &TimelineEntry) -> StoreError {
    match constraint_kind(&error) {
        Some(ErrorKind::ForeignKeyViolation) => StoreError::NotFound {
            what: "incident",
            id: entry.incident_id,
        },
        _ => error.into(),
    }
}

/// The action a conditional update of `id` to `to` returned, or why it
/// matched no row.
pub(crate) async fn updated_or_refused<S>(
    store: &S,
    updated: Option<ActionRecord>,
    id: ActionId,
    to: ActionState,
) -> Result<ActionRecord, StoreError>
where
    S: crate::Store + ?Sized,
{
    match updated {
        Some(action) => Ok(action),
        None => Err(action_refusal(store, id, to).await),
    }
}

/// Explains why a conditional update of action `id` to `to` matched no row.
pub(crate) async fn action_refusal<S>(store: &S, id: ActionId, to: ActionState) -> StoreError
where
    S: crate::Store + ?Sized,
{
    match store.action(id).await {
        Ok(action) if action.state.is_finished() => StoreError::ActionAlreadyFinished {
            id,
            state: action.state,
        },
        Ok(action) => StoreError::InvalidActionTransition {
            id,
            from: action.state,
            to,
        },
        Err(error) => error,
    }
}

/// Translates a failed approval insert: an unknown incident or action, or a
/// second approval for the same action.
pub(crate) fn approval_error(error: sqlx::Error, approval: &Approval) -> StoreError {
    match constraint_kind(&error) {
        Some(ErrorKind::ForeignKeyViolation) => StoreError::NotFound {
            what: "action",
            id: approval.action_id,
        },
        Some(ErrorKind::UniqueViolation) => StoreError::Duplicate {
            what: "approval",
            key: format!("action {}", approval.action_id),
        },
        _ => error.into(),
    }
}

/// Translates a failed component insert: the name is taken.
pub(crate) fn component_error(error: sqlx::Error, name: &str) -> StoreError {
    match constraint_kind(&error) {
        Some(ErrorKind::UniqueViolation) => StoreError::Duplicate {
            what: "component",
            key: name.to_string(),
        },
        _ => error.into(),
    }
}

/// Why a decision on an approval matched no row: it is no longer pending.
pub(crate) fn decision_refusal(current: Approval) -> StoreError {
    StoreError::AlreadyDecided {
        id: current.id,
        status: current.status,
    }
}

/// Why a conditional update of a running pipeline run matched no row: it
/// has ended (or does not exist).
pub(crate) fn pipeline_run_refusal(current: Result<PipelineRun, StoreError>) -> StoreError {
    match current {
        Ok(run) => StoreError::PipelineRunFinished {
            id: run.id,
            status: run.status,
        },
        Err(error) => error,
    }
}
