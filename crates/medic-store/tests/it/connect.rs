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
