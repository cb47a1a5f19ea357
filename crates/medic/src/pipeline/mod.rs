//! `medic pipeline`: workflows. A flow file lists ordered steps (`http` with
//! failover URLs, `command`, `validate`), each with its recovery policy;
//! `run` records a run in the store and checkpoints its state after every
//! step, so `resume` continues a killed run without redoing finished steps.
//!
//! - `flow.rs` the flow file → a validated `Flow`;
//! - `values.rs` references (`steps.NAME.KEY`, `vars.NAME`) and placeholders;
//! - `steps.rs` one step of any kind → `http.rs`, `command.rs`, `validate.rs`;
//! - `run.rs` the loop: step, checkpoint, next; failure and escalation.

mod command;
mod flow;
mod http;
mod run;
mod steps;
mod validate;
mod values;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use medic_model::{NewPipelineRun, PipelineRun, PipelineRunStatus};
use medic_store::{Store, StoreError};
use sha2::{Digest, Sha256};

use crate::UsageError;

fn usage(line: impl Into<String>) -> UsageError {
    UsageError(vec![line.into()])
}

/// The exit code for how a run ended: 0 succeeded, 1 anything else.
fn exit_code(status: PipelineRunStatus) -> u8 {
    u8::from(status != PipelineRunStatus::Succeeded)
}

/// `medic pipeline run FLOW [--set NAME=VALUE]…`.
pub(crate) fn run(flow_path: &Path, store_url: &str, sets: &[String]) -> Result<u8, UsageError> {
    let overrides = parse_sets(sets)?;
    let (text, digest) = read_flow(flow_path)?;
    let flow = flow::parse(&text, &overrides)
        .map_err(|e| usage(format!("{}: {e}", flow_path.display())))?;
    let path = std::fs::canonicalize(flow_path).unwrap_or_else(|_| flow_path.to_path_buf());
    crate::runtime()?.block_on(async {
        let store = connect(store_url).await?;
        let vars = serde_json::to_value(&flow.vars).unwrap_or_default();
        let new = NewPipelineRun {
            flow: flow.name.clone(),
            flow_path: path.display().to_string(),
            flow_digest: digest,
            vars,
            at: chrono::Utc::now(),
        };
        let started = store
            .start_pipeline_run(&new)
            .await
            .map_err(|e| usage(format!("--store: cannot record the run: {e}")))?;
        println!(
            "run {}: {}, {} step(s) (resume with `medic pipeline resume {}` if interrupted)",
            started.id,
            flow.name,
            flow.steps.len(),
            started.id
        );
        drive(store.as_ref(), &flow, started).await
    })
}

/// `medic pipeline resume RUN_ID [--force]`.
pub(crate) fn resume(id: i64, store_url: &str, force: bool) -> Result<u8, UsageError> {
    crate::runtime()?.block_on(async {
        let store = connect(store_url).await?;
        let found = load(store.as_ref(), id, store_url).await?;
        match found.status {
            PipelineRunStatus::Running => {}
            PipelineRunStatus::Succeeded => {
                println!("run {id} already succeeded; nothing to resume");
                return Ok(0);
            }
            ended => {
                return Err(usage(format!(
                    "run {id} ended {ended} ({}); it cannot be resumed: start a new run",
                    found.reason.as_deref().unwrap_or("no reason recorded")
                )));
            }
        }
        let path = PathBuf::from(&found.flow_path);
        let (text, digest) = read_flow(&path)?;
        if digest != found.flow_digest && !force {
            return Err(usage(format!(
                "{}: the flow file changed since run {id} started (sha256 {} → {}); \
                 resuming would mix two flows. Restore it, or pass --force to resume with the new file",
                path.display(),
                short(&found.flow_digest),
                short(&digest)
            )));
        }
        // The run's variables were fixed when it started (`--set` included).
        let vars: BTreeMap<String, String> = serde_json::from_value(found.vars.clone())
            .map_err(|e| usage(format!("run {id}: corrupt variables in the store: {e}")))?;
        let flow = flow::parse(&text, &vars)
            .map_err(|e| usage(format!("{}: {e}", path.display())))?;
        let total = flow.steps.len();
        let next = usize::try_from(found.next_step).unwrap_or(usize::MAX);
        let at = flow
            .steps
            .get(next)
            .map_or_else(|| "the end".to_string(), |step| format!("step {}/{total} {}", next + 1, step.name));
        println!(
            "run {id}: resuming {} at {at}; {} step(s) already done, not repeated",
            flow.name, found.next_step
        );
        drive(store.as_ref(), &flow, found).await
    })
}

/// `medic pipeline show RUN_ID`: the run as JSON.
pub(crate) fn show(id: i64, store_url: &str) -> Result<u8, UsageError> {
    crate::runtime()?.block_on(async {
        let store = connect(store_url).await?;
        let found = load(store.as_ref(), id, store_url).await?;
        let json = serde_json::to_string_pretty(&found)
            .map_err(|e| usage(format!("run {id}: cannot print: {e}")))?;
        crate::out::println(&json);
        Ok(0)
    })
}

async fn drive(store: &dyn Store, flow: &flow::Flow, run: PipelineRun) -> Result<u8, UsageError> {
    let id = run.id;
    // Flow files carry no TLS settings: the system's roots decide.
    let client = medic_client::builder(&medic_client::ClientTls::default())
        .map_err(|e| usage(format!("tls: {e}")))?
        .build()
        .map_err(|e| usage(format!("cannot build the HTTP client: {e}")))?;
    match run::drive(store, &client, flow, run).await {
        Ok(status) => Ok(exit_code(status)),
        Err(run::StoreFailed(why)) => {
            eprintln!(
                "medic: run {id}: {why}; the run is at its last checkpoint: `medic pipeline resume {id}`"
            );
            Ok(1)
        }
    }
}

async fn connect(url: &str) -> Result<Arc<dyn Store>, UsageError> {
    medic_store::connect(url)
        .await
        .map_err(|e| usage(format!("--store: {e}")))
}

async fn load(store: &dyn Store, id: i64, url: &str) -> Result<PipelineRun, UsageError> {
    store.pipeline_run(id).await.map_err(|e| match e {
        StoreError::NotFound { .. } => usage(format!("run {id} not found in {}", store_label(url))),
        other => usage(format!("--store: {other}")),
    })
}

/// The store URL without anything after the host that may be a password.
fn store_label(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) if scheme.starts_with("postgres") => {
            let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
            format!("{scheme}://{host}")
        }
        _ => url.to_string(),
    }
}

fn read_flow(path: &Path) -> Result<(String, String), UsageError> {
    let bytes =
        std::fs::read(path).map_err(|e| usage(format!("{}: cannot read: {e}", path.display())))?;
    let digest: String = Sha256::digest(&bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let text = String::from_utf8(bytes)
        .map_err(|_| usage(format!("{}: not UTF-8 text", path.display())))?;
    Ok((text, digest))
}

fn short(digest: &str) -> &str {
    digest.get(..12).unwrap_or(digest)
}

/// `--set NAME=VALUE` pairs.
fn parse_sets(sets: &[String]) -> Result<BTreeMap<String, String>, UsageError> {
    sets.iter()
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) if !name.trim().is_empty() => {
                Ok((name.trim().to_string(), value.to_string()))
            }
            _ => Err(usage(format!("--set {pair:?}: expected NAME=VALUE"))),
        })
        .collect()
}
