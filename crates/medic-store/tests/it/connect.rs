//! [`medic_store::connect`]: which URLs open which backend, and clear errors
//! for the others.

use medic_store::{IncidentFilter, NewIncident, StoreError};

fn bad_url(result: Result<std::sync::Arc<dyn medic_store::Store>, StoreError>) -> String {
    match result {
        Err(StoreError::BadUrl(message)) => message,
        Err(other) => panic!("expected BadUrl, got {other:?}"),
        Ok(store) => panic!("expected BadUrl, got a {} store", store.backend()),
    }
}

#[tokio::test]
async fn unknown_schemes_are_named_and_passwords_are_not() {
    let message = bad_url(medic_store::connect("mysql://medic:hunter2@db/medic").await);
    assert!(message.contains("\"mysql\""), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
    let message = bad_url(medic_store::connect("medic.db").await);
    assert!(message.contains("no scheme"), "{message}");
    let message = bad_url(medic_store::connect("HTTP://example.invalid").await);
    assert!(message.contains("http"), "{message}");
}

#[tokio::test]
async fn malformed_backend_urls_are_bad_urls() {
    bad_url(medic_store::connect("postgres://medic@db:not-a-port/medic").await);
    bad_url(medic_store::connect("sqlite://").await);
    bad_url(medic_store::connect("sqlite://x.db?mode=sideways").await);
}

#[tokio::test]
async fn every_sqlite_url_form_opens_a_store() {
    let dir = std::env::temp_dir()
        .join("medic-store-tests")
        .join(format!("forms-{}", uuid::Uuid::new_v4().simple()))
        .join("nested");
    let path = dir.join("medic.db");
    for url in [
        format!("sqlite://{}", path.display()),
        format!("sqlite:{}", path.display()),
    ] {
        let store = medic_store::connect(&url).await.expect("connect");
        assert_eq!(store.backend(), "sqlite");
        let new = NewIncident::new("payments", "http:500", "down", chrono::Utc::now());
        store.open_or_join_incident(&new).await.expect("write");
        store.close().await;
    }
    // Both forms named the same file: one incident, joined the second time.
    let store = medic_store::connect(&format!("sqlite:{}", path.display()))
        .await
        .expect("reopen");
    let incidents = store
        .list_incidents(&IncidentFilter::default())
        .await
        .expect("list");
    assert_eq!(incidents.len(), 1);
    store.close().await;
    let _ = std::fs::remove_dir_all(dir.parent().expect("forms dir"));
}

#[tokio::test]
async fn in_memory_stores_are_private() {
    let a = medic_store::connect("sqlite::memory:").await.expect("a");
    let b = medic_store::connect("sqlite::memory:").await.expect("b");
    let new = NewIncident::new("payments", "http:500", "down", chrono::Utc::now());
    a.open_or_join_incident(&new).await.expect("write");
    assert_eq!(a.open_incidents().await.expect("a").len(), 1);
    assert!(b.open_incidents().await.expect("b").is_empty());
}

/// The one-line explanation of a connection failure, or a panic.
fn database_error(result: Result<std::sync::Arc<dyn medic_store::Store>, StoreError>) -> String {
    match result {
        Err(error @ StoreError::Database(_)) => error.to_string(),
        Err(other) => panic!("expected a database error, got {other:?}"),
        Ok(store) => panic!("expected an error, got a {} store", store.backend()),
    }
}

#[tokio::test]
async fn a_refused_connection_says_so_within_the_connect_timeout() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let started = std::time::Instant::now();
    let message = database_error(
        medic_store::connect(&format!("postgres://medic:hunter2@127.0.0.1:{port}/medic")).await,
    );
    assert!(
        message.starts_with("database error: connection refused"),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
    assert!(started.elapsed() < std::time::Duration::from_secs(6));

    let message = database_error(
        medic_store::connect("postgres://medic@no-such-host.invalid:5432/medic").await,
    );
    assert!(message.contains("DNS"), "{message}");
}

#[tokio::test]
async fn a_wrong_role_or_database_is_named() {
    let Some(backend) = crate::harness::Backend::postgres("wrong_role").await else {
        return;
    };
    let url = backend.url();
    let (_, rest) = url.split_once("://").expect("a URL");
    let host_and_db = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let host = host_and_db.split('/').next().expect("host");
    let message = database_error(
        medic_store::connect(&format!("postgres://no_such_role_medic@{host}/medic")).await,
    );
    assert!(message.contains("authentication failed"), "{message}");
    assert!(message.contains("no_such_role_medic"), "{message}");
}

#[tokio::test]
async fn a_read_only_connection_reads_the_schema_version_and_creates_nothing() {
    for backend in [
        Some(crate::harness::Backend::sqlite("read_only")),
        crate::harness::Backend::postgres("read_only").await,
    ]
    .into_iter()
    .flatten()
    {
        if backend.url().starts_with("sqlite") {
            // An empty file is an empty SQLite database.
            let path = backend.url().trim_start_matches("sqlite://").to_string();
            std::fs::create_dir_all(std::path::Path::new(&path).parent().expect("dir"))
                .expect("dir");
            std::fs::write(&path, b"").expect("empty database");
        }
        match medic_store::connect_read_only(&backend.url()).await {
            Err(StoreError::SchemaBehind { applied, latest }) => {
                assert_eq!(applied, 0);
                assert!(latest > 0);
            }
            Err(other) => panic!("expected SchemaBehind, got {other:?}"),
            Ok(_) => panic!("an empty schema is not current"),
        }
        // Still empty: the migrations ran only now.
        let store = backend.open().await;
        store.close().await;
        let (store, schema) = medic_store::connect_read_only(&backend.url())
            .await
            .expect("current after migrating");
        assert!(schema.is_current());
        assert_eq!(schema.applied, Some(schema.latest));
        // Read-only means read-only: a write is refused by the database.
        let new = NewIncident::new("payments", "http:500", "down", chrono::Utc::now());
        assert!(store.open_or_join_incident(&new).await.is_err());
        store.close().await;
    }
}
