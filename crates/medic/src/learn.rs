//! `medic learn export|import`: the fix catalog as a JSON file, so what one
//! installation learned can seed another.
//!
//! The file is `{"version": 1, "fingerprint_version": N, "remedies":
//! [RemedyStats…]}` (a bare array of entries is accepted too, its names
//! taken as given). Both commands first bring the store's fingerprints to
//! this medic's scheme, as `medic serve` does at start, so an export names
//! failures the way this medic does; import refuses a file made under
//! another scheme, whose names would never match a failure again. Import
//! validates every entry before writing any and then, in one transaction,
//! **replaces** the rows with the same (fingerprint, remedy) and keeps the
//! others; `--add` adds the file's counts to what the store already has
//! instead (for merging catalogs).

use std::collections::BTreeSet;
use std::path::Path;

use medic_engine::diagnosis::FINGERPRINT_VERSION;
use medic_model::RemedyStats;

use crate::UsageError;

/// The largest count an imported entry may hold (2^53).
const MAX_COUNT: u64 = 1 << 53;

/// The export format's version.
const VERSION: u64 = 1;

#[derive(serde::Serialize)]
struct Export<'a> {
    version: u64,
    fingerprint_version: u32,
    remedies: &'a [RemedyStats],
}

/// An entry as read: signed, so a negative count is named, not a parse error.
#[derive(serde::Deserialize)]
struct RawEntry {
    fingerprint: String,
    remedy: String,
    attempts: i64,
    successes: i64,
    #[serde(default)]
    total_recover_ms: i64,
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum File {
    Versioned {
        version: u64,
        fingerprint_version: Option<u32>,
        remedies: Vec<serde_json::Value>,
    },
    Bare(Vec<serde_json::Value>),
}

async fn store(config: &Path) -> Result<std::sync::Arc<dyn medic_store::Store>, UsageError> {
    let config = crate::check::load(config)?;
    let store = medic_store::connect(&config.storage.url)
        .await
        .map_err(|e| UsageError(vec![format!("storage.url: {e}")]))?;
    if let Err(e) = medic_agent::migrate_fingerprints(&*store).await {
        store.close().await;
        return Err(UsageError(vec![format!("renaming fingerprints: {e}")]));
    }
    Ok(store)
}

/// Prints the store's catalog as JSON on stdout.
pub(crate) fn export(config: &Path) -> Result<(), UsageError> {
    crate::runtime()?.block_on(async {
        let store = store(config).await?;
        let stats = store
            .all_remedy_stats()
            .await
            .map_err(|e| UsageError(vec![format!("reading the catalog: {e}")]));
        store.close().await;
        let stats = stats?;
        let json = serde_json::to_string_pretty(&Export {
            version: VERSION,
            fingerprint_version: FINGERPRINT_VERSION,
            remedies: &stats,
        })
        .map_err(|e| UsageError(vec![format!("writing JSON: {e}")]))?;
        crate::out::println(&json);
        Ok(())
    })
}

/// Reads, validates and imports `file`; prints what it did.
pub(crate) fn import(file: &Path, config: &Path, add: bool) -> Result<(), UsageError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| UsageError(vec![format!("{}: cannot read: {e}", file.display())]))?;
    let entries = parse(&text).map_err(|e| UsageError(vec![format!("{}: {e}", file.display())]))?;
    crate::runtime()?.block_on(async {
        let store = store(config).await?;
        let result = write(&*store, entries, add).await;
        store.close().await;
        let count = result.map_err(|e| UsageError(vec![format!("importing: {e}")]))?;
        let how = if add { "added to" } else { "replacing" };
        println!("imported {count} entries ({how} the matching ones)");
        Ok(())
    })
}

async fn write(
    store: &dyn medic_store::Store,
    mut entries: Vec<RemedyStats>,
    add: bool,
) -> Result<usize, medic_store::StoreError> {
    if add {
        let existing = store.all_remedy_stats().await?;
        for entry in &mut entries {
            if let Some(old) = existing
                .iter()
                .find(|s| s.fingerprint == entry.fingerprint && s.remedy == entry.remedy)
            {
                entry.attempts = entry.attempts.saturating_add(old.attempts);
                entry.successes = entry.successes.saturating_add(old.successes);
                entry.total_recover_ms =
                    entry.total_recover_ms.saturating_add(old.total_recover_ms);
            }
        }
    }
    store.import_remedy_stats(&entries).await?;
    Ok(entries.len())
}

/// The file's entries, or the first problem, naming the entry.
fn parse(text: &str) -> Result<Vec<RemedyStats>, String> {
    let file: File = serde_json::from_str(text).map_err(|e| {
        format!(
            "not a medic learning export (expected {{\"version\": 1, \"remedies\": [...]}}): {e}"
        )
    })?;
    let raw = match file {
        File::Versioned { version, .. } if version != VERSION => {
            return Err(format!(
                "version {version} is not supported (this medic reads {VERSION})"
            ));
        }
        File::Versioned {
            fingerprint_version: None,
            ..
        } => {
            return Err(format!(
                "fingerprint_version is missing: the file predates it, so its names may not match this medic's (version {FINGERPRINT_VERSION}); export it again with this medic"
            ));
        }
        File::Versioned {
            fingerprint_version: Some(named),
            ..
        } if named != FINGERPRINT_VERSION => {
            return Err(format!(
                "fingerprint_version {named} is not this medic's ({FINGERPRINT_VERSION}): its names would never match a failure here; export it again with this medic, which renames stored fingerprints first"
            ));
        }
        File::Versioned { remedies, .. } | File::Bare(remedies) => remedies,
    };
    let mut seen = BTreeSet::new();
    raw.into_iter()
        .enumerate()
        .map(|(i, value)| {
            let entry: RawEntry =
                serde_json::from_value(value).map_err(|e| format!("remedies[{i}]: {e}"))?;
            let name = format!("remedies[{i}] ({} / {})", entry.fingerprint, entry.remedy);
            if entry.fingerprint.is_empty() || entry.remedy.is_empty() {
                return Err(format!("{name}: fingerprint and remedy must not be empty"));
            }
            // Counts past 2^53 are not real histories, and lose precision
            // as the f64s the ranking computes with.
            let count = |what: &str, value: i64| match u64::try_from(value) {
                Err(_) => Err(format!("{name}: {what} is negative ({value})")),
                Ok(n) if n > MAX_COUNT => Err(format!("{name}: {what} is too large ({n})")),
                Ok(n) => Ok(n),
            };
            let attempts = count("attempts", entry.attempts)?;
            let successes = count("successes", entry.successes)?;
            let total_recover_ms = count("total_recover_ms", entry.total_recover_ms)?;
            if successes > attempts {
                return Err(format!(
                    "{name}: {successes} successes of only {attempts} attempts"
                ));
            }
            if !seen.insert((entry.fingerprint.clone(), entry.remedy.clone())) {
                return Err(format!("{name}: listed twice"));
            }
            Ok(RemedyStats {
                fingerprint: entry.fingerprint,
                remedy: entry.remedy,
                attempts,
                successes,
                total_recover_ms,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versioned_and_bare_files_parse() {
        let entry = r#"{"fingerprint":"db:1","remedy":"restart","attempts":3,"successes":2,"total_recover_ms":10}"#;
        let versioned = parse(&format!(
            r#"{{"version":1,"fingerprint_version":{FINGERPRINT_VERSION},"remedies":[{entry}]}}"#
        ))
        .expect("versioned");
        assert_eq!(versioned, parse(&format!("[{entry}]")).expect("bare"));
        assert_eq!(versioned[0].successes, 2);
    }

    #[test]
    fn bad_entries_are_named() {
        let cases = [
            ("{", "not a medic learning export"),
            (
                r#"{"version":2,"remedies":[]}"#,
                "version 2 is not supported",
            ),
            (
                r#"{"version":1,"remedies":[]}"#,
                "fingerprint_version is missing",
            ),
            (
                r#"{"version":1,"fingerprint_version":1,"remedies":[]}"#,
                "fingerprint_version 1 is not this medic's",
            ),
            (
                r#"[{"fingerprint":"db:1","remedy":"r","attempts":-1,"successes":0}]"#,
                "remedies[0] (db:1 / r): attempts is negative (-1)",
            ),
            (
                r#"[{"fingerprint":"a","remedy":"r","attempts":1,"successes":0},{"fingerprint":"db:1","remedy":"r","attempts":1,"successes":2}]"#,
                "remedies[1] (db:1 / r): 2 successes of only 1 attempts",
            ),
            (
                r#"[{"fingerprint":"a","remedy":"r"}]"#,
                "remedies[0]: missing field `attempts`",
            ),
            (
                r#"[{"fingerprint":"a","remedy":"r","attempts":1,"successes":1},{"fingerprint":"a","remedy":"r","attempts":1,"successes":1}]"#,
                "remedies[1] (a / r): listed twice",
            ),
        ];
        for (text, want) in cases {
            let error = parse(text).expect_err(text);
            assert!(error.contains(want), "{text}: {error}");
            assert_eq!(error.lines().count(), 1, "{error}");
        }
    }
}
