//! Signed deliveries are accepted once. A signature's claim is kept in the
//! store, not in memory, so neither a restart nor a second replica behind
//! the same store takes a captured delivery again; claims older than the
//! signature's own window (where a replay is stale anyway) are pruned.

use crate::ApiState;
use crate::error::ApiError;
use crate::signature::TOLERANCE_SECS;

/// Claims `key` for a delivery to `source`: a replay is `replayed_signature`,
/// a store that cannot answer `store_unavailable` (the sender retries).
pub(crate) async fn claim(state: &ApiState, source: &str, key: &str) -> Result<(), ApiError> {
    let now = chrono::Utc::now();
    // Twice the window: a timestamp may be that far in the future as well.
    let window = chrono::Duration::seconds(i64::try_from(2 * TOLERANCE_SECS).unwrap_or(600));
    let fresh = state
        .store
        .claim_replay(key, now, now - window)
        .await
        .map_err(|error| {
            tracing::error!(%source, %error, "a signature could not be claimed");
            state.agent.metrics().intake(source, "unavailable");
            ApiError::new(
                "store_unavailable",
                "the delivery could not be checked for replay now; send it again",
            )
        })?;
    if fresh {
        Ok(())
    } else {
        state.agent.metrics().intake(source, "rejected");
        Err(ApiError::new(
            "replayed_signature",
            "this signature was already accepted once",
        ))
    }
}
