//! Plan: which remedies to try for a diagnosis, in which order, and what the
//! safety policy says about each.
//!
//! Matching remedies are ranked by what has worked for this fingerprint before
//! (a Beta posterior of success whose prior is the configured order), then each
//! gets a [`Decision`]: run, record only (dry-run), wait for approval, wait for
//! the cooldown, or skip. Escalations stay at the end of the ladder: a human is
//! the last resort, not a remedy to learn away.
//!
//! [`plan`] is greedy (by posterior mean: what `medic check`, dry runs and
//! webhook answers show); [`plan_explored`] lets Thompson sampling reorder
//! the near-best remedies (what the agent runs). Either way the configured
//! order is the prior, and every step still passes the policy.

mod explore;
mod rank;

use medic_model::{Diagnosis, Grounds, RemedyStats};

use crate::config::{Action, Mode, Policy, Remedy, Risk, Target};

pub use explore::Explorer;
pub use rank::{BORROW_CAP, Borrowed, EXPLORE_BAND, Posterior, posterior_mean};

/// What the policy allows for one remedy now.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Run it.
    Run,
    /// Record what would run; execute nothing (`mode = "dry-run"`).
    DryRun,
    /// A human must approve first.
    NeedsApproval {
        /// Why.
        reason: String,
    },
    /// Not before the cooldown ends.
    Defer {
        /// Milliseconds until it may run.
        wait_ms: u64,
    },
    /// Not at all, for this incident.
    Skip {
        /// Why, for people.
        reason: String,
        /// Why, as a label (metrics).
        hold: Hold,
    },
}

/// Why a remedy is skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// This incident already ran it.
    Tried,
    /// `policy.max_actions_per_hour` is used up.
    GlobalBudget,
    /// `policy.max_actions_per_hour_per_target` is used up.
    TargetBudget,
}

impl Hold {
    /// Its label: `tried`, `global_budget`, `target_budget`.
    pub fn as_str(self) -> &'static str {
        match self {
            Hold::Tried => "tried",
            Hold::GlobalBudget => "global_budget",
            Hold::TargetBudget => "target_budget",
        }
    }
}

/// One rung of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Step<'a> {
    /// The remedy.
    pub remedy: &'a Remedy,
    /// Its learned success estimate, in `[0, 1]`.
    pub score: f64,
    /// What the policy says.
    pub decision: Decision,
}

/// What the planner knows besides the config. Times are milliseconds on the
/// caller's clock: the engine never reads one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Situation<'a> {
    /// The diagnosis being acted on.
    pub diagnosis: &'a Diagnosis,
    /// The failure's fingerprint.
    pub fingerprint: &'a str,
    /// Learned outcomes for this fingerprint.
    pub history: &'a [RemedyStats],
    /// Outcomes lent by similar past incidents (a down-weighted prior).
    pub borrowed: Borrowed<'a>,
    /// Remedies already tried for this incident.
    pub tried: &'a [String],
    /// Milliseconds since the last action on this target, if any.
    pub since_last_action_ms: Option<u64>,
    /// Actions on this target in the last hour.
    pub target_actions_last_hour: u64,
    /// Actions on all targets in the last hour.
    pub all_actions_last_hour: u64,
}

/// Whether `remedy`'s `when` holds for this target and diagnosis.
///
/// ```
/// use medic_engine::config::{parse};
/// use medic_engine::plan::matches;
/// use medic_model::{Category, Diagnosis, Grounds, Severity};
/// let config = parse(r#"
/// [[targets]]
/// name = "api"
/// remedies = [{ name = "reconnect", when = { category = ["database"] }, action = { kind = "wait", duration = "1s" } }]
/// "#, &Default::default()).unwrap();
/// let target = &config.targets[0];
/// let diagnosis = Diagnosis { category: Category::Database, severity: Severity::High, root_cause: String::new(),
///     evidence: vec![], confidence: 0.9, sources: vec![], rule: None, similar_to: None,
///     grounds: Grounds::Text };
/// assert!(matches(target, &target.remedies[0], &diagnosis, "database:1234"));
/// ```
pub fn matches(target: &Target, remedy: &Remedy, diagnosis: &Diagnosis, fingerprint: &str) -> bool {
    let when = &remedy.when;
    (when.category.is_empty() || when.category.contains(&diagnosis.category))
        && (when.severity.is_empty() || when.severity.contains(&diagnosis.severity))
        && when
            .labels
            .iter()
            .all(|(k, v)| target.labels.get(k) == Some(v))
        && when.fingerprint.as_deref().is_none_or(|pattern| {
            // Validated at load time; a pattern that fails here matches nothing.
            regex::Regex::new(pattern).is_ok_and(|re| re.is_match(fingerprint))
        })
}

/// The ordered plan for `target` in `situation` under `policy`, greedy:
/// by posterior mean, the same every time.
pub fn plan<'a>(target: &'a Target, policy: &Policy, situation: &Situation<'_>) -> Vec<Step<'a>> {
    plan_with(target, policy, situation, None)
}

/// Like [`plan`], but the near-best remedies are ordered by a Thompson draw
/// from `explorer` (see the `rank` module): what the agent runs, so a
/// remedy the configured order ranks second still gets its chance.
pub fn plan_explored<'a>(
    target: &'a Target,
    policy: &Policy,
    situation: &Situation<'_>,
    explorer: &mut Explorer,
) -> Vec<Step<'a>> {
    plan_with(target, policy, situation, Some(explorer))
}

fn plan_with<'a>(
    target: &'a Target,
    policy: &Policy,
    situation: &Situation<'_>,
    explorer: Option<&mut Explorer>,
) -> Vec<Step<'a>> {
    let matching: Vec<&Remedy> = target
        .remedies
        .iter()
        .filter(|r| matches(target, r, situation.diagnosis, situation.fingerprint))
        .collect();
    let mut ranked = rank::rank(&matching, situation.history, situation.borrowed, explorer);
    // Escalations last, in their configured order.
    ranked.sort_by_key(|(remedy, _)| matches!(remedy.action, Action::Escalate(_)));
    ranked
        .into_iter()
        .map(|(remedy, score)| Step {
            remedy,
            score,
            decision: decide(remedy, policy, situation),
        })
        .collect()
}

fn decide(remedy: &Remedy, policy: &Policy, situation: &Situation<'_>) -> Decision {
    if situation.tried.contains(&remedy.name) {
        return Decision::Skip {
            reason: "already tried for this incident".into(),
            hold: Hold::Tried,
        };
    }
    if policy.mode == Mode::DryRun {
        return Decision::DryRun;
    }
    // Paging a human is never held back by action budgets or cooldowns.
    if matches!(remedy.action, Action::Escalate(_)) {
        return Decision::Run;
    }
    if situation.all_actions_last_hour >= u64::from(policy.max_actions_per_hour) {
        return Decision::Skip {
            reason: format!(
                "global budget of {} actions per hour used up",
                policy.max_actions_per_hour
            ),
            hold: Hold::GlobalBudget,
        };
    }
    if situation.target_actions_last_hour >= u64::from(policy.max_actions_per_hour_per_target) {
        return Decision::Skip {
            reason: format!(
                "this target's budget of {} actions per hour used up",
                policy.max_actions_per_hour_per_target
            ),
            hold: Hold::TargetBudget,
        };
    }
    let cooldown_ms = u64::try_from(policy.cooldown.get().as_millis()).unwrap_or(u64::MAX);
    if let Some(since) = situation.since_last_action_ms
        && since < cooldown_ms
    {
        return Decision::Defer {
            wait_ms: cooldown_ms - since,
        };
    }
    if policy.mode == Mode::Approve {
        return Decision::NeedsApproval {
            reason: "policy mode is approve".into(),
        };
    }
    if remedy.risk == Risk::High {
        return Decision::NeedsApproval {
            reason: "high-risk remedy".into(),
        };
    }
    let diagnosis = situation.diagnosis;
    let bar = policy.min_confidence_for(diagnosis.grounds);
    if !diagnosis.is_confident(bar) {
        let on = match diagnosis.grounds {
            Grounds::Observed => "",
            Grounds::Text => " (it rests on outside text)",
        };
        return Decision::NeedsApproval {
            reason: format!(
                "diagnosis confidence {:.2} is below {bar:.2}{on}",
                diagnosis.confidence
            ),
        };
    }
    Decision::Run
}

#[cfg(test)]
mod tests;
