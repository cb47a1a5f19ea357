use medic_model::{Category, Diagnosis, DiagnosisSource, Grounds, RemedyStats, Severity};

use super::*;
use crate::config::{Config, parse};

fn config(policy: &str) -> Config {
    let text = format!(
        r#"
[policy]
{policy}
[[targets]]
name = "payments"
labels = {{ tier = "critical" }}
[[targets.remedies]]
name = "page"
action = {{ kind = "escalate", webhook = "http://127.0.0.1:9/page" }}
[[targets.remedies]]
name = "reconnect-db"
when = {{ category = ["database"] }}
action = {{ kind = "http", url = "http://127.0.0.1:9/reconnect" }}
[[targets.remedies]]
name = "restart"
action = {{ kind = "exec", command = ["systemctl", "restart", "payments"] }}
[[targets.remedies]]
name = "failover"
when = {{ labels = {{ tier = "critical" }}, severity = ["critical"] }}
action = {{ kind = "exec", command = ["switch-region"] }}
risk = "high"
"#
    );
    parse(&text, &Default::default()).expect("valid config")
}

fn diagnosis(category: Category, severity: Severity, confidence: f64) -> Diagnosis {
    Diagnosis {
        category,
        severity,
        root_cause: "ERROR db: connection refused".into(),
        evidence: vec![],
        confidence,
        sources: vec![DiagnosisSource::Rules],
        rule: None,
        similar_to: None,
        grounds: Grounds::Text,
    }
}

fn situation<'a>(
    d: &'a Diagnosis,
    history: &'a [RemedyStats],
    tried: &'a [String],
) -> Situation<'a> {
    Situation {
        diagnosis: d,
        fingerprint: "database:abc",
        history,
        borrowed: Borrowed::default(),
        tried,
        since_last_action_ms: None,
        target_actions_last_hour: 0,
        all_actions_last_hour: 0,
    }
}

fn names(steps: &[Step<'_>]) -> Vec<String> {
    steps.iter().map(|s| s.remedy.name.clone()).collect()
}

#[test]
fn matching_remedies_in_configured_order_with_escalation_last() {
    let c = config("");
    let d = diagnosis(Category::Database, Severity::High, 0.9);
    let steps = plan(&c.targets[0], &c.policy, &situation(&d, &[], &[]));
    assert_eq!(names(&steps), ["reconnect-db", "restart", "page"]);
    assert!(steps.iter().all(|s| s.decision == Decision::Run));
}

#[test]
fn when_conditions_filter_on_category_severity_and_labels() {
    let c = config("");
    let d = diagnosis(Category::Network, Severity::Critical, 0.9);
    let steps = plan(&c.targets[0], &c.policy, &situation(&d, &[], &[]));
    assert_eq!(names(&steps), ["restart", "failover", "page"]);
    assert_eq!(
        steps[1].decision,
        Decision::NeedsApproval {
            reason: "high-risk remedy".into()
        }
    );
}

#[test]
fn a_remedy_that_keeps_failing_falls_behind() {
    let c = config("");
    let d = diagnosis(Category::Database, Severity::High, 0.9);
    let history = [RemedyStats {
        fingerprint: "database:abc".into(),
        remedy: "reconnect-db".into(),
        attempts: 6,
        successes: 0,
        total_recover_ms: 0,
    }];
    let steps = plan(&c.targets[0], &c.policy, &situation(&d, &history, &[]));
    assert_eq!(names(&steps), ["restart", "reconnect-db", "page"]);
}

#[test]
fn tried_remedies_are_skipped_so_the_ladder_moves_on() {
    let c = config("");
    let d = diagnosis(Category::Database, Severity::High, 0.9);
    let tried = ["reconnect-db".to_string()];
    let steps = plan(&c.targets[0], &c.policy, &situation(&d, &[], &tried));
    assert!(matches!(steps[0].decision, Decision::Skip { .. }));
    assert_eq!(steps[1].decision, Decision::Run);
}

#[test]
fn policy_table() {
    let d_sure = diagnosis(Category::Database, Severity::High, 0.9);
    let d_unsure = diagnosis(Category::Database, Severity::High, 0.3);
    type Check = fn(&Decision) -> bool;
    /// (policy lines, diagnosis, ms since the last action, target actions, all actions, expectation)
    type Case<'a> = (&'a str, &'a Diagnosis, Option<u64>, u64, u64, Check);
    let cases: [Case<'_>; 7] = [
        ("mode = \"dry-run\"", &d_sure, None, 0, 0, |d| {
            *d == Decision::DryRun
        }),
        ("mode = \"approve\"", &d_sure, None, 0, 0, |d| {
            matches!(d, Decision::NeedsApproval { .. })
        }),
        (
            "min_confidence = 0.8",
            &d_unsure,
            None,
            0,
            0,
            |d| matches!(d, Decision::NeedsApproval { reason } if reason.contains("0.30")),
        ),
        ("cooldown = \"30s\"", &d_sure, Some(10_000), 0, 0, |d| {
            *d == Decision::Defer { wait_ms: 20_000 }
        }),
        (
            "max_actions_per_hour_per_target = 3",
            &d_sure,
            None,
            3,
            3,
            |d| matches!(d, Decision::Skip { reason, hold: Hold::TargetBudget } if reason.contains("target")),
        ),
        (
            "max_actions_per_hour = 5",
            &d_sure,
            None,
            0,
            5,
            |d| matches!(d, Decision::Skip { reason, hold: Hold::GlobalBudget } if reason.contains("global")),
        ),
        ("", &d_sure, Some(60_000), 9, 29, |d| *d == Decision::Run),
    ];
    for (policy, d, since, target_actions, all_actions, check) in cases {
        let c = config(policy);
        let mut s = situation(d, &[], &[]);
        s.since_last_action_ms = since;
        s.target_actions_last_hour = target_actions;
        s.all_actions_last_hour = all_actions;
        let steps = plan(&c.targets[0], &c.policy, &s);
        assert!(
            check(&steps[0].decision),
            "{policy}: {:?}",
            steps[0].decision
        );
        // Escalation is never blocked by budgets or cooldowns, only by dry-run.
        let escalation = &steps.last().expect("page").decision;
        assert!(
            matches!(escalation, Decision::Run | Decision::DryRun),
            "{policy}: {escalation:?}"
        );
    }
}

#[test]
fn outside_text_is_held_to_the_stricter_bar() {
    let step_for = |policy: &str, grounds: Grounds, confidence: f64| {
        let c = config(policy);
        let d = Diagnosis {
            grounds,
            ..diagnosis(Category::Database, Severity::High, confidence)
        };
        plan(&c.targets[0], &c.policy, &situation(&d, &[], &[]))
            .remove(0)
            .decision
    };
    // The defaults: a probe medic ran itself acts at 0.6; a log line at 0.6
    // waits for a human, and says why.
    assert_eq!(step_for("", Grounds::Observed, 0.6), Decision::Run);
    assert!(matches!(
        step_for("", Grounds::Text, 0.6),
        Decision::NeedsApproval { reason } if reason.contains("0.60 is below 0.70") && reason.contains("outside text")
    ));
    assert_eq!(step_for("", Grounds::Text, 0.7), Decision::Run);
    // The higher bar applies: min_confidence above the text bar lifts both.
    let strict = "min_confidence = 0.8";
    assert!(matches!(
        step_for(strict, Grounds::Text, 0.75),
        Decision::NeedsApproval { reason } if reason.contains("below 0.80")
    ));
    assert!(matches!(
        step_for(strict, Grounds::Observed, 0.75),
        Decision::NeedsApproval { .. }
    ));
    // And an operator may trust text as much as probes.
    let trusting = "min_confidence_from_text = 0.5";
    assert_eq!(step_for(trusting, Grounds::Text, 0.5), Decision::Run);
}

/// Learning: seeded simulations of many incidents, each remedy working with
/// a fixed probability, the outcomes fed back as the agent does.
mod learning {
    use super::*;

    fn two_remedies() -> Config {
        parse(
            r#"
[[targets]]
name = "api"
remedies = [
  { name = "a", action = { kind = "wait", duration = "1s" } },
  { name = "b", action = { kind = "wait", duration = "1s" } },
  { name = "page", action = { kind = "escalate", webhook = "http://127.0.0.1:9/page" } },
]
"#,
            &Default::default(),
        )
        .expect("valid config")
    }

    fn record(history: &mut Vec<RemedyStats>, remedy: &str, success: bool) {
        if !history.iter().any(|s| s.remedy == remedy) {
            history.push(RemedyStats {
                fingerprint: "database:abc".into(),
                remedy: remedy.into(),
                attempts: 0,
                successes: 0,
                total_recover_ms: 0,
            });
        }
        if let Some(stats) = history.iter_mut().find(|s| s.remedy == remedy) {
            stats.attempts += 1;
            stats.successes += u64::from(success);
        }
    }

    /// Runs `incidents` incidents; returns, over the last half, the share of
    /// plans that put `b` first. `ladder`: on failure the next remedy runs
    /// too (the agent's ladder); otherwise only the first one is tried.
    fn simulate(
        p_a: f64,
        p_b: f64,
        incidents: usize,
        seed: u64,
        ladder: bool,
        explore: bool,
    ) -> f64 {
        let c = two_remedies();
        let d = diagnosis(Category::Database, Severity::High, 0.9);
        let mut explorer = Explorer::seeded(seed);
        let mut world = Explorer::seeded(seed ^ 0xDEAD_BEEF); // Beta(1,1) is uniform
        let mut history = Vec::new();
        let mut b_first = 0;
        for incident in 0..incidents {
            let s = situation(&d, &history, &[]);
            let steps = if explore {
                plan_explored(&c.targets[0], &c.policy, &s, &mut explorer)
            } else {
                plan(&c.targets[0], &c.policy, &s)
            };
            let order: Vec<String> = names(&steps).into_iter().filter(|n| n != "page").collect();
            if incident >= incidents / 2 && order[0] == "b" {
                b_first += 1;
            }
            for remedy in order {
                let p = if remedy == "a" { p_a } else { p_b };
                let success = world.beta(1.0, 1.0) < p;
                record(&mut history, &remedy, success);
                if success || !ladder {
                    break;
                }
            }
        }
        b_first as f64 / (incidents - incidents / 2) as f64
    }

    #[test]
    fn the_ranking_converges_on_the_remedy_that_works() {
        // `a` is configured first and works 10 %; `b` works 90 %.
        for seed in 0..20 {
            let share = simulate(0.1, 0.9, 100, seed, true, true);
            assert!(
                share >= 0.9,
                "seed {seed}: b first in {share:.2} of the later plans"
            );
        }
    }

    #[test]
    fn exploration_finds_a_better_remedy_greedy_may_miss() {
        // `a` works often (80 %), `b` almost always (95 %), one try per
        // incident: greedy ranking leaves `a` only after early bad luck;
        // Thompson sampling tries `b` while the two are close, and keeps it.
        let share = |explore: bool| {
            (0..40)
                .map(|seed| simulate(0.8, 0.95, 200, seed, false, explore))
                .sum::<f64>()
                / 40.0
        };
        let (greedy, thompson) = (share(false), share(true));
        eprintln!("b first in the later plans: greedy {greedy:.2}, thompson {thompson:.2}");
        assert!(thompson >= 0.6, "thompson {thompson:.2}");
        assert!(
            thompson > greedy + 0.1,
            "greedy {greedy:.2}, thompson {thompson:.2}"
        );
    }

    #[test]
    fn convergence_figures() {
        // Recorded in docs/benchmarks.md: `cargo test -p medic-engine convergence_figures -- --nocapture`.
        for (p_a, p_b, ladder) in [(0.1, 0.9, true), (0.1, 0.9, false), (0.8, 0.95, false)] {
            for incidents in [20, 50, 100, 200] {
                let runs = 40;
                let share = |explore: bool| {
                    (0..runs)
                        .map(|seed| simulate(p_a, p_b, incidents, seed, ladder, explore))
                        .sum::<f64>()
                        / runs as f64
                };
                eprintln!(
                    "a {p_a} b {p_b} ladder {ladder} incidents {incidents}: b first in the later half: greedy {:.2}, thompson {:.2}",
                    share(false),
                    share(true)
                );
            }
        }
    }

    #[test]
    fn exploration_never_puts_a_remedy_that_keeps_failing_first() {
        let c = config("");
        let d = diagnosis(Category::Database, Severity::High, 0.9);
        let history = [RemedyStats {
            fingerprint: "database:abc".into(),
            remedy: "reconnect-db".into(),
            attempts: 6,
            successes: 0,
            total_recover_ms: 0,
        }];
        let mut explorer = Explorer::seeded(11);
        for _ in 0..500 {
            let s = situation(&d, &history, &[]);
            let steps = plan_explored(&c.targets[0], &c.policy, &s, &mut explorer);
            assert_eq!(names(&steps), ["restart", "reconnect-db", "page"]);
        }
    }

    #[test]
    fn near_equal_remedies_are_both_explored_once_there_is_evidence() {
        let c = two_remedies();
        let d = diagnosis(Category::Database, Severity::High, 0.9);
        let mut explorer = Explorer::seeded(5);
        let b_first = |history: &[RemedyStats], explorer: &mut Explorer| {
            (0..1000)
                .filter(|_| {
                    let s = situation(&d, history, &[]);
                    plan_explored(&c.targets[0], &c.policy, &s, explorer)[0]
                        .remedy
                        .name
                        == "b"
                })
                .count()
        };
        // No outcomes yet: the configured order, every time.
        assert_eq!(b_first(&[], &mut explorer), 0);
        // One success each: close posteriors, both get to lead.
        let mut history = Vec::new();
        record(&mut history, "a", true);
        record(&mut history, "b", true);
        let led = b_first(&history, &mut explorer);
        assert!((100..500).contains(&led), "b first {led} times of 1000");
    }

    #[test]
    fn similar_incidents_lend_their_successes_as_a_prior() {
        let c = config("");
        let d = diagnosis(Category::Database, Severity::High, 0.9);
        let lent = [RemedyStats {
            fingerprint: "database:other".into(),
            remedy: "restart".into(),
            attempts: 5,
            successes: 5,
            total_recover_ms: 500,
        }];
        let mut s = situation(&d, &[], &[]);
        s.borrowed = Borrowed {
            stats: &lent,
            weight: 0.8,
        };
        assert_eq!(
            names(&plan(&c.targets[0], &c.policy, &s)),
            ["restart", "reconnect-db", "page"]
        );
        // Lent evidence is capped: the fingerprint's own failures outweigh it.
        let own = [RemedyStats {
            fingerprint: "database:abc".into(),
            remedy: "restart".into(),
            attempts: 4,
            successes: 0,
            total_recover_ms: 0,
        }];
        let mut s = situation(&d, &own, &[]);
        s.borrowed = Borrowed {
            stats: &lent,
            weight: 1.0,
        };
        assert_eq!(
            names(&plan(&c.targets[0], &c.policy, &s)),
            ["reconnect-db", "restart", "page"]
        );
    }
}
