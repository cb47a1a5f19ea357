//! The `medic` binary: one command per job (see `medic --help`).
//!
//! Exit codes: 0 success, 1 the thing checked or run failed, 2 usage or
//! configuration error. Errors go to stderr, one line each, saying what and where.

mod ansible;
mod chaos;
mod check;
mod demo;
mod diagnose;
mod eval;
mod learn;
mod out;
mod pipeline;
mod redacted_log;
mod report_to;
mod run;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Watches services and pipelines, diagnoses failures, heals them safely.
#[derive(Debug, Parser)]
#[command(name = "medic", version, about)]
struct Cli {
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
    Check {
        /// The configuration file.
        #[arg(long, short, default_value = "medic.toml", env = "MEDIC_CONFIG")]
        config: PathBuf,
    },
    /// Run the chaos service: a small shop that fails on demand.
    Chaos {
        /// Address to listen on (port 0 picks a free one; the address is printed).
        #[arg(long, default_value = "127.0.0.1:8000")]
        listen: String,
        /// Append the service's log lines to this file.
        #[arg(long)]
        log_file: Option<PathBuf>,
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
/// the agent says what it does at `info`, the other commands only speak up on errors.
fn init_logging(command: &Command) {
    let default = match command {
        Command::Serve { .. } => "info",
        _ => "error",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("MEDIC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(redacted_log::stderr)
        .init();
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    text.parse::<medic_engine::config::HumanDuration>()
        .map(|d| d.get())
        .map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.command);
    let result = match cli.command {
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
        Command::Check { config } => check::run(&config),
        Command::Serve { config } => serve::run(&config),
        Command::Demo => demo::run(),
        Command::Diagnose {
            input,
            config,
            target,
        } => diagnose::run(&input, config.as_deref(), target.as_deref()),
        Command::Chaos { listen, log_file } => chaos::run(&listen, log_file.as_ref()),
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
