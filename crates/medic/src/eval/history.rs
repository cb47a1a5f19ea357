//! The "rules + history" pass of `medic eval`: the corpus replayed in file
//! order shuffled with a fixed seed, each case scored with what the cases
//! before it taught, then learned (prequential evaluation: no case is
//! scored on its own outcome).
//!
//! What a case teaches is its verified outcome: its expected remedy
//! succeeded, the remedies the plan put before it failed, and its failure
//! (fingerprint, root-cause template) belongs to its expected category.
//! What history does for the next case:
//! - **recall**, where the rules have no answer (`unknown`) and only there
//!   (rules first): the same fingerprint seen before, else the most similar
//!   past root cause (Jaccard over masked tokens, at least
//!   `MIN_SIMILARITY`), gives the category its fix stood for;
//! - **ranking**: the fingerprint's outcomes, and the similar case's lent
//!   at a down-weight, feed the planner exactly as the agent feeds it.

use medic_engine::config::{Action, Policy, Target};
use medic_engine::diagnosis::RulesDiagnoser;
use medic_engine::plan::{Borrowed, Decision, Situation, plan};
use medic_engine::similar::{Candidate, most_similar};
use medic_model::{Category, DiagnosisSource, RemedyStats};

use super::{Case, percent};

/// What a lent observation is worth, times the similarity (as in the agent).
const LENT_WEIGHT: f64 = 0.5;

/// The pass's figures.
#[derive(Debug, serde::Serialize)]
pub(super) struct HistoryReport {
    /// Percent of cases whose category (after recall) was the expected one.
    pub category_accuracy: f64,
    /// Percent of cases whose first remedy was the expected one.
    pub remedy_accuracy: f64,
    /// Cases the rules called `unknown` whose fingerprint had been seen
    /// before: their category came from history.
    pub recalled_exact: usize,
    /// Cases the rules called `unknown` recalled through a similar past case.
    pub recalled_similar: usize,
    /// Recalled cases whose recalled category was the expected one.
    pub recalled_right: usize,
}

/// The replay order's seed.
const SHUFFLE_SEED: u64 = 2026;

/// SplitMix64's step: enough to shuffle a corpus reproducibly.
fn splitmix(state: u64) -> u64 {
    let mut z = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A case already scored, as history remembers it.
struct Past {
    fingerprint: String,
    category: Category,
    root_cause: String,
}

pub(super) fn replay(
    cases: &[Case],
    diagnoser: &RulesDiagnoser,
    target: &Target,
    policy: &Policy,
) -> HistoryReport {
    let mut past: Vec<Past> = Vec::new();
    let mut stats: Vec<RemedyStats> = Vec::new();
    // The corpus file is grouped by category; replaying it in that order
    // would let "the latest similar case" guess the category from position.
    // A seeded shuffle removes that, the same every run.
    let mut order: Vec<&Case> = cases.iter().collect();
    let mut state = SHUFFLE_SEED;
    for i in (1..order.len()).rev() {
        state = splitmix(state);
        order.swap(i, (state % (i as u64 + 1)) as usize);
    }
    let (mut right, mut right_remedy, mut exact, mut similar) = (0, 0, 0, 0);
    let mut recalled_right = 0;
    for case in order {
        let mut finding = diagnoser.diagnose_text(&case.text);
        let fingerprint = finding.fingerprint.clone();
        // Newest first, as the store hands candidates to the agent.
        let candidates: Vec<Candidate<'_>> = past
            .iter()
            .rev()
            .map(|p| Candidate {
                id: 0,
                fingerprint: &p.fingerprint,
                category: p.category,
                root_cause: &p.root_cause,
            })
            .collect();
        let seen = past.iter().rev().find(|p| p.fingerprint == fingerprint);
        let near = most_similar(
            None,
            &fingerprint,
            &finding.diagnosis.root_cause,
            &candidates,
            1,
        );
        let lender = near
            .first()
            .filter(|_| seen.is_none())
            .map(|m| (m.candidate.fingerprint.to_string(), m.similarity));
        // Rules first: history answers only where the rules have none.
        if finding.diagnosis.category == Category::Unknown {
            let recalled = match (seen, near.first()) {
                (Some(p), _) => {
                    exact += 1;
                    Some(p.category)
                }
                (None, Some(m)) => {
                    similar += 1;
                    Some(m.candidate.category)
                }
                (None, None) => None,
            };
            if let Some(category) = recalled {
                recalled_right += usize::from(category == case.category);
                finding.diagnosis.category = category;
                finding.diagnosis.sources.push(DiagnosisSource::History);
            }
        }
        let own: Vec<RemedyStats> = stats
            .iter()
            .filter(|s| s.fingerprint == fingerprint)
            .cloned()
            .collect();
        let lent: Vec<RemedyStats> = lender
            .as_ref()
            .map(|(fp, _)| {
                stats
                    .iter()
                    .filter(|s| &s.fingerprint == fp)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let situation = Situation {
            diagnosis: &finding.diagnosis,
            fingerprint: &fingerprint,
            history: &own,
            borrowed: Borrowed {
                stats: &lent,
                weight: lender.as_ref().map_or(0.0, |(_, s)| s * LENT_WEIGHT),
            },
            tried: &[],
            since_last_action_ms: None,
            target_actions_last_hour: 0,
            all_actions_last_hour: 0,
        };
        let steps: Vec<_> = plan(target, policy, &situation)
            .into_iter()
            .filter(|s| !matches!(s.decision, Decision::Skip { .. } | Decision::Defer { .. }))
            .collect();
        right += usize::from(finding.diagnosis.category == case.category);
        right_remedy += usize::from(steps.first().is_some_and(|s| s.remedy.name == case.remedy));

        // Learn the verified outcome: down the ladder until the expected
        // remedy, which works; escalations teach nothing.
        for step in steps
            .iter()
            .filter(|s| !matches!(s.remedy.action, Action::Escalate(_)))
        {
            let success = step.remedy.name == case.remedy;
            record(&mut stats, &fingerprint, &step.remedy.name, success);
            if success {
                break;
            }
        }
        past.push(Past {
            fingerprint,
            category: case.category,
            root_cause: finding.diagnosis.root_cause,
        });
    }
    HistoryReport {
        category_accuracy: percent(right, cases.len()),
        remedy_accuracy: percent(right_remedy, cases.len()),
        recalled_exact: exact,
        recalled_similar: similar,
        recalled_right,
    }
}

fn record(stats: &mut Vec<RemedyStats>, fingerprint: &str, remedy: &str, success: bool) {
    let index = match stats
        .iter()
        .position(|s| s.fingerprint == fingerprint && s.remedy == remedy)
    {
        Some(index) => index,
        None => {
            stats.push(RemedyStats {
                fingerprint: fingerprint.to_string(),
                remedy: remedy.to_string(),
                attempts: 0,
                successes: 0,
                total_recover_ms: 0,
            });
            stats.len() - 1
        }
    };
    stats[index].attempts += 1;
    stats[index].successes += u64::from(success);
}
