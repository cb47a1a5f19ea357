use medic_model::{Category, Diagnosis, DiagnosisSource, RemedyStats, Severity};

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
            |d| matches!(d, Decision::Skip { reason } if reason.contains("target")),
        ),
        (
            "max_actions_per_hour = 5",
            &d_sure,
            None,
            0,
            5,
            |d| matches!(d, Decision::Skip { reason } if reason.contains("global")),
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
