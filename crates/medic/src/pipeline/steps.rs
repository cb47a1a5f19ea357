//! One step, whatever its kind: what it produced, or why it failed.

use reqwest::Client;
use serde_json::Value;

use super::flow::{Action, Step};
use super::values::Scope;
use super::{command, http, validate};

/// A finished step: its output (saved in the state under the step's name)
/// and a few words for the step's line.
#[derive(Debug)]
pub(crate) struct Done {
    pub output: Value,
    pub note: String,
}

/// Runs a step against the state so far; `Err` is the failure's description.
pub(crate) async fn execute(
    client: &Client,
    step: &Step,
    scope: Scope<'_>,
) -> Result<Done, String> {
    match &step.action {
        Action::Http(http) => http::run(client, &step.name, http, &step.retry, scope).await,
        Action::Command(command) => command::run(&step.name, command, &step.retry, scope).await,
        Action::Validate(checks) => validate::run(checks, scope),
    }
}

/// A retry or failover as it happens, on stderr (stdout has one line per step).
pub(crate) fn progress(step: &str, message: &str) {
    eprintln!("medic pipeline: {step}: {message}");
}
