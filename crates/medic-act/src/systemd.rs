//! The `systemd` action: `systemctl <verb> -- <unit>`, each call run like an
//! `exec` action (its own process group, a clean environment, the guard,
//! a timeout). `reset-failed+start` is two calls; the first failure stops.

use std::collections::BTreeMap;

use medic_engine::config::{ExecAction, SystemdAction};
use medic_engine::safety::Values;

use crate::exec;
use crate::outcome::ActionOutcome;

pub(crate) async fn run(action: &SystemdAction, facts: &BTreeMap<String, String>) -> ActionOutcome {
    let mut said = Vec::new();
    for verb in action.verb.commands() {
        let call = ExecAction {
            // `--`: the unit can never read as an option (check refuses
            // such names as well).
            command: ["systemctl", verb, "--", &action.unit]
                .map(String::from)
                .to_vec(),
            timeout: action.timeout,
            env: BTreeMap::new(),
            pass_env: Vec::new(),
            cwd: None,
        };
        let outcome = exec::run(&call, &Values::new(), facts, false).await;
        let line = format!("systemctl {verb} {}", action.unit);
        if !outcome.success {
            let error = outcome.error.clone().unwrap_or_default();
            return ActionOutcome::failed(format!("{line}: {error}"))
                .with_output(outcome.output.unwrap_or_default());
        }
        said.push(line);
    }
    ActionOutcome::succeeded().with_output(said.join("\n"))
}
