//! The conformance suite: what every [`Store`] must do, written once.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use medic_model::{
    ActionRecord, ActionState, Approval, ApprovalStatus, Category, Diagnosis, DiagnosisSource,
    Grounds, Incident, IncidentStatus, NewPipelineRun, PipelineRunStatus, RemedyStats, Severity,
    TimelineEntry, TimelineKind,
};
use medic_store::{IncidentFilter, NewDelivery, NewIncident, Store, StoreError};

use crate::harness::Backend;

/// A fixed instant plus `seconds`.
fn t(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("valid time")
        + Duration::seconds(seconds)
}

fn ms(milliseconds: i64) -> Duration {
    Duration::milliseconds(milliseconds)
}

async fn open(store: &dyn Store, target: &str, fingerprint: &str, at: DateTime<Utc>) -> Incident {
    let new = NewIncident::new(target, fingerprint, &format!("{target}: {fingerprint}"), at);
    let (incident, created) = store
        .open_or_join_incident(&new)
        .await
        .expect("open incident");
    assert!(created, "{target}/{fingerprint} should be new");
    incident
}

fn intent(incident: &Incident, step: u32, remedy: &str, at: DateTime<Utc>) -> ActionRecord {
    ActionRecord {
        id: 0,
        incident_id: incident.id,
        target: incident.target.clone(),
        remedy: remedy.to_string(),
        kind: "exec".to_string(),
        state: ActionState::Intended,
        step,
        dry_run: false,
        output: None,
        error: None,
        intended_at: at,
        started_at: None,
        finished_at: None,
        verified: None,
    }
}

fn diagnosis(category: Category, severity: Severity) -> Diagnosis {
    Diagnosis {
        category,
        severity,
        root_cause: "connection refused by 127.0.0.1:5432".to_string(),
        evidence: vec![
            "ERROR db: connection refused".to_string(),
            "retrying".to_string(),
        ],
        confidence: 0.87,
        sources: vec![DiagnosisSource::Rules, DiagnosisSource::History],
        rule: Some("connection-refused".to_string()),
        similar_to: None,
        grounds: Grounds::Text,
    }
}

fn stats(
    fingerprint: &str,
    remedy: &str,
    attempts: u64,
    successes: u64,
    total: u64,
) -> RemedyStats {
    RemedyStats {
        fingerprint: fingerprint.to_string(),
        remedy: remedy.to_string(),
        attempts,
        successes,
        total_recover_ms: total,
    }
}

pub async fn opening_twice_joins_the_live_incident(backend: &Backend) {
    let store = backend.open().await;
    let mut new = NewIncident::new("payments", "http:500", "payments: HTTP 500", t(0));
    new.category = Some(Category::Api);
    new.severity = Some(Severity::High);
    let (first, created) = store.open_or_join_incident(&new).await.expect("open");
    assert!(created);
    assert!(first.id > 0);
    assert_eq!(first.status, IncidentStatus::Open);
    assert_eq!((first.opened_at, first.updated_at), (t(0), t(0)));
    assert_eq!(
        (first.category, first.severity),
        (Some(Category::Api), Some(Severity::High))
    );
    assert_eq!((first.closed_at, first.time_to_recover_ms), (None, None));
    assert_eq!(first.title, "payments: HTTP 500");

    // The same failure again joins it, untouched.
    let later = NewIncident::new("payments", "http:500", "payments: HTTP 500 again", t(5));
    let (joined, created) = store.open_or_join_incident(&later).await.expect("join");
    assert!(!created);
    assert_eq!(joined, first);

    // Another fingerprint, or another target, is another incident.
    let other_fingerprint = open(&*store, "payments", "tcp:refused", t(6)).await;
    let other_target = open(&*store, "billing", "http:500", t(7)).await;
    assert_ne!(other_fingerprint.id, first.id);
    assert_ne!(other_target.id, first.id);

    // Every live status dedupes; once it ends, a recurrence opens a new one.
    store
        .set_status(first.id, IncidentStatus::Diagnosing, t(8))
        .await
        .expect("diagnosing");
    let (joined, created) = store.open_or_join_incident(&later).await.expect("join");
    assert!(!created);
    assert_eq!(joined.id, first.id);
    store
        .set_status(first.id, IncidentStatus::Resolved, t(10))
        .await
        .expect("resolve");
    let (recurrence, created) = store.open_or_join_incident(&later).await.expect("reopen");
    assert!(created);
    assert_ne!(recurrence.id, first.id);
    assert_eq!(recurrence.opened_at, t(5));
}

pub async fn concurrent_opens_make_one_incident(backend: &Backend) {
    // Two stores on one database: two agents, or one agent's many tasks.
    let stores = [backend.open().await, backend.open().await];
    for round in 0..3 {
        let fingerprint = format!("http:50{round}");
        let mut tasks = Vec::new();
        for task in 0..16 {
            let store: Arc<dyn Store> = Arc::clone(&stores[task % 2]);
            let new = NewIncident::new("payments", &fingerprint, "payments down", t(task as i64));
            tasks.push(tokio::spawn(async move {
                store.open_or_join_incident(&new).await
            }));
        }
        let mut ids = Vec::new();
        let mut created = 0;
        for task in tasks {
            let (incident, was_created) = task.await.expect("task").expect("open or join");
            ids.push(incident.id);
            created += usize::from(was_created);
        }
        assert_eq!(created, 1, "round {round}: exactly one caller creates");
        ids.dedup();
        assert_eq!(
            ids.len(),
            1,
            "round {round}: everyone gets the same incident"
        );
    }
    let live = stores[0].open_incidents().await.expect("open incidents");
    assert_eq!(live.len(), 3);
}

pub async fn lifecycle_records_closed_at_and_time_to_recover(backend: &Backend) {
    let store = backend.open().await;
    let incident = open(&*store, "payments", "http:500", t(0)).await;
    let mut at = t(0);
    for status in [
        IncidentStatus::Diagnosing,
        IncidentStatus::Remediating,
        IncidentStatus::Verifying,
        IncidentStatus::Remediating,
        IncidentStatus::Verifying,
    ] {
        at += ms(100);
        let updated = store
            .set_status(incident.id, status, at)
            .await
            .expect("transition");
        assert_eq!(updated.status, status);
        assert_eq!(updated.updated_at, at);
        assert_eq!(
            (updated.closed_at, updated.time_to_recover_ms),
            (None, None)
        );
        assert_eq!(updated.opened_at, t(0));
    }
    // Sub-microsecond parts are dropped, the same way by every backend.
    let resolved_at = t(1) + ms(500) + Duration::nanoseconds(999);
    let resolved = store
        .set_status(incident.id, IncidentStatus::Resolved, resolved_at)
        .await
        .expect("resolve");
    let stored_at = t(1) + ms(500);
    assert_eq!(resolved.status, IncidentStatus::Resolved);
    assert_eq!(resolved.closed_at, Some(stored_at));
    assert_eq!(resolved.updated_at, stored_at);
    assert_eq!(resolved.time_to_recover_ms, Some(1_500));
    assert_eq!(
        store.incident(incident.id).await.expect("read back"),
        resolved
    );

    // Escalated and failed close without a time to recover.
    for (fingerprint, status) in [
        ("escalate-me", IncidentStatus::Escalated),
        ("fail-me", IncidentStatus::Failed),
    ] {
        let incident = open(&*store, "payments", fingerprint, t(0)).await;
        let ended = store
            .set_status(incident.id, status, t(60))
            .await
            .expect("end");
        assert_eq!(ended.closed_at, Some(t(60)));
        assert_eq!(ended.time_to_recover_ms, None);
    }

    // A clock that stepped back never yields a negative time to recover.
    let incident = open(&*store, "payments", "clock-skew", t(100)).await;
    let resolved = store
        .set_status(incident.id, IncidentStatus::Resolved, t(99))
        .await
        .expect("resolve");
    assert_eq!(resolved.time_to_recover_ms, Some(0));
}

pub async fn invalid_transitions_are_refused(backend: &Backend) {
    let store = backend.open().await;
    let incident = open(&*store, "payments", "http:500", t(0)).await;
    let error = store
        .set_status(incident.id, IncidentStatus::Verifying, t(1))
        .await
        .expect_err("open cannot go to verifying");
    match error {
        StoreError::InvalidTransition(refused) => {
            assert_eq!(refused.from, IncidentStatus::Open);
            assert_eq!(refused.to, IncidentStatus::Verifying);
        }
        other => panic!("expected InvalidTransition, got {other:?}"),
    }
    assert_eq!(
        store.incident(incident.id).await.expect("unchanged"),
        incident
    );

    store
        .set_status(incident.id, IncidentStatus::Resolved, t(2))
        .await
        .expect("resolve");
    for to in IncidentStatus::ALL {
        let error = store
            .set_status(incident.id, *to, t(3))
            .await
            .expect_err("an ended incident changes no more");
        assert!(
            matches!(error, StoreError::InvalidTransition(_)),
            "{error:?}"
        );
    }
    let after = store.incident(incident.id).await.expect("read");
    assert_eq!(after.closed_at, Some(t(2)));

    // An escalated incident may still be resolved, with its time to recover;
    // it cannot fail afterwards.
    let paged = open(&*store, "payments", "http:503", t(4)).await;
    store
        .set_status(paged.id, IncidentStatus::Escalated, t(5))
        .await
        .expect("escalate");
    let refused = store
        .set_status(paged.id, IncidentStatus::Failed, t(6))
        .await;
    assert!(
        matches!(refused, Err(StoreError::InvalidTransition(_))),
        "{refused:?}"
    );
    let fixed = store
        .set_status(paged.id, IncidentStatus::Resolved, t(7))
        .await
        .expect("a human fixed it");
    assert_eq!(fixed.closed_at, Some(t(7)));
    assert_eq!(fixed.time_to_recover_ms, Some(3_000));

    let error = store
        .set_status(999_999, IncidentStatus::Resolved, t(3))
        .await
        .expect_err("missing");
    assert!(
        matches!(
            error,
            StoreError::NotFound {
                what: "incident",
                id: 999_999
            }
        ),
        "{error:?}"
    );
}

pub async fn racing_terminal_transitions_have_one_winner(backend: &Backend) {
    let store = backend.open().await;
    for round in 0..6 {
        let incident = open(&*store, "payments", &format!("race-{round}"), t(0)).await;
        store
            .set_status(incident.id, IncidentStatus::Remediating, t(1))
            .await
            .expect("remediating");
        let mut tasks = Vec::new();
        for status in [
            IncidentStatus::Resolved,
            IncidentStatus::Escalated,
            IncidentStatus::Failed,
        ] {
            let store = Arc::clone(&store);
            tasks.push(tokio::spawn(async move {
                (status, store.set_status(incident.id, status, t(2)).await)
            }));
        }
        let mut winners = Vec::new();
        for task in tasks {
            let (status, result) = task.await.expect("task");
            match result {
                Ok(_) => winners.push(status),
                Err(StoreError::InvalidTransition(refused)) => assert!(refused.from.is_terminal()),
                Err(other) => panic!("unexpected {other:?}"),
            }
        }
        // One ending wins; only a resolution may follow an escalation or a
        // failure (a human fixed it), never the other way round.
        let endings: Vec<_> = winners
            .iter()
            .filter(|s| **s != IncidentStatus::Resolved)
            .collect();
        assert!(endings.len() <= 1, "round {round}: {winners:?}");
        let stored = store.incident(incident.id).await.expect("read");
        let expected = if winners.contains(&IncidentStatus::Resolved) {
            IncidentStatus::Resolved
        } else {
            *endings[0]
        };
        assert_eq!(stored.status, expected, "round {round}: {winners:?}");
        assert!(!winners.is_empty());
    }
}

pub async fn listing_is_newest_first_with_cursor_and_filters(backend: &Backend) {
    let store = backend.open().await;
    let mut ids = Vec::new();
    for index in 0..7_i64 {
        let target = if index % 2 == 0 {
            "payments"
        } else {
            "billing"
        };
        ids.push(
            open(&*store, target, &format!("fp-{index}"), t(index))
                .await
                .id,
        );
    }
    store
        .set_status(ids[2], IncidentStatus::Resolved, t(10))
        .await
        .expect("resolve");
    store
        .set_status(ids[4], IncidentStatus::Resolved, t(10))
        .await
        .expect("resolve");
    let newest_first: Vec<i64> = ids.iter().rev().copied().collect();

    let all = store
        .list_incidents(&IncidentFilter::default())
        .await
        .expect("list");
    assert_eq!(all.iter().map(|i| i.id).collect::<Vec<_>>(), newest_first);

    // Pages of three, following the cursor, cover everything once.
    let mut seen = Vec::new();
    let mut filter = IncidentFilter::default().with_limit(3);
    let mut page_sizes = Vec::new();
    loop {
        let page = store.list_incidents(&filter).await.expect("page");
        if page.is_empty() {
            break;
        }
        page_sizes.push(page.len());
        seen.extend(page.iter().map(|i| i.id));
        filter = filter.before(page[page.len() - 1].id);
    }
    assert_eq!(page_sizes, [3, 3, 1]);
    assert_eq!(seen, newest_first);

    let payments = store
        .list_incidents(&IncidentFilter::default().with_target("payments"))
        .await
        .expect("by target");
    assert_eq!(
        payments.iter().map(|i| i.id).collect::<Vec<_>>(),
        [ids[6], ids[4], ids[2], ids[0]]
    );
    let resolved = store
        .list_incidents(&IncidentFilter::default().with_status(IncidentStatus::Resolved))
        .await
        .expect("by status");
    assert_eq!(
        resolved.iter().map(|i| i.id).collect::<Vec<_>>(),
        [ids[4], ids[2]]
    );
    let combined = IncidentFilter::default()
        .with_target("payments")
        .with_status(IncidentStatus::Open)
        .with_limit(1)
        .before(ids[6]);
    let page = store.list_incidents(&combined).await.expect("combined");
    assert_eq!(page.iter().map(|i| i.id).collect::<Vec<_>>(), [ids[0]]);

    let none = IncidentFilter::default().with_limit(0);
    assert!(
        store
            .list_incidents(&none)
            .await
            .expect("limit 0")
            .is_empty()
    );
    let unknown = IncidentFilter::default().with_target("nobody");
    assert!(
        store
            .list_incidents(&unknown)
            .await
            .expect("no match")
            .is_empty()
    );

    let error = store.incident(999_999).await.expect_err("missing");
    assert!(
        matches!(
            error,
            StoreError::NotFound {
                what: "incident",
                ..
            }
        ),
        "{error:?}"
    );
}

pub async fn open_incidents_are_the_live_ones(backend: &Backend) {
    let store = backend.open().await;
    let a = open(&*store, "a", "fp", t(0)).await;
    let b = open(&*store, "b", "fp", t(1)).await;
    let c = open(&*store, "c", "fp", t(2)).await;
    let d = open(&*store, "d", "fp", t(3)).await;
    store
        .set_status(a.id, IncidentStatus::Resolved, t(4))
        .await
        .expect("resolve");
    store
        .set_status(c.id, IncidentStatus::Escalated, t(4))
        .await
        .expect("escalate");
    let verifying = store
        .set_status(d.id, IncidentStatus::Remediating, t(5))
        .await
        .expect("remediate");
    let live = store.open_incidents().await.expect("live");
    assert_eq!(live, [b, verifying]);
}

pub async fn diagnosis_round_trips(backend: &Backend) {
    let store = backend.open().await;
    let incident = open(&*store, "payments", "db:refused", t(0)).await;
    assert_eq!(store.diagnosis(incident.id).await.expect("none yet"), None);

    let first = diagnosis(Category::Database, Severity::High);
    let updated = store
        .set_diagnosis(incident.id, &first, t(1))
        .await
        .expect("set");
    assert_eq!(updated.category, Some(Category::Database));
    assert_eq!(updated.severity, Some(Severity::High));
    assert_eq!(updated.updated_at, t(1));
    assert_eq!(updated.status, IncidentStatus::Open);
    assert_eq!(
        store.diagnosis(incident.id).await.expect("read"),
        Some(first)
    );

    // A later diagnosis replaces the earlier one.
    let mut second = diagnosis(Category::Network, Severity::Critical);
    second.rule = None;
    second.evidence.clear();
    second.confidence = 0.1;
    store
        .set_diagnosis(incident.id, &second, t(2))
        .await
        .expect("replace");
    assert_eq!(
        store.diagnosis(incident.id).await.expect("read"),
        Some(second.clone())
    );
    assert_eq!(
        store.incident(incident.id).await.expect("read").category,
        Some(Category::Network)
    );

    let error = store.diagnosis(999_999).await.expect_err("missing");
    assert!(matches!(error, StoreError::NotFound { .. }), "{error:?}");
    let error = store
        .set_diagnosis(999_999, &second, t(3))
        .await
        .expect_err("missing");
    assert!(matches!(error, StoreError::NotFound { .. }), "{error:?}");
}

pub async fn timeline_is_oldest_first(backend: &Backend) {
    let store = backend.open().await;
    let incident = open(&*store, "payments", "http:500", t(0)).await;
    let other = open(&*store, "billing", "http:500", t(0)).await;
    let entry = |at: DateTime<Utc>, kind: TimelineKind, message: &str| TimelineEntry {
        id: 0,
        incident_id: incident.id,
        at,
        kind,
        message: message.to_string(),
        data: serde_json::Value::Null,
    };
    // Appended out of time order; equal times keep insertion order.
    let late = store
        .append_timeline(&entry(t(3), TimelineKind::Verification, "healthy again"))
        .await
        .expect("append");
    let early = store
        .append_timeline(&entry(t(1), TimelineKind::Signal, "HTTP 500").with_data(
            serde_json::json!({"status": 500, "latency_ms": 12.5, "labels": {"tier": "critical"},
                               "lines": ["a", "b"], "ok": false}),
        ))
        .await
        .expect("append");
    let tie = store
        .append_timeline(&entry(t(1), TimelineKind::Note, "paged nobody"))
        .await
        .expect("append");
    let middle = store
        .append_timeline(&entry(t(2), TimelineKind::Action, "restart"))
        .await
        .expect("append");
    store
        .append_timeline(&TimelineEntry::new(
            other.id,
            TimelineKind::Note,
            "elsewhere",
        ))
        .await
        .expect("append to the other incident");
    assert!(late.id > 0 && early.id > late.id && tie.id > early.id);
    assert_eq!(early.data["labels"]["tier"], "critical");

    let timeline = store.timeline(incident.id).await.expect("timeline");
    assert_eq!(timeline, [early, tie, middle, late]);

    let error = store
        .append_timeline(&TimelineEntry::new(999_999, TimelineKind::Note, "orphan"))
        .await
        .expect_err("unknown incident");
    assert!(
        matches!(
            error,
            StoreError::NotFound {
                what: "incident",
                id: 999_999
            }
        ),
        "{error:?}"
    );
    assert!(store.timeline(999_999).await.expect("empty").is_empty());
}

pub async fn actions_go_from_intent_to_outcome(backend: &Backend) {
    let store = backend.open().await;
    let incident = open(&*store, "payments", "http:500", t(0)).await;
    let mut planned = intent(&incident, 1, "restart", t(1));
    // Whatever the caller says, a new record is only an intent.
    planned.state = ActionState::Succeeded;
    planned.started_at = Some(t(1));
    planned.finished_at = Some(t(1));
    let recorded = store.record_intent(&planned).await.expect("intent");
    assert!(recorded.id > 0);
    assert_eq!(recorded.state, ActionState::Intended);
    assert_eq!((recorded.started_at, recorded.finished_at), (None, None));
    assert_eq!(recorded.intended_at, t(1));
    assert_eq!((recorded.step, recorded.dry_run), (1, false));
    assert_eq!(recorded.remedy, "restart");

    let running = store
        .mark_running(recorded.id, t(2))
        .await
        .expect("running");
    assert_eq!(running.state, ActionState::Running);
    assert_eq!(running.started_at, Some(t(2)));

    let finished = store
        .finish_action(
            recorded.id,
            ActionState::Succeeded,
            Some("restarted"),
            None,
            t(3),
        )
        .await
        .expect("finish");
    assert_eq!(finished.state, ActionState::Succeeded);
    assert_eq!(finished.output.as_deref(), Some("restarted"));
    assert_eq!(finished.error, None);
    assert_eq!(
        (finished.started_at, finished.finished_at),
        (Some(t(2)), Some(t(3)))
    );
    assert_eq!(store.action(recorded.id).await.expect("read"), finished);

    // A failed second rung, and a dry run skipped without ever running.
    let second = store
        .record_intent(&intent(&incident, 2, "failover", t(4)))
        .await
        .expect("intent");
    store.mark_running(second.id, t(5)).await.expect("running");
    let failed = store
        .finish_action(
            second.id,
            ActionState::Failed,
            Some("stdout"),
            Some("exit 1"),
            t(6),
        )
        .await
        .expect("fail");
    assert_eq!(failed.error.as_deref(), Some("exit 1"));
    let mut dry = intent(&incident, 3, "page", t(7));
    dry.dry_run = true;
    dry.kind = "escalate".to_string();
    let dry = store.record_intent(&dry).await.expect("intent");
    let skipped = store
        .finish_action(dry.id, ActionState::Skipped, None, Some("dry-run"), t(7))
        .await
        .expect("skip");
    assert_eq!(
        (skipped.started_at, skipped.state),
        (None, ActionState::Skipped)
    );
    assert!(skipped.dry_run);

    let actions = store.actions(incident.id).await.expect("actions");
    assert_eq!(actions, [finished, failed, skipped]);
    assert!(store.actions(999_999).await.expect("none").is_empty());
    let error = store.action(999_999).await.expect_err("missing");
    assert!(
        matches!(error, StoreError::NotFound { what: "action", .. }),
        "{error:?}"
    );
}

pub async fn finished_actions_are_never_finished_again(backend: &Backend) {
    let store = backend.open().await;
    let incident = open(&*store, "payments", "http:500", t(0)).await;
    let action = store
        .record_intent(&intent(&incident, 1, "restart", t(1)))
        .await
        .expect("intent");

    // Only a finished state finishes.
    let error = store
        .finish_action(action.id, ActionState::Running, None, None, t(2))
        .await
        .expect_err("running is not an outcome");
    assert!(
        matches!(
            error,
            StoreError::InvalidActionTransition {
                from: ActionState::Intended,
                to: ActionState::Running,
                ..
            }
        ),
        "{error:?}"
    );

    store.mark_running(action.id, t(2)).await.expect("running");
    let error = store
        .mark_running(action.id, t(3))
        .await
        .expect_err("running twice");
    assert!(
        matches!(
            error,
            StoreError::InvalidActionTransition {
                from: ActionState::Running,
                to: ActionState::Running,
                ..
            }
        ),
        "{error:?}"
    );

    let first = store
        .finish_action(action.id, ActionState::Succeeded, Some("first"), None, t(4))
        .await
        .expect("finish");
    for state in [
        ActionState::Succeeded,
        ActionState::Failed,
        ActionState::Unknown,
    ] {
        let error = store
            .finish_action(action.id, state, Some("second"), Some("late"), t(5))
            .await
            .expect_err("finished twice");
        assert!(
            matches!(
                error,
                StoreError::ActionAlreadyFinished {
                    state: ActionState::Succeeded,
                    ..
                }
            ),
            "{error:?}"
        );
    }
    let error = store
        .mark_running(action.id, t(5))
        .await
        .expect_err("rerun");
    assert!(
        matches!(error, StoreError::ActionAlreadyFinished { .. }),
        "{error:?}"
    );
    assert_eq!(store.action(action.id).await.expect("read"), first);

    let error = store
        .finish_action(999_999, ActionState::Failed, None, None, t(5))
        .await
        .expect_err("missing");
    assert!(
        matches!(error, StoreError::NotFound { what: "action", .. }),
        "{error:?}"
    );
    let error = store
        .mark_running(999_999, t(5))
        .await
        .expect_err("missing");
    assert!(
        matches!(error, StoreError::NotFound { what: "action", .. }),
        "{error:?}"
    );
}

pub async fn a_step_is_recorded_once(backend: &Backend) {
    let store = backend.open().await;
    let incident = open(&*store, "payments", "http:500", t(0)).await;
    let other = open(&*store, "billing", "http:500", t(0)).await;
    let first = store
        .record_intent(&intent(&incident, 1, "restart", t(1)))
        .await
        .expect("intent");
    let error = store
        .record_intent(&intent(&incident, 1, "restart", t(2)))
        .await
        .expect_err("the same step again");
    assert!(
        matches!(
            error,
            StoreError::Duplicate {
                what: "action step",
                ..
            }
        ),
        "{error:?}"
    );
    // Other steps, and the same step of another incident, are fine.
    store
        .record_intent(&intent(&incident, 2, "restart", t(2)))
        .await
        .expect("next step");
    store
        .record_intent(&intent(&other, 1, "restart", t(2)))
        .await
        .expect("other incident");
    assert_eq!(store.actions(incident.id).await.expect("actions")[0], first);

    let mut orphan = intent(&incident, 1, "restart", t(1));
    orphan.incident_id = 999_999;
    let error = store
        .record_intent(&orphan)
        .await
        .expect_err("unknown incident");
    assert!(
        matches!(
            error,
            StoreError::NotFound {
                what: "incident",
                ..
            }
        ),
        "{error:?}"
    );
}

pub async fn actions_in_doubt_survive_a_crash(backend: &Backend) {
    let (intended, running, incident_id) = {
        let store = backend.open().await;
        let incident = open(&*store, "payments", "http:500", t(0)).await;
        let done = store
            .record_intent(&intent(&incident, 1, "reconnect", t(1)))
            .await
            .expect("intent");
        store
            .finish_action(done.id, ActionState::Failed, None, Some("refused"), t(2))
            .await
            .expect("finish");
        let running = store
            .record_intent(&intent(&incident, 2, "restart", t(3)))
            .await
            .expect("intent");
        let running = store.mark_running(running.id, t(4)).await.expect("running");
        let other = open(&*store, "billing", "http:500", t(5)).await;
        let intended = store
            .record_intent(&intent(&other, 1, "restart", t(5)))
            .await
            .expect("intent");
        // The agent dies here: no close, no goodbye.
        drop(store);
        (intended, running, incident.id)
    };

    let store = backend.open().await;
    let in_doubt = store.actions_in_doubt().await.expect("in doubt");
    assert_eq!(in_doubt, [running.clone(), intended.clone()]);
    assert_eq!(store.actions(incident_id).await.expect("actions").len(), 2);

    // Recovery: the outcome is unknown; record that, once.
    for action in &in_doubt {
        store
            .finish_action(
                action.id,
                ActionState::Unknown,
                None,
                Some("agent restarted"),
                t(10),
            )
            .await
            .expect("finish as unknown");
    }
    assert!(
        store
            .actions_in_doubt()
            .await
            .expect("none left")
            .is_empty()
    );
    let error = store
        .finish_action(running.id, ActionState::Unknown, None, None, t(11))
        .await
        .expect_err("a second recovery must not finish it again");
    assert!(
        matches!(error, StoreError::ActionAlreadyFinished { .. }),
        "{error:?}"
    );
    // And the step cannot be recorded again, so it cannot run again.
    let retry = intent(
        &store.incident(incident_id).await.expect("incident"),
        2,
        "restart",
        t(12),
    );
    let error = store.record_intent(&retry).await.expect_err("same step");
    assert!(matches!(error, StoreError::Duplicate { .. }), "{error:?}");
}

pub async fn budgets_count_real_actions_since(backend: &Backend) {
    let store = backend.open().await;
    let payments = open(&*store, "payments", "http:500", t(0)).await;
    let billing = open(&*store, "billing", "http:500", t(0)).await;
    let mut step = 0;
    let mut record = |incident: &Incident, at: DateTime<Utc>, dry_run: bool| {
        step += 1;
        let mut action = intent(incident, step, "restart", at);
        action.dry_run = dry_run;
        action
    };
    let mut ids = Vec::new();
    for (incident, at, dry_run) in [
        (&payments, t(0), false),
        (&payments, t(100), false),
        (&payments, t(150), true),
        (&payments, t(160), false),
        (&payments, t(200), false),
        (&billing, t(120), false),
    ] {
        let action = record(incident, at, dry_run);
        ids.push(store.record_intent(&action).await.expect("intent").id);
    }
    // Skipped ones never ran; failed and unknown ones did.
    store
        .finish_action(ids[3], ActionState::Skipped, None, Some("cooldown"), t(160))
        .await
        .expect("skip");
    store
        .finish_action(ids[4], ActionState::Failed, None, Some("exit 1"), t(201))
        .await
        .expect("fail");
    store
        .finish_action(ids[5], ActionState::Unknown, None, None, t(121))
        .await
        .expect("unknown");

    let count = |target: Option<&'static str>, since: DateTime<Utc>| {
        let store = Arc::clone(&store);
        async move {
            store
                .count_actions_since(target, since)
                .await
                .expect("count")
        }
    };
    assert_eq!(count(Some("payments"), t(100)).await, 2); // t100, t200
    assert_eq!(count(Some("payments"), t(0)).await, 3);
    assert_eq!(count(None, t(100)).await, 3); // + billing t120
    assert_eq!(count(None, t(0)).await, 4);
    assert_eq!(count(Some("payments"), t(200) + ms(1)).await, 0);
    assert_eq!(count(Some("nobody"), t(0)).await, 0);
}

pub async fn learning_accumulates_outcomes(backend: &Backend) {
    let store = backend.open().await;
    let after = store
        .record_outcome("db:refused", "restart", true, Some(1_000))
        .await
        .expect("outcome");
    assert_eq!(after, stats("db:refused", "restart", 1, 1, 1_000));
    let after = store
        .record_outcome("db:refused", "restart", false, Some(999))
        .await
        .expect("outcome");
    assert_eq!(
        after,
        stats("db:refused", "restart", 2, 1, 1_000),
        "failures add no time"
    );
    store
        .record_outcome("db:refused", "restart", true, None)
        .await
        .expect("outcome");
    store
        .record_outcome("db:refused", "reconnect", true, Some(200))
        .await
        .expect("outcome");
    store
        .record_outcome("http:500", "restart", false, None)
        .await
        .expect("outcome");

    assert_eq!(
        store.remedy_stats("db:refused").await.expect("stats"),
        [
            stats("db:refused", "reconnect", 1, 1, 200),
            stats("db:refused", "restart", 3, 2, 1_000),
        ]
    );
    assert_eq!(
        store.all_remedy_stats().await.expect("all"),
        [
            stats("db:refused", "reconnect", 1, 1, 200),
            stats("db:refused", "restart", 3, 2, 1_000),
            stats("http:500", "restart", 1, 0, 0),
        ]
    );
    assert!(
        store
            .remedy_stats("never-seen")
            .await
            .expect("none")
            .is_empty()
    );

    // Concurrent outcomes are all counted.
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            store
                .record_outcome("busy", "restart", true, Some(10))
                .await
        }));
    }
    for task in tasks {
        task.await.expect("task").expect("outcome");
    }
    assert_eq!(
        store.remedy_stats("busy").await.expect("stats"),
        [stats("busy", "restart", 20, 20, 200)]
    );
}

pub async fn import_replaces_matching_stats(backend: &Backend) {
    let store = backend.open().await;
    store
        .import_remedy_stats(&[
            stats("db:refused", "restart", 3, 2, 1_000),
            stats("db:refused", "page", 1, 0, 0),
        ])
        .await
        .expect("seed");
    store
        .import_remedy_stats(&[
            stats("db:refused", "restart", 10, 9, 9_000),
            stats("http:500", "failover", 1, 1, 5),
            stats("huge", "restart", u64::MAX, 1, 0),
        ])
        .await
        .expect("import");
    store
        .import_remedy_stats(&[])
        .await
        .expect("nothing to import");
    assert_eq!(
        store.all_remedy_stats().await.expect("all"),
        [
            stats("db:refused", "page", 1, 0, 0),
            stats("db:refused", "restart", 10, 9, 9_000),
            stats("http:500", "failover", 1, 1, 5),
            stats("huge", "restart", i64::MAX as u64, 1, 0),
        ]
    );
    // Imported rows keep learning.
    let after = store
        .record_outcome("db:refused", "restart", true, Some(1_000))
        .await
        .expect("outcome");
    assert_eq!(after, stats("db:refused", "restart", 11, 10, 10_000));
}

pub async fn fingerprints_are_renamed_with_their_learning(backend: &Backend) {
    let store = backend.open().await;
    assert_eq!(store.fingerprint_version().await.expect("version"), 1);
    let closed = open(store.as_ref(), "db", "network:old", t(0)).await;
    let d = diagnosis(Category::Network, Severity::High);
    store
        .set_diagnosis(closed.id, &d, t(1))
        .await
        .expect("diagnose");
    store
        .set_status(closed.id, IncidentStatus::Resolved, t(2))
        .await
        .expect("resolve");
    // A live incident under the new name already: the old live one stays.
    open(store.as_ref(), "web", "network:new", t(3)).await;
    let live_old = open(store.as_ref(), "web", "network:old", t(4)).await;
    store
        .import_remedy_stats(&[
            stats("network:old", "restart", 3, 2, 300),
            stats("network:new", "restart", 1, 1, 100),
            stats("network:old", "page", 1, 0, 0),
        ])
        .await
        .expect("seed");
    assert_eq!(
        store.diagnosed_fingerprints().await.expect("diagnosed"),
        [("network:old".to_string(), d)]
    );
    store
        .rename_fingerprints(&[("network:old".into(), "network:new".into())], 2)
        .await
        .expect("rename");
    assert_eq!(store.fingerprint_version().await.expect("version"), 2);
    assert_eq!(
        store.incident(closed.id).await.expect("closed").fingerprint,
        "network:new"
    );
    assert_eq!(
        store.incident(live_old.id).await.expect("live").fingerprint,
        "network:old"
    );
    assert_eq!(
        store.all_remedy_stats().await.expect("all"),
        [
            stats("network:new", "page", 1, 0, 0),
            stats("network:new", "restart", 4, 3, 400),
        ]
    );
}

pub async fn a_reopened_incident_takes_its_success_back(backend: &Backend) {
    let store = backend.open().await;
    let first = open(&*store, "payments", "db:refused", t(0)).await;
    store
        .record_outcome("db:refused", "reconnect", false, None)
        .await
        .expect("a failed rung");
    let after = store
        .record_resolution(first.id, "db:refused", "restart", 2_000)
        .await
        .expect("resolution");
    assert_eq!(after, stats("db:refused", "restart", 1, 1, 2_000));
    store
        .set_status(first.id, IncidentStatus::Resolved, t(2))
        .await
        .expect("resolve");

    // Another target or fingerprint is not a reopening.
    let other = open(&*store, "billing", "db:refused", t(3)).await;
    assert_eq!(
        store
            .revoke_reopened_success(&other, t(0))
            .await
            .expect("other"),
        None
    );

    // The same failure again, within the window: the success was not one.
    let again = open(&*store, "payments", "db:refused", t(60)).await;
    // A window that started after the resolution does not reach it.
    assert_eq!(
        store
            .revoke_reopened_success(&again, t(3))
            .await
            .expect("outside"),
        None
    );
    let reopened = store
        .revoke_reopened_success(&again, t(1))
        .await
        .expect("revoke")
        .expect("a success to take back");
    assert_eq!(reopened.previous, first.id);
    assert_eq!(reopened.remedy, "restart");
    assert_eq!(
        reopened.stats,
        Some(stats("db:refused", "restart", 1, 0, 0))
    );
    // Counted once, however often it is asked.
    assert_eq!(
        store
            .revoke_reopened_success(&again, t(1))
            .await
            .expect("again"),
        None
    );
    assert_eq!(
        store.remedy_stats("db:refused").await.expect("stats"),
        [
            stats("db:refused", "reconnect", 1, 0, 0),
            stats("db:refused", "restart", 1, 0, 0),
        ]
    );

    // Only the pair's previous incident counts: one resolved without a
    // credited remedy shields the older ones.
    store
        .set_status(again.id, IncidentStatus::Resolved, t(61))
        .await
        .expect("resolve by itself");
    let third = open(&*store, "payments", "db:refused", t(62)).await;
    assert_eq!(
        store
            .revoke_reopened_success(&third, t(0))
            .await
            .expect("third"),
        None
    );

    // Crediting an unknown incident is refused and counts nothing.
    assert!(matches!(
        store
            .record_resolution(9_999, "db:refused", "restart", 1)
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(
        store.remedy_stats("db:refused").await.expect("stats")[1],
        stats("db:refused", "restart", 1, 0, 0)
    );
}

pub async fn resolved_incidents_are_similarity_candidates(backend: &Backend) {
    let store = backend.open().await;
    let diagnosed = open(&*store, "payments", "db:refused", t(0)).await;
    // A diagnosis that names a similar incident keeps it.
    let mut named = diagnosis(Category::Database, Severity::High);
    named.similar_to = Some(medic_model::SimilarIncident {
        incident_id: 41,
        similarity: 0.82,
        fingerprint: "db:timeout".to_string(),
    });
    store
        .set_diagnosis(diagnosed.id, &named, t(1))
        .await
        .expect("diagnosis");
    store
        .record_resolution(diagnosed.id, "db:refused", "restart", 1_000)
        .await
        .expect("resolution");
    store
        .set_status(diagnosed.id, IncidentStatus::Resolved, t(2))
        .await
        .expect("resolve");
    // Undiagnosed, or still live: not candidates.
    let bare = open(&*store, "payments", "http:500", t(3)).await;
    store
        .set_status(bare.id, IncidentStatus::Resolved, t(4))
        .await
        .expect("resolve");
    let live = open(&*store, "billing", "db:refused", t(5)).await;
    store
        .set_diagnosis(
            live.id,
            &diagnosis(Category::Database, Severity::High),
            t(6),
        )
        .await
        .expect("diagnosis");

    let past = store.resolved_incidents(500).await.expect("candidates");
    assert_eq!(past.len(), 1);
    assert_eq!(past[0].id, diagnosed.id);
    assert_eq!(past[0].fingerprint, "db:refused");
    assert_eq!(past[0].resolved_by.as_deref(), Some("restart"));
    assert_eq!(past[0].diagnosis, named);
    assert_eq!(
        store.diagnosis(diagnosed.id).await.expect("stored"),
        Some(named)
    );
    assert!(store.resolved_incidents(0).await.expect("none").is_empty());
}

pub async fn a_restart_keeps_everything(backend: &Backend) {
    let store = backend.open().await;
    let live = open(&*store, "payments", "db:refused", t(0)).await;
    store
        .set_diagnosis(
            live.id,
            &diagnosis(Category::Database, Severity::High),
            t(1),
        )
        .await
        .expect("diagnose");
    let live = store
        .set_status(live.id, IncidentStatus::Diagnosing, t(1))
        .await
        .expect("diagnosing");
    let ended = open(&*store, "billing", "http:500", t(2)).await;
    let ended = store
        .set_status(ended.id, IncidentStatus::Resolved, t(3) + ms(250))
        .await
        .expect("resolve");
    store
        .append_timeline(
            &TimelineEntry::new(live.id, TimelineKind::Signal, "refused")
                .with_data(serde_json::json!({"line": "ERROR db: connection refused"})),
        )
        .await
        .expect("timeline");
    let action = store
        .record_intent(&intent(&live, 1, "reconnect", t(4)))
        .await
        .expect("intent");
    store.mark_running(action.id, t(5)).await.expect("running");
    store
        .record_outcome("http:500", "restart", true, Some(1_250))
        .await
        .expect("outcome");

    let incidents = store
        .list_incidents(&IncidentFilter::default())
        .await
        .expect("list");
    let timeline = store.timeline(live.id).await.expect("timeline");
    let actions = store.actions(live.id).await.expect("actions");
    let learned = store.all_remedy_stats().await.expect("stats");
    let diagnosis = store.diagnosis(live.id).await.expect("diagnosis");
    store.close().await;
    drop(store);

    let store = backend.open().await;
    assert_eq!(
        store
            .list_incidents(&IncidentFilter::default())
            .await
            .expect("list"),
        incidents
    );
    assert_eq!(incidents, [ended, live.clone()]);
    assert_eq!(
        store.open_incidents().await.expect("live"),
        std::slice::from_ref(&live)
    );
    assert_eq!(store.timeline(live.id).await.expect("timeline"), timeline);
    assert_eq!(store.actions(live.id).await.expect("actions"), actions);
    assert_eq!(store.actions_in_doubt().await.expect("in doubt"), actions);
    assert_eq!(store.all_remedy_stats().await.expect("stats"), learned);
    assert_eq!(
        store.diagnosis(live.id).await.expect("diagnosis"),
        diagnosis
    );
    assert!(diagnosis.is_some());
    // Deduplication holds across the restart too.
    let again = NewIncident::new("payments", "db:refused", "again", t(9));
    let (joined, created) = store.open_or_join_incident(&again).await.expect("join");
    assert_eq!((joined.id, created), (live.id, false));
}

pub async fn corrupt_values_are_reported_not_panicked_on(backend: &Backend) {
    let store = backend.open().await;
    let incident = open(&*store, "payments", "http:500", t(0)).await;
    let action = store
        .record_intent(&intent(&incident, 1, "restart", t(1)))
        .await
        .expect("intent");
    store
        .append_timeline(&TimelineEntry::new(
            incident.id,
            TimelineKind::Note,
            "hello",
        ))
        .await
        .expect("timeline");
    store
        .record_outcome("http:500", "restart", true, Some(5))
        .await
        .expect("outcome");
    let healthy = open(&*store, "billing", "http:500", t(0)).await;

    backend
        .execute_raw(format!(
            "UPDATE incidents SET status = 'sleeping', category = 'gremlins', \
             diagnosis = '{{\"category\": \"gremlins\"}}' WHERE id = {id}; \
             UPDATE actions SET state = 'exploded' WHERE id = {action}; \
             UPDATE timeline SET kind = 'rumour' WHERE incident_id = {id}; \
             UPDATE remedy_stats SET attempts = -1 WHERE fingerprint = 'http:500'",
            id = incident.id,
            action = action.id,
        ))
        .await;

    let corrupt = |result: Result<(), StoreError>, what: &str| match result {
        Err(StoreError::Corrupt {
            what: found,
            detail,
        }) => {
            assert!(
                found.starts_with(what),
                "{found} should be about {what}: {detail}"
            );
        }
        other => panic!("expected Corrupt {what}, got {other:?}"),
    };
    corrupt(store.incident(incident.id).await.map(drop), "incident");
    corrupt(
        store
            .list_incidents(&IncidentFilter::default())
            .await
            .map(drop),
        "incident",
    );
    corrupt(store.open_incidents().await.map(drop), "incident");
    corrupt(
        store
            .set_status(incident.id, IncidentStatus::Resolved, t(2))
            .await
            .map(drop),
        "incident",
    );
    corrupt(store.diagnosis(incident.id).await.map(drop), "diagnosis");
    corrupt(store.action(action.id).await.map(drop), "action state");
    corrupt(store.actions(incident.id).await.map(drop), "action state");
    corrupt(store.timeline(incident.id).await.map(drop), "timeline kind");
    corrupt(store.all_remedy_stats().await.map(drop), "remedy attempts");

    // The rest of the store still works.
    assert_eq!(
        store.incident(healthy.id).await.expect("healthy row"),
        healthy
    );
    let error = store.incident(incident.id).await.expect_err("corrupt");
    assert!(error.to_string().contains("sleeping"), "{error}");
}

fn approval_request(incident: &Incident, action: &ActionRecord, at: DateTime<Utc>) -> Approval {
    Approval {
        id: 0,
        incident_id: incident.id,
        action_id: action.id,
        target: incident.target.clone(),
        remedy: action.remedy.clone(),
        reason: "risk high needs approval".to_string(),
        status: ApprovalStatus::Approved, // ignored: a request is always pending
        requested_at: at,
        expires_at: at + Duration::minutes(15),
        decided_by: Some("ignored".to_string()),
        decided_at: None,
    }
}

pub async fn approvals_are_decided_once(backend: &Backend) {
    let store = backend.open().await;
    let incident = open(&*store, "payments", "http:500", t(0)).await;
    let first = store
        .record_intent(&intent(&incident, 1, "restart", t(1)))
        .await
        .expect("intent");
    let second = store
        .record_intent(&intent(&incident, 2, "failover", t(2)))
        .await
        .expect("intent");
    let a = store
        .request_approval(&approval_request(&incident, &first, t(1)))
        .await
        .expect("request");
    assert_eq!(a.status, ApprovalStatus::Pending);
    assert_eq!((a.decided_by.clone(), a.decided_at), (None, None));
    assert_eq!(a.expires_at, t(1) + Duration::minutes(15));
    let duplicate = store
        .request_approval(&approval_request(&incident, &first, t(1)))
        .await;
    assert!(
        matches!(duplicate, Err(StoreError::Duplicate { .. })),
        "{duplicate:?}"
    );
    let b = store
        .request_approval(&approval_request(&incident, &second, t(2)))
        .await
        .expect("request");

    let pending = store.approvals(true, 10).await.expect("list");
    assert_eq!(
        pending.iter().map(|a| a.id).collect::<Vec<_>>(),
        [b.id, a.id]
    );

    let approved = store
        .decide_approval(a.id, ApprovalStatus::Approved, Some("ops"), t(3))
        .await
        .expect("approve");
    assert_eq!(approved.status, ApprovalStatus::Approved);
    assert_eq!(approved.decided_by.as_deref(), Some("ops"));
    assert_eq!(approved.decided_at, Some(t(3)));
    assert_eq!(store.approval(a.id).await.expect("read"), approved);
    // Whoever comes second loses, whatever they ask for.
    for late in [
        ApprovalStatus::Rejected,
        ApprovalStatus::Expired,
        ApprovalStatus::Approved,
    ] {
        let refused = store.decide_approval(a.id, late, Some("dev"), t(4)).await;
        assert!(
            matches!(
                refused,
                Err(StoreError::AlreadyDecided {
                    status: ApprovalStatus::Approved,
                    ..
                })
            ),
            "{refused:?}"
        );
    }
    store
        .decide_approval(b.id, ApprovalStatus::Expired, None, t(5))
        .await
        .expect("expire");
    assert!(store.approvals(true, 10).await.expect("list").is_empty());
    assert_eq!(store.approvals(false, 10).await.expect("list").len(), 2);
    assert!(matches!(
        store.approval(999_999).await,
        Err(StoreError::NotFound {
            what: "approval",
            ..
        })
    ));
    assert!(matches!(
        store
            .decide_approval(999_999, ApprovalStatus::Approved, None, t(6))
            .await,
        Err(StoreError::NotFound { .. })
    ));
}

pub async fn acknowledging_keeps_the_first(backend: &Backend) {
    let store = backend.open().await;
    let incident = open(&*store, "payments", "http:500", t(0)).await;
    assert_eq!(incident.acknowledged_by, None);
    let acked = store
        .acknowledge(incident.id, "ops", t(1))
        .await
        .expect("ack");
    assert_eq!(acked.acknowledged_by.as_deref(), Some("ops"));
    assert_eq!(acked.acknowledged_at, Some(t(1)));
    let again = store
        .acknowledge(incident.id, "dev", t(2))
        .await
        .expect("ack");
    assert_eq!(again.acknowledged_by.as_deref(), Some("ops"));
    assert_eq!(again.acknowledged_at, Some(t(1)));
    assert_eq!(store.incident(incident.id).await.expect("read"), again);
    assert!(matches!(
        store.acknowledge(999_999, "ops", t(3)).await,
        Err(StoreError::NotFound { .. })
    ));
}

pub async fn recent_actions_are_real_finished_runs(backend: &Backend) {
    let store = backend.open().await;
    let pay = open(&*store, "payments", "http:500", t(0)).await;
    let shop = open(&*store, "shop", "http:500", t(0)).await;
    let ran = store
        .record_intent(&intent(&pay, 1, "restart", t(1)))
        .await
        .expect("intent");
    store.mark_running(ran.id, t(1)).await.expect("running");
    store
        .finish_action(ran.id, ActionState::Succeeded, None, None, t(2))
        .await
        .expect("finish");
    let skipped = store
        .record_intent(&intent(&pay, 2, "page", t(3)))
        .await
        .expect("intent");
    store
        .finish_action(
            skipped.id,
            ActionState::Skipped,
            None,
            Some("dry-run"),
            t(3),
        )
        .await
        .expect("finish");
    // Still running: not a recovery yet.
    store
        .record_intent(&intent(&pay, 3, "failover", t(4)))
        .await
        .expect("intent");
    let other = store
        .record_intent(&intent(&shop, 1, "restart", t(5)))
        .await
        .expect("intent");
    store
        .finish_action(other.id, ActionState::Failed, None, Some("exit 1"), t(6))
        .await
        .expect("finish");

    let all = store.recent_actions(None, 10).await.expect("recent");
    assert_eq!(
        all.iter().map(|a| a.id).collect::<Vec<_>>(),
        [other.id, ran.id]
    );
    let pay_only = store
        .recent_actions(Some("payments"), 10)
        .await
        .expect("recent");
    assert_eq!(pay_only.iter().map(|a| a.id).collect::<Vec<_>>(), [ran.id]);
    assert_eq!(
        store.recent_actions(None, 1).await.expect("recent").len(),
        1
    );
}

pub async fn lifecycles_are_kept_per_incident(backend: &Backend) {
    let store = backend.open().await;
    let first = open(&*store, "payments", "db:refused", t(0)).await;
    let second = open(&*store, "billing", "http:500", t(0)).await;
    assert_eq!(store.lifecycle(first.id).await.expect("read"), None);
    let planning = serde_json::json!({"phase": {"phase": "planning"}, "next_step": 1});
    let acting = serde_json::json!({"phase": {"phase": "acting", "action_id": 7}, "next_step": 2});
    store
        .save_lifecycle(first.id, &planning, t(1))
        .await
        .expect("save");
    store
        .save_lifecycle(second.id, &planning, t(1))
        .await
        .expect("save");
    // The newer state replaces the older one; the other incident keeps its own.
    store
        .save_lifecycle(first.id, &acting, t(2))
        .await
        .expect("save again");
    assert_eq!(store.lifecycle(first.id).await.expect("read"), Some(acting));
    assert_eq!(
        store.lifecycle(second.id).await.expect("read"),
        Some(planning)
    );
    // Only incidents that exist have one.
    let orphan = store
        .save_lifecycle(first.id + second.id + 1_000, &serde_json::json!({}), t(3))
        .await;
    assert!(orphan.is_err(), "{orphan:?}");
}

pub async fn a_monitoring_pause_is_kept_until_resumed(backend: &Backend) {
    let store = backend.open().await;
    assert_eq!(store.monitoring_pause().await.expect("read"), None);
    let at = chrono::DateTime::from_timestamp(1_800_000_000, 123_000).expect("time");
    store
        .set_monitoring_pause(Some(("ops", at)))
        .await
        .expect("pause");
    // Pausing again replaces who and when.
    store
        .set_monitoring_pause(Some(("oncall", at)))
        .await
        .expect("pause again");
    assert_eq!(
        store.monitoring_pause().await.expect("read"),
        Some(("oncall".to_string(), at))
    );
    store.set_monitoring_pause(None).await.expect("resume");
    assert_eq!(store.monitoring_pause().await.expect("read"), None);
}

pub async fn a_victims_incident_is_linked_to_its_cause(backend: &Backend) {
    let store = backend.open().await;
    let db = open(store.as_ref(), "db", "network:refused", t(1)).await;
    let app = open(store.as_ref(), "app", "http:503", t(2)).await;
    assert_eq!(app.caused_by, None);
    store.set_caused_by(app.id, db.id).await.expect("link");
    assert_eq!(
        store.incident(app.id).await.expect("read").caused_by,
        Some(db.id)
    );
    assert_eq!(
        store.incidents_caused_by(db.id).await.expect("dependents"),
        [app.id]
    );
    assert_eq!(
        store.incidents_caused_by(app.id).await.expect("none"),
        Vec::<i64>::new()
    );
    // Unknown incidents, either side, are not found.
    let missing = db.id + app.id + 1_000;
    assert!(matches!(
        store.set_caused_by(missing, db.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.set_caused_by(app.id, missing).await,
        Err(StoreError::NotFound { .. })
    ));
}

pub async fn maintenance_windows_are_kept_listed_and_ended_early(backend: &Backend) {
    let store = backend.open().await;
    let window = |name: &str, from: i64, to: i64| medic_store::StoredWindow {
        id: 0,
        name: name.into(),
        targets: vec!["db".into()],
        labels: std::collections::BTreeMap::from([("team".into(), "pay".into())]),
        starts_at: t(from),
        ends_at: t(to),
        opened_by: "ops".into(),
        opened_at: t(0),
    };
    let first = store
        .open_maintenance(&window("upgrade", 10, 20))
        .await
        .expect("open");
    let second = store
        .open_maintenance(&window("later", 30, 40))
        .await
        .expect("open");
    assert_ne!(first.id, second.id);
    assert_eq!(
        first,
        medic_store::StoredWindow {
            id: first.id,
            ..window("upgrade", 10, 20)
        }
    );
    // Listed until they end, by start; targets and labels come back.
    assert_eq!(
        store.maintenance_windows(t(5)).await.expect("list"),
        [first.clone(), second.clone()]
    );
    assert_eq!(
        store.maintenance_windows(t(20)).await.expect("list"),
        std::slice::from_ref(&second)
    );
    // Ending moves the end earlier, never later.
    let ended = store.end_maintenance(second.id, t(35)).await.expect("end");
    assert_eq!(ended.map(|w| w.ends_at), Some(t(35)));
    let again = store.end_maintenance(second.id, t(39)).await.expect("end");
    assert_eq!(again.map(|w| w.ends_at), Some(t(35)));
    assert_eq!(store.maintenance_windows(t(35)).await.expect("list"), []);
    assert_eq!(
        store
            .end_maintenance(second.id + 1_000, t(1))
            .await
            .expect("end"),
        None
    );
}

pub async fn active_endpoints_are_kept_and_replaced(backend: &Backend) {
    let store = backend.open().await;
    assert_eq!(store.active_endpoints().await.expect("read"), []);
    store
        .set_active_endpoint("db", "10.0.0.2:5432", t(1))
        .await
        .expect("set");
    store
        .set_active_endpoint("cache", "b:6379", t(1))
        .await
        .expect("set");
    // A second failover (or a failback) replaces the first.
    store
        .set_active_endpoint("db", "10.0.0.1:5432", t(2))
        .await
        .expect("set again");
    drop(store);
    let reopened = backend.open().await;
    assert_eq!(
        reopened.active_endpoints().await.expect("read"),
        [
            ("cache".to_string(), "b:6379".to_string()),
            ("db".to_string(), "10.0.0.1:5432".to_string())
        ]
    );
}

pub async fn components_are_saved_once(backend: &Backend) {
    let store = backend.open().await;
    let spec = serde_json::json!({"name": "billing", "health_url": "http://127.0.0.1:9/health"});
    store
        .save_component("billing", &spec, t(0))
        .await
        .expect("save");
    let again = store.save_component("billing", &spec, t(1)).await;
    assert!(
        matches!(
            again,
            Err(StoreError::Duplicate {
                what: "component",
                ..
            })
        ),
        "{again:?}"
    );
    assert_eq!(
        store.components().await.expect("list"),
        [("billing".to_string(), spec)]
    );
    assert!(store.delete_component("billing").await.expect("delete"));
    assert!(!store.delete_component("billing").await.expect("delete"));
    assert!(store.components().await.expect("list").is_empty());
}

pub async fn deliveries_are_recorded_once(backend: &Backend) {
    let store = backend.open().await;
    let delivery = |source: &str, key: &str| {
        NewDelivery::new(
            source,
            key,
            raw_json(&serde_json::json!({"key": key})),
            t(0),
        )
    };
    let first = store
        .record_deliveries(&[
            delivery("alertmanager", "a/1/firing"),
            delivery("alertmanager", "b/1/firing"),
            // The same alert twice in one batch: the second is a re-delivery.
            delivery("alertmanager", "a/1/firing"),
            // The same key from another source is another delivery.
            delivery("github", "a/1/firing"),
        ])
        .await
        .expect("record");
    assert_eq!(first, [true, true, false, true]);
    drop(store);
    // Re-delivered after a restart: still recognised.
    let store = backend.open().await;
    let again = store
        .record_deliveries(&[
            delivery("alertmanager", "a/1/resolved"),
            delivery("alertmanager", "b/1/firing"),
        ])
        .await
        .expect("record");
    assert_eq!(again, [true, false]);
    // A log line may hold a NUL, escaped in the sender's JSON: stored as sent.
    let raw =
        serde_json::value::RawValue::from_string(r#"{"log":"a\u0000b"}"#.into()).expect("JSON");
    let with_nul = NewDelivery::new("generic", "nul", raw, t(2));
    assert_eq!(
        store.record_deliveries(&[with_nul]).await.expect("record"),
        [true]
    );
    assert!(
        store
            .record_deliveries(&[])
            .await
            .expect("empty")
            .is_empty()
    );
}

fn raw_json(value: &serde_json::Value) -> Box<serde_json::value::RawValue> {
    serde_json::value::to_raw_value(value).expect("JSON")
}

fn new_run(flow: &str, at: DateTime<Utc>) -> NewPipelineRun {
    NewPipelineRun {
        flow: flow.to_string(),
        flow_path: format!("/flows/{flow}.toml"),
        flow_digest: "ab".repeat(32),
        vars: serde_json::json!({"shop": "http://127.0.0.1:8000"}),
        at,
    }
}

pub async fn pipeline_runs_checkpoint_then_finish_once(backend: &Backend) {
    let store = backend.open().await;
    let run = store
        .start_pipeline_run(&new_run("orders-tax", t(0)))
        .await
        .expect("start");
    assert_eq!(run.status, PipelineRunStatus::Running);
    assert_eq!(
        (run.next_step, run.state.clone()),
        (0, serde_json::json!({}))
    );
    assert_eq!(
        run.vars,
        serde_json::json!({"shop": "http://127.0.0.1:8000"})
    );
    assert_eq!((run.started_at, run.finished_at), (t(0), None));

    let state =
        serde_json::json!({"orders": {"count": 3, "orders": [{"id": 1, "amount_cents": 250}]}});
    let saved = store
        .checkpoint_pipeline_run(run.id, &state, 1, t(1))
        .await
        .expect("checkpoint");
    assert_eq!((saved.next_step, saved.updated_at), (1, t(1)));
    assert_eq!(saved.state, state);
    assert_eq!(store.pipeline_run(run.id).await.expect("read"), saved);

    let ended = store
        .finish_pipeline_run(
            run.id,
            PipelineRunStatus::Escalated,
            Some("tax: HTTP 500"),
            t(2),
        )
        .await
        .expect("finish");
    assert_eq!(ended.status, PipelineRunStatus::Escalated);
    assert_eq!(ended.reason.as_deref(), Some("tax: HTTP 500"));
    assert_eq!(ended.finished_at, Some(t(2)));
    assert_eq!(ended.state, state, "finishing keeps the last checkpoint");

    let late = store
        .checkpoint_pipeline_run(run.id, &serde_json::json!({}), 2, t(3))
        .await;
    assert!(
        matches!(
            late,
            Err(StoreError::PipelineRunFinished {
                status: PipelineRunStatus::Escalated,
                ..
            })
        ),
        "{late:?}"
    );
    let again = store
        .finish_pipeline_run(run.id, PipelineRunStatus::Succeeded, None, t(3))
        .await;
    assert!(
        matches!(again, Err(StoreError::PipelineRunFinished { .. })),
        "{again:?}"
    );
    assert_eq!(store.pipeline_run(run.id).await.expect("read"), ended);
}

pub async fn pipeline_runs_refuse_unknown_ids_and_non_end_statuses(backend: &Backend) {
    let store = backend.open().await;
    let missing = store.pipeline_run(404).await;
    assert!(
        matches!(
            missing,
            Err(StoreError::NotFound {
                what: "pipeline run",
                id: 404
            })
        ),
        "{missing:?}"
    );
    let checkpoint = store
        .checkpoint_pipeline_run(404, &serde_json::json!({}), 1, t(0))
        .await;
    assert!(
        matches!(checkpoint, Err(StoreError::NotFound { .. })),
        "{checkpoint:?}"
    );
    let run = store
        .start_pipeline_run(&new_run("nightly", t(0)))
        .await
        .expect("start");
    let running = store
        .finish_pipeline_run(run.id, PipelineRunStatus::Running, None, t(1))
        .await;
    assert!(
        matches!(running, Err(StoreError::NotAnEndStatus(_))),
        "{running:?}"
    );
    let other = store
        .start_pipeline_run(&new_run("nightly", t(1)))
        .await
        .expect("start");
    assert_ne!(other.id, run.id);
}

pub async fn pipeline_checkpoints_survive_a_restart(backend: &Backend) {
    let store = backend.open().await;
    let run = store
        .start_pipeline_run(&new_run("orders-tax", t(0)))
        .await
        .expect("start");
    let state = serde_json::json!({"orders": {"count": 3}, "mark": "done"});
    store
        .checkpoint_pipeline_run(run.id, &state, 2, t(1))
        .await
        .expect("checkpoint");
    // What a killed process leaves: the store closed without a goodbye.
    drop(store);
    let reopened = backend.open().await;
    let found = reopened.pipeline_run(run.id).await.expect("read");
    assert_eq!(found.status, PipelineRunStatus::Running);
    assert_eq!((found.next_step, found.state), (2, state));
    assert_eq!(found.flow_digest, "ab".repeat(32));
}

async fn claim(store: &dyn Store, key: &str, at: i64) -> bool {
    store
        .claim_replay(key, t(at), t(at) - Duration::seconds(600))
        .await
        .expect("claim")
}

pub async fn replay_claims_are_kept_and_pruned(backend: &Backend) {
    let store = backend.open().await;
    assert!(claim(store.as_ref(), "sig:a", 0).await, "first claim");
    assert!(!claim(store.as_ref(), "sig:a", 1).await, "a replay");
    assert!(claim(store.as_ref(), "sig:b", 2).await, "another key");
    drop(store);
    // A restart (or another replica on the same store) remembers.
    let store = backend.open().await;
    assert!(
        !claim(store.as_ref(), "sig:a", 3).await,
        "a replay after a restart"
    );
    // Past the window the old claim is pruned, and the key is free again.
    assert!(claim(store.as_ref(), "sig:c", 1000).await);
    assert!(claim(store.as_ref(), "sig:a", 1001).await, "pruned");
}

/// Leases: PostgreSQL shares targets between replicas and fences writes;
/// SQLite is single-node and grants everything to its one agent.
pub async fn leases_change_hands_only_when_free_and_fence_writes(backend: &Backend) {
    let store = backend.open().await;
    let ttl = std::time::Duration::from_secs(30);
    let a = medic_store::Replica {
        id: "node-a:1:x".into(),
        node: "node-a".into(),
    };
    let b = medic_store::Replica {
        id: "node-b:2:y".into(),
        node: "node-b".into(),
    };
    let targets = ["payments".to_string(), "billing".to_string()];
    let incident = open(&*store, "payments", "db:refused", t(0)).await;
    let fence = |owner: &str, epoch| medic_store::Fence {
        owner: owner.to_string(),
        epoch,
    };
    if store.backend() == "sqlite" {
        let held = store
            .claim_leases(&a.id, &targets, ttl)
            .await
            .expect("claim");
        assert_eq!(held.len(), 2);
        let fenced = store
            .record_intent_fenced(&intent(&incident, 1, "fix", t(1)), Some(&fence("other", 9)))
            .await;
        assert!(fenced.is_ok(), "single-node: no fence {fenced:?}");
        return;
    }
    assert_eq!(
        store.heartbeat(&a, ttl).await.expect("beat"),
        vec![a.clone()]
    );
    assert_eq!(
        store.heartbeat(&b, ttl).await.expect("beat"),
        vec![a.clone(), b.clone()]
    );
    let held = store
        .claim_leases(&a.id, &targets, ttl)
        .await
        .expect("claim");
    assert_eq!(held.len(), 2, "{held:?}");
    assert!(held.iter().all(|l| l.epoch == 1 && l.owner == a.id));
    // b learns when a's leases expire once a counts as silent, not before.
    let silent_an_hour = std::time::Duration::from_secs(3600);
    assert_eq!(
        store
            .next_orphaned_lease_expiry(&b.id, silent_an_hour, ttl)
            .await
            .expect("read"),
        None
    );
    let left = store
        .next_orphaned_lease_expiry(&b.id, std::time::Duration::ZERO, ttl)
        .await
        .expect("read")
        .expect("a's leases, a silent for 0 s");
    assert!(left <= ttl && left > ttl / 2, "{left:?}");
    assert_eq!(
        store
            .next_orphaned_lease_expiry(&a.id, std::time::Duration::ZERO, ttl)
            .await
            .expect("read"),
        None,
        "its own leases are not orphaned"
    );
    // Held by a: b gets nothing; a renews at the same epoch.
    assert!(
        store
            .claim_leases(&b.id, &targets, ttl)
            .await
            .expect("claim")
            .is_empty()
    );
    let renewed = store
        .claim_leases(&a.id, &targets[..1], ttl)
        .await
        .expect("renew");
    assert_eq!(renewed[0].epoch, 1);

    // a's fenced writes pass; b's and a stale epoch are refused, writing nothing.
    let recorded = store
        .record_intent_fenced(&intent(&incident, 1, "fix", t(1)), Some(&fence(&a.id, 1)))
        .await
        .expect("a holds the lease");
    let state = serde_json::json!({"phase": "acting"});
    store
        .save_lifecycle_fenced(incident.id, &state, t(1), Some(&fence(&a.id, 1)))
        .await
        .expect("a holds the lease");
    for stale in [fence(&b.id, 1), fence(&a.id, 2)] {
        let refused = store
            .record_intent_fenced(&intent(&incident, 2, "fix", t(2)), Some(&stale))
            .await;
        assert!(
            matches!(refused, Err(StoreError::LeaseLost { .. })),
            "{refused:?}"
        );
        let refused = store
            .save_lifecycle_fenced(incident.id, &serde_json::json!({}), t(2), Some(&stale))
            .await;
        assert!(
            matches!(refused, Err(StoreError::LeaseLost { .. })),
            "{refused:?}"
        );
    }
    assert_eq!(
        store.actions(incident.id).await.expect("actions"),
        vec![recorded.clone()]
    );
    // Starting it is fenced too: a stale epoch cannot, the holder can.
    let refused = store
        .mark_running_fenced(recorded.id, t(1), Some(&fence(&a.id, 2)))
        .await;
    assert!(
        matches!(refused, Err(StoreError::LeaseLost { .. })),
        "{refused:?}"
    );
    let running = store
        .mark_running_fenced(recorded.id, t(1), Some(&fence(&a.id, 1)))
        .await
        .expect("a holds the lease");
    assert_eq!(running.state, ActionState::Running);
    assert_eq!(
        store.lifecycle(incident.id).await.expect("read"),
        Some(state)
    );

    // Released: b takes payments over at the next epoch, and a is fenced out.
    store
        .release_leases(&a.id, Some(&targets[..1]))
        .await
        .expect("release");
    let taken = store
        .claim_leases(&b.id, &targets, ttl)
        .await
        .expect("claim");
    assert_eq!(
        taken,
        vec![medic_store::Lease {
            target: "payments".into(),
            owner: b.id.clone(),
            epoch: 2
        }]
    );
    let refused = store
        .record_intent_fenced(&intent(&incident, 2, "fix", t(2)), Some(&fence(&a.id, 1)))
        .await;
    assert!(
        matches!(refused, Err(StoreError::LeaseLost { .. })),
        "{refused:?}"
    );
    let owners: Vec<(String, String)> = (store.leases().await.expect("leases").into_iter())
        .map(|l| (l.target, l.owner))
        .collect();
    assert_eq!(
        owners,
        vec![
            ("billing".into(), a.id.clone()),
            ("payments".into(), b.id.clone())
        ]
    );
    // An expired lease is free too.
    store
        .claim_leases(&b.id, &targets[1..], std::time::Duration::ZERO)
        .await
        .expect("nothing to claim");
    store
        .release_leases(&a.id, None)
        .await
        .expect("release all");
    let zero = store
        .claim_leases(&b.id, &targets[1..], std::time::Duration::from_millis(1))
        .await
        .expect("claim");
    assert_eq!(zero.len(), 1);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let after_expiry = store
        .claim_leases(&a.id, &targets[1..], ttl)
        .await
        .expect("claim");
    assert_eq!(after_expiry[0].epoch, 3, "{after_expiry:?}");

    // Signals for a target another replica owns wait for it, in order.
    let first = serde_json::json!({"message": "first"});
    let second = serde_json::json!({"message": "second"});
    store.hand_off("payments", &first).await.expect("hand off");
    store.hand_off("billing", &second).await.expect("hand off");
    store.hand_off("payments", &second).await.expect("hand off");
    let taken = store
        .take_handoffs(&["payments".to_string()])
        .await
        .expect("take");
    assert_eq!(
        taken,
        vec![
            ("payments".to_string(), first),
            ("payments".to_string(), second.clone())
        ]
    );
    assert!(
        store
            .take_handoffs(&["payments".to_string()])
            .await
            .expect("take")
            .is_empty()
    );
    let rest = store.take_handoffs(&targets).await.expect("take");
    assert_eq!(rest, vec![("billing".to_string(), second)]);
}
