//! The `command` step: argv, never a shell string. Placeholders fill single
//! elements; the filled argv passes the destructive-command guard again right
//! before it runs. A non-zero exit or a timeout is retried with backoff when
//! the step allows more than one attempt. stdout is the step's output: JSON
//! when it parses as JSON, else its text; stderr passes through.

use std::process::Stdio;

use serde_json::Value;

use super::flow::{CommandStep, RetryPolicy};
use super::steps::{Done, progress};
use super::values::Scope;

pub(crate) async fn run(
    step_name: &str,
    step: &CommandStep,
    retry: &RetryPolicy,
    scope: Scope<'_>,
) -> Result<Done, String> {
    let argv = step
        .argv
        .iter()
        .map(|element| scope.render_text(element, false))
        .collect::<Result<Vec<String>, String>>()?;
    medic_engine::safety::check_command(&argv).map_err(|refusal| refusal.to_string())?;
    let mut delays = retry.backoff.delays();
    let mut attempt = 1;
    loop {
        match run_once(&argv, step).await {
            Ok(output) => {
                let note = match attempt {
                    1 => argv.join(" "),
                    n => format!("{}, attempt {n}", argv.join(" ")),
                };
                return Ok(Done { output, note });
            }
            Err(why) if attempt >= retry.attempts => {
                return Err(format!("{}: {why}", argv.join(" ")));
            }
            Err(why) => {
                let wait = delays.next().unwrap_or(retry.backoff.max());
                progress(
                    step_name,
                    &format!(
                        "{why}; retrying in {wait:?} (attempt {attempt}/{})",
                        retry.attempts
                    ),
                );
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
        }
    }
}

async fn run_once(argv: &[String], step: &CommandStep) -> Result<Value, String> {
    let Some((program, args)) = argv.split_first() else {
        return Err("no command".into());
    };
    let child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        // A timed-out command is killed when its future is dropped.
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    let output = tokio::time::timeout(step.timeout, child.wait_with_output())
        .await
        .map_err(|_| format!("still running after {:?}; killed", step.timeout))?
        .map_err(|e| format!("waiting for {program}: {e}"))?;
    if !output.status.success() {
        return Err(match output.status.code() {
            Some(code) => format!("exit {code}"),
            None => "killed by a signal".to_string(),
        });
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    Ok(serde_json::from_str(&stdout)
        .unwrap_or_else(|_| Value::String(stdout.trim_end().to_string())))
}
