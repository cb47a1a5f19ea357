//! Rollback: undo the completed steps of a multi-step change when a later one fails.
//!
//! Each successful step registers a compensation. On failure,
//! [`Rollback::rollback`] runs them newest first and attempts *every* one, even
//! after an undo fails, because a half-undone change is worse than a report
//! that says exactly which undo did not work.

use std::future::Future;

use crate::fallback::BoxFuture;

/// Any error an undo step may return.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

type Undo = Box<dyn FnOnce() -> BoxFuture<'static, Result<(), BoxError>> + Send>;

/// The compensations registered so far. Commit or roll back before dropping.
///
/// ```
/// use medic_resilience::rollback::Rollback;
/// use std::sync::{Arc, Mutex};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let log = Arc::new(Mutex::new(Vec::new()));
/// let mut tx = Rollback::new();
/// for step in ["create-user", "grant-role"] {
///     let log = log.clone();
///     tx.step(step, async { Ok::<_, String>(()) }, move |_| async move {
///         log.lock().unwrap().push(format!("undo {step}"));
///         Ok(())
///     }).await.unwrap();
/// }
/// let failed: Result<(), String> = tx.step("send-mail", async { Err("smtp down".to_string()) }, |_| async { Ok(()) }).await;
/// assert!(failed.is_err());
/// let report = tx.rollback().await;
/// assert!(report.is_complete());
/// assert_eq!(*log.lock().unwrap(), ["undo grant-role", "undo create-user"]);
/// # }
/// ```
#[derive(Default)]
pub struct Rollback {
    compensations: Vec<(String, Undo)>,
}

impl std::fmt::Debug for Rollback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.compensations.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Rollback")
            .field("compensations", &names)
            .finish()
    }
}

/// What happened to one undo.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UndoOutcome {
    /// The step that was undone.
    pub step: String,
    /// `None` if the undo worked, else its error message.
    pub error: Option<String>,
}

/// What a rollback did, newest step first.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct RollbackReport {
    /// One entry per registered compensation, in the order they ran.
    pub undone: Vec<UndoOutcome>,
}

impl RollbackReport {
    /// Whether every undo succeeded.
    pub fn is_complete(&self) -> bool {
        self.undone.iter().all(|u| u.error.is_none())
    }

    /// The steps whose undo failed.
    pub fn failures(&self) -> impl Iterator<Item = &UndoOutcome> {
        self.undone.iter().filter(|u| u.error.is_some())
    }
}

impl Rollback {
    /// No steps yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `action`; if it succeeds, registers `undo` (given the action's
    /// output) to compensate it. A failed action registers nothing.
    pub async fn step<T, E, Fut, U, UFut>(
        &mut self,
        name: &str,
        action: Fut,
        undo: U,
    ) -> Result<T, E>
    where
        Fut: Future<Output = Result<T, E>>,
        U: FnOnce(&T) -> UFut,
        UFut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        let value = action.await?;
        let compensation = undo(&value);
        self.compensations
            .push((name.to_string(), Box::new(move || Box::pin(compensation))));
        Ok(value)
    }

    /// Registers a compensation for a step done elsewhere.
    pub fn register<U, UFut>(&mut self, name: &str, undo: U)
    where
        U: FnOnce() -> UFut + Send + 'static,
        UFut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.compensations
            .push((name.to_string(), Box::new(move || Box::pin(undo()))));
    }

    /// How many compensations are registered.
    pub fn len(&self) -> usize {
        self.compensations.len()
    }

    /// Whether nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.compensations.is_empty()
    }

    /// Keeps the changes: forgets every compensation.
    pub fn commit(mut self) {
        self.compensations.clear();
    }

    /// Undoes every registered step, newest first, attempting all of them.
    pub async fn rollback(mut self) -> RollbackReport {
        let mut report = RollbackReport::default();
        while let Some((step, undo)) = self.compensations.pop() {
            let error = undo().await.err().map(|e| e.to_string());
            if let Some(error) = &error {
                tracing::warn!(target: "medic_resilience", %step, %error, "undo failed");
            }
            report.undone.push(UndoOutcome { step, error });
        }
        report
    }
}

impl Drop for Rollback {
    fn drop(&mut self) {
        if !self.compensations.is_empty() {
            tracing::warn!(
                target: "medic_resilience",
                steps = self.compensations.len(),
                "rollback dropped without commit or rollback; its compensations never ran"
            );
        }
    }
}
