//! `medic maintenance list|start|end`: maintenance windows of a running
//! agent, through its API (`/api/v1/maintenance`).

use std::process::ExitCode;

use clap::Subcommand;

use crate::client::{self, ApiArgs, Request};

#[derive(Debug, Subcommand)]
pub(crate) enum MaintenanceAction {
    /// Windows in force, then those to come (the config's and the API's).
    List {
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Open a window now: covered targets are probed but get no incident
    /// and no remedy until it ends (every agent on the store follows it).
    Start {
        /// A target it covers (repeatable).
        #[arg(long = "target", value_name = "NAME")]
        targets: Vec<String>,
        /// A label a covered target carries, `KEY=VALUE` (repeatable; all must match).
        #[arg(long = "label", value_name = "KEY=VALUE", value_parser = parse_label)]
        labels: Vec<(String, String)>,
        /// How long it lasts (at most 7 days).
        #[arg(
            long = "for",
            value_name = "DURATION",
            default_value = "1h",
            conflicts_with = "until"
        )]
        duration: String,
        /// When it ends instead, RFC 3339 (`2026-12-24T03:00:00Z`).
        #[arg(long)]
        until: Option<String>,
        /// Its name, shown on the dashboard and timelines.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// End a window opened through the API now: a covered target still
    /// down gets its incident at once.
    End {
        /// The window's id (`medic maintenance list`).
        id: i64,
        #[command(flatten)]
        api: ApiArgs,
    },
}

fn parse_label(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!("{text:?}: expected KEY=VALUE")),
    }
}

pub(crate) fn run(action: MaintenanceAction) -> ExitCode {
    match action {
        MaintenanceAction::List { api } => client::run(Request::MaintenanceList, &api),
        MaintenanceAction::End { id, api } => client::run(Request::MaintenanceEnd(id), &api),
        MaintenanceAction::Start {
            targets,
            labels,
            duration,
            until,
            name,
            api,
        } => {
            let mut body = serde_json::json!({
                "targets": targets,
                "labels": labels
                    .into_iter()
                    .map(|(key, value)| (key, value.into()))
                    .collect::<serde_json::Map<String, serde_json::Value>>(),
            });
            match until {
                Some(until) => body["ends_at"] = until.into(),
                None => body["duration"] = duration.into(),
            }
            if let Some(name) = name {
                body["name"] = name.into();
            }
            client::run(Request::MaintenanceStart(body), &api)
        }
    }
}
