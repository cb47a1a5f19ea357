//! A small cache of serialised incident pages. The incident list is the
//! dashboard's and every client's most frequent read, and it changes only
//! when the agent writes: an entry is reused while the agent's records
//! version is unchanged, and for at most [`MAX_AGE`] (writes by another
//! agent sharing a PostgreSQL store show up within that time).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Bytes;

/// The longest an entry is served without asking the store again.
pub const MAX_AGE: Duration = Duration::from_secs(1);

/// Distinct queries kept; more is a sign of scanning, and the cache starts over.
const CAPACITY: usize = 256;

struct Entry {
    version: u64,
    at: Instant,
    body: Bytes,
}

/// Pages by query string.
#[derive(Default)]
pub struct PageCache {
    entries: Mutex<HashMap<String, Entry>>,
}

impl PageCache {
    /// The cached page for `query`, if it was made at `version` less than
    /// [`MAX_AGE`] before `now`.
    pub fn get(&self, query: &str, version: u64, now: Instant) -> Option<Bytes> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(query)
            .filter(|e| e.version == version && now.saturating_duration_since(e.at) < MAX_AGE)
            .map(|e| e.body.clone())
    }

    /// Keeps `body` for `query`, made from the store read after `version` was taken.
    pub fn put(&self, query: &str, version: u64, now: Instant, body: Bytes) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CAPACITY && !entries.contains_key(query) {
            entries.clear();
        }
        entries.insert(
            query.to_string(),
            Entry {
                version,
                at: now,
                body,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_by_version_and_age() {
        let cache = PageCache::default();
        let t0 = Instant::now();
        cache.put("limit=5", 7, t0, Bytes::from_static(b"[1]"));
        assert_eq!(
            cache.get("limit=5", 7, t0),
            Some(Bytes::from_static(b"[1]"))
        );
        assert_eq!(cache.get("limit=6", 7, t0), None);
        assert_eq!(cache.get("limit=5", 8, t0), None, "a write happened");
        assert_eq!(cache.get("limit=5", 7, t0 + MAX_AGE), None, "too old");
    }

    #[test]
    fn scanning_does_not_grow_it_without_bound() {
        let cache = PageCache::default();
        let t0 = Instant::now();
        for i in 0..(CAPACITY * 3) {
            cache.put(&format!("cursor={i}"), 1, t0, Bytes::new());
        }
        let len = cache.entries.lock().expect("lock").len();
        assert!(len <= CAPACITY, "{len}");
    }
}
