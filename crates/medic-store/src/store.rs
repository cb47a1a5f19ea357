//! The storage trait every backend implements, and its argument types.

use chrono::{DateTime, Utc};
use medic_model::{
    ActionId, ActionRecord, ActionState, Approval, ApprovalId, ApprovalStatus, Category, Diagnosis,
    Incident, IncidentId, IncidentStatus, NewPipelineRun, PipelineRun, PipelineRunId,
    PipelineRunStatus, RemedyStats, Severity, TimelineEntry,
};

use crate::StoreError;

/// The store's result type.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A running agent, as the replicas see each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replica {
    /// Unique per process: `node:pid:nonce`.
    pub id: String,
    /// The host it runs on (`[cluster] node`); host-bound targets name it.
    pub node: String,
}

/// A target's lease: who owns its work, at which epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The target.
    pub target: String,
    /// The replica holding it.
    pub owner: String,
    /// Grows each time the lease changes owner: the fencing token.
    pub epoch: i64,
}

/// What a fenced write carries: the writer and the epoch it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    /// The replica.
    pub owner: String,
    /// The epoch of its lease on the target written for.
    pub epoch: i64,
}

/// A failure that may open an incident, or join the live one with the same
/// target and fingerprint.
///
/// ```
/// use medic_store::NewIncident;
/// let new = NewIncident::new("payments", "http:500", "payments: HTTP 500", chrono::Utc::now());
/// assert!(new.category.is_none());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct NewIncident {
    /// The target that failed.
    pub target: String,
    /// The failure's stable fingerprint.
    pub fingerprint: String,
    /// One line for humans.
    pub title: String,
    /// The category, if already known (e.g. from an alert's labels).
    pub category: Option<Category>,
    /// The severity, if already known.
    pub severity: Option<Severity>,
    /// When the failure was detected; becomes `opened_at` and `updated_at`.
    pub at: DateTime<Utc>,
}

impl NewIncident {
    /// A new incident without a category or severity.
    pub fn new(target: &str, fingerprint: &str, title: &str, at: DateTime<Utc>) -> Self {
        Self {
            target: target.to_string(),
            fingerprint: fingerprint.to_string(),
            title: title.to_string(),
            category: None,
            severity: None,
            at,
        }
    }
}

/// One thing a webhook intake received, identified by its sender's own key.
///
/// ```
/// use medic_store::NewDelivery;
/// let alert = serde_json::value::RawValue::from_string(r#"{"fingerprint":"c0ffee"}"#.into()).unwrap();
/// let new = NewDelivery::new("alertmanager", "c0ffee/2026-11-26T06:00:00Z/firing", alert, chrono::Utc::now());
/// assert_eq!(new.source, "alertmanager");
/// ```
#[derive(Debug, Clone)]
pub struct NewDelivery {
    /// The intake: `alertmanager`, `github`, `gitlab`, `jenkins`, `pipeline`, `generic`.
    pub source: String,
    /// What makes it unique among that source's deliveries.
    pub key: String,
    /// What was received, as the sender's JSON text (stored as is: no
    /// re-encoding on the intake's hot path).
    pub payload: Box<serde_json::value::RawValue>,
    /// When it arrived.
    pub received_at: DateTime<Utc>,
}

impl NewDelivery {
    /// A delivery of `payload` from `source`, identified by `key`.
    pub fn new(
        source: &str,
        key: &str,
        payload: Box<serde_json::value::RawValue>,
        received_at: DateTime<Utc>,
    ) -> Self {
        Self {
            source: source.to_string(),
            key: key.to_string(),
            payload,
            received_at,
        }
    }
}

/// Which incidents [`Store::list_incidents`] returns: newest first, at most
/// `limit` (capped at [`IncidentFilter::MAX_LIMIT`]), older than `before_id`.
///
/// To page, pass the id of the last incident of a page as the next page's
/// `before_id`; pages stay stable while new incidents arrive.
///
/// ```
/// use medic_model::IncidentStatus;
/// use medic_store::IncidentFilter;
/// let filter = IncidentFilter::default()
///     .with_status(IncidentStatus::Open)
///     .with_target("payments")
///     .with_limit(10_000)
///     .before(120);
/// assert_eq!(filter.effective_limit(), IncidentFilter::MAX_LIMIT);
/// assert_eq!(IncidentFilter::default().limit, IncidentFilter::DEFAULT_LIMIT);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentFilter {
    /// Only incidents with this status.
    pub status: Option<IncidentStatus>,
    /// Only incidents of this target.
    pub target: Option<String>,
    /// At most this many (capped at [`IncidentFilter::MAX_LIMIT`]; 0 returns nothing).
    pub limit: u32,
    /// Only incidents with a smaller id: the cursor, the last id seen.
    pub before_id: Option<IncidentId>,
}

impl IncidentFilter {
    /// The page size of [`IncidentFilter::default`].
    pub const DEFAULT_LIMIT: u32 = 50;
    /// The largest page a store returns.
    pub const MAX_LIMIT: u32 = 500;

    /// The same filter, for one status.
    pub fn with_status(mut self, status: IncidentStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// The same filter, for one target.
    pub fn with_target(mut self, target: &str) -> Self {
        self.target = Some(target.to_string());
        self
    }

    /// The same filter, with another page size.
    pub fn with_limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }

    /// The same filter, for incidents older than `id` (the cursor).
    pub fn before(mut self, id: IncidentId) -> Self {
        self.before_id = Some(id);
        self
    }

    /// The page size a store applies: `limit`, at most [`IncidentFilter::MAX_LIMIT`].
    pub fn effective_limit(&self) -> u32 {
        self.limit.min(Self::MAX_LIMIT)
    }
}

impl Default for IncidentFilter {
    fn default() -> Self {
        Self {
            status: None,
            target: None,
            limit: Self::DEFAULT_LIMIT,
            before_id: None,
        }
    }
}

/// A success taken back: the incident's failure came back within the reopen
/// window, so the remedy credited with resolving it did not really fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reopened {
    /// The earlier, resolved incident of the same target and fingerprint.
    pub previous: IncidentId,
    /// The remedy it credited.
    pub remedy: String,
    /// That remedy's stats after the correction (one success fewer, the same
    /// attempts); `None` if the catalog had no row for it (e.g. replaced by
    /// an import).
    pub stats: Option<RemedyStats>,
}

/// A maintenance window opened through the API, as kept in the store.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StoredWindow {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// The targets it covers by name.
    pub targets: Vec<String>,
    /// The labels a target must carry to be covered.
    pub labels: std::collections::BTreeMap<String, String>,
    /// When it starts.
    pub starts_at: DateTime<Utc>,
    /// When it ends (moved earlier when it is ended by hand).
    pub ends_at: DateTime<Utc>,
    /// Who opened it.
    pub opened_by: String,
    /// When it was opened.
    pub opened_at: DateTime<Utc>,
}

/// A resolved incident, as similar-incident search reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct PastIncident {
    /// Its id.
    pub id: IncidentId,
    /// Its target.
    pub target: String,
    /// Its fingerprint.
    pub fingerprint: String,
    /// Its diagnosis.
    pub diagnosis: Diagnosis,
    /// The remedy credited with resolving it, if one was.
    pub resolved_by: Option<String>,
}

/// medic's durable memory: incidents and their timelines, every action from
/// intent to outcome, and what each remedy achieved.
///
/// Every method that returns `Ok` has made its write durable (committed with
/// the backend's full durability). Timestamps are stored with microsecond
/// precision; finer parts are truncated.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), medic_store::StoreError> {
/// use medic_model::IncidentStatus;
/// use medic_store::{NewIncident, Store};
///
/// let store = medic_store::connect("sqlite::memory:").await?;
/// let now = chrono::Utc::now();
/// let new = NewIncident::new("payments", "http:500", "payments: HTTP 500", now);
/// let (incident, created) = store.open_or_join_incident(&new).await?;
/// assert!(created);
/// let (again, created) = store.open_or_join_incident(&new).await?;
/// assert_eq!((again.id, created), (incident.id, false));
///
/// let resolved = store.set_status(incident.id, IncidentStatus::Resolved, now).await?;
/// assert_eq!(resolved.time_to_recover_ms, Some(0));
/// # Ok(())
/// # }
/// ```
#[async_trait::async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// The backend's name: `"sqlite"` or `"postgres"`.
    fn backend(&self) -> &'static str;

    /// One round trip to the database: `Ok` when it answers now. Readiness
    /// checks use it; a failure is usually [`StoreError::is_unavailable`].
    async fn ping(&self) -> Result<()>;

    /// Opens an incident for `new.target` and `new.fingerprint`, or returns the
    /// live (non-terminal) one that already exists, untouched; the flag says
    /// whether it was created. Atomic: concurrent calls for the same pair yield
    /// one incident. Record the joining signal with [`Store::append_timeline`].
    async fn open_or_join_incident(&self, new: &NewIncident) -> Result<(Incident, bool)>;

    /// One incident, or [`StoreError::NotFound`].
    async fn incident(&self, id: IncidentId) -> Result<Incident>;

    /// Incidents newest first (by id), filtered and paged by `filter`.
    async fn list_incidents(&self, filter: &IncidentFilter) -> Result<Vec<Incident>>;

    /// Every live (non-terminal) incident, oldest first: what to resume after a restart.
    async fn open_incidents(&self) -> Result<Vec<Incident>>;

    /// Moves an incident to `to` if [`IncidentStatus::transition`] allows it
    /// (else [`StoreError::InvalidTransition`], nothing written), atomically
    /// with the check. Sets `updated_at`; a terminal status sets `closed_at`,
    /// and `resolved` sets `time_to_recover_ms = at − opened_at` (at least 0).
    async fn set_status(
        &self,
        id: IncidentId,
        to: IncidentStatus,
        at: DateTime<Utc>,
    ) -> Result<Incident>;

    /// Stores a diagnosis: its category and severity on the incident, the whole
    /// of it for [`Store::diagnosis`]; sets `updated_at`. Replaces an earlier one.
    async fn set_diagnosis(
        &self,
        id: IncidentId,
        diagnosis: &Diagnosis,
        at: DateTime<Utc>,
    ) -> Result<Incident>;

    /// The incident's latest diagnosis, if it has one ([`StoreError::NotFound`]
    /// if the incident does not exist).
    async fn diagnosis(&self, id: IncidentId) -> Result<Option<Diagnosis>>;

    /// Appends to an incident's timeline; returns the entry with its id (the
    /// given `id` is ignored). [`StoreError::NotFound`] if the incident does not exist.
    async fn append_timeline(&self, entry: &TimelineEntry) -> Result<TimelineEntry>;

    /// An incident's timeline, oldest first (by `at`, then id); empty for an
    /// unknown incident.
    async fn timeline(&self, incident_id: IncidentId) -> Result<Vec<TimelineEntry>>;

    /// Records that an action is about to run, before it runs: the row exists
    /// in state [`ActionState::Intended`] (whatever `action.state` says; `id`,
    /// `started_at` and `finished_at` are ignored too) once this returns.
    /// Each (incident, step) is recorded once: a second intent for the same
    /// step is [`StoreError::Duplicate`], so no step can run twice.
    async fn record_intent(&self, action: &ActionRecord) -> Result<ActionRecord>;

    /// Marks an intended action as started. Refused
    /// ([`StoreError::InvalidActionTransition`] or
    /// [`StoreError::ActionAlreadyFinished`]) unless it is `intended`.
    async fn mark_running(&self, id: ActionId, at: DateTime<Utc>) -> Result<ActionRecord>;

    /// Records an action's outcome. `state` must be a finished state
    /// ([`ActionState::is_finished`]); an action that already has one is
    /// refused with [`StoreError::ActionAlreadyFinished`] and left as it was.
    async fn finish_action(
        &self,
        id: ActionId,
        state: ActionState,
        output: Option<&str>,
        error: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<ActionRecord>;

    /// Records whether the target was healthy within the verify window after
    /// a succeeded action. Refused ([`StoreError::InvalidActionTransition`])
    /// unless the action succeeded.
    async fn set_verified(&self, id: ActionId, verified: bool) -> Result<ActionRecord>;

    /// One action, or [`StoreError::NotFound`].
    async fn action(&self, id: ActionId) -> Result<ActionRecord>;

    /// An incident's actions in the order they were recorded.
    async fn actions(&self, incident_id: IncidentId) -> Result<Vec<ActionRecord>>;

    /// Actions still `intended` or `running`, oldest first. After a restart
    /// their outcome is unknown: verify the target, then finish them
    /// (typically as [`ActionState::Unknown`]); never run them again.
    async fn actions_in_doubt(&self) -> Result<Vec<ActionRecord>>;

    /// Keeps `state`, the incident's lifecycle (opaque JSON to the store), in
    /// place of the one kept before.
    async fn save_lifecycle(
        &self,
        incident_id: IncidentId,
        state: &serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<()>;

    /// The lifecycle last kept for an incident, if any.
    async fn lifecycle(&self, incident_id: IncidentId) -> Result<Option<serde_json::Value>>;

    /// [`Store::record_intent`], refused with [`StoreError::LeaseLost`]
    /// (nothing written) unless `fence` still holds the action's target's
    /// lease, in the same statement. A single-node store has no leases and
    /// records it as is.
    async fn record_intent_fenced(
        &self,
        action: &ActionRecord,
        fence: Option<&Fence>,
    ) -> Result<ActionRecord> {
        let _ = fence;
        self.record_intent(action).await
    }

    /// [`Store::mark_running`], refused with [`StoreError::LeaseLost`]
    /// unless `fence` still holds the action's target's lease: the last
    /// moment before an action starts.
    async fn mark_running_fenced(
        &self,
        id: ActionId,
        at: DateTime<Utc>,
        fence: Option<&Fence>,
    ) -> Result<ActionRecord> {
        let _ = fence;
        self.mark_running(id, at).await
    }

    /// [`Store::save_lifecycle`], refused with [`StoreError::LeaseLost`]
    /// unless `fence` still holds the incident's target's lease.
    async fn save_lifecycle_fenced(
        &self,
        incident_id: IncidentId,
        state: &serde_json::Value,
        at: DateTime<Utc>,
        fence: Option<&Fence>,
    ) -> Result<()> {
        let _ = fence;
        self.save_lifecycle(incident_id, state, at).await
    }

    /// Says `replica` is alive (its `seen_at` is the database's now) and
    /// returns the replicas seen within `ttl`, by id. A single-node store
    /// knows only the caller.
    async fn heartbeat(&self, replica: &Replica, ttl: std::time::Duration) -> Result<Vec<Replica>> {
        let _ = ttl;
        Ok(vec![replica.clone()])
    }

    /// Claims or renews, for `owner`, the leases of `targets` that are free,
    /// expired or already its own, until the database's now + `ttl`, in one
    /// statement. Returns the leases `owner` holds among them, with their
    /// epochs (an epoch grows each time a lease changes owner). A single-node
    /// store grants every one at epoch 1.
    async fn claim_leases(
        &self,
        owner: &str,
        targets: &[String],
        ttl: std::time::Duration,
    ) -> Result<Vec<Lease>> {
        let _ = ttl;
        Ok(targets
            .iter()
            .map(|target| Lease {
                target: target.clone(),
                owner: owner.to_string(),
                epoch: 1,
            })
            .collect())
    }

    /// How long until a survivor may claim the first lease held by another
    /// replica that seems dead (its heartbeat is older than `silent`): until
    /// the lease has expired and the replica no longer counts as live (its
    /// heartbeat older than `ttl`), on the database's clock. `None` when
    /// there is none (always, on a single-node store).
    async fn next_orphaned_lease_expiry(
        &self,
        owner: &str,
        silent: std::time::Duration,
        ttl: std::time::Duration,
    ) -> Result<Option<std::time::Duration>> {
        let _ = (owner, silent, ttl);
        Ok(None)
    }

    /// Lets go of `owner`'s leases of `targets` (all of them with `None`)
    /// at once, so another replica can claim them without waiting out
    /// their expiry.
    async fn release_leases(&self, owner: &str, targets: Option<&[String]>) -> Result<()> {
        let _ = (owner, targets);
        Ok(())
    }

    /// Leaves `alert` (for `target`, as JSON) for the replica that owns the
    /// target. A single-node store owns everything and refuses.
    async fn hand_off(&self, target: &str, alert: &serde_json::Value) -> Result<()> {
        let _ = alert;
        Err(StoreError::LeaseLost {
            target: target.to_string(),
        })
    }

    /// Takes (and deletes) the alerts handed off for `targets`, oldest first.
    async fn take_handoffs(&self, targets: &[String]) -> Result<Vec<(String, serde_json::Value)>> {
        let _ = targets;
        Ok(Vec::new())
    }

    /// Every unexpired lease, by target.
    async fn leases(&self) -> Result<Vec<Lease>> {
        Ok(Vec::new())
    }

    /// How many actions were recorded since `since` (inclusive) for `target`
    /// (or for every target with `None`), not counting dry runs and skipped
    /// actions: the persisted input of per-target and global rate limits.
    async fn count_actions_since(&self, target: Option<&str>, since: DateTime<Utc>) -> Result<u64>;

    /// Counts one outcome of `remedy` for `fingerprint`: one more attempt, one
    /// more success if `success`, and `recover_ms` added to the total time to
    /// recover if `success`. Returns the updated stats.
    async fn record_outcome(
        &self,
        fingerprint: &str,
        remedy: &str,
        success: bool,
        recover_ms: Option<u64>,
    ) -> Result<RemedyStats>;

    /// Records a verified success of `remedy` for `fingerprint` (as
    /// [`Store::record_outcome`] does) and credits it on the incident, in one
    /// transaction, so a reopening can take the success back.
    async fn record_resolution(
        &self,
        incident: IncidentId,
        fingerprint: &str,
        remedy: &str,
        recover_ms: u64,
    ) -> Result<RemedyStats>;

    /// Called when `incident` was just opened: if the previous incident of
    /// its target and fingerprint was resolved at or after `since` and
    /// credited a remedy, that success becomes a failure (one success and its
    /// recovery time fewer, attempts unchanged) and the credit is cleared, so
    /// it is counted once whoever asks. Atomic; `None` when nothing applies.
    async fn revoke_reopened_success(
        &self,
        incident: &Incident,
        since: DateTime<Utc>,
    ) -> Result<Option<Reopened>>;

    /// The newest resolved incidents that have a diagnosis, newest first; at
    /// most `limit`: the candidates of similar-incident search.
    async fn resolved_incidents(&self, limit: u32) -> Result<Vec<PastIncident>>;

    /// What each remedy achieved for `fingerprint`, by remedy name.
    async fn remedy_stats(&self, fingerprint: &str) -> Result<Vec<RemedyStats>>;

    /// The whole fix catalog, by fingerprint then remedy name.
    async fn all_remedy_stats(&self) -> Result<Vec<RemedyStats>>;

    /// Imports stats, replacing the rows with the same (fingerprint, remedy)
    /// and keeping the others; all or nothing. Counters above `i64::MAX` are
    /// clamped.
    async fn import_remedy_stats(&self, stats: &[RemedyStats]) -> Result<()>;

    /// The version of the scheme the stored fingerprints were made with
    /// (1 for stores older than fingerprint versions).
    async fn fingerprint_version(&self) -> Result<u32>;

    /// Every stored incident's fingerprint with its diagnosis (incidents
    /// that have one), oldest first: what renaming fingerprints starts from.
    async fn diagnosed_fingerprints(&self) -> Result<Vec<(String, Diagnosis)>>;

    /// Renames fingerprints `(old, new)` in incidents and learned remedy
    /// statistics (counts of a name that already exists are added, not
    /// lost) and records `version`, in one transaction. A live incident is
    /// left alone when its target already has a live one under the new name.
    async fn rename_fingerprints(&self, renames: &[(String, String)], version: u32) -> Result<()>;

    /// The newest finished remedy actions (real runs: not dry-run, not
    /// skipped), optionally of one target, newest first; at most `limit`.
    async fn recent_actions(&self, target: Option<&str>, limit: u32) -> Result<Vec<ActionRecord>>;

    /// Marks the incident as acknowledged by `by` (the API key's name); a
    /// second acknowledgement keeps the first.
    async fn acknowledge(&self, id: IncidentId, by: &str, at: DateTime<Utc>) -> Result<Incident>;

    /// Records a pending approval request for an intended action (`id`,
    /// `status` and the decision fields of `approval` are ignored).
    async fn request_approval(&self, approval: &Approval) -> Result<Approval>;

    /// One approval.
    async fn approval(&self, id: ApprovalId) -> Result<Approval>;

    /// Approvals, newest first: only pending ones, or all; at most `limit`.
    async fn approvals(&self, pending_only: bool, limit: u32) -> Result<Vec<Approval>>;

    /// Decides a pending approval, once: a second decision (or a decision
    /// after expiry) is [`StoreError::AlreadyDecided`], whoever races.
    async fn decide_approval(
        &self,
        id: ApprovalId,
        to: ApprovalStatus,
        by: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Approval>;

    /// Saves a component registered at run time; a taken name is
    /// [`StoreError::Duplicate`].
    async fn save_component(
        &self,
        name: &str,
        spec: &serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<()>;

    /// Removes a registered component; false if there was none.
    async fn delete_component(&self, name: &str) -> Result<bool>;

    /// Every registered component's spec, by name.
    async fn components(&self) -> Result<Vec<(String, serde_json::Value)>>;

    /// The endpoint a failover made active, by target (targets that never
    /// failed over are absent: their first endpoint is active).
    async fn active_endpoints(&self) -> Result<Vec<(String, String)>>;

    /// Keeps `endpoint` as `target`'s active endpoint.
    async fn set_active_endpoint(
        &self,
        target: &str,
        endpoint: &str,
        at: DateTime<Utc>,
    ) -> Result<()>;

    /// Links incident `id` to `parent`, the incident of the dependency
    /// that caused it. Unknown incidents are [`StoreError::NotFound`].
    async fn set_caused_by(&self, id: IncidentId, parent: IncidentId) -> Result<()>;

    /// The incidents `parent` caused (its dependents'), oldest first.
    async fn incidents_caused_by(&self, parent: IncidentId) -> Result<Vec<IncidentId>>;

    /// Keeps a maintenance window opened through the API (its `id` is
    /// ignored and assigned) and returns it as stored.
    async fn open_maintenance(&self, window: &StoredWindow) -> Result<StoredWindow>;

    /// The windows that have not ended by `now`, by start.
    async fn maintenance_windows(&self, now: DateTime<Utc>) -> Result<Vec<StoredWindow>>;

    /// Ends window `id` at `at` (its end only ever moves earlier) and
    /// returns it; `None` if there is no such window.
    async fn end_maintenance(&self, id: i64, at: DateTime<Utc>) -> Result<Option<StoredWindow>>;

    /// Who paused monitoring and when, if it is paused (for every agent on
    /// this store).
    async fn monitoring_pause(&self) -> Result<Option<(String, DateTime<Utc>)>>;

    /// Pauses monitoring (`Some`: by whom, when) or resumes it (`None`).
    async fn set_monitoring_pause(&self, pause: Option<(&str, DateTime<Utc>)>) -> Result<()>;

    /// Stores webhook deliveries in one transaction and says, for each, whether
    /// it is new: a delivery whose (source, key) is already stored, earlier or
    /// in the same batch, is a re-delivery (`false`) and is not stored again.
    async fn record_deliveries(&self, deliveries: &[NewDelivery]) -> Result<Vec<bool>>;

    /// Claims `key` for a signed delivery at `at`: `true` the first time,
    /// `false` for a replay. Claims made before `forget_before` (outside the
    /// sender's replay window, where a replay is refused as stale anyway)
    /// are pruned first.
    async fn claim_replay(
        &self,
        key: &str,
        at: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> Result<bool>;

    /// Closes the connections, waiting for running queries. Later calls fail.
    async fn close(&self);

    // Workflow runs (`medic pipeline`): a run's state is checkpointed after
    // every step, so a killed run resumes without redoing finished steps.

    /// Records a new run in status `running` at step 0 with an empty state.
    async fn start_pipeline_run(&self, run: &NewPipelineRun) -> Result<PipelineRun>;

    /// Saves a running run's state and the index of its next step in one
    /// write; durable when it returns, so the next step may start. A run that
    /// has ended is refused ([`StoreError::PipelineRunFinished`]), an unknown
    /// one is [`StoreError::NotFound`].
    async fn checkpoint_pipeline_run(
        &self,
        id: PipelineRunId,
        state: &serde_json::Value,
        next_step: u32,
        at: DateTime<Utc>,
    ) -> Result<PipelineRun>;

    /// One run, or [`StoreError::NotFound`].
    async fn pipeline_run(&self, id: PipelineRunId) -> Result<PipelineRun>;

    /// Ends a running run with `status` (not `running`) and why; once: an
    /// ended run is refused ([`StoreError::PipelineRunFinished`]).
    async fn finish_pipeline_run(
        &self,
        id: PipelineRunId,
        status: PipelineRunStatus,
        reason: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<PipelineRun>;
}
