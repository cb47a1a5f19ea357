//! A target's health from its probe results: thresholds with hysteresis, and
//! flapping detection.
//!
//! One failed probe makes a target *suspect* (the agent then probes at the
//! short confirm interval); `failure_threshold` failures in a row make it
//! *unhealthy* (an incident opens). Recovery needs `success_threshold` passes
//! in a row. A target that changes between healthy and unhealthy more than
//! `flap_limit` times within `flap_window` is *flapping*: automation pauses
//! and a human is told, because remedies would only chase the flapping.

use std::collections::VecDeque;

/// Where a target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetState {
    /// No probe result yet.
    Unknown,
    /// Passing.
    Healthy,
    /// Failed recently, not yet often enough to be unhealthy.
    Suspect,
    /// Failing: an incident is open.
    Unhealthy,
    /// Passing again, not yet often enough to be healthy.
    Recovering,
    /// Changing state too often: automation is paused.
    Flapping,
}

impl TargetState {
    /// Every state, in order.
    pub const ALL: &'static [TargetState] = &[
        TargetState::Unknown,
        TargetState::Healthy,
        TargetState::Suspect,
        TargetState::Unhealthy,
        TargetState::Recovering,
        TargetState::Flapping,
    ];

    /// The state's name in JSON and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetState::Unknown => "unknown",
            TargetState::Healthy => "healthy",
            TargetState::Suspect => "suspect",
            TargetState::Unhealthy => "unhealthy",
            TargetState::Recovering => "recovering",
            TargetState::Flapping => "flapping",
        }
    }
}

/// A state change worth acting on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// The state left.
    pub from: TargetState,
    /// The state entered.
    pub to: TargetState,
}

/// Thresholds for one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// Failures in a row that make a target unhealthy (≥ 1).
    pub failure_threshold: u32,
    /// Passes in a row that make it healthy again (≥ 1).
    pub success_threshold: u32,
    /// Healthy ↔ unhealthy changes allowed within `flap_window_ms`.
    pub flap_limit: u32,
    /// The window for `flap_limit`, in milliseconds.
    pub flap_window_ms: u64,
    /// Past `flap_limit`, the target enters [`TargetState::Flapping`] and
    /// automation pauses (`on_flapping = "pause"`). Otherwise (`"heal"`) it
    /// keeps its real states and is only marked [`TargetHealth::is_recurring`].
    pub pause_when_flapping: bool,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            failure_threshold: 2,
            success_threshold: 2,
            flap_limit: 6,
            flap_window_ms: 10 * 60 * 1_000,
            pause_when_flapping: true,
        }
    }
}

/// The health state machine of one target. Time is passed in, in milliseconds.
///
/// ```
/// use medic_engine::health::{TargetHealth, TargetState, Thresholds};
/// let mut health = TargetHealth::new(Thresholds::default());
/// health.observe(true, 0);
/// health.observe(false, 1_000);
/// assert_eq!(health.state(), TargetState::Suspect);
/// let t = health.observe(false, 1_100).expect("a transition");
/// assert_eq!(t.to, TargetState::Unhealthy);
/// ```
#[derive(Debug, Clone)]
pub struct TargetHealth {
    thresholds: Thresholds,
    state: TargetState,
    failures_in_a_row: u32,
    successes_in_a_row: u32,
    /// When the target last became healthy or unhealthy, newest last.
    flips: VecDeque<u64>,
    /// Past the flap limit without pausing: marked until it is quiet again.
    recurring: bool,
    /// It just became recurring, not yet taken by [`Self::take_recurrence_onset`].
    onset: bool,
}

impl TargetHealth {
    /// A target with no results yet.
    pub fn new(thresholds: Thresholds) -> Self {
        Self {
            thresholds: Thresholds {
                failure_threshold: thresholds.failure_threshold.max(1),
                success_threshold: thresholds.success_threshold.max(1),
                ..thresholds
            },
            state: TargetState::Unknown,
            failures_in_a_row: 0,
            successes_in_a_row: 0,
            flips: VecDeque::new(),
            recurring: false,
            onset: false,
        }
    }

    /// Forgets every result: the target is unknown again (another replica
    /// watched it meanwhile, so what this one saw last is stale).
    pub fn forget(&mut self) {
        *self = Self::new(self.thresholds);
    }

    /// Past the flap limit while automation goes on (`pause_when_flapping`
    /// off), until no flip is left in the window.
    pub fn is_recurring(&self) -> bool {
        self.recurring
    }

    /// True once when the target becomes recurring: tell a human then, and
    /// not again until it has been quiet.
    pub fn take_recurrence_onset(&mut self) -> bool {
        std::mem::take(&mut self.onset)
    }

    /// Flips in the window beyond the flap limit (0 when under it).
    pub fn excess_flips(&self) -> u32 {
        u32::try_from(self.flips.len())
            .unwrap_or(u32::MAX)
            .saturating_sub(self.thresholds.flap_limit)
    }

    /// The current state.
    pub fn state(&self) -> TargetState {
        self.state
    }

    /// Whether a change of state waits to be confirmed (suspect,
    /// recovering): the agent probes at the short confirm interval. Down for
    /// good, a target is probed fast only while a fix is being verified.
    pub fn wants_fast_confirmation(&self) -> bool {
        matches!(self.state, TargetState::Suspect | TargetState::Recovering)
    }

    /// Whether remedies may run (not while flapping).
    pub fn automation_allowed(&self) -> bool {
        self.state != TargetState::Flapping
    }

    /// A failure that needs no confirmation (the supervised process died):
    /// the target is unhealthy at once, whatever the failure threshold.
    ///
    /// ```
    /// use medic_engine::health::{TargetHealth, TargetState, Thresholds};
    /// let mut health = TargetHealth::new(Thresholds::default());
    /// health.observe(true, 0);
    /// assert_eq!(health.observe_decisive_failure(10).map(|t| t.to), Some(TargetState::Unhealthy));
    /// ```
    pub fn observe_decisive_failure(&mut self, now_ms: u64) -> Option<Transition> {
        self.failures_in_a_row = self
            .failures_in_a_row
            .max(self.thresholds.failure_threshold - 1);
        self.observe(false, now_ms)
    }

    /// A success that needs no confirmation (the alert that opened the
    /// outage resolved, on a target with no probes of its own to ask).
    ///
    /// ```
    /// use medic_engine::health::{TargetHealth, TargetState, Thresholds};
    /// let mut health = TargetHealth::new(Thresholds::default());
    /// health.observe_decisive_failure(0);
    /// assert_eq!(health.observe_decisive_success(10).map(|t| t.to), Some(TargetState::Healthy));
    /// ```
    pub fn observe_decisive_success(&mut self, now_ms: u64) -> Option<Transition> {
        self.successes_in_a_row = self
            .successes_in_a_row
            .max(self.thresholds.success_threshold - 1);
        self.observe(true, now_ms)
    }

    /// Feeds one probe result; returns the transition it caused, if any.
    pub fn observe(&mut self, healthy: bool, now_ms: u64) -> Option<Transition> {
        if healthy {
            self.successes_in_a_row += 1;
            self.failures_in_a_row = 0;
        } else {
            self.failures_in_a_row += 1;
            self.successes_in_a_row = 0;
        }
        let t = self.thresholds;
        if self.recurring && self.quiet(now_ms) {
            self.recurring = false;
            self.flips.clear();
        }
        let next = match (self.state, healthy) {
            (TargetState::Flapping, _) => self.leave_flapping(now_ms),
            (TargetState::Unknown, true) => TargetState::Healthy,
            (TargetState::Unknown | TargetState::Healthy, false)
            | (TargetState::Suspect, false) => {
                if self.failures_in_a_row >= t.failure_threshold {
                    TargetState::Unhealthy
                } else {
                    TargetState::Suspect
                }
            }
            (TargetState::Suspect, true) => TargetState::Healthy,
            (TargetState::Healthy, true) => TargetState::Healthy,
            (TargetState::Unhealthy | TargetState::Recovering, true) => {
                if self.successes_in_a_row >= t.success_threshold {
                    TargetState::Healthy
                } else {
                    TargetState::Recovering
                }
            }
            (TargetState::Unhealthy | TargetState::Recovering, false) => TargetState::Unhealthy,
        };
        self.enter(next, now_ms)
    }

    fn enter(&mut self, next: TargetState, now_ms: u64) -> Option<Transition> {
        let from = self.state;
        if next == from {
            return None;
        }
        // A flip is a change of side: healthy to unhealthy or back.
        let flipped = match next {
            TargetState::Unhealthy => from != TargetState::Recovering,
            TargetState::Healthy => {
                matches!(from, TargetState::Unhealthy | TargetState::Recovering)
            }
            _ => false,
        };
        let mut to = next;
        if flipped {
            self.flips.push_back(now_ms);
            self.forget_old_flips(now_ms);
            if self.flips.len() > self.thresholds.flap_limit as usize {
                if self.thresholds.pause_when_flapping {
                    to = TargetState::Flapping;
                } else if !self.recurring {
                    self.recurring = true;
                    self.onset = true;
                }
            }
        }
        self.state = to;
        (to != from).then_some(Transition { from, to })
    }

    fn forget_old_flips(&mut self, now_ms: u64) {
        while self
            .flips
            .front()
            .is_some_and(|&at| now_ms.saturating_sub(at) > self.thresholds.flap_window_ms)
        {
            self.flips.pop_front();
        }
    }

    /// No flip is left in the window.
    fn quiet(&mut self, now_ms: u64) -> bool {
        self.forget_old_flips(now_ms);
        self.flips
            .back()
            .is_none_or(|&at| now_ms.saturating_sub(at) > self.thresholds.flap_window_ms)
    }

    /// A flapping target stays flapping until no flip is left in the window,
    /// then takes whatever state its latest results show.
    fn leave_flapping(&mut self, now_ms: u64) -> TargetState {
        if !self.quiet(now_ms) {
            return TargetState::Flapping;
        }
        self.flips.clear();
        if self.successes_in_a_row >= self.thresholds.success_threshold {
            TargetState::Healthy
        } else if self.failures_in_a_row >= self.thresholds.failure_threshold {
            TargetState::Unhealthy
        } else {
            TargetState::Flapping
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TargetState::*;
    use super::*;

    /// Feeds results one second apart; returns the state after each.
    fn run(thresholds: Thresholds, results: &str) -> Vec<TargetState> {
        let mut health = TargetHealth::new(thresholds);
        results
            .chars()
            .enumerate()
            .map(|(i, c)| {
                health.observe(c == '+', i as u64 * 1_000);
                health.state()
            })
            .collect()
    }

    #[test]
    fn thresholds_and_hysteresis() {
        let t = Thresholds::default();
        assert_eq!(run(t, "+-+"), [Healthy, Suspect, Healthy]);
        assert_eq!(run(t, "+--"), [Healthy, Suspect, Unhealthy]);
        assert_eq!(
            run(t, "+--+-++"),
            [
                Healthy, Suspect, Unhealthy, Recovering, Unhealthy, Recovering, Healthy
            ]
        );
        let strict = Thresholds {
            failure_threshold: 1,
            success_threshold: 3,
            ..t
        };
        assert_eq!(
            run(strict, "-+++"),
            [Unhealthy, Recovering, Recovering, Healthy]
        );
    }

    #[test]
    fn fast_confirmation_while_in_doubt() {
        let mut h = TargetHealth::new(Thresholds::default());
        h.observe(true, 0);
        assert!(!h.wants_fast_confirmation());
        h.observe(false, 1);
        assert!(h.wants_fast_confirmation());
        h.observe(false, 2);
        assert_eq!(h.state(), TargetState::Unhealthy);
        assert!(
            !h.wants_fast_confirmation(),
            "down for good: nothing to confirm"
        );
    }

    #[test]
    fn too_many_flips_pause_automation_until_quiet() {
        let t = Thresholds {
            failure_threshold: 1,
            success_threshold: 1,
            flap_limit: 3,
            flap_window_ms: 10_000,
            pause_when_flapping: true,
        };
        let mut h = TargetHealth::new(t);
        let mut states = Vec::new();
        for (i, ok) in [true, false, true, false, true].into_iter().enumerate() {
            h.observe(ok, i as u64 * 1_000);
            states.push(h.state());
        }
        assert_eq!(states, [Healthy, Unhealthy, Healthy, Unhealthy, Flapping]);
        assert!(!h.automation_allowed());
        h.observe(true, 8_000);
        assert_eq!(h.state(), Flapping, "still within the window");
        let t = h.observe(true, 20_000).expect("leaves flapping");
        assert_eq!((t.from, t.to), (Flapping, Healthy));
        assert!(h.automation_allowed());
    }

    #[test]
    fn healing_through_flapping_keeps_real_states_and_marks_the_recurrence_once() {
        let t = Thresholds {
            failure_threshold: 1,
            success_threshold: 1,
            flap_limit: 3,
            flap_window_ms: 10_000,
            pause_when_flapping: false,
        };
        let mut h = TargetHealth::new(t);
        let mut states = Vec::new();
        let mut onsets = 0;
        for (i, ok) in [true, false, true, false, true, false, true]
            .into_iter()
            .enumerate()
        {
            h.observe(ok, i as u64 * 1_000);
            states.push(h.state());
            onsets += u32::from(h.take_recurrence_onset());
        }
        assert_eq!(
            states,
            [
                Healthy, Unhealthy, Healthy, Unhealthy, Healthy, Unhealthy, Healthy
            ]
        );
        assert!(h.automation_allowed());
        assert!(h.is_recurring());
        assert_eq!(onsets, 1, "told once");
        assert_eq!(h.excess_flips(), 3);
        // Quiet for a window: no longer recurring; a new run of flips is a
        // new recurrence.
        h.observe(true, 20_000);
        assert!(!h.is_recurring());
        assert_eq!(h.excess_flips(), 0);
    }
}
