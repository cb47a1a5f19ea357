//! Group commit for webhook deliveries: every intake request waits until what
//! it carried is on disk, and requests that arrive together share one
//! transaction (one fsync), so durability costs a commit per batch, not per
//! request.

use std::sync::Arc;

use medic_store::{NewDelivery, Store};
use tokio::sync::{mpsc, oneshot};

/// Deliveries committed in one transaction at most.
const MAX_BATCH: usize = 1024;

/// Requests that may wait for the writer before senders wait too.
const QUEUE: usize = 4096;

/// Why deliveries could not be stored.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct IntakeError(String);

type Reply = oneshot::Sender<Result<Vec<bool>, IntakeError>>;

/// The handle intake handlers send deliveries through.
#[derive(Clone)]
pub(crate) struct IntakeWriter {
    queue: mpsc::Sender<(Vec<NewDelivery>, Reply)>,
}

impl IntakeWriter {
    /// Starts the writer task over `store`.
    pub(crate) fn start(store: Arc<dyn Store>) -> Self {
        let (queue, incoming) = mpsc::channel(QUEUE);
        tokio::spawn(write_batches(store, incoming));
        Self { queue }
    }

    /// Stores `deliveries` durably; for each, whether it is new.
    pub(crate) async fn record(
        &self,
        deliveries: Vec<NewDelivery>,
    ) -> Result<Vec<bool>, IntakeError> {
        if deliveries.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = oneshot::channel();
        let stopped = || IntakeError("the intake writer stopped".into());
        self.queue
            .send((deliveries, reply))
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// Takes whatever has queued up (at least one request), commits it in one
/// transaction, and answers each request with its share of the result.
async fn write_batches(
    store: Arc<dyn Store>,
    mut incoming: mpsc::Receiver<(Vec<NewDelivery>, Reply)>,
) {
    let mut waiting: Vec<(usize, Reply)> = Vec::new();
    let mut batch: Vec<NewDelivery> = Vec::new();
    while let Some(first) = incoming.recv().await {
        let mut next = Some(first);
        while let Some((deliveries, reply)) = next.take() {
            waiting.push((deliveries.len(), reply));
            batch.extend(deliveries);
            if batch.len() < MAX_BATCH {
                next = incoming.try_recv().ok();
            }
        }
        match commit(store.as_ref(), &batch).await {
            Ok(fresh) => {
                let mut shares = fresh.into_iter();
                for (count, reply) in waiting.drain(..) {
                    // The requester may have gone: what it sent is stored anyway.
                    let _ = reply.send(Ok(shares.by_ref().take(count).collect()));
                }
                batch.clear();
            }
            // One request's delivery may be what the database refuses: each
            // is tried on its own, so only that one fails.
            Err(_) if waiting.len() > 1 => {
                let mut rest = std::mem::take(&mut batch).into_iter();
                for (count, reply) in waiting.drain(..) {
                    let own: Vec<NewDelivery> = rest.by_ref().take(count).collect();
                    let _ = reply.send(commit(store.as_ref(), &own).await);
                }
            }
            Err(error) => {
                for (_, reply) in waiting.drain(..) {
                    let _ = reply.send(Err(error.clone()));
                }
                batch.clear();
            }
        }
    }
}

/// One transaction; checks the store answered once per delivery.
async fn commit(store: &dyn Store, batch: &[NewDelivery]) -> Result<Vec<bool>, IntakeError> {
    let fresh = store
        .record_deliveries(batch)
        .await
        .map_err(|e| IntakeError(e.to_string()))?;
    if fresh.len() != batch.len() {
        return Err(IntakeError(format!(
            "the store answered for {} of {} deliveries",
            fresh.len(),
            batch.len()
        )));
    }
    Ok(fresh)
}

#[cfg(test)]
mod tests {
    use super::*;
    use medic_store::SqliteStore;

    fn delivery(key: &str) -> NewDelivery {
        NewDelivery::new(
            "alertmanager",
            key,
            serde_json::value::RawValue::from_string("{}".into()).expect("JSON"),
            chrono::Utc::now(),
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_requests_each_get_their_own_answers() {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.expect("store"));
        let writer = IntakeWriter::start(store);
        let tasks: Vec<_> = (0..64)
            .map(|i| {
                let writer = writer.clone();
                tokio::spawn(async move {
                    // Every request repeats its own first key: [new, re-delivery, new].
                    let keys = [format!("{i}/a"), format!("{i}/a"), format!("{i}/b")];
                    writer
                        .record(keys.iter().map(|k| delivery(k)).collect())
                        .await
                })
            })
            .collect();
        for task in tasks {
            let fresh = task.await.expect("task").expect("stored");
            assert_eq!(fresh, [true, false, true]);
        }
        assert_eq!(
            writer.record(vec![delivery("0/a")]).await.expect("stored"),
            [false]
        );
        assert!(writer.record(Vec::new()).await.expect("empty").is_empty());
    }
}
