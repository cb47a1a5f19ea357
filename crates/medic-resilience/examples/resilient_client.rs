//! A client healing its own calls in-process.
//!
//! Starts two tiny TCP services on loopback — `inventory`, which drops the
//! first three connections and then answers, and `pricing`, which is down —
//! and calls both through a `RecoveryEngine`: retry with backoff heals
//! inventory, a circuit breaker stops hammering pricing and a fallback answers
//! for it. Prints what happened and the recovery statistics, and exits 0 only
//! if every call got an answer.
//!
//! Run: `cargo run --release -p medic-resilience --example resilient_client`

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use medic_resilience::backoff::Jitter;
use medic_resilience::breaker::CircuitBreaker;
use medic_resilience::fallback::Fallback;
use medic_resilience::recovery::{ComponentPolicy, RecoveryEngine};
use medic_resilience::retry::Retry;
use medic_resilience::timeout::Timeout;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// A service that hangs up on the first `drop_first` connections, then answers `reply`.
async fn flaky_service(drop_first: u32, reply: &'static str) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let seen = Arc::new(AtomicU32::new(0));
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            if seen.fetch_add(1, Ordering::SeqCst) < drop_first {
                drop(socket); // the client sees the connection end without an answer
                continue;
            }
            tokio::spawn(async move {
                let _ = socket.write_all(format!("{reply}\n").as_bytes()).await;
            });
        }
    });
    Ok(address)
}

/// An address where nothing listens: connections are refused.
async fn dead_service() -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    listener.local_addr()
}

async fn ask(address: SocketAddr) -> std::io::Result<String> {
    let stream = TcpStream::connect(address).await?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).await?;
    if line.is_empty() {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(line.trim().to_string())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let inventory = flaky_service(3, "42 in stock").await?;
    let pricing = dead_service().await?;

    let engine = RecoveryEngine::default();
    engine.register(
        "inventory",
        ComponentPolicy::builder()
            .retry(
                Retry::builder()
                    .max_attempts(5)
                    .initial_delay(Duration::from_millis(20))
                    .jitter(Jitter::Equal)
                    .build()?,
            )
            .timeout(Timeout::try_new(Duration::from_secs(1))?)
            .build(),
    );
    engine.register(
        "pricing",
        ComponentPolicy::builder()
            .breaker(
                CircuitBreaker::builder("pricing")
                    .consecutive_failures(2)
                    .open_duration(Duration::from_secs(30))
                    .build()?,
            )
            .fallback(
                Fallback::<String, std::io::Error>::new()
                    .value("list-price", "EUR 9.99 (list price)".to_string()),
            )
            .build(),
    );

    let mut answered = 0;
    let calls = 4;
    for round in 1..=calls {
        let stock = engine
            .execute_with_recovery("inventory", "stock", || ask(inventory))
            .await;
        let price = engine
            .execute_with_recovery("pricing", "quote", || ask(pricing))
            .await;
        println!(
            "round {round}: inventory = {:<14} pricing = {}",
            stock.as_deref().unwrap_or("FAILED"),
            price.as_deref().unwrap_or("FAILED")
        );
        answered += usize::from(stock.is_ok()) + usize::from(price.is_ok());
    }

    println!("\nbreakers:");
    for (component, breaker) in engine.breakers() {
        let s = breaker.snapshot();
        println!("  {component}: {} after {} failures", s.state, s.failures);
    }
    println!(
        "\nrecovery stats:\n{}",
        serde_json::to_string_pretty(&engine.stats(None))?
    );
    println!(
        "\nsystem health:\n{}",
        serde_json::to_string_pretty(&engine.health().system())?
    );

    if answered == calls * 2 {
        println!("\nevery call answered ({answered}/{})", calls * 2);
        Ok(())
    } else {
        Err(format!("only {answered} of {} calls answered", calls * 2).into())
    }
}
