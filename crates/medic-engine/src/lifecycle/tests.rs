use proptest::prelude::*;

use super::*;

const SETTINGS: Settings = Settings {
    verify_window_ms: 1_000,
    approval_timeout_ms: 60_000,
    dry_run: false,
    has_remedies: true,
};

fn rung(name: &str) -> Rung {
    Rung {
        remedy: name.into(),
        kind: "exec".into(),
        escalation: false,
    }
}

fn page() -> Rung {
    Rung {
        remedy: "page".into(),
        kind: "escalate".into(),
        escalation: true,
    }
}

fn at(phase: Phase) -> Lifecycle {
    Lifecycle {
        phase,
        next_step: 3,
        settings: SETTINGS,
        pending_reason: None,
    }
}

fn acting(rung: Rung) -> Phase {
    Phase::Acting {
        action_id: 7,
        rung,
        started_ms: 0,
    }
}

/// Every transition the loop relies on: (from, event) → (to, commands).
#[test]
fn the_transition_table() {
    use Command as C;
    let verifying = |remedy: &str| Phase::Verifying {
        remedy: remedy.into(),
        until_ms: 1_100,
        in_doubt: false,
    };
    let cases: Vec<(Phase, Event, Phase, Vec<Command>)> = vec![
        (
            Phase::New,
            Event::Begin { restarted: false },
            Phase::Planning,
            vec![C::Plan],
        ),
        (
            Phase::New,
            Event::Begin { restarted: true },
            verifying(SUPERVISOR_RESTART),
            vec![
                C::RecordRestart { step: 3 },
                C::Verify,
                C::WaitForHealth {
                    until_ms: Some(1_100),
                },
            ],
        ),
        (
            Phase::Planning,
            Event::Healthy,
            Phase::Resolved,
            vec![C::Resolve {
                after: None,
                note: "healthy again without further action".into(),
            }],
        ),
        (
            Phase::Planning,
            Event::Planned(Choice::Run(rung("restart"))),
            Phase::Intending {
                rung: rung("restart"),
                step: 3,
                then: Then::Run,
            },
            vec![C::RecordIntent {
                rung: rung("restart"),
                step: 3,
            }],
        ),
        (
            Phase::Planning,
            Event::Planned(Choice::DryRun(rung("restart"))),
            Phase::Planning,
            vec![
                C::RecordSkipped {
                    rung: rung("restart"),
                    step: 3,
                    why: "dry-run: recorded, not executed".into(),
                },
                C::Plan,
            ],
        ),
        (
            Phase::Planning,
            Event::Planned(Choice::Defer { wait_ms: 500 }),
            Phase::Deferred { until_ms: 600 },
            vec![C::WaitForHealth {
                until_ms: Some(600),
            }],
        ),
        (
            Phase::Planning,
            Event::Planned(Choice::Exhausted),
            Phase::Failed,
            vec![
                C::note(TimelineKind::Note, "no remedy left to try"),
                C::Fail,
            ],
        ),
        (
            Phase::Deferred { until_ms: 600 },
            Event::StillUnhealthy,
            Phase::Planning,
            vec![C::Plan],
        ),
        (
            Phase::Intending {
                rung: rung("restart"),
                step: 3,
                then: Then::Run,
            },
            Event::IntentRecorded { action_id: 7 },
            Phase::Acting {
                action_id: 7,
                rung: rung("restart"),
                started_ms: 100,
            },
            vec![C::Run {
                action_id: 7,
                rung: rung("restart"),
            }],
        ),
        (
            Phase::Intending {
                rung: rung("restart"),
                step: 3,
                then: Then::Ask,
            },
            Event::IntentRecorded { action_id: 7 },
            Phase::AwaitingApproval {
                action_id: 7,
                rung: rung("restart"),
                expires_ms: 60_100,
            },
            vec![C::AskApproval {
                action_id: 7,
                remedy: "restart".into(),
                reason: String::new(),
                expires_ms: 60_100,
            }],
        ),
        (
            Phase::AwaitingApproval {
                action_id: 7,
                rung: rung("restart"),
                expires_ms: 60_100,
            },
            Event::Decided(Verdict::Approved),
            Phase::Acting {
                action_id: 7,
                rung: rung("restart"),
                started_ms: 100,
            },
            vec![C::Run {
                action_id: 7,
                rung: rung("restart"),
            }],
        ),
        (
            Phase::AwaitingApproval {
                action_id: 7,
                rung: rung("restart"),
                expires_ms: 60_100,
            },
            Event::Decided(Verdict::Rejected { by: "ops".into() }),
            Phase::Planning,
            vec![
                C::Skip {
                    action_id: 7,
                    why: "rejected by ops".into(),
                },
                C::Plan,
            ],
        ),
        (
            Phase::AwaitingApproval {
                action_id: 7,
                rung: rung("restart"),
                expires_ms: 60_100,
            },
            Event::Decided(Verdict::Expired),
            Phase::Escalated,
            vec![
                C::Skip {
                    action_id: 7,
                    why: "not run: nobody approved it in time".into(),
                },
                C::Escalate { page: true },
            ],
        ),
        (
            Phase::AwaitingApproval {
                action_id: 7,
                rung: rung("restart"),
                expires_ms: 60_100,
            },
            Event::Healthy,
            Phase::Planning,
            vec![
                C::Skip {
                    action_id: 7,
                    why: "not run: the target recovered while it awaited approval".into(),
                },
                C::Plan,
            ],
        ),
        (
            acting(rung("restart")),
            Event::ActionFinished {
                action_id: 7,
                success: true,
            },
            verifying("restart"),
            vec![
                C::Verify,
                C::WaitForHealth {
                    until_ms: Some(1_100),
                },
            ],
        ),
        (
            acting(rung("restart")),
            Event::ActionFinished {
                action_id: 7,
                success: false,
            },
            Phase::Planning,
            vec![
                C::RecordFailure {
                    remedy: "restart".into(),
                },
                C::Plan,
            ],
        ),
        (
            acting(page()),
            Event::ActionFinished {
                action_id: 7,
                success: true,
            },
            Phase::Escalated,
            vec![C::Escalate { page: false }],
        ),
        (
            verifying("restart"),
            Event::Healthy,
            Phase::Resolved,
            vec![C::Resolve {
                after: Some("restart".into()),
                note: "healthy again after restart".into(),
            }],
        ),
        (
            verifying("restart"),
            Event::StillUnhealthy,
            Phase::Planning,
            vec![
                C::RecordFailure {
                    remedy: "restart".into(),
                },
                C::note(
                    TimelineKind::Verification,
                    "still unhealthy 1s after restart",
                ),
                C::Plan,
            ],
        ),
        (
            Phase::Watching,
            Event::Healthy,
            Phase::Resolved,
            vec![C::Resolve {
                after: None,
                note: "healthy again".into(),
            }],
        ),
        (
            Phase::Planning,
            Event::ClosedElsewhere,
            Phase::ClosedElsewhere,
            vec![],
        ),
    ];
    for (from, event, to, commands) in cases {
        let mut lifecycle = at(from.clone());
        let got = lifecycle.on(event.clone(), 100);
        assert_eq!(
            (&lifecycle.phase, &got),
            (&to, &commands),
            "from {from:?} on {event:?}"
        );
    }
}

#[test]
fn events_that_do_not_fit_change_nothing() {
    let strays = [
        (Phase::Planning, Event::IntentRecorded { action_id: 1 }),
        (
            acting(rung("restart")),
            Event::ActionFinished {
                action_id: 8,
                success: true,
            },
        ),
        (acting(rung("restart")), Event::Healthy),
        (acting(rung("restart")), Event::Planned(Choice::Exhausted)),
        (Phase::Watching, Event::StillUnhealthy),
        (Phase::New, Event::Healthy),
    ];
    for (phase, event) in strays {
        let mut lifecycle = at(phase.clone());
        assert_eq!(
            lifecycle.on(event.clone(), 5),
            vec![],
            "{phase:?} {event:?}"
        );
        assert_eq!(lifecycle.phase, phase);
    }
}

#[test]
fn a_spent_ladder_escalates_without_remedies_and_watches_in_dry_run() {
    let mut none = at(Phase::Planning);
    none.settings.has_remedies = false;
    none.on(Event::Planned(Choice::Exhausted), 0);
    assert_eq!(none.phase, Phase::Escalated);

    let mut dry = at(Phase::Planning);
    dry.settings.dry_run = true;
    let commands = dry.on(Event::Planned(Choice::Exhausted), 0);
    assert_eq!(dry.phase, Phase::Watching);
    assert!(commands.contains(&Command::WaitForHealth { until_ms: None }));
}

#[test]
fn an_approval_carries_the_policy_reason() {
    let mut lifecycle = at(Phase::Planning);
    lifecycle.on(
        Event::Planned(Choice::Ask {
            rung: rung("failover"),
            reason: "risk high".into(),
        }),
        0,
    );
    let commands = lifecycle.on(Event::IntentRecorded { action_id: 3 }, 10);
    assert_eq!(
        commands,
        vec![Command::AskApproval {
            action_id: 3,
            remedy: "failover".into(),
            reason: "risk high".into(),
            expires_ms: 60_010,
        }]
    );
}

#[test]
fn an_action_in_doubt_after_a_crash_is_waited_out_never_run_again() {
    let mut lifecycle = at(Phase::Acting {
        action_id: 7,
        rung: rung("restart"),
        started_ms: 1_000,
    });
    let commands = lifecycle.resume(2_000, 30_000);
    assert!(
        !commands
            .iter()
            .any(|c| matches!(c, Command::Run { .. } | Command::Plan)),
        "{commands:?}"
    );
    assert_eq!(
        commands.last(),
        Some(&Command::WaitForHealth {
            until_ms: Some(32_000)
        })
    );
    // Still unhealthy once its outcome must be known: plan again, now; an
    // action in doubt did not fail, so nothing is learned against it.
    let next = lifecycle.on(Event::StillUnhealthy, 32_000);
    assert_eq!(next.last(), Some(&Command::Plan));
    assert!(
        !next
            .iter()
            .any(|c| matches!(c, Command::RecordFailure { .. })),
        "{next:?}"
    );
}

#[test]
fn a_remedy_that_verifiably_failed_is_learned_as_a_failure() {
    let mut lifecycle = at(Phase::Verifying {
        remedy: "restart".into(),
        until_ms: 5,
        in_doubt: false,
    });
    let next = lifecycle.on(Event::StillUnhealthy, 5);
    assert_eq!(
        next.first(),
        Some(&Command::RecordFailure {
            remedy: "restart".into()
        })
    );
}

#[test]
fn a_pending_intent_is_planned_again_after_a_crash() {
    for phase in [
        Phase::Intending {
            rung: rung("restart"),
            step: 3,
            then: Then::Ask,
        },
        Phase::AwaitingApproval {
            action_id: 7,
            rung: rung("restart"),
            expires_ms: 9,
        },
    ] {
        let mut lifecycle = at(phase);
        assert_eq!(lifecycle.resume(0, 0), vec![Command::Plan]);
    }
}

#[test]
fn the_lifecycle_survives_a_round_trip_through_json() {
    let lifecycle = at(acting(rung("restart")));
    let json = serde_json::to_string(&lifecycle).expect("serialize");
    assert!(json.contains(r#""phase":"acting""#), "{json}");
    let back: Lifecycle = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, lifecycle);
}

/// What the world answers to each command, chosen by the test.
#[derive(Debug, Clone)]
enum World {
    Healthy,
    Unhealthy,
    Closed,
}

fn arb_choice(ladder: &[Rung]) -> BoxedStrategy<Choice> {
    let rungs = ladder.to_vec();
    prop_oneof![
        3 => (0..rungs.len()).prop_map({
            let rungs = rungs.clone();
            move |i| Choice::Run(rungs[i].clone())
        }),
        1 => (0..rungs.len()).prop_map({
            let rungs = rungs.clone();
            move |i| Choice::DryRun(rungs[i].clone())
        }),
        1 => (0..rungs.len()).prop_map(move |i| Choice::Ask { rung: rungs[i].clone(), reason: "r".into() }),
        1 => (0u64..5_000).prop_map(|wait_ms| Choice::Defer { wait_ms }),
    ]
    .boxed()
}

fn arb_answer() -> impl Strategy<Value = (World, bool, u8)> {
    (
        prop_oneof![6 => Just(World::Unhealthy), 2 => Just(World::Healthy), 1 => Just(World::Closed)],
        any::<bool>(),
        0u8..3,
    )
}

proptest! {
    /// Random worlds: every run ends in a terminal phase, never has two
    /// actions in flight, runs only recorded intents, and issues nothing
    /// after its end.
    #[test]
    fn every_path_ends_and_never_acts_twice_at_once(
        restarted in any::<bool>(),
        choices in proptest::collection::vec(arb_choice(&[rung("a"), rung("b"), page()]), 0..12),
        answers in proptest::collection::vec(arb_answer(), 64),
        settings in (any::<bool>(), any::<bool>()),
    ) {
        let mut lifecycle = Lifecycle::new(Settings { dry_run: settings.0, has_remedies: settings.1, ..SETTINGS });
        let mut choices = choices.into_iter();
        let mut answers = answers.into_iter().cycle();
        let mut now = 0u64;
        let mut next_id = 1i64;
        let mut ran: Vec<i64> = Vec::new();
        let mut recorded: Vec<i64> = Vec::new();
        let mut pending = vec![Event::Begin { restarted }];
        let mut steps = 0;
        while let Some(event) = pending.pop() {
            steps += 1;
            prop_assert!(steps < 500, "no end after 500 events: {:?}", lifecycle.phase);
            let was_terminal = lifecycle.is_terminal();
            now += 10;
            let commands = lifecycle.on(event, now);
            if was_terminal {
                prop_assert!(commands.is_empty());
            }
            for command in commands {
                let (world, success, verdict) = answers.next().expect("cycle");
                let reply = match command {
                    Command::Plan => Some(match world {
                        World::Healthy => Event::Healthy,
                        World::Closed => Event::ClosedElsewhere,
                        // The ladder is finite: once the choices run out it is spent.
                        World::Unhealthy => Event::Planned(choices.next().unwrap_or(Choice::Exhausted)),
                    }),
                    Command::RecordIntent { .. } => {
                        recorded.push(next_id);
                        next_id += 1;
                        Some(Event::IntentRecorded { action_id: next_id - 1 })
                    }
                    Command::AskApproval { .. } => Some(match (world, verdict) {
                        (World::Healthy, _) => Event::Healthy,
                        (_, 0) => Event::Decided(Verdict::Approved),
                        (_, 1) => Event::Decided(Verdict::Rejected { by: "x".into() }),
                        _ => Event::Decided(Verdict::Expired),
                    }),
                    Command::Run { action_id, .. } => {
                        prop_assert!(recorded.contains(&action_id), "ran an unrecorded intent");
                        prop_assert!(!ran.contains(&action_id), "ran action {} twice", action_id);
                        prop_assert_eq!(lifecycle.action_in_flight(), Some(action_id));
                        ran.push(action_id);
                        Some(Event::ActionFinished { action_id, success })
                    }
                    Command::WaitForHealth { .. } => Some(match world {
                        World::Healthy | World::Closed => Event::Healthy,
                        World::Unhealthy => Event::StillUnhealthy,
                    }),
                    _ => None,
                };
                if let Some(reply) = reply {
                    pending.push(reply);
                }
            }
            prop_assert!(pending.len() <= 1, "more than one thing awaited at once");
        }
        // Dry-run watching waits for ever by design; anything else has ended.
        if lifecycle.phase != Phase::Watching {
            prop_assert!(lifecycle.is_terminal(), "stuck in {:?}", lifecycle.phase);
        }
    }
}
