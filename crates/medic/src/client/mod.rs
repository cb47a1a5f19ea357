//! The operator commands (`medic status`, `incidents`, `incident`, `ack`,
//! `resolve`, `approvals`, `approve`, `reject`, `stats`, `maintenance`): thin clients of the
//! HTTP API of a running `medic serve`. Nothing here reads the store or the
//! config; what the API answers is what the operator sees.
//!
//! Exit codes, for scripts: 0 the API did it, 1 the API answered with an
//! error (not found, conflict, bad key…; its code and message go to stderr),
//! 2 usage error, 3 the agent could not be reached.

mod api;
mod render;

use std::process::ExitCode;

pub(crate) use api::{Api, ClientError};

/// What every operator command takes.
#[derive(Debug, clap::Args)]
pub(crate) struct ApiArgs {
    /// The agent's base URL. The API key, if the agent has keys, comes from
    /// MEDIC_API_KEY (never a flag, so it stays out of `ps`).
    #[arg(long, env = "MEDIC_URL", default_value = "http://127.0.0.1:7400")]
    pub url: String,
    /// Print the API's JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// One operator command.
#[derive(Debug)]
pub(crate) enum Request {
    /// System health, every target's state, pending approvals.
    Status,
    /// Incidents, newest first.
    Incidents {
        status: Option<String>,
        target: Option<String>,
        limit: u32,
        before: Option<i64>,
    },
    /// One incident with its diagnosis, actions and timeline.
    Incident(i64),
    /// Acknowledge an incident.
    Ack(i64),
    /// Resolve an incident by hand.
    Resolve(i64),
    /// Approvals: pending ones, or all.
    Approvals { all: bool },
    /// Approve a pending action.
    Approve(i64),
    /// Reject a pending action.
    Reject(i64),
    /// Recovery statistics.
    Stats { target: Option<String> },
    /// Maintenance windows in force and to come.
    MaintenanceList,
    /// Open a maintenance window (the API's request body).
    MaintenanceStart(serde_json::Value),
    /// End a window opened through the API.
    MaintenanceEnd(i64),
}

/// Runs one operator command; the exit code follows the module's table.
pub(crate) fn run(request: Request, args: &ApiArgs) -> ExitCode {
    let key = std::env::var("MEDIC_API_KEY")
        .ok()
        .filter(|k| !k.is_empty());
    let outcome = Api::new(&args.url, key).and_then(|api| execute(&api, &request, args.json));
    match outcome {
        Ok(text) => {
            crate::out::print(&text);
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("medic: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

fn execute(api: &Api, request: &Request, json: bool) -> Result<String, ClientError> {
    let pretty = |value: &serde_json::Value| {
        serde_json::to_string_pretty(value).map_or_else(|_| value.to_string(), |t| t + "\n")
    };
    match request {
        Request::Status => {
            let health = api.get("/api/v1/health")?;
            let components = api.get("/api/v1/components")?;
            let approvals = api.get("/api/v1/approvals")?;
            let monitoring = api.get("/api/v1/monitoring/status")?;
            if json {
                return Ok(pretty(&serde_json::json!({
                    "health": health,
                    "components": components["components"],
                    "pending_approvals": approvals["approvals"],
                    "monitoring": monitoring,
                })));
            }
            Ok(render::status(
                &health,
                &components,
                &approvals,
                &monitoring,
            ))
        }
        Request::Incidents {
            status,
            target,
            limit,
            before,
        } => {
            let mut query = vec![format!("limit={limit}")];
            if let Some(before) = before {
                query.push(format!("cursor={before}"));
            }
            if let Some(status) = status {
                query.push(format!("status={}", encode(status)));
            }
            if let Some(target) = target {
                query.push(format!("target={}", encode(target)));
            }
            let page = api.get(&format!("/api/v1/incidents?{}", query.join("&")))?;
            if json {
                return Ok(pretty(&page));
            }
            Ok(render::incidents(&page))
        }
        Request::Incident(id) => {
            let incident = api.get(&format!("/api/v1/incidents/{id}"))?;
            if json {
                return Ok(pretty(&incident));
            }
            Ok(render::incident(&incident))
        }
        Request::Ack(id) => {
            let incident = api.post(&format!("/api/v1/incidents/{id}/ack"))?;
            if json {
                return Ok(pretty(&incident));
            }
            Ok(render::changed_incident("acknowledged", &incident))
        }
        Request::Resolve(id) => {
            let incident = api.post(&format!("/api/v1/incidents/{id}/resolve"))?;
            if json {
                return Ok(pretty(&incident));
            }
            Ok(render::changed_incident("resolved", &incident))
        }
        Request::Approvals { all } => {
            let path = if *all {
                "/api/v1/approvals?status=all"
            } else {
                "/api/v1/approvals"
            };
            let approvals = api.get(path)?;
            if json {
                return Ok(pretty(&approvals));
            }
            Ok(render::approvals(&approvals))
        }
        Request::Approve(id) | Request::Reject(id) => {
            let verb = if matches!(request, Request::Approve(_)) {
                "approve"
            } else {
                "reject"
            };
            let decided = api.post(&format!("/api/v1/approvals/{id}/{verb}"))?;
            if json {
                return Ok(pretty(&decided));
            }
            Ok(render::decided(&decided))
        }
        Request::Stats { target } => {
            let path = match target {
                Some(target) => format!("/api/v1/recovery/stats?component={}", encode(target)),
                None => "/api/v1/recovery/stats".into(),
            };
            let stats = api.get(&path)?;
            if json {
                return Ok(pretty(&stats));
            }
            Ok(render::stats(&stats))
        }
        Request::MaintenanceList => {
            let windows = api.get("/api/v1/maintenance")?;
            if json {
                return Ok(pretty(&windows));
            }
            Ok(render::maintenance(&windows))
        }
        Request::MaintenanceStart(body) => {
            let window = api.post_json("/api/v1/maintenance", body)?;
            if json {
                return Ok(pretty(&window));
            }
            Ok(render::window_changed("opened", &window))
        }
        Request::MaintenanceEnd(id) => {
            let window = api.delete(&format!("/api/v1/maintenance/{id}"))?;
            if json {
                return Ok(pretty(&window));
            }
            Ok(render::window_changed("ended", &window))
        }
    }
}

/// Percent-encodes a query value (everything but unreserved characters).
fn encode(value: &str) -> String {
    let mut out = String::new();
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(super::encode("shop"), "shop");
        assert_eq!(super::encode("a b&c=d"), "a%20b%26c%3Dd");
    }
}
