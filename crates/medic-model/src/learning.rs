//! What medic has learned: how each remedy fared for each failure fingerprint.

/// Outcomes of one remedy for one fingerprint.
///
/// ```
/// let stats = medic_model::RemedyStats {
///     fingerprint: "network:fe8e71ddc6517d52".into(),
///     remedy: "reconnect-db".into(),
///     attempts: 4,
///     successes: 3,
///     total_recover_ms: 3_000,
/// };
/// assert_eq!(stats.success_rate(), 0.75);
/// assert_eq!(stats.mean_recover_ms(), Some(1_000.0));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RemedyStats {
    /// The failure's fingerprint.
    pub fingerprint: String,
    /// The remedy's name.
    pub remedy: String,
    /// Times it ran.
    pub attempts: u64,
    /// Times the target was verified healthy after it.
    pub successes: u64,
    /// Sum of the times to recover of the successes, in milliseconds.
    pub total_recover_ms: u64,
}

impl RemedyStats {
    /// Successes over attempts (0 with no attempts).
    pub fn success_rate(&self) -> f64 {
        if self.attempts == 0 {
            0.0
        } else {
            self.successes as f64 / self.attempts as f64
        }
    }

    /// Mean time to recover over the successes, if any.
    pub fn mean_recover_ms(&self) -> Option<f64> {
        (self.successes > 0).then(|| self.total_recover_ms as f64 / self.successes as f64)
    }
}
