//! The incident lifecycle as a state machine: a [`Lifecycle`] and an
//! [`Event`] give the next lifecycle and the [`Command`]s to carry out.
//!
//! No IO and no clock: the caller passes the time in (milliseconds on its
//! own clock) and does the work each command names, feeding what came of it
//! back as the next event. The agent persists the lifecycle after every
//! transition, so an incident can be carried on from where it stood.
//!
//! ```text
//! Planning ──Run──▶ Intending ──IntentRecorded──▶ Acting ──ok──▶ Verifying ──Healthy──▶ Resolved
//!    ▲   └─Ask──▶ Intending ─▶ AwaitingApproval ─Approved─┘  │fail      │still unhealthy
//!    └────────────────────────────────────────────────────────┴──────────┘
//! ```
//!
//! Invariants the tests hold it to: at most one action is in flight (only
//! `Acting` has one), no command follows a terminal phase, and every path
//! ends `Resolved`, `Escalated` or `Failed` once the ladder is spent.

#[cfg(test)]
mod tests;

use medic_model::TimelineKind;
use serde::{Deserialize, Serialize};

/// One remedy of the ladder, as the lifecycle needs to know it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rung {
    /// The remedy's name.
    pub remedy: String,
    /// Its action kind (`exec`, `http`, `escalate`, …).
    pub kind: String,
    /// It pages a human: success ends the incident as escalated.
    pub escalation: bool,
}

/// What the planner chose as the next rung, given the policy.
#[derive(Debug, Clone, PartialEq)]
pub enum Choice {
    /// Run it.
    Run(Rung),
    /// Record it without running it (dry-run).
    DryRun(Rung),
    /// A human must approve it first.
    Ask {
        /// The rung.
        rung: Rung,
        /// Why the policy wants a human.
        reason: String,
    },
    /// Nothing may run before a cooldown ends.
    Defer {
        /// Milliseconds to wait.
        wait_ms: u64,
    },
    /// No rung left.
    Exhausted,
}

/// How a request for approval ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A human approved it.
    Approved,
    /// A human rejected it.
    Rejected {
        /// Who.
        by: String,
    },
    /// Nobody answered in time.
    Expired,
}

/// Where the incident stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    /// Nothing done yet: waiting for [`Event::Begin`].
    New,
    /// Choosing the next rung.
    Planning,
    /// Waiting for a cooldown (or the target's recovery, if sooner).
    Deferred {
        /// When to plan again.
        until_ms: u64,
    },
    /// The intent of `rung` is being recorded; what follows is `then`.
    Intending {
        /// The rung.
        rung: Rung,
        /// Its step number.
        step: u32,
        /// Run it at once, or ask first.
        then: Then,
    },
    /// A recorded intent waits for a human.
    AwaitingApproval {
        /// The recorded action.
        action_id: i64,
        /// The rung.
        rung: Rung,
        /// When the request expires.
        expires_ms: u64,
    },
    /// An action is in flight: its outcome is unknown until it reports.
    Acting {
        /// The recorded action.
        action_id: i64,
        /// The rung.
        rung: Rung,
        /// When it started.
        started_ms: u64,
    },
    /// An action reported success (or was in doubt after a crash); waiting
    /// for the target to be healthy.
    Verifying {
        /// The remedy that ran.
        remedy: String,
        /// When the verify window ends.
        until_ms: u64,
        /// Whether it ran at all is unknown: its agent stopped meanwhile.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        in_doubt: bool,
    },
    /// Dry-run with the ladder spent: waiting for the target to recover alone.
    Watching,
    /// Healthy again (terminal).
    Resolved,
    /// Handed to a human (terminal).
    Escalated,
    /// The ladder is spent and the target is still unhealthy (terminal).
    Failed,
    /// Someone else ended it (an operator through the API) (terminal).
    ClosedElsewhere,
}

/// What follows a recorded intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Then {
    /// Run it.
    Run,
    /// Ask a human first.
    Ask,
}

/// The incident's settings that shape its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// How long a fix gets to show the target healthy, in ms.
    pub verify_window_ms: u64,
    /// How long an approval request waits, in ms.
    pub approval_timeout_ms: u64,
    /// `mode = "dry-run"`: nothing runs.
    pub dry_run: bool,
    /// The target has remedies at all.
    pub has_remedies: bool,
}

/// The persisted lifecycle of one incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifecycle {
    /// Where it stands.
    pub phase: Phase,
    /// The step number the next action gets.
    pub next_step: u32,
    /// Its settings.
    pub settings: Settings,
    /// The approval reason while `Intending` an `Ask` (kept for the request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_reason: Option<String>,
}

/// What happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The incident is open and diagnosed. `restarted`: the supervisor has
    /// already restarted the crashed process (the first rung, done).
    Begin {
        /// The supervisor restarted it.
        restarted: bool,
    },
    /// The planner's answer to [`Command::Plan`].
    Planned(Choice),
    /// The intent asked for by [`Command::RecordIntent`] is durable.
    IntentRecorded {
        /// Its id.
        action_id: i64,
    },
    /// A human answered, or the request expired.
    Decided(Verdict),
    /// The action finished.
    ActionFinished {
        /// Which.
        action_id: i64,
        /// It did its job.
        success: bool,
    },
    /// The target is healthy.
    Healthy,
    /// A wait for health ended with the target still unhealthy.
    StillUnhealthy,
    /// The incident was ended by someone else.
    ClosedElsewhere,
}

/// Work for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Check the target and choose the next rung: answer [`Event::Healthy`]
    /// if it recovered, [`Event::ClosedElsewhere`] if the incident ended,
    /// else [`Event::Planned`].
    Plan,
    /// Record the supervisor's restart as the incident's action `step`.
    RecordRestart {
        /// Its step number.
        step: u32,
    },
    /// Record the intent of `rung` (answer [`Event::IntentRecorded`]).
    RecordIntent {
        /// The rung.
        rung: Rung,
        /// Its step number.
        step: u32,
    },
    /// Record `rung` as skipped without running it.
    RecordSkipped {
        /// The rung.
        rung: Rung,
        /// Its step number.
        step: u32,
        /// Why.
        why: String,
    },
    /// Ask a human to approve a recorded action (answer [`Event::Decided`],
    /// or [`Event::Healthy`] if the target recovers first).
    AskApproval {
        /// The recorded action.
        action_id: i64,
        /// The remedy.
        remedy: String,
        /// Why.
        reason: String,
        /// When the request expires.
        expires_ms: u64,
    },
    /// Close a recorded action as skipped.
    Skip {
        /// The recorded action.
        action_id: i64,
        /// Why.
        why: String,
    },
    /// Run a recorded action (answer [`Event::ActionFinished`]).
    Run {
        /// The recorded action.
        action_id: i64,
        /// The rung.
        rung: Rung,
    },
    /// Learn that `remedy` did not fix this failure.
    RecordFailure {
        /// The remedy.
        remedy: String,
    },
    /// Mark the incident as verifying.
    Verify,
    /// Wait until the target is healthy ([`Event::Healthy`]) or `until_ms`
    /// passes ([`Event::StillUnhealthy`]); `None` waits for ever.
    WaitForHealth {
        /// The deadline.
        until_ms: Option<u64>,
    },
    /// A line on the incident's timeline.
    Note {
        /// What it is about.
        kind: TimelineKind,
        /// What it says.
        text: String,
    },
    /// End it resolved; `after` names the remedy that fixed it (learned).
    Resolve {
        /// The remedy, if one did it.
        after: Option<String>,
        /// What the timeline says.
        note: String,
    },
    /// End it escalated; `page` runs the target's escalation remedies first.
    Escalate {
        /// Page through every escalation remedy.
        page: bool,
    },
    /// End it failed.
    Fail,
}

impl Command {
    fn note(kind: TimelineKind, text: impl Into<String>) -> Self {
        Command::Note {
            kind,
            text: text.into(),
        }
    }
}

/// The supervisor's restart, as a rung.
pub const SUPERVISOR_RESTART: &str = "supervisor-restart";

impl Lifecycle {
    /// A new incident's lifecycle.
    pub fn new(settings: Settings) -> Self {
        Self {
            phase: Phase::New,
            next_step: 1,
            settings,
            pending_reason: None,
        }
    }

    /// It has ended.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self.phase,
            Phase::Resolved | Phase::Escalated | Phase::Failed | Phase::ClosedElsewhere
        )
    }

    /// The action in flight, if any.
    pub fn action_in_flight(&self) -> Option<i64> {
        match self.phase {
            Phase::Acting { action_id, .. } => Some(action_id),
            _ => None,
        }
    }

    /// Takes `event` at `now_ms`: the lifecycle moves on and returns the
    /// commands to carry out, in order. An event that does not fit the
    /// phase (a late answer, a duplicate) changes nothing.
    pub fn on(&mut self, event: Event, now_ms: u64) -> Vec<Command> {
        use Command as C;
        if self.is_terminal() {
            return Vec::new();
        }
        if event == Event::ClosedElsewhere {
            // An action in flight still reports; nothing new starts.
            self.phase = Phase::ClosedElsewhere;
            return Vec::new();
        }
        let settings = self.settings;
        let verify_until = now_ms.saturating_add(settings.verify_window_ms);
        match (std::mem::replace(&mut self.phase, Phase::New), event) {
            (Phase::New, Event::Begin { restarted: true }) => {
                let step = self.take_step();
                self.phase = Phase::Verifying {
                    remedy: SUPERVISOR_RESTART.into(),
                    until_ms: verify_until,
                    in_doubt: false,
                };
                vec![
                    C::RecordRestart { step },
                    C::Verify,
                    C::WaitForHealth {
                        until_ms: Some(verify_until),
                    },
                ]
            }
            (Phase::New, Event::Begin { restarted: false }) => self.plan(),
            (Phase::Planning, Event::Healthy) => {
                self.resolve(None, "healthy again without further action")
            }
            (Phase::Planning, Event::Planned(choice)) => self.choose(choice, now_ms),
            (Phase::Deferred { .. }, Event::Healthy | Event::StillUnhealthy) => self.plan(),
            (Phase::Intending { rung, then, .. }, Event::IntentRecorded { action_id }) => {
                match then {
                    Then::Run => self.run(action_id, rung, now_ms),
                    Then::Ask => {
                        let expires_ms = now_ms.saturating_add(settings.approval_timeout_ms);
                        let reason = self.pending_reason.take().unwrap_or_default();
                        self.phase = Phase::AwaitingApproval {
                            action_id,
                            rung: rung.clone(),
                            expires_ms,
                        };
                        vec![C::AskApproval {
                            action_id,
                            remedy: rung.remedy,
                            reason,
                            expires_ms,
                        }]
                    }
                }
            }
            (
                Phase::AwaitingApproval {
                    action_id, rung, ..
                },
                Event::Decided(verdict),
            ) => match verdict {
                Verdict::Approved => self.run(action_id, rung, now_ms),
                Verdict::Rejected { by } => {
                    let why = format!("rejected by {by}");
                    self.then_plan(vec![C::Skip { action_id, why }])
                }
                Verdict::Expired => {
                    self.phase = Phase::Escalated;
                    vec![
                        C::Skip {
                            action_id,
                            why: "not run: nobody approved it in time".into(),
                        },
                        C::Escalate { page: true },
                    ]
                }
            },
            (Phase::AwaitingApproval { action_id, .. }, Event::Healthy) => {
                let why = "not run: the target recovered while it awaited approval".into();
                self.then_plan(vec![C::Skip { action_id, why }])
            }
            (
                Phase::Acting {
                    action_id, rung, ..
                },
                Event::ActionFinished {
                    action_id: finished,
                    success,
                },
            ) if finished == action_id => {
                if !success {
                    return self.then_plan(vec![C::RecordFailure {
                        remedy: rung.remedy,
                    }]);
                }
                if rung.escalation {
                    self.phase = Phase::Escalated;
                    return vec![C::Escalate { page: false }];
                }
                self.phase = Phase::Verifying {
                    remedy: rung.remedy,
                    until_ms: verify_until,
                    in_doubt: false,
                };
                vec![
                    C::Verify,
                    C::WaitForHealth {
                        until_ms: Some(verify_until),
                    },
                ]
            }
            (Phase::Verifying { remedy, .. }, Event::Healthy) => {
                let note = if remedy == SUPERVISOR_RESTART {
                    "healthy again after the supervisor's restart".to_string()
                } else {
                    format!("healthy again after {remedy}")
                };
                self.resolve(Some(remedy), &note)
            }
            (
                Phase::Verifying {
                    remedy,
                    in_doubt: true,
                    ..
                },
                Event::StillUnhealthy,
            ) => {
                // Unknown is not failed: the run may never have started (its
                // agent died first), so nothing is learned from it and the
                // planner may try the remedy once more, as a new action.
                let note = format!(
                    "still unhealthy after {remedy}, whose run is in doubt: \
                     it counts as neither a fix nor a failure"
                );
                self.then_plan(vec![C::note(TimelineKind::Verification, note)])
            }
            (Phase::Verifying { remedy, .. }, Event::StillUnhealthy) => {
                let note = if remedy == SUPERVISOR_RESTART {
                    "still unhealthy after the supervisor's restart".to_string()
                } else {
                    format!(
                        "still unhealthy {} after {remedy}",
                        crate::config::HumanDuration::new(std::time::Duration::from_millis(
                            settings.verify_window_ms
                        ))
                    )
                };
                self.then_plan(vec![
                    C::RecordFailure { remedy },
                    C::note(TimelineKind::Verification, note),
                ])
            }
            (Phase::Watching, Event::Healthy) => self.resolve(None, "healthy again"),
            (phase, _) => {
                // Not for this phase: nothing changes.
                self.phase = phase;
                Vec::new()
            }
        }
    }

    /// Carries on a lifecycle read back after a crash or a takeover. An
    /// action that was in flight is in doubt: it is never run again and the
    /// next rung never races it. Its outcome is waited out (`doubt_ms`
    /// after it started: its timeout), then the target's health decides.
    /// An intent or approval that was pending is not picked up (the agent
    /// settles such actions at start); the ladder is planned again.
    pub fn resume(&mut self, now_ms: u64, doubt_ms: u64) -> Vec<Command> {
        use Command as C;
        match self.phase.clone() {
            Phase::New => Vec::new(),
            Phase::Resolved | Phase::Escalated | Phase::Failed | Phase::ClosedElsewhere => {
                Vec::new()
            }
            Phase::Planning | Phase::Intending { .. } | Phase::AwaitingApproval { .. } => {
                self.pending_reason = None;
                self.plan()
            }
            Phase::Deferred { until_ms } | Phase::Verifying { until_ms, .. } => {
                vec![C::WaitForHealth {
                    until_ms: Some(until_ms),
                }]
            }
            Phase::Watching => vec![C::WaitForHealth { until_ms: None }],
            Phase::Acting {
                rung, started_ms, ..
            } => {
                let outcome_known = started_ms.saturating_add(doubt_ms).max(now_ms);
                let until_ms = outcome_known.saturating_add(self.settings.verify_window_ms);
                let note = format!(
                    "{} was running when its agent stopped: it is not run again; \
                     waiting out its timeout, then the target's health decides",
                    rung.remedy
                );
                self.phase = Phase::Verifying {
                    remedy: rung.remedy,
                    until_ms,
                    in_doubt: true,
                };
                vec![
                    C::note(TimelineKind::Note, note),
                    C::Verify,
                    C::WaitForHealth {
                        until_ms: Some(until_ms),
                    },
                ]
            }
        }
    }

    fn take_step(&mut self) -> u32 {
        let step = self.next_step;
        self.next_step += 1;
        step
    }

    fn plan(&mut self) -> Vec<Command> {
        self.phase = Phase::Planning;
        vec![Command::Plan]
    }

    fn then_plan(&mut self, mut commands: Vec<Command>) -> Vec<Command> {
        commands.extend(self.plan());
        commands
    }

    fn resolve(&mut self, after: Option<String>, note: &str) -> Vec<Command> {
        self.phase = Phase::Resolved;
        vec![Command::Resolve {
            after,
            note: note.to_string(),
        }]
    }

    fn run(&mut self, action_id: i64, rung: Rung, now_ms: u64) -> Vec<Command> {
        self.phase = Phase::Acting {
            action_id,
            rung: rung.clone(),
            started_ms: now_ms,
        };
        vec![Command::Run { action_id, rung }]
    }

    fn choose(&mut self, choice: Choice, now_ms: u64) -> Vec<Command> {
        use Command as C;
        match choice {
            Choice::Run(rung) => self.intend(rung, Then::Run, None),
            Choice::Ask { rung, reason } => self.intend(rung, Then::Ask, Some(reason)),
            Choice::DryRun(rung) => {
                let step = self.take_step();
                let why = "dry-run: recorded, not executed".into();
                self.then_plan(vec![C::RecordSkipped { rung, step, why }])
            }
            Choice::Defer { wait_ms } => {
                let until_ms = now_ms.saturating_add(wait_ms);
                self.phase = Phase::Deferred { until_ms };
                vec![C::WaitForHealth {
                    until_ms: Some(until_ms),
                }]
            }
            Choice::Exhausted if !self.settings.has_remedies => {
                self.phase = Phase::Escalated;
                vec![
                    C::note(
                        TimelineKind::Note,
                        "no remedies: escalated for a human to look at",
                    ),
                    C::Escalate { page: false },
                ]
            }
            Choice::Exhausted if self.settings.dry_run => {
                self.phase = Phase::Watching;
                vec![
                    C::note(
                        TimelineKind::Note,
                        "dry-run: waiting for the target to recover by itself",
                    ),
                    C::WaitForHealth { until_ms: None },
                ]
            }
            Choice::Exhausted => {
                self.phase = Phase::Failed;
                vec![
                    C::note(TimelineKind::Note, "no remedy left to try"),
                    C::Fail,
                ]
            }
        }
    }

    fn intend(&mut self, rung: Rung, then: Then, reason: Option<String>) -> Vec<Command> {
        let step = self.take_step();
        self.pending_reason = reason;
        self.phase = Phase::Intending {
            rung: rung.clone(),
            step,
            then,
        };
        vec![Command::RecordIntent { rung, step }]
    }
}
