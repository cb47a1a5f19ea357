//! Ranking remedies by learned success, with the configured order as prior.
//!
//! Each (fingerprint, remedy) has a Beta posterior of its success
//! probability. Its prior is the configured order (the first remedy starts
//! at 0.9, the last near 0.5, worth `PRIOR_STRENGTH` observations), plus
//! outcomes lent by similar past incidents, down-weighted and capped at
//! [`BORROW_CAP`] observations; the fingerprint's own outcomes update it.
//!
//! **Why Thompson sampling.** Ranking by the posterior mean alone (greedy)
//! never tries the second remedy again once the first works now and then,
//! even if the second would work always. Thompson sampling orders by one
//! draw from each posterior: a remedy is tried first with the probability
//! that it is the best, so exploration fades by itself as evidence grows,
//! with no tuning constant (UCB needs one, and is deterministic, so two
//! agents with the same history would explore in lock step). Draws come from
//! a seeded [`Explorer`], so tests replay exactly.
//!
//! **Bounded.** Only remedies whose posterior mean is within
//! [`EXPLORE_BAND`] of the best one are sampled; the rest keep the greedy
//! order behind them. A remedy that keeps failing sinks below the band and
//! stays at the end: exploration never puts a known loser first. And a
//! fingerprint with no outcomes of its own follows the configured order:
//! draws from the bare prior would reorder about a third of first incidents
//! against the operator's stated preference, on no evidence at all.

use medic_model::RemedyStats;

use super::explore::Explorer;
use crate::config::Remedy;

/// Pseudo-observations the configured order is worth: after a few real
/// outcomes, evidence outweighs the order.
const PRIOR_STRENGTH: f64 = 2.0;

/// The most pseudo-observations similar incidents may lend one remedy: a
/// hint for a new fingerprint, never a verdict.
pub const BORROW_CAP: f64 = 3.0;

/// How far below the best posterior mean a remedy may be and still be
/// tried first by exploration.
pub const EXPLORE_BAND: f64 = 0.2;

/// A Beta(`alpha`, `beta`) posterior of a remedy's success probability.
///
/// ```
/// use medic_engine::plan::Posterior;
/// // A neutral prior (Beta(2, 2)) and 8 successes of 10: Beta(10, 4).
/// let p = Posterior::new(0.5, 8, 10);
/// assert!((p.mean() - 10.0 / 14.0).abs() < 1e-9);
/// let (low, high) = p.interval95();
/// assert!(low < p.mean() && p.mean() < high && high <= 1.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Posterior {
    /// One plus the prior's and the evidence's successes.
    pub alpha: f64,
    /// One plus the prior's and the evidence's failures.
    pub beta: f64,
}

impl Posterior {
    /// `prior` (a success probability) worth two observations,
    /// updated by `successes` of `attempts`.
    pub fn new(prior: f64, successes: u64, attempts: u64) -> Self {
        let failures = attempts.saturating_sub(successes);
        Self {
            alpha: 1.0 + PRIOR_STRENGTH * prior + successes as f64,
            beta: 1.0 + PRIOR_STRENGTH * (1.0 - prior) + failures as f64,
        }
    }

    /// Adds outcomes seen elsewhere, each worth `weight` (in `[0, 1]`),
    /// capped at [`BORROW_CAP`] observations in all.
    pub fn borrow(self, successes: u64, attempts: u64, weight: f64) -> Self {
        if attempts == 0 || weight <= 0.0 {
            return self;
        }
        let weight = weight.min(1.0).min(BORROW_CAP / attempts as f64);
        let failures = attempts.saturating_sub(successes);
        Self {
            alpha: self.alpha + weight * successes as f64,
            beta: self.beta + weight * failures as f64,
        }
    }

    /// The posterior mean.
    pub fn mean(&self) -> f64 {
        self.alpha / (self.alpha + self.beta)
    }

    /// A 95 % credible interval, by the normal approximation (clamped to
    /// `[0, 1]`): good enough to show how sure the catalog is.
    pub fn interval95(&self) -> (f64, f64) {
        let (a, b) = (self.alpha, self.beta);
        let sd = (a * b / ((a + b).powi(2) * (a + b + 1.0))).sqrt();
        let mean = self.mean();
        ((mean - 1.96 * sd).max(0.0), (mean + 1.96 * sd).min(1.0))
    }

    /// One draw, for Thompson sampling.
    fn sample(&self, explorer: &mut Explorer) -> f64 {
        explorer.beta(self.alpha, self.beta)
    }
}

/// The mean of a Beta posterior: `prior` (a success probability) worth
/// two observations, updated by `successes` of `attempts`.
///
/// ```
/// use medic_engine::plan::posterior_mean;
/// assert_eq!(posterior_mean(0.5, 0, 0), 0.5);
/// assert!(posterior_mean(0.9, 0, 10) < 0.25); // ten failures sink a favourite
/// ```
pub fn posterior_mean(prior: f64, successes: u64, attempts: u64) -> f64 {
    Posterior::new(prior, successes, attempts).mean()
}

/// Outcomes lent by similar past incidents: their fingerprints' stats, each
/// observation worth `weight` (the similarity, down-weighted by the caller).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Borrowed<'a> {
    /// The similar incidents' remedy stats (any fingerprint).
    pub stats: &'a [RemedyStats],
    /// What one of their observations is worth here, in `[0, 1]`.
    pub weight: f64,
}

/// The configured order as a success probability: the first remedy 0.9,
/// the last `0.9 − 0.4·(n−1)/n`.
fn configured_prior(position: usize, n: usize) -> f64 {
    0.9 - 0.4 * position as f64 / n.max(1) as f64
}

/// The posterior of each remedy, in the configured order.
fn posteriors(
    remedies: &[&Remedy],
    history: &[RemedyStats],
    borrowed: Borrowed<'_>,
) -> Vec<Posterior> {
    remedies
        .iter()
        .enumerate()
        .map(|(position, remedy)| {
            let own = history.iter().find(|s| s.remedy == remedy.name);
            let (successes, attempts) = own.map_or((0, 0), |s| (s.successes, s.attempts));
            let (lent_successes, lent_attempts) = borrowed
                .stats
                .iter()
                .filter(|s| s.remedy == remedy.name)
                .fold((0u64, 0u64), |(s, a), stats| {
                    (
                        s.saturating_add(stats.successes),
                        a.saturating_add(stats.attempts),
                    )
                });
            Posterior::new(
                configured_prior(position, remedies.len()),
                successes,
                attempts,
            )
            .borrow(lent_successes, lent_attempts, borrowed.weight)
        })
        .collect()
}

/// Remedies with their posterior means, best first; ties keep the
/// configured order. With an `explorer` and outcomes of this fingerprint,
/// the remedies within [`EXPLORE_BAND`] of the best are ordered by a
/// Thompson draw instead.
pub(crate) fn rank<'a>(
    remedies: &[&'a Remedy],
    history: &[RemedyStats],
    borrowed: Borrowed<'_>,
    explorer: Option<&mut Explorer>,
) -> Vec<(&'a Remedy, f64)> {
    let posteriors = posteriors(remedies, history, borrowed);
    let mut scored: Vec<(&Remedy, Posterior)> = remedies.iter().copied().zip(posteriors).collect();
    // A stable sort keeps the configured order among equal means.
    scored.sort_by(|a, b| b.1.mean().total_cmp(&a.1.mean()));
    let evidence = remedies
        .iter()
        .any(|r| history.iter().any(|s| s.remedy == r.name && s.attempts > 0));
    if let Some(explorer) = explorer.filter(|_| evidence)
        && let Some(best) = scored.first().map(|(_, p)| p.mean())
    {
        // The band is a prefix of the greedy order: reorder only it.
        let band = scored
            .iter()
            .take_while(|(_, p)| p.mean() >= best - EXPLORE_BAND)
            .count();
        let mut drawn: Vec<(&Remedy, Posterior, f64)> = scored
            .drain(..band)
            .map(|(remedy, p)| (remedy, p, p.sample(explorer)))
            .collect();
        drawn.sort_by(|a, b| b.2.total_cmp(&a.2));
        scored.splice(0..0, drawn.into_iter().map(|(remedy, p, _)| (remedy, p)));
    }
    scored
        .into_iter()
        .map(|(remedy, p)| (remedy, p.mean()))
        .collect()
}
