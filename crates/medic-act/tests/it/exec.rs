//! The `exec` action with real processes.

use std::time::Duration;

use crate::support::{action, context, dies_within, executor, pids_in, target};

#[tokio::test]
async fn success_captures_stdout_and_stderr() {
    let remedy = action(r#"{ kind = "exec", command = ["sh", "-c", "echo out; echo err >&2"] }"#);
    let outcome = executor()
        .run(&target(r#"name = "db""#), &remedy, &context("db"))
        .await;
    assert!(outcome.success, "{outcome:?}");
    assert_eq!(outcome.error, None);
    let output = outcome.output.expect("output");
    assert!(
        output.contains("out\n") && output.contains("err\n"),
        "{output:?}"
    );
}

#[tokio::test]
async fn a_non_zero_exit_fails_with_the_last_line() {
    let remedy = action(
        r#"{ kind = "exec", command = ["sh", "-c", "echo working; echo 'disk full' >&2; exit 3"] }"#,
    );
    let outcome = executor()
        .run(&target(r#"name = "db""#), &remedy, &context("db"))
        .await;
    assert!(!outcome.success);
    assert_eq!(outcome.error.as_deref(), Some("exit status 3: disk full"));
}

#[tokio::test]
async fn a_placeholder_fills_exactly_one_argument() {
    let remedy = action(r#"{ kind = "exec", command = ["printf", "[%s]", "{{target.name}}"] }"#);
    let name = "a b; echo injected \"quoted\" $(id)";
    let outcome = executor()
        .run(&target(r#"name = "db""#), &remedy, &context(name))
        .await;
    assert!(outcome.success, "{outcome:?}");
    assert_eq!(
        outcome.output.as_deref(),
        Some(format!("[{name}]").as_str())
    );
}

#[tokio::test]
async fn the_guard_refuses_a_rendered_rm_rf_root_at_run_time() {
    // Belt and braces: should the guard ever let it through, the missing
    // working directory makes the spawn fail instead of deleting anything.
    let remedy = action(
        r#"{ kind = "exec", command = ["rm", "-rf", "{{target.name}}"], cwd = "/nonexistent/medic-act-test" }"#,
    );
    let outcome = executor()
        .run(&target(r#"name = "db""#), &remedy, &context("/"))
        .await;
    assert!(!outcome.success);
    let error = outcome.error.expect("error");
    assert!(
        error.starts_with("refused by the destructive-command guard (delete-system)"),
        "{error}"
    );
}

#[tokio::test]
async fn an_unreadable_command_runs_only_for_an_approved_high_risk_remedy() {
    // The program is chosen at run time: the guard cannot read it.
    let command = r#"{ kind = "exec", command = ["sh", "-c", "$(echo echo) ran"] }"#;
    let remedy = action(command);
    let plain = target(&format!(
        "name = \"db\"\nremedies = [{{ name = \"fix\", action = {command} }}]"
    ));
    let outcome = executor().run(&plain, &remedy, &context("db")).await;
    assert!(!outcome.success);
    let error = outcome.error.expect("error");
    assert!(
        error.contains("cannot read this command (run-time-command)"),
        "{error}"
    );

    let high = target(&format!(
        "name = \"db\"\nremedies = [{{ name = \"fix\", risk = \"high\", action = {command} }}]"
    ));
    let outcome = executor().run(&high, &remedy, &context("db")).await;
    assert!(outcome.success, "{outcome:?}");
    assert_eq!(outcome.output.as_deref().map(str::trim), Some("ran"));
}

#[tokio::test]
async fn approval_never_lets_a_destructive_command_through() {
    let command = r#"{ kind = "exec", command = ["rm", "-rf", "{{target.name}}"], cwd = "/nonexistent/medic-act-test" }"#;
    let remedy = action(command);
    let high = target(&format!(
        "name = \"db\"\nremedies = [{{ name = \"fix\", risk = \"high\", action = {command} }}]"
    ));
    let outcome = executor().run(&high, &remedy, &context("/usr/")).await;
    assert!(!outcome.success);
    let error = outcome.error.expect("error");
    assert!(error.contains("guard (delete-system)"), "{error}");
}

#[tokio::test]
async fn a_timeout_kills_the_whole_process_group() {
    let remedy = action(
        r#"{ kind = "exec", command = ["sh", "-c", "echo pid $$; sleep 30 & echo pid $!; sleep 30 & echo pid $!; wait"], timeout = "500ms" }"#,
    );
    let outcome = executor()
        .run(&target(r#"name = "db""#), &remedy, &context("db"))
        .await;
    assert!(!outcome.success);
    assert_eq!(
        outcome.error.as_deref(),
        Some("timed out after 500ms; its process group was killed")
    );
    assert!(outcome.duration_ms < 2000, "{}", outcome.duration_ms);
    let pids = pids_in(outcome.output.as_deref().unwrap_or_default());
    assert_eq!(pids.len(), 3, "the shell and both sleeps: {pids:?}");
    for pid in pids {
        assert!(
            dies_within(pid, Duration::from_secs(2)).await,
            "pid {pid} survived the timeout"
        );
    }
}

#[tokio::test]
async fn env_and_cwd_are_applied() {
    let dir = tempfile::tempdir().expect("tempdir");
    let remedy = action(&format!(
        r#"{{ kind = "exec", command = ["sh", "-c", "echo \"$GREETING from $(pwd)\""], env = {{ GREETING = "hello" }}, cwd = "{}" }}"#,
        dir.path().display()
    ));
    let outcome = executor()
        .run(&target(r#"name = "db""#), &remedy, &context("db"))
        .await;
    assert!(outcome.success, "{outcome:?}");
    let expected = format!(
        "hello from {}\n",
        dir.path().canonicalize().expect("dir").display()
    );
    assert_eq!(outcome.output.as_deref(), Some(expected.as_str()));
}

#[tokio::test]
async fn long_output_keeps_its_last_4_kib() {
    let remedy = action(
        r#"{ kind = "exec", command = ["sh", "-c", "i=0; while [ $i -lt 2000 ]; do echo line $i; i=$((i+1)); done; echo END"] }"#,
    );
    let outcome = executor()
        .run(&target(r#"name = "db""#), &remedy, &context("db"))
        .await;
    let output = outcome.output.expect("output");
    assert!(output.len() <= medic_act::MAX_OUTPUT_BYTES);
    assert!(output.ends_with("line 1999\nEND\n"), "{output:?}");
    assert!(!output.contains("line 1\n"));
}

#[tokio::test]
async fn a_missing_program_is_a_failed_outcome() {
    let remedy = action(r#"{ kind = "exec", command = ["/nonexistent/medic-remedy"] }"#);
    let outcome = executor()
        .run(&target(r#"name = "db""#), &remedy, &context("db"))
        .await;
    assert!(!outcome.success);
    assert!(
        outcome
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with("cannot run \"/nonexistent/medic-remedy\"")),
        "{outcome:?}"
    );
}
