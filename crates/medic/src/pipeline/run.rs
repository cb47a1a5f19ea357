//! The run loop: each remaining step in order, its output added to the
//! state, and the state checkpointed in the store (durably) before the next
//! step starts. A killed run resumes at the first unfinished step: finished
//! steps never run again; the step that was running when the process died
//! runs again from its start.

use std::collections::BTreeMap;
use std::time::Duration;

use medic_model::{PipelineRun, PipelineRunStatus};
use medic_store::Store;
use reqwest::Client;
use serde_json::{Value, json};

use super::flow::{Flow, OnFailure};
use super::steps::execute;
use super::values::{Scope, as_text};

/// How an escalation webhook is tried: a page may be sent twice, not lost.
const ESCALATE_ATTEMPTS: u32 = 3;
const ESCALATE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the loop stopped before the run ended: the store failed. The run
/// stays `running` at its last checkpoint, so it can be resumed.
#[derive(Debug)]
pub(crate) struct StoreFailed(pub String);

/// Runs the steps from `run.next_step` on; returns how the run ended.
pub(crate) async fn drive(
    store: &dyn Store,
    client: &Client,
    flow: &Flow,
    run: PipelineRun,
) -> Result<PipelineRunStatus, StoreFailed> {
    let vars: BTreeMap<String, String> = match &run.vars {
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), as_text(v))).collect(),
        _ => BTreeMap::new(),
    };
    let mut state = match run.state {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    let total = flow.steps.len();
    let first = usize::try_from(run.next_step).unwrap_or(usize::MAX);
    for (index, step) in flow.steps.iter().enumerate().skip(first) {
        let number = index + 1;
        let state_value = Value::Object(state.clone());
        let scope = Scope {
            state: &state_value,
            vars: &vars,
        };
        match execute(client, step, scope).await {
            Ok(done) => {
                state.insert(step.name.clone(), done.output);
                let next = u32::try_from(number).unwrap_or(u32::MAX);
                store
                    .checkpoint_pipeline_run(
                        run.id,
                        &Value::Object(state.clone()),
                        next,
                        chrono::Utc::now(),
                    )
                    .await
                    .map_err(|e| {
                        StoreFailed(format!(
                            "cannot checkpoint step {number}/{total} {}: {e}",
                            step.name
                        ))
                    })?;
                println!("step {number}/{total} {}: ok ({})", step.name, done.note);
            }
            Err(why) => {
                let status = match step.on_failure {
                    OnFailure::Fail => PipelineRunStatus::Failed,
                    OnFailure::Escalate => PipelineRunStatus::Escalated,
                };
                let reason = format!("step {number}/{total} {}: {why}", step.name);
                store
                    .finish_pipeline_run(run.id, status, Some(&reason), chrono::Utc::now())
                    .await
                    .map_err(|e| {
                        StoreFailed(format!("cannot record the failure of {}: {e}", step.name))
                    })?;
                println!("step {number}/{total} {}: FAILED: {why}", step.name);
                if status == PipelineRunStatus::Escalated {
                    escalate(client, flow, run.id, &step.name, &reason).await;
                }
                println!("run {} {status}", run.id);
                return Ok(status);
            }
        }
    }
    store
        .finish_pipeline_run(
            run.id,
            PipelineRunStatus::Succeeded,
            None,
            chrono::Utc::now(),
        )
        .await
        .map_err(|e| StoreFailed(format!("cannot record the end of the run: {e}")))?;
    println!("run {} succeeded", run.id);
    Ok(PipelineRunStatus::Succeeded)
}

/// Tells a human: the flow's `escalate` webhook gets a JSON summary (the
/// run's state is not sent: it may hold data the receiver should not see).
async fn escalate(client: &Client, flow: &Flow, run_id: i64, step: &str, reason: &str) {
    let Some(url) = &flow.escalate else {
        println!("escalated: {reason} (the flow has no `escalate` webhook to notify)");
        return;
    };
    let body = json!({
        "source": "medic pipeline",
        "status": "escalated",
        "run_id": run_id,
        "flow": flow.name,
        "step": step,
        "reason": reason,
        "summary": format!("medic pipeline run {run_id} of {} escalated: {reason}", flow.name),
    })
    .to_string();
    let mut last = String::new();
    for attempt in 1..=ESCALATE_ATTEMPTS {
        let sent = client
            .post(url)
            .timeout(ESCALATE_TIMEOUT)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.clone())
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => {
                println!("escalated: {url} notified");
                return;
            }
            Ok(response) => last = format!("HTTP {}", response.status()),
            Err(error) => last = error.to_string(),
        }
        if attempt < ESCALATE_ATTEMPTS {
            tokio::time::sleep(Duration::from_millis(500) * attempt).await;
        }
    }
    eprintln!("medic pipeline: cannot notify {url}: {last}");
}
