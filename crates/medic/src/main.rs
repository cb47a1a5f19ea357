//! The `medic` binary: one command per job (see `medic --help`).
//!
//! Exit codes: 0 success, 1 the thing checked or run failed (for the API
//! clients: the agent refused), 2 usage or configuration error, 3 the agent
//! could not be reached. Errors go to stderr, one line each, saying what and
//! where. `docs/cli.md` is the reference.

mod ansible;
mod chaos;
mod check;
mod client;
mod demo;
mod diagnose;
mod eval;
mod init;
mod learn;
mod maintenance;
mod migrate;
mod out;
mod pipeline;
mod redacted_log;
mod report_to;
mod run;
mod serve;
mod templates;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use medic_engine::config::LogFormat;

/// Watches services and pipelines, diagnoses failures, heals them safely.
#[derive(Debug, Parser)]
#[command(name = "medic", version, about)]
struct Cli {
    /// Log lines as `text` (coloured only on a terminal) or `json` (one
    /// object a line); default: the config's `[log] format`, else text.
    #[arg(long, global = true, value_parser = ["text", "json"])]
    log_format: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the agent: probes, engine, API.
    Serve {
        /// The configuration file.
        #[arg(long, short, default_value = "medic.toml", env = "MEDIC_CONFIG")]
        config: PathBuf,
    },
    /// Start a chaos service and the agent, break things, watch them heal.
    Demo,
    /// Validate the config; print each target's probes and remedy ladder and the policy.
    ///
    /// Checks the secrets `serve` reads from the environment (API keys, webhook
    /// credentials), then opens the store read-only for its schema version and
    /// history: never creating, migrating or writing it.
    Check {
        /// The configuration file.
        #[arg(long, short, default_value = "medic.toml", env = "MEDIC_CONFIG")]
        config: PathBuf,
        /// Read only the file: no store, no environment secrets (e.g. building
        /// an image, rendering manifests).
        #[arg(long)]
        offline: bool,
    },
    /// Write a commented starter config that `medic check` accepts.
    Init {
        /// Where to write it.
        #[arg(long, short, default_value = "medic.toml")]
        config: PathBuf,
        /// The service's health URL, probed every 2s (default http://127.0.0.1:8080/health).
        #[arg(long)]
        url: Option<String>,
        /// A command for medic to start, keep running and restart as the
        /// remedy, e.g. "./server --port 8080" (split at spaces).
        #[arg(long, value_name = "CMD")]
        supervise: Option<String>,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Print the configuration reference (docs/configuration.md), generated
    /// from the schema's doc comments.
    ConfigReference,
    /// Create or update the store's schema (`medic serve` also does at start).
    Migrate {
        /// The configuration file (for its `[storage] url`).
        #[arg(long, short, default_value = "medic.toml", env = "MEDIC_CONFIG")]
        config: PathBuf,
    },
    /// Run the chaos service: a small shop that fails on demand.
    #[command(after_help = chaos::ENDPOINTS_HELP)]
    Chaos {
        /// Address to listen on (port 0 picks a free one; the address is printed).
        #[arg(long, default_value = "127.0.0.1:8000")]
        listen: String,
        /// Append the service's log lines to this file.
        #[arg(long)]
        log_file: Option<PathBuf>,
        /// A Redis the shop depends on: `/health` PINGs it and answers 503
        /// while it does not answer.
        #[arg(long, value_name = "HOST:PORT")]
        redis: Option<String>,
    },
    /// Run one pipeline step; on failure classify its output, then retry,
    /// fix-then-retry or stop, as the failure warrants. Exit code: the last attempt's.
    Run {
        /// Attempts in all, the first included.
        #[arg(long, default_value_t = 3)]
        max_attempts: u32,
        /// A pipeline failure catalog (TOML) to use instead of the built-in one.
        #[arg(long)]
        catalog: Option<PathBuf>,
        /// Let medic run fixes that change the machine (e.g. `apt-get update`).
        #[arg(long)]
        allow_fixes: bool,
        /// `json`: print a report of every attempt on stderr at the end.
        #[arg(long, value_parser = ["json"])]
        report: Option<String>,
        /// Send a step that fails for good to this agent URL
        /// (`http://HOST:PORT/webhooks/pipeline`) as an incident; signed with
        /// MEDIC_WEBHOOK_SECRET, or MEDIC_API_KEY as a bearer key.
        #[arg(long, value_name = "URL")]
        report_to: Option<String>,
        /// The delay before the first retry (doubling, jittered, up to 60s).
        #[arg(long, default_value = "1s", value_parser = parse_duration)]
        retry_delay: std::time::Duration,
        /// The step: `-- CMD ARGS…` (argv, never a shell string).
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// Workflows: ordered steps with recovery policies, checkpointed in the store.
    Pipeline {
        #[command(subcommand)]
        command: PipelineCommand,
    },
    /// Diagnose a log or error text offline and print the diagnosis as JSON.
    Diagnose {
        /// A file, or `-` for standard input.
        #[arg(default_value = "-")]
        input: String,
        /// A config: its diagnosis rules, its store's history, and its
        /// `[llm]` (when a provider is set) join the built-in rules.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// The target whose remedies the model may choose from (default: the first).
        #[arg(long, requires = "config")]
        target: Option<String>,
    },
    /// The template of each log line (values masked as `<*>`) and its group,
    /// exactly as fingerprints see them: one JSON row per line in `jsonl`,
    /// a summary (groups, most frequent templates) in `text`.
    Templates {
        /// A file, or `-` for standard input.
        #[arg(default_value = "-")]
        input: String,
        /// `text`: a summary; `jsonl`: `{"line", "template", "group"}` per line.
        #[arg(long, value_enum, default_value = "text")]
        format: templates::Format,
        /// Also template the input N times in-process and print lines/s on
        /// stderr (a throughput measurement; the output is printed once).
        #[arg(long, value_name = "N", default_value_t = 1)]
        repeat: u32,
    },
    /// Measure the rules on a labelled corpus: accuracy per category, a
    /// confusion matrix, the share of cases given the expected remedy.
    /// Exit 1 when category accuracy is below `--min-accuracy`.
    Eval {
        /// The corpus: one JSON case per line.
        #[arg(long, default_value = "eval/corpus.jsonl")]
        corpus: PathBuf,
        /// The config whose first target's remedies are planned.
        #[arg(long, short, default_value = "eval/medic.toml")]
        config: PathBuf,
        /// The lowest category accuracy (percent) that passes.
        #[arg(long, default_value_t = 0.0)]
        min_accuracy: f64,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Consult the config's `[llm]` model on each case and score the
        /// combined diagnosis (adds a "rules + llm" section).
        #[arg(long)]
        llm: bool,
        /// Score only N cases, spread evenly over the corpus.
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Ask a running agent: system health, every target's state, pending approvals.
    Status {
        #[command(flatten)]
        api: client::ApiArgs,
    },
    /// Ask a running agent for its incidents, newest first.
    Incidents {
        /// Only this status: open, diagnosing, awaiting_approval, remediating, verifying,
        /// resolved, escalated, failed.
        #[arg(long)]
        status: Option<String>,
        /// Only this target.
        #[arg(long)]
        target: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Only incidents older than this id (the next page).
        #[arg(long, value_name = "ID")]
        before: Option<i64>,
        #[command(flatten)]
        api: client::ApiArgs,
    },
    /// Ask a running agent for one incident: diagnosis, actions, timeline.
    Incident {
        /// The incident's id.
        id: i64,
        #[command(flatten)]
        api: client::ApiArgs,
    },
    /// Acknowledge an incident: a human is on it (needs a write key).
    Ack {
        /// The incident's id.
        id: i64,
        #[command(flatten)]
        api: client::ApiArgs,
    },
    /// Resolve an incident by hand (needs a write key).
    Resolve {
        /// The incident's id.
        id: i64,
        #[command(flatten)]
        api: client::ApiArgs,
    },
    /// List the actions waiting for a human (with `--all`, every decision too).
    Approvals {
        /// Include approved, rejected and expired ones.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        api: client::ApiArgs,
    },
    /// Approve a pending action: it runs at once (needs an admin key).
    Approve {
        /// The approval's id (`medic approvals` or `medic status` lists them).
        id: i64,
        #[command(flatten)]
        api: client::ApiArgs,
    },
    /// Reject a pending action: the ladder moves on (needs an admin key).
    Reject {
        /// The approval's id.
        id: i64,
        #[command(flatten)]
        api: client::ApiArgs,
    },
    /// Ask a running agent for recovery statistics, overall, by remedy and by target.
    Stats {
        /// Only this target.
        #[arg(long)]
        target: Option<String>,
        #[command(flatten)]
        api: client::ApiArgs,
    },
    /// Maintenance windows of a running agent: list them, open one, end one
    /// early. Covered targets are probed but get no incident and no remedy.
    Maintenance {
        #[command(subcommand)]
        action: maintenance::MaintenanceAction,
    },
    /// The fix catalog (what each remedy achieved per fingerprint) as JSON,
    /// to move between installations.
    Learn {
        #[command(subcommand)]
        command: LearnCommand,
    },
}

#[derive(Debug, Subcommand)]
enum LearnCommand {
    /// Print the catalog of the store in the config's `[storage]` as JSON:
    /// `{"version": 1, "remedies": [...]}`.
    Export {
        /// The configuration file (for its `[storage] url`).
        #[arg(long, short, default_value = "medic.toml", env = "MEDIC_CONFIG")]
        config: PathBuf,
    },
    /// Import a catalog file `medic learn export` wrote: every entry is
    /// checked first (exit 2 naming the first bad one); then entries replace
    /// the store's rows with the same fingerprint and remedy.
    Import {
        /// The JSON file.
        file: PathBuf,
        /// The configuration file (for its `[storage] url`).
        #[arg(long, short, default_value = "medic.toml", env = "MEDIC_CONFIG")]
        config: PathBuf,
        /// Add the file's counts to the store's instead of replacing them.
        #[arg(long)]
        add: bool,
    },
}

#[derive(Debug, Subcommand)]
enum PipelineCommand {
    /// Run a flow file's steps in order; prints the run id first, then one line per step.
    Run {
        /// The flow file (TOML).
        flow: PathBuf,
        /// Override a flow variable: `--set NAME=VALUE` (repeatable).
        #[arg(long = "set", value_name = "NAME=VALUE")]
        sets: Vec<String>,
        /// Where runs are checkpointed.
        #[arg(long, env = "MEDIC_STORAGE_URL", default_value = "sqlite://medic.db")]
        store: String,
    },
    /// Continue a run that was interrupted, after its last finished step.
    Resume {
        /// The run id `medic pipeline run` printed.
        run_id: i64,
        /// Resume even though the flow file changed since the run started.
        #[arg(long)]
        force: bool,
        /// Where runs are checkpointed.
        #[arg(long, env = "MEDIC_STORAGE_URL", default_value = "sqlite://medic.db")]
        store: String,
    },
    /// Print a run (status, next step, state) as JSON.
    Show {
        /// The run id.
        run_id: i64,
        /// Where runs are checkpointed.
        #[arg(long, env = "MEDIC_STORAGE_URL", default_value = "sqlite://medic.db")]
        store: String,
    },
}

/// A usage or configuration error: exit 2, each line to stderr.
#[derive(Debug)]
pub(crate) struct UsageError(pub Vec<String>);

/// A multi-threaded tokio runtime for the commands that need one.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, UsageError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| UsageError(vec![format!("cannot start the runtime: {e}")]))
}

/// Logs to stderr, filtered by `MEDIC_LOG` (e.g. `info`, `medic_agent=debug`);
/// the agent says what it does at `info`, the other commands only speak up on
/// errors. Text carries colour only when stderr is a terminal, so files and
/// journald get plain lines; `json` is one object a line for log shippers.
fn init_logging(command: &Command, flag: Option<&str>) {
    let default = match command {
        Command::Serve { .. } => "info",
        _ => "error",
    };
    // The guard's shell parser traces every token at debug: noise, and the
    // commands it parses are logged where they run.
    let filter = tracing_subscriber::EnvFilter::try_from_env("MEDIC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default))
        .add_directive("brush_parser=warn".parse().expect("a valid directive"));
    let format = match flag {
        Some("json") => LogFormat::Json,
        Some(_) => LogFormat::Text,
        None => configured_log_format(command),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(redacted_log::stderr);
    match format {
        LogFormat::Json => builder.json().with_current_span(true).init(),
        LogFormat::Text => {
            use std::io::IsTerminal as _;
            builder.with_ansi(std::io::stderr().is_terminal()).init();
        }
    }
}

/// `[log] format` of the config `medic serve` will load; text when it cannot
/// be read (serve then reports why, in the format it has).
fn configured_log_format(command: &Command) -> LogFormat {
    let Command::Serve { config } = command else {
        return LogFormat::Text;
    };
    let env = std::env::vars().collect();
    std::fs::read_to_string(config)
        .ok()
        .and_then(|text| medic_engine::config::parse(&text, &env).ok())
        .map_or(LogFormat::Text, |config| config.log.format)
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    text.parse::<medic_engine::config::HumanDuration>()
        .map(|d| d.get())
        .map_err(|e| e.to_string())
}

/// mimalloc, not glibc's malloc: under webhook load glibc's allocator took
/// a fifth of the CPU (docs/benchmarks.md, intake).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc keeps freed memory and commits whole arenas up front; both
/// show as resident memory. An agent with 10 000 targets peaked ~25 % lower
/// with purging at once and arenas committed as used, for ~10 % less
/// webhook intake (docs/benchmarks.md, scale). The values are
/// `mi_option_e` in mimalloc.h (the same in its v2 and v3).
#[cfg(feature = "mimalloc")]
#[allow(unsafe_code)] // the one FFI call: mimalloc has no safe setter
fn tune_allocator() {
    const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: plain setters of mimalloc's option table, called before any
    // other thread starts.
    unsafe {
        libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0);
        libmimalloc_sys::mi_option_set(PURGE_DELAY, 0);
    }
}

fn main() -> ExitCode {
    #[cfg(feature = "mimalloc")]
    tune_allocator();
    let cli = Cli::parse();
    init_logging(&cli.command, cli.log_format.as_deref());
    let result = match cli.command {
        Command::Status { api } => return client::run(client::Request::Status, &api),
        Command::Incidents {
            status,
            target,
            limit,
            before,
            api,
        } => {
            let request = client::Request::Incidents {
                status,
                target,
                limit,
                before,
            };
            return client::run(request, &api);
        }
        Command::Incident { id, api } => return client::run(client::Request::Incident(id), &api),
        Command::Ack { id, api } => return client::run(client::Request::Ack(id), &api),
        Command::Resolve { id, api } => return client::run(client::Request::Resolve(id), &api),
        Command::Approvals { all, api } => {
            return client::run(client::Request::Approvals { all }, &api);
        }
        Command::Approve { id, api } => return client::run(client::Request::Approve(id), &api),
        Command::Reject { id, api } => return client::run(client::Request::Reject(id), &api),
        Command::Stats { target, api } => {
            return client::run(client::Request::Stats { target }, &api);
        }
        Command::Maintenance { action } => return maintenance::run(action),
        Command::Run {
            max_attempts,
            catalog,
            allow_fixes,
            report,
            report_to,
            retry_delay,
            command,
        } => {
            let options = run::RunOptions {
                max_attempts,
                catalog,
                allow_fixes,
                report_json: report.is_some(),
                report_to,
                first_delay: retry_delay,
                command,
            };
            // The step's exit code is medic's.
            return match run::run(options) {
                Ok(code) => ExitCode::from(code),
                Err(UsageError(lines)) => {
                    for line in lines {
                        eprintln!("medic: {line}");
                    }
                    ExitCode::from(2)
                }
            };
        }
        Command::Eval {
            corpus,
            config,
            min_accuracy,
            json,
            llm,
            limit,
        } => {
            return match eval::run(&corpus, &config, min_accuracy, json, llm, limit) {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::from(1),
                Err(UsageError(lines)) => {
                    for line in lines {
                        eprintln!("medic: {line}");
                    }
                    ExitCode::from(2)
                }
            };
        }
        Command::Pipeline { command } => {
            let outcome = match command {
                PipelineCommand::Run { flow, sets, store } => pipeline::run(&flow, &store, &sets),
                PipelineCommand::Resume {
                    run_id,
                    force,
                    store,
                } => pipeline::resume(run_id, &store, force),
                PipelineCommand::Show { run_id, store } => pipeline::show(run_id, &store),
            };
            return match outcome {
                Ok(code) => ExitCode::from(code),
                Err(UsageError(lines)) => {
                    for line in lines {
                        eprintln!("medic: {line}");
                    }
                    ExitCode::from(2)
                }
            };
        }
        Command::Learn { command } => match command {
            LearnCommand::Export { config } => learn::export(&config),
            LearnCommand::Import { file, config, add } => learn::import(&file, &config, add),
        },
        Command::Check { config, offline } => check::run(&config, offline),
        Command::Migrate { config } => migrate::run(&config),
        Command::Init {
            config,
            url,
            supervise,
            force,
        } => {
            let options = init::InitOptions {
                url: url.as_deref(),
                supervise: supervise.as_deref(),
            };
            init::run(&config, &options, force)
        }
        Command::ConfigReference => {
            out::print(&medic_engine::config::reference_markdown());
            Ok(())
        }
        Command::Serve { config } => serve::run(&config),
        Command::Demo => demo::run(),
        Command::Diagnose {
            input,
            config,
            target,
        } => diagnose::run(&input, config.as_deref(), target.as_deref()),
        Command::Chaos {
            listen,
            log_file,
            redis,
        } => chaos::run(&listen, log_file.as_ref(), redis.as_deref()),
        Command::Templates {
            input,
            format,
            repeat,
        } => templates::run(&input, format, repeat),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(UsageError(lines)) => {
            for line in lines {
                eprintln!("medic: {line}");
            }
            ExitCode::from(2)
        }
    }
}
