//! Renaming stored fingerprints when the way they are made changes.
//!
//! A fingerprint is `category:hash(template of the root cause)`
//! ([`Finding::fingerprint_of`]). When templating improves, the same failure
//! gets a new name, and what the store learned under the old one (remedy
//! statistics, the incidents that similar-incident lending reads) would be
//! orphaned. At start, while the store records an older version than
//! [`FINGERPRINT_VERSION`], every diagnosed incident's fingerprint is
//! recomputed from its stored diagnosis and the store renames old to new.

use std::collections::BTreeMap;

use medic_engine::diagnosis::{FINGERPRINT_VERSION, Finding};
use medic_model::Diagnosis;
use medic_store::{Store, StoreError};

/// Brings the store's fingerprints to [`FINGERPRINT_VERSION`]; returns how
/// many fingerprints were renamed (0 when already current).
pub async fn migrate_fingerprints(store: &dyn Store) -> Result<usize, StoreError> {
    if store.fingerprint_version().await? >= FINGERPRINT_VERSION {
        return Ok(0);
    }
    let renames = renames(&store.diagnosed_fingerprints().await?);
    store
        .rename_fingerprints(&renames, FINGERPRINT_VERSION)
        .await?;
    if !renames.is_empty() {
        tracing::info!(
            renamed = renames.len(),
            version = FINGERPRINT_VERSION,
            "renamed stored fingerprints to the current version"
        );
    }
    Ok(renames.len())
}

/// `(old, new)` for every fingerprint the rules made (`category:` and 16
/// hex digits, the category the diagnosis names) whose name changes.
/// Others (alert or CI fingerprints) are not template hashes and stay.
/// When incidents under one old name now differ, the oldest decides.
fn renames(incidents: &[(String, Diagnosis)]) -> Vec<(String, String)> {
    let mut renames = BTreeMap::new();
    for (old, diagnosis) in incidents {
        if renames.contains_key(old) || !is_rules_fingerprint(old, diagnosis) {
            continue;
        }
        let (new, _) = Finding::fingerprint_of(diagnosis.category, &diagnosis.root_cause);
        if new != *old {
            renames.insert(old.clone(), new);
        }
    }
    renames.into_iter().collect()
}

fn is_rules_fingerprint(fingerprint: &str, diagnosis: &Diagnosis) -> bool {
    fingerprint.split_once(':').is_some_and(|(category, hash)| {
        category == diagnosis.category.as_str()
            && hash.len() == 16
            && hash.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use medic_model::{Category, DiagnosisSource, Grounds, Severity};

    fn diagnosis(category: Category, root_cause: &str) -> Diagnosis {
        Diagnosis {
            category,
            severity: Severity::High,
            root_cause: root_cause.into(),
            evidence: Vec::new(),
            confidence: 0.9,
            sources: vec![DiagnosisSource::Rules],
            rule: None,
            similar_to: None,
            grounds: Grounds::Text,
        }
    }

    #[test]
    fn only_rules_fingerprints_that_change_are_renamed() {
        let root = "mount failed on bglio716";
        let (current, _) = Finding::fingerprint_of(Category::Resource, root);
        let incidents = vec![
            (
                "resource:0123456789abcdef".to_string(),
                diagnosis(Category::Resource, root),
            ),
            (
                "resource:0123456789abcdef".to_string(),
                diagnosis(Category::Resource, "other"),
            ),
            (current.clone(), diagnosis(Category::Resource, root)),
            (
                "alert:a1b2".to_string(),
                diagnosis(Category::Resource, root),
            ),
            (
                "network:0123456789abcdef".to_string(),
                diagnosis(Category::Resource, root),
            ),
        ];
        assert_eq!(
            renames(&incidents),
            vec![("resource:0123456789abcdef".to_string(), current)]
        );
    }
}
