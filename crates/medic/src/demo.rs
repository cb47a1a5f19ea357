//! `medic demo`: the healing loop end to end, on loopback, in under a minute.
//!
//! Starts the chaos shop as a process supervised by the agent, with embedded
//! SQLite in a temporary directory, then breaks the shop three ways — a
//! database outage (healed by an HTTP remedy), a hang (the first remedy does
//! not help, the second, a restart, does) and a crash (the supervisor restarts
//! it) — prints the timeline live and a summary, and exits 0 only if
//! everything healed.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use medic_agent::{Agent, AgentOptions};
use medic_engine::health::TargetState;
use medic_model::{ActionState, IncidentStatus};
use medic_store::{IncidentFilter, Store};

use crate::UsageError;

const TARGET: &str = "shop";

struct Paint {
    on: bool,
}

impl Paint {
    fn with(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// One row of the summary.
struct Healed {
    scenario: &'static str,
    incident: String,
    category: String,
    remedy: String,
    recover_ms: Option<u128>,
    healed: bool,
}

fn fail(message: impl Into<String>) -> UsageError {
    UsageError(vec![message.into()])
}

fn free_port() -> Result<u16, UsageError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| fail(format!("no free port: {e}")))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| fail(format!("no free port: {e}")))
}

fn config_text(exe: &str, port: u16, dir: &std::path::Path) -> String {
    let log = dir.join("shop.log");
    let db = dir.join("medic.db");
    format!(
        r#"
[storage]
url = "sqlite://{db}"

[policy]
mode = "auto"
min_confidence = 0.5
cooldown = "0s"
max_actions_per_hour = 100
max_actions_per_hour_per_target = 100

[[targets]]
name = "{TARGET}"
supervise = {{ command = ["{exe}", "chaos", "--listen", "127.0.0.1:{port}", "--log-file", "{log}"] }}
probes = [{{ kind = "http", url = "http://127.0.0.1:{port}/health", interval = "500ms", timeout = "300ms" }}]
logs = [{{ path = "{log}", tail_lines = 20 }}]
health = {{ failure_threshold = 2, success_threshold = 2, confirm_interval = "100ms", verify_window = "2s" }}

[[targets.remedies]]
name = "reconnect-db"
when = {{ category = ["database"] }}
action = {{ kind = "http", method = "POST", url = "http://127.0.0.1:{port}/chaos/resolve" }}

[[targets.remedies]]
name = "wait-it-out"
when = {{ category = ["timeout"] }}
action = {{ kind = "wait", duration = "300ms" }}

[[targets.remedies]]
name = "restart"
action = {{ kind = "restart" }}
"#,
        db = db.display(),
        log = log.display(),
    )
}

pub(crate) fn run() -> Result<(), UsageError> {
    let paint = Paint {
        on: std::io::stdout().is_terminal(),
    };
    let dir = std::env::temp_dir().join(format!("medic-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| fail(format!("{}: {e}", dir.display())))?;
    let exe =
        std::env::current_exe().map_err(|e| fail(format!("cannot find my own binary: {e}")))?;
    let port = free_port()?;
    let text = config_text(&exe.display().to_string(), port, &dir);
    let config = medic_engine::config::parse(&text, &BTreeMap::new())
        .map_err(|e| fail(format!("the demo's own config is invalid: {e}")))?;
    let storage = config.storage.url.clone();
    let base = format!("http://127.0.0.1:{port}");

    let runtime = crate::runtime()?;
    let rows = runtime.block_on(async {
        let store = medic_store::connect(&storage)
            .await
            .map_err(|e| fail(e.to_string()))?;
        let agent = Agent::start(config, Arc::clone(&store), AgentOptions::default())
            .await
            .map_err(|e| fail(e.to_string()))?;
        println!(
            "{}",
            paint.with(
                "1",
                &format!("medic demo — the chaos shop runs at {base}, supervised by medic")
            )
        );
        let started = Instant::now();
        if !wait_until(&agent, TargetState::Healthy, Duration::from_secs(15)).await {
            agent.shutdown().await;
            return Err(fail("the shop never became healthy"));
        }
        println!(
            "  shop healthy after {} ms\n",
            started.elapsed().as_millis()
        );
        let client = medic_client::builder(&Default::default())
            .map_err(|e| e.to_string())
            .and_then(|b| b.build().map_err(|e| e.to_string()))
            .map_err(|e| UsageError(vec![format!("cannot build an HTTP client: {e}")]))?;
        let mut rows = Vec::new();
        for (scenario, mode) in [
            ("database outage", "error"),
            ("hang", "hang"),
            ("crash", "crash"),
        ] {
            println!(
                "{}",
                paint.with("33", &format!("▶ injecting: {scenario} (mode={mode})"))
            );
            let row = inject(
                &client,
                &base,
                mode,
                scenario,
                &agent,
                store.as_ref(),
                &paint,
            )
            .await;
            rows.push(row);
            // Let the shop settle before the next failure.
            wait_until(&agent, TargetState::Healthy, Duration::from_secs(10)).await;
            println!();
        }
        agent.shutdown().await;
        store.close().await;
        Ok::<_, UsageError>(rows)
    })?;

    println!("{}", paint.with("1", "summary"));
    println!(
        "  {:<16} {:<9} {:<10} {:<18} {:>16}",
        "scenario", "incident", "category", "remedy", "time to recover"
    );
    for row in &rows {
        let ttr = row
            .recover_ms
            .map_or("—".to_string(), |ms| format!("{ms} ms"));
        let line = format!(
            "  {:<16} {:<9} {:<10} {:<18} {:>16}",
            row.scenario, row.incident, row.category, row.remedy, ttr
        );
        println!(
            "{}",
            paint.with(if row.healed { "32" } else { "31" }, &line)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    if rows.iter().all(|r| r.healed) {
        println!("\neverything healed");
        Ok(())
    } else {
        Err(fail("not everything healed (see the summary)"))
    }
}

async fn wait_until(agent: &Agent, state: TargetState, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if agent.target_states().get(TARGET) == Some(&state) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// Injects one failure and follows the incident it causes until it ends.
async fn inject(
    client: &reqwest::Client,
    base: &str,
    mode: &str,
    scenario: &'static str,
    agent: &Agent,
    store: &dyn Store,
    paint: &Paint,
) -> Healed {
    let before = newest_incident(store).await;
    let injected = Instant::now();
    if let Err(e) = client
        .post(format!("{base}/chaos/trigger?mode={mode}"))
        .send()
        .await
    {
        // A crash may close the connection before it answers.
        if mode != "crash" {
            println!("  could not inject: {e}");
        }
    }
    let mut printed = 0;
    let deadline = injected + Duration::from_secs(25);
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let latest = newest_incident(store).await;
        let Some(id) = latest.filter(|id| Some(*id) != before) else {
            // No incident (yet): a crash the supervisor heals within the
            // failure threshold never needs one.
            if mode == "crash"
                && injected.elapsed() > Duration::from_secs(3)
                && agent.target_states().get(TARGET) == Some(&TargetState::Healthy)
            {
                println!("  restarted by the supervisor before an incident was needed");
                return Healed {
                    scenario,
                    incident: "—".into(),
                    category: "—".into(),
                    remedy: "supervisor".into(),
                    recover_ms: None,
                    healed: true,
                };
            }
            continue;
        };
        if let Ok(timeline) = store.timeline(id).await {
            for entry in timeline.iter().skip(printed) {
                let at = injected.elapsed().as_millis();
                println!(
                    "  {:>6} ms  #{id} {:<12} {}",
                    at,
                    paint.with("36", entry.kind.as_str()),
                    entry.message
                );
            }
            printed = printed.max(timeline.len());
        }
        let Ok(incident) = store.incident(id).await else {
            continue;
        };
        if incident.status.is_terminal() {
            let remedy = store
                .actions(id)
                .await
                .ok()
                .and_then(|actions| {
                    actions
                        .into_iter()
                        .rev()
                        .find(|a| a.state == ActionState::Succeeded)
                })
                .map_or("—".to_string(), |a| a.remedy);
            return Healed {
                scenario,
                incident: format!("#{id}"),
                category: incident.category.map_or("—".into(), |c| c.to_string()),
                remedy,
                recover_ms: incident.time_to_recover_ms.map(|ms| ms as u128),
                healed: incident.status == IncidentStatus::Resolved,
            };
        }
    }
    Healed {
        scenario,
        incident: "?".into(),
        category: "?".into(),
        remedy: "?".into(),
        recover_ms: None,
        healed: false,
    }
}

async fn newest_incident(store: &dyn Store) -> Option<i64> {
    store
        .list_incidents(&IncidentFilter::default().with_limit(1))
        .await
        .ok()
        .and_then(|incidents| incidents.first().map(|i| i.id))
}
