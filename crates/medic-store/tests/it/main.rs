//! The store's integration tests: one conformance suite, run against SQLite
//! and PostgreSQL, plus the backend-specific checks.

mod connect;
mod harness;
mod pooler;
mod suite;

/// Generates, for each suite function, one `#[tokio::test]` per backend.
macro_rules! conformance_suite {
    ($($test:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let backend = crate::harness::Backend::sqlite(stringify!($test));
                    crate::suite::$test(&backend).await;
                }
            )+
        }

        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let Some(backend) = crate::harness::Backend::postgres(stringify!($test)).await
                    else {
                        return;
                    };
                    crate::suite::$test(&backend).await;
                }
            )+
        }

        mod pgbouncer {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let Some(backend) = crate::harness::Backend::pgbouncer(stringify!($test)).await
                    else {
                        return;
                    };
                    crate::suite::$test(&backend).await;
                }
            )+
        }
    };
}

conformance_suite!(
    opening_twice_joins_the_live_incident,
    concurrent_opens_make_one_incident,
    lifecycle_records_closed_at_and_time_to_recover,
    invalid_transitions_are_refused,
    racing_terminal_transitions_have_one_winner,
    listing_is_newest_first_with_cursor_and_filters,
    open_incidents_are_the_live_ones,
    diagnosis_round_trips,
    timeline_is_oldest_first,
    actions_go_from_intent_to_outcome,
    finished_actions_are_never_finished_again,
    a_step_is_recorded_once,
    actions_in_doubt_survive_a_crash,
    budgets_count_real_actions_since,
    learning_accumulates_outcomes,
    import_replaces_matching_stats,
    fingerprints_are_renamed_with_their_learning,
    a_reopened_incident_takes_its_success_back,
    resolved_incidents_are_similarity_candidates,
    a_restart_keeps_everything,
    corrupt_values_are_reported_not_panicked_on,
    approvals_are_decided_once,
    acknowledging_keeps_the_first,
    recent_actions_are_real_finished_runs,
    components_are_saved_once,
    active_endpoints_are_kept_and_replaced,
    a_monitoring_pause_is_kept_until_resumed,
    maintenance_windows_are_kept_listed_and_ended_early,
    a_victims_incident_is_linked_to_its_cause,
    lifecycles_are_kept_per_incident,
    deliveries_are_recorded_once,
    replay_claims_are_kept_and_pruned,
    pipeline_runs_checkpoint_then_finish_once,
    pipeline_runs_refuse_unknown_ids_and_non_end_statuses,
    pipeline_checkpoints_survive_a_restart,
    leases_change_hands_only_when_free_and_fence_writes,
);
