//! Where the conformance suite runs: a fresh SQLite file, or a fresh
//! PostgreSQL schema, per test; removed when the test ends, pass or fail.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use medic_store::{PgStore, SqliteStore, Store};
use sqlx::{AssertSqlSafe, Connection as _, Executor as _, PgConnection};

/// Used when `MEDIC_TEST_POSTGRES_URL` is not set.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// One test's private database.
pub struct Backend {
    kind: Kind,
}

enum Kind {
    Sqlite {
        path: PathBuf,
    },
    Postgres {
        base_url: String,
        schema: String,
    },
    /// A database of its own, reached through PgBouncer in transaction
    /// pooling mode (PgBouncer passes no `search_path` option).
    Pooled {
        base_url: String,
        database: String,
        port: u16,
    },
}

fn unique_name(test: &str) -> String {
    format!("{test}_{}", uuid::Uuid::new_v4().simple())
}

impl Backend {
    /// A SQLite file in the temp directory, unique to this test run.
    pub fn sqlite(test: &str) -> Self {
        let path = std::env::temp_dir()
            .join("medic-store-tests")
            .join(format!("{}.db", unique_name(test)));
        Self {
            kind: Kind::Sqlite { path },
        }
    }

    /// A fresh schema in the test PostgreSQL database, or `None` (after saying
    /// so on stderr) when it is unreachable and `CI` is not `true`.
    pub async fn postgres(test: &str) -> Option<Self> {
        let base_url = std::env::var("MEDIC_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string());
        let mut admin = match admin_connection(&base_url).await {
            Ok(connection) => connection,
            Err(why) => {
                let message = format!(
                    "PostgreSQL unreachable at {}: {why} \
                     (set MEDIC_TEST_POSTGRES_URL to point the suite at a server)",
                    without_password(&base_url)
                );
                if std::env::var("CI").is_ok_and(|value| value == "true") {
                    panic!("{message}; CI=true requires the PostgreSQL half of the suite");
                }
                // Written to the real stderr, past the test harness's capture,
                // so a skip is never silent.
                let _ = writeln!(std::io::stderr(), "skipped: {test} on postgres: {message}");
                return None;
            }
        };
        let schema = format!("medic_test_{}", uuid::Uuid::new_v4().simple());
        admin
            .execute(AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .await
            .expect("create the test schema");
        let _ = admin.close().await;
        Some(Self {
            kind: Kind::Postgres { base_url, schema },
        })
    }

    /// A fresh database on the test server, reached through a PgBouncer in
    /// transaction pooling mode that this test binary starts; `None` as for
    /// [`Backend::postgres`] when the server or `pgbouncer` is missing.
    pub async fn pgbouncer(test: &str) -> Option<Self> {
        let base_url = std::env::var("MEDIC_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string());
        let reachable = admin_connection(&base_url).await;
        let port = match reachable.and_then(|admin| Ok((admin, crate::pooler::port()?))) {
            Ok((mut admin, port)) => {
                let database = format!("medic_test_{}", uuid::Uuid::new_v4().simple());
                admin
                    .execute(AssertSqlSafe(format!("CREATE DATABASE {database}")))
                    .await
                    .expect("create the test database");
                let _ = admin.close().await;
                return Some(Self {
                    kind: Kind::Pooled {
                        base_url,
                        database,
                        port,
                    },
                });
            }
            Err(why) => why,
        };
        let message = format!("PgBouncer half of the suite cannot run: {port}");
        if std::env::var("CI").is_ok_and(|value| value == "true") {
            panic!("{message}; CI=true requires it");
        }
        let _ = writeln!(
            std::io::stderr(),
            "skipped: {test} through pgbouncer: {message}"
        );
        None
    }

    /// The URL a store for this test connects to.
    pub fn url(&self) -> String {
        match &self.kind {
            Kind::Sqlite { path } => format!("sqlite://{}", path.display()),
            Kind::Postgres { base_url, schema } => {
                let separator = if base_url.contains('?') { '&' } else { '?' };
                format!("{base_url}{separator}options=-c%20search_path%3D{schema}")
            }
            Kind::Pooled { database, port, .. } => {
                format!("postgres://postgres@127.0.0.1:{port}/{database}?pool_mode=transaction")
            }
        }
    }

    /// A new store on this test's database (as after a restart, if one was
    /// opened before).
    pub async fn open(&self) -> Arc<dyn Store> {
        medic_store::connect(&self.url())
            .await
            .unwrap_or_else(|error| panic!("connect to {}: {error:?}", self.url()))
    }

    /// Runs SQL behind the store's back (to plant corrupt values).
    pub async fn execute_raw(&self, sql: String) {
        match &self.kind {
            Kind::Sqlite { .. } => {
                let store = SqliteStore::connect(&self.url()).await.expect("connect");
                sqlx::raw_sql(AssertSqlSafe(sql))
                    .execute(store.pool())
                    .await
                    .expect("raw sql");
                store.close().await;
            }
            Kind::Postgres { .. } | Kind::Pooled { .. } => {
                let store = PgStore::connect(&self.url()).await.expect("connect");
                sqlx::raw_sql(AssertSqlSafe(sql))
                    .execute(store.pool())
                    .await
                    .expect("raw sql");
                store.close().await;
            }
        }
    }
}

/// The URL with its password, if any, replaced by `***`.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((user_info, host)) if user_info.contains(':') => {
            let user = user_info.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}{}", &rest[authority_end..])
        }
        _ => url.to_string(),
    }
}

async fn admin_connection(url: &str) -> Result<PgConnection, String> {
    match tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(url)).await {
        Ok(Ok(connection)) => Ok(connection),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err("no answer within 5 s".to_string()),
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        match &self.kind {
            Kind::Sqlite { path } => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Kind::Postgres { base_url, schema } => {
                admin_after_test(base_url, format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
            Kind::Pooled {
                base_url, database, ..
            } => {
                // FORCE ends the pooler's server connections to it.
                admin_after_test(
                    base_url,
                    format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"),
                );
            }
        }
    }
}

/// Runs `sql` on the test server, ignoring failure. Drop may run inside
/// the test's runtime (or while it unwinds): this runs from a thread with a
/// runtime of its own.
fn admin_after_test(base_url: &str, sql: String) {
    let base_url = base_url.to_owned();
    let cleanup = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("cleanup runtime");
        runtime.block_on(async {
            if let Ok(mut admin) = admin_connection(&base_url).await {
                let _ = admin.execute(AssertSqlSafe(sql)).await;
                let _ = admin.close().await;
            }
        });
    });
    let _ = cleanup.join();
}

#[test]
fn skip_messages_hide_passwords() {
    assert_eq!(
        without_password("postgres://medic:hunter2@db:5432/test?sslmode=disable"),
        "postgres://medic:***@db:5432/test?sslmode=disable"
    );
    assert_eq!(
        without_password("postgres://postgres@127.0.0.1/test"),
        "postgres://postgres@127.0.0.1/test"
    );
}
