//! `medic serve`: run the agent until interrupted.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use medic_agent::{Agent, AgentOptions};

use crate::UsageError;

pub(crate) fn run(path: &Path) -> Result<(), UsageError> {
    let config = crate::check::load(path)?;
    for warning in medic_client::preflight(&config).warnings {
        eprintln!("medic: WARNING {warning}");
    }
    let runtime = crate::runtime()?;
    runtime.block_on(async move {
        // Held until serve returns: a second agent on the same SQLite file stops here.
        let _single_agent = medic_store::lock_single_agent(&config.storage.url)
            .map_err(|e| UsageError(vec![format!("storage.url: {e}")]))?;
        let store = medic_store::connect(&config.storage.url)
            .await
            .map_err(|e| UsageError(vec![format!("storage.url: {e}")]))?;
        let agent = Agent::start(config.clone(), Arc::clone(&store), AgentOptions::default())
            .await
            .map_err(|e| UsageError(vec![e.to_string()]))?;
        let env: BTreeMap<String, String> = std::env::vars().collect();
        let bound = match medic_api::serve(agent.clone(), &config, &env).await {
            Ok(bound) => bound,
            Err(e) => {
                agent.shutdown().await;
                return Err(UsageError(vec![e.to_string()]));
            }
        };
        // Listen for the stop signals before saying we serve: a SIGTERM sent
        // the moment the line appears must stop supervised processes too,
        // not kill medic with the default disposition and orphan them.
        let stop = StopSignals::listen();
        println!("medic serving on http://{bound}");
        stop.wait().await;
        agent.shutdown().await;
        store.close().await;
        Ok(())
    })
}

/// Ctrl-C or SIGTERM: either way, supervised processes are stopped on the
/// way out. Registered at once, so a signal that comes before `wait` counts.
struct StopSignals {
    terminate: Option<tokio::signal::unix::Signal>,
    interrupt: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    fn listen() -> Self {
        use tokio::signal::unix::{SignalKind, signal};
        Self {
            terminate: signal(SignalKind::terminate()).ok(),
            interrupt: signal(SignalKind::interrupt()).ok(),
        }
    }

    async fn wait(mut self) {
        async fn next(signal: Option<&mut tokio::signal::unix::Signal>) {
            match signal {
                Some(signal) => {
                    signal.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        }
        tokio::select! {
            () = next(self.terminate.as_mut()) => {}
            () = next(self.interrupt.as_mut()) => {}
        }
    }
}
