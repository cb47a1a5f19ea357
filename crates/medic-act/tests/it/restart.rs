//! The `restart` action through the executor, on a real HTTP service.

use std::time::Duration;

use medic_act::{Executor, Supervisor};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::supervise::supervised;
use crate::support::{action, closed_port, context, dies_within, target};

async fn accepts_within(address: std::net::SocketAddr, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        if TcpStream::connect(address).await.is_ok() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn restart_replaces_a_running_http_server_and_frees_its_port() {
    let (sender, _signals) = mpsc::channel(16);
    let supervisor = Supervisor::new(sender);
    let executor = Executor::builder()
        .supervisor(supervisor.clone())
        .build()
        .expect("executor");
    let address = closed_port().await;
    let web = supervised(
        "web",
        &format!(
            r#"["python3", "-m", "http.server", "{}", "--bind", "127.0.0.1"]"#,
            address.port()
        ),
        "",
    );
    let restart = action(r#"{ kind = "restart" }"#);

    // Not started yet: the restart action starts it.
    let outcome = executor.run(&web, &restart, &context("web")).await;
    assert!(outcome.success, "{outcome:?}");
    let first = supervisor.pid("web").expect("running");
    assert!(accepts_within(address, Duration::from_secs(10)).await);

    let outcome = executor.run(&web, &restart, &context("web")).await;
    assert!(outcome.success, "{outcome:?}");
    let second = supervisor.pid("web").expect("running");
    assert_ne!(first, second);
    assert_eq!(
        outcome.output,
        Some(format!("restarted web: pid {second} is running"))
    );
    assert!(dies_within(first, Duration::from_secs(1)).await);
    assert!(
        accepts_within(address, Duration::from_secs(10)).await,
        "the new server got the port back"
    );
    supervisor.shutdown().await;
    assert!(dies_within(second, Duration::from_secs(2)).await);
}

#[tokio::test]
async fn a_restart_that_dies_at_once_fails() {
    let (sender, _signals) = mpsc::channel(16);
    let supervisor = Supervisor::new(sender);
    let executor = Executor::builder()
        .supervisor(supervisor.clone())
        .restart_settle(Duration::from_millis(300))
        .build()
        .expect("executor");
    let broken = supervised("broken", r#"["sh", "-c", "exit 2"]"#, "");
    let outcome = executor
        .run(
            &broken,
            &action(r#"{ kind = "restart" }"#),
            &context("broken"),
        )
        .await;
    assert!(!outcome.success);
    let error = outcome.error.expect("error");
    assert!(error.starts_with("restarted broken, but pid"), "{error}");
    assert!(error.ends_with("exited within 300ms"), "{error}");
    supervisor.shutdown().await;
}

#[tokio::test]
async fn restart_without_a_supervisor_or_supervise_section_fails() {
    let restart = action(r#"{ kind = "restart" }"#);
    let outcome = crate::support::executor()
        .run(
            &supervised("svc", r#"["sleep", "60"]"#, ""),
            &restart,
            &context("svc"),
        )
        .await;
    assert_eq!(
        outcome.error.as_deref(),
        Some("restart needs a supervisor, and none is configured")
    );

    let (sender, _signals) = mpsc::channel(16);
    let executor = Executor::new(Supervisor::new(sender));
    let outcome = executor
        .run(&target(r#"name = "plain""#), &restart, &context("plain"))
        .await;
    assert!(
        outcome
            .error
            .as_deref()
            .is_some_and(|e| e.contains("is not supervised")),
        "{outcome:?}"
    );
}
