//! The tcp probe: can a connection be opened within the timeout?

use std::time::Duration;

use medic_engine::config::TcpProbe;
use medic_model::{Signal, SignalSource};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::excerpt::{duration_text, millis};
use crate::io_error::describe_io_error;

/// A built tcp probe.
#[derive(Debug, Clone)]
pub struct TcpCheck {
    name: String,
    address: String,
    timeout: Duration,
}

impl TcpCheck {
    /// Builds the probe; `name` becomes the signal's probe name.
    pub fn new(probe: &TcpProbe, name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            address: probe.address.clone(),
            timeout: probe.timeout.get(),
        }
    }

    /// Connects once (name resolution included) and closes the connection.
    pub async fn check(&self, target: &str) -> Signal {
        let source = SignalSource::Probe {
            probe: self.name.clone(),
        };
        let started = Instant::now();
        let connected = tokio::time::timeout(self.timeout, TcpStream::connect(&self.address)).await;
        let latency = millis(started.elapsed());
        match connected {
            Ok(Ok(_stream)) => Signal::healthy(target, source).with_latency_ms(latency),
            Ok(Err(error)) => Signal::unhealthy(target, source, &describe_io_error(&error))
                .with_latency_ms(latency)
                .with_evidence(vec![format!("connect {}: {error}", self.address)]),
            Err(_elapsed) => Signal::unhealthy(
                target,
                source,
                &format!("timed out after {}", duration_text(self.timeout)),
            )
            .with_latency_ms(latency)
            .with_evidence(vec![format!("connect {}", self.address)]),
        }
    }
}
