//! Ranking remedies by learned success, with the configured order as prior.

use medic_model::RemedyStats;

use crate::config::Remedy;

/// Pseudo-observations the configured order is worth: after a few real
/// outcomes, evidence outweighs the order.
const PRIOR_STRENGTH: f64 = 2.0;

/// The mean of a Beta posterior: `prior` (a success probability) worth
/// two observations, updated by `successes` of `attempts`.
///
/// ```
/// use medic_engine::plan::posterior_mean;
/// assert_eq!(posterior_mean(0.5, 0, 0), 0.5);
/// assert!(posterior_mean(0.9, 0, 10) < 0.25); // ten failures sink a favourite
/// ```
pub fn posterior_mean(prior: f64, successes: u64, attempts: u64) -> f64 {
    let alpha = 1.0 + PRIOR_STRENGTH * prior;
    let beta = 1.0 + PRIOR_STRENGTH * (1.0 - prior);
    let failures = attempts.saturating_sub(successes);
    (alpha + successes as f64) / (alpha + beta + successes as f64 + failures as f64)
}

/// Remedies with their scores, best first; ties keep the configured order.
pub(crate) fn rank<'a>(remedies: &[&'a Remedy], history: &[RemedyStats]) -> Vec<(&'a Remedy, f64)> {
    let n = remedies.len().max(1) as f64;
    let mut scored: Vec<(&Remedy, f64)> = remedies
        .iter()
        .enumerate()
        .map(|(position, remedy)| {
            // The first configured remedy starts at 0.9, the last at 0.5.
            let prior = 0.9 - 0.4 * position as f64 / n;
            let stats = history.iter().find(|s| s.remedy == remedy.name);
            let (successes, attempts) = stats.map_or((0, 0), |s| (s.successes, s.attempts));
            (*remedy, posterior_mean(prior, successes, attempts))
        })
        .collect();
    // A stable sort keeps the configured order among equal scores.
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    scored
}
