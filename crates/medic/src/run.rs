//! `medic run -- CMD ARGS…`: one pipeline step, healed. The step's output is
//! streamed through live and its tail kept; a failure is classified with the
//! pipeline failure catalog, then retried with backoff (transient), fixed and
//! retried (fixable, with `--allow-fixes` when the fix changes the machine),
//! or left alone (deterministic or unknown: a real failure is never retried).
//! The exit code is the last attempt's.
//!
//! An `ansible-playbook` step is judged host by host (`crate::ansible`): the
//! failure that heals least decides, and a retry runs only the failed hosts.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use medic_engine::host::HostContext;
use medic_engine::pipeline::{Catalog, Classification, Kind};
use medic_engine::safety::child_env;
use medic_resilience::backoff::{Backoff, Jitter};

use crate::UsageError;
use crate::ansible::{self, Assessment, Callback};

/// Output lines kept for classification (both streams, interleaved).
const TAIL_LINES: usize = 400;

/// The most of a playbook's stdout kept whole: the json callback prints one
/// document at the end, often longer than the tail.
const PLAYBOOK_STDOUT_BYTES: usize = 64 << 20;

/// `medic run`'s options.
#[derive(Debug)]
pub(crate) struct RunOptions {
    pub max_attempts: u32,
    pub catalog: Option<PathBuf>,
    pub allow_fixes: bool,
    pub report_json: bool,
    /// An agent's `/webhooks/pipeline`: a step that fails for good is sent there.
    pub report_to: Option<String>,
    pub first_delay: Duration,
    pub command: Vec<String>,
}

/// One attempt, as reported.
#[derive(Debug, serde::Serialize)]
struct Attempt {
    number: u32,
    /// The argv this attempt ran (a playbook retry adds `--limit`).
    command: Vec<String>,
    exit_code: Option<i32>,
    duration_ms: u64,
    classification: Option<Classification>,
    decision: String,
    fix: Option<FixRun>,
    /// An `ansible-playbook` step's failed hosts.
    #[serde(skip_serializing_if = "Option::is_none")]
    ansible: Option<Assessment>,
}

#[derive(Debug, serde::Serialize)]
struct FixRun {
    command: Vec<String>,
    exit_code: Option<i32>,
    duration_ms: u64,
}

#[derive(Debug, serde::Serialize)]
struct Report<'a> {
    command: &'a [String],
    exit_code: i32,
    attempts: Vec<Attempt>,
    total_ms: u64,
}

pub(crate) fn run(options: RunOptions) -> Result<u8, UsageError> {
    // A catalog the user names is checked up front; the built-in one (valid
    // by test) is compiled only when a step fails, so a passing step pays
    // nothing for ~60 regexes.
    let mut catalog = match &options.catalog {
        Some(path) => Some(load_catalog(Some(path))?),
        None => None,
    };
    if options.max_attempts == 0 {
        return Err(UsageError(vec![
            "--max-attempts: must be at least 1".into(),
        ]));
    }
    if let Some(url) = &options.report_to
        && !url.starts_with("http://")
    {
        return Err(UsageError(vec![format!(
            "--report-to: {url:?} is not an http:// URL (medic's HTTP client has no TLS yet)"
        )]));
    }
    let backoff = Backoff::try_new(
        options.first_delay,
        Duration::from_secs(60),
        2.0,
        Jitter::Equal,
    )
    .map_err(|e| UsageError(vec![format!("backoff: {e}")]))?;
    let mut delays = backoff.delays();
    let started = Instant::now();
    let mut attempts = Vec::new();
    let mut exit_code = 1;
    let playbook = ansible::is_playbook(&options.command);
    let mut argv = options.command.clone();
    let mut suggested_json = false;
    let mut last_failure = String::new();
    // Read when a failure needs a fix chosen for this host.
    let mut host = None;
    for number in 1..=options.max_attempts {
        let attempt_start = Instant::now();
        let outcome = run_step(&argv, playbook, StepEnv::Caller);
        let duration_ms = millis(attempt_start.elapsed());
        exit_code = outcome.exit_code.unwrap_or(1);
        if outcome.success {
            attempts.push(Attempt {
                number,
                command: argv,
                exit_code: outcome.exit_code,
                duration_ms,
                classification: None,
                decision: "succeeded".into(),
                fix: None,
                ansible: None,
            });
            break;
        }
        let catalog = match &mut catalog {
            Some(loaded) => &*loaded,
            slot @ None => &*slot.insert(load_catalog(None)?),
        };
        // A playbook's stdout too long to keep whole still has its tail.
        let mut assessment = playbook
            .then(|| ansible::assess(catalog, outcome.stdout.as_deref().unwrap_or(&outcome.tail)))
            .flatten();
        let class = match assessment.as_ref().and_then(Assessment::deciding) {
            Some(failure) => failure.classification.clone(),
            None => catalog.classify(outcome.exit_code, &outcome.tail),
        };
        let last = number == options.max_attempts;
        let host = host.get_or_insert_with(medic_agent::host::detect);
        let (mut decision, fix) = decide(catalog, &class, host, options.allow_fixes, last);
        let stop = decision.starts_with("stop");
        let mut next = None;
        if let Some(assessment) = assessment.as_mut().filter(|_| !stop) {
            let limit = assessment.retry_limit();
            decision = format!("{decision} with --limit {limit}");
            next = Some(ansible::limited(&options.command, &limit));
            assessment.limit = Some(limit);
        }
        say(number, options.max_attempts, &outcome, &class, &decision);
        if let Some(assessment) = &assessment {
            say_hosts(assessment);
            if assessment.callback == Callback::Default && !suggested_json {
                suggested_json = true;
                eprintln!(
                    "medic run: ansible-playbook's default output is read line by line; \
                     set ANSIBLE_STDOUT_CALLBACK=json for exact per-host results"
                );
            }
        }
        let fix_run = fix.map(|fix| run_fix(&fix));
        last_failure = outcome.tail;
        attempts.push(Attempt {
            number,
            command: std::mem::replace(&mut argv, next.unwrap_or_else(|| options.command.clone())),
            exit_code: outcome.exit_code,
            duration_ms,
            classification: Some(class),
            decision,
            fix: fix_run,
            ansible: assessment,
        });
        if stop || last {
            break;
        }
        if let Some(delay) = delays.next() {
            std::thread::sleep(delay);
        }
    }
    let hosts: Vec<String> = attempts
        .last()
        .and_then(|a| a.ansible.as_ref())
        .map(|a| a.failures.iter().map(|f| f.host.clone()).collect())
        .unwrap_or_default();
    let report = Report {
        command: &options.command,
        exit_code,
        attempts,
        total_ms: millis(started.elapsed()),
    };
    if options.report_json {
        match serde_json::to_string(&report) {
            Ok(json) => eprintln!("{json}"),
            Err(e) => eprintln!("medic run: cannot write the report: {e}"),
        }
    }
    if let Some(url) = options.report_to.as_deref().filter(|_| exit_code != 0) {
        let report = serde_json::to_value(&report).unwrap_or_default();
        let body = crate::report_to::body(&options.command, &last_failure, hosts, report);
        // The step's own result stands whatever the agent says.
        match crate::report_to::send(url, &body) {
            Ok(answer) => eprintln!(
                "medic run: reported to {}: incident {} ({})",
                crate::report_to::shown(url),
                answer["incident_id"],
                answer["status"]
            ),
            Err(why) => eprintln!(
                "medic run: could not report to {}: {why}",
                crate::report_to::shown(url)
            ),
        }
    }
    Ok(u8::try_from(exit_code.clamp(0, 255)).unwrap_or(1))
}

fn load_catalog(path: Option<&PathBuf>) -> Result<Catalog, UsageError> {
    let (name, text) = match path {
        Some(path) => (
            path.display().to_string(),
            std::fs::read_to_string(path)
                .map_err(|e| UsageError(vec![format!("--catalog {}: {e}", path.display())]))?,
        ),
        None => (
            "built-in catalog".into(),
            medic_engine::pipeline::BUILT_IN.to_string(),
        ),
    };
    Catalog::parse(&text)
        .map_err(|errors| UsageError(errors.iter().map(|e| format!("{name}: {e}")).collect()))
}

/// What to do after a failed attempt: a decision text for humans and the
/// report, and the fix to run first, if any.
fn decide(
    catalog: &Catalog,
    class: &Classification,
    host: &HostContext,
    allow_fixes: bool,
    last: bool,
) -> (String, Option<Vec<String>>) {
    let retry = if last {
        "stop: no attempts left"
    } else {
        "retry"
    };
    match class.kind {
        None => ("stop: unknown failure, not retried".into(), None),
        Some(Kind::Deterministic) => (
            "stop: deterministic failure, retrying cannot help".into(),
            None,
        ),
        Some(Kind::Transient) => (retry.into(), None),
        Some(Kind::Fixable) => {
            let entry = class.entry.as_deref().and_then(|name| catalog.entry(name));
            let fix = entry.map(|entry| entry.fix_for(host));
            match (entry, fix) {
                (Some(_), Some(Err(why))) => (format!("stop: no fix to run ({why})"), None),
                (Some(entry), Some(Ok(fix))) if entry.changes_machine && !allow_fixes => (
                    format!(
                        "stop: the fix `{}` changes the machine; rerun with --allow-fixes to let medic run it",
                        fix.join(" ")
                    ),
                    None,
                ),
                (Some(_), Some(Ok(fix))) if !last => (
                    format!("fix with `{}`, then retry", fix.join(" ")),
                    Some(fix),
                ),
                _ => (retry.into(), None),
            }
        }
    }
}

fn say(number: u32, max: u32, outcome: &StepOutcome, class: &Classification, decision: &str) {
    let what = match (&class.entry, &class.kind) {
        (Some(entry), Some(kind)) => format!("{entry} ({})", kind.as_str()),
        _ => "unknown".into(),
    };
    let evidence = class
        .evidence
        .as_deref()
        .map(|line| format!(" — {line}"))
        .unwrap_or_default();
    let code = outcome
        .exit_code
        .map_or_else(|| "killed by a signal".to_string(), |c| format!("exit {c}"));
    eprintln!("medic run: attempt {number}/{max} failed ({code}): {what}{evidence}; {decision}");
}

/// One line per failed host, under the attempt's line.
fn say_hosts(assessment: &Assessment) {
    for failure in &assessment.failures {
        let verdict = failure
            .classification
            .kind
            .map_or("unknown", |kind| kind.as_str());
        eprintln!(
            "medic run:   {}: task `{}`: {} ({verdict}) — {}",
            failure.host,
            failure.task,
            failure.kind.as_str(),
            failure.message
        );
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A fix passed the catalog's guard check at load; it is checked again here,
/// right before it runs, like every remedy.
fn run_fix(argv: &[String]) -> FixRun {
    let start = Instant::now();
    let exit_code = match medic_engine::safety::check_command(argv) {
        Err(refusal) => {
            eprintln!("medic run: fix refused: {refusal}");
            None
        }
        Ok(()) => {
            eprintln!("medic run: running fix: {}", argv.join(" "));
            run_step(argv, false, StepEnv::Clean).exit_code
        }
    };
    FixRun {
        command: argv.to_vec(),
        exit_code,
        duration_ms: millis(start.elapsed()),
    }
}

struct StepOutcome {
    success: bool,
    exit_code: Option<i32>,
    tail: String,
    /// The whole stdout, when asked for and it fit.
    stdout: Option<String>,
}

/// The environment a command starts with.
#[derive(Debug, Clone, Copy)]
enum StepEnv {
    /// The step is the user's own command: the caller's environment, less
    /// medic's own credentials.
    Caller,
    /// A fix from the catalog: a clean environment, like every remedy.
    Clean,
}

/// Runs argv (never a shell), streaming its output through and keeping the
/// tail, and all of stdout when `keep_stdout`.
fn run_step(argv: &[String], keep_stdout: bool, env: StepEnv) -> StepOutcome {
    let Some((program, args)) = argv.split_first() else {
        return StepOutcome {
            success: false,
            exit_code: Some(2),
            tail: "no command given".into(),
            stdout: None,
        };
    };
    let mut command = Command::new(program);
    match env {
        StepEnv::Caller => {
            for name in crate::report_to::SECRET_VARIABLES {
                command.env_remove(name);
            }
        }
        StepEnv::Clean => {
            command
                .env_clear()
                .envs(child_env::from_agent(&[], &Default::default()));
        }
    }
    let child = command
        .args(args)
        .stdin(Stdio::inherit())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => {
            // What a shell would say, so the catalog reads it the same way.
            let code = if e.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            };
            let message = format!("{program}: {e}");
            eprintln!("{message}");
            let tail = if code == 127 {
                format!("{program}: command not found")
            } else {
                message
            };
            return StepOutcome {
                success: false,
                exit_code: Some(code),
                tail,
                stdout: None,
            };
        }
    };
    let tail = Arc::new(Mutex::new(VecDeque::with_capacity(TAIL_LINES)));
    let whole = keep_stdout.then(|| Arc::new(Mutex::new(Some(Vec::new()))));
    let readers = [
        child
            .stdout
            .take()
            .map(|out| pump(out, std::io::stdout(), tail.clone(), whole.clone())),
        child
            .stderr
            .take()
            .map(|err| pump(err, std::io::stderr(), tail.clone(), None)),
    ];
    let status = child.wait();
    for reader in readers.into_iter().flatten() {
        let _ = reader.join();
    }
    let tail = tail
        .lock()
        .map(|lines| lines.iter().cloned().collect::<Vec<String>>().join("\n"))
        .unwrap_or_default();
    let stdout = whole
        .and_then(|whole| whole.lock().ok().and_then(|mut kept| kept.take()))
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
    match status {
        Ok(status) => StepOutcome {
            success: status.success(),
            exit_code: status.code().or_else(|| {
                use std::os::unix::process::ExitStatusExt;
                status.signal().map(|s| 128 + s)
            }),
            tail,
            stdout,
        },
        Err(e) => StepOutcome {
            success: false,
            exit_code: None,
            tail: format!("{tail}\nwaiting for the step failed: {e}"),
            stdout,
        },
    }
}

/// Copies a stream through line by line as it comes, keeping the last
/// lines, and all of it in `whole` up to [`PLAYBOOK_STDOUT_BYTES`] (past
/// that `whole` is dropped: half a document would mislead).
fn pump(
    source: impl Read + Send + 'static,
    mut sink: impl Write + Send + 'static,
    tail: Arc<Mutex<VecDeque<String>>>,
    whole: Option<Arc<Mutex<Option<Vec<u8>>>>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(source);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let _ = sink.write_all(&line).and_then(|()| sink.flush());
                    if let Some(Ok(mut kept)) = whole.as_ref().map(|w| w.lock()) {
                        let full = kept
                            .as_ref()
                            .is_some_and(|bytes| bytes.len() + line.len() > PLAYBOOK_STDOUT_BYTES);
                        if full {
                            *kept = None;
                        } else if let Some(bytes) = kept.as_mut() {
                            bytes.extend_from_slice(&line);
                        }
                    }
                    let text = String::from_utf8_lossy(&line).trim_end().to_string();
                    if let Ok(mut lines) = tail.lock() {
                        if lines.len() == TAIL_LINES {
                            lines.pop_front();
                        }
                        lines.push_back(text);
                    }
                }
            }
        }
    })
}
