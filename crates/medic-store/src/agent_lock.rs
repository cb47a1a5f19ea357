//! SQLite is single-node: one agent per database file.
//!
//! Two agents on one file would both probe, open incidents and act for the
//! same targets; SQLite's own locks only serialise their writes. So the agent
//! holds an exclusive `flock` on a file beside the database for as long as it
//! runs, and a second agent stops at start with the first one's pid. The lock
//! goes with the process (even on `kill -9`), so a stale lock file never
//! blocks a restart. Tools such as `medic pipeline` and `medic diagnose`
//! share the database without it. PostgreSQL needs no such lock.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::PathBuf;
use std::str::FromStr;

use sqlx::sqlite::SqliteConnectOptions;

use crate::{Result, StoreError};

/// The held lock; dropping it (or the process ending) releases it.
#[derive(Debug)]
pub struct AgentLock {
    _file: File,
    path: PathBuf,
}

impl AgentLock {
    /// The lock file beside the database.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

/// Takes the single-agent lock for a `sqlite://PATH` storage URL; `None`
/// for PostgreSQL and in-memory databases, which need none.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("medic-lock-doc-{}", std::process::id()));
/// let url = format!("sqlite://{}/medic.db", dir.display());
/// let first = medic_store::lock_single_agent(&url).unwrap().expect("a file store");
/// let second = medic_store::lock_single_agent(&url).unwrap_err();
/// assert!(second.to_string().contains("another medic agent"));
/// drop(first);
/// assert!(medic_store::lock_single_agent(&url).unwrap().is_some());
/// # std::fs::remove_dir_all(dir).unwrap();
/// ```
pub fn lock_single_agent(url: &str) -> Result<Option<AgentLock>> {
    if !url.starts_with("sqlite:") || url.contains(":memory:") || url.contains("mode=memory") {
        return Ok(None);
    }
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|error| StoreError::BadUrl(format!("invalid SQLite URL: {error}")))?;
    let database = options.get_filename().to_path_buf();
    let mut name = database.file_name().unwrap_or_default().to_os_string();
    name.push(".agent-lock");
    let path = database.with_file_name(name);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|error| cannot_lock(&path, &error))?;
    }
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|error| cannot_lock(&path, &error))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = match holder.trim() {
                "" => String::new(),
                pid => format!(" (pid {pid})"),
            };
            return Err(StoreError::InUse(format!(
                "another medic agent{holder} is already using the SQLite database {}: \
                 SQLite is single-node, run one agent per file or use PostgreSQL for replicas",
                database.display()
            )));
        }
        Err(TryLockError::Error(error)) => return Err(cannot_lock(&path, &error)),
    }
    // The holder's pid, for the next agent's error message.
    file.set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| write!(file, "{}", std::process::id()))
        .map_err(|error| cannot_lock(&path, &error))?;
    Ok(Some(AgentLock { _file: file, path }))
}

fn cannot_lock(path: &std::path::Path, error: &std::io::Error) -> StoreError {
    StoreError::InUse(format!(
        "cannot take the single-agent lock {}: {error}",
        path.display()
    ))
}
