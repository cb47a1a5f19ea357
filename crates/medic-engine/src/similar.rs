//! Similar incidents: for a failure with no history of its own, the past
//! incidents whose root cause reads most alike, so their remedies can serve
//! as a prior.
//!
//! Similarity is Jaccard over the tokens of each root cause's *template*
//! ([`crate::logs::template_of`]): the line with its variable parts
//! (numbers, hex, ids, addresses) masked, so `connect to 10.0.0.7:5432
//! failed` and `connect to 10.0.0.9:6432 failed` are the same failure.

use std::collections::BTreeSet;

use medic_model::Category;

/// Below this, two root causes are not called similar.
pub const MIN_SIMILARITY: f64 = 0.5;

/// A past incident, as similarity search needs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate<'a> {
    /// The incident's id.
    pub id: i64,
    /// Its fingerprint.
    pub fingerprint: &'a str,
    /// Its diagnosed category.
    pub category: Category,
    /// Its root-cause line.
    pub root_cause: &'a str,
}

/// A candidate found similar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Match<'a> {
    /// The candidate.
    pub candidate: Candidate<'a>,
    /// Jaccard similarity of the templates, in `[MIN_SIMILARITY, 1]`.
    pub similarity: f64,
}

/// The constant words of `line`'s template ([`crate::logs::template_of`]
/// masks values, paths, quoted text, ids): lowercase, split on anything but
/// letters, digits, `_` and `-`; a word still holding a digit (a version, a
/// hex id the template kept) is variable and dropped too.
///
/// ```
/// use medic_engine::similar::template_tokens;
/// let a = template_tokens("ERROR db: connect to 10.0.0.7:5432 failed (attempt 3)");
/// let b = template_tokens("error DB: connect to 10.0.0.9:6432 failed (attempt 12)");
/// assert_eq!(a, b);
/// assert!(a.contains("connect") && !a.iter().any(|t| t.contains('0')));
/// ```
pub fn template_tokens(line: &str) -> BTreeSet<String> {
    crate::logs::template_of(line)
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
        .map(|word| word.trim_matches('-'))
        .filter(|word| !word.is_empty() && !word.chars().any(|c| c.is_ascii_digit()))
        .map(str::to_lowercase)
        .collect()
}

/// `|a ∩ b| / |a ∪ b|`; 0 when both are empty.
pub fn jaccard(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
    let union = a.union(b).count();
    if union == 0 {
        return 0.0;
    }
    a.intersection(b).count() as f64 / union as f64
}

/// The candidates of the same category as the new failure (any category
/// with `None`), other fingerprints only, at least [`MIN_SIMILARITY`] alike; most similar
/// first, at most one per fingerprint (its first in `candidates`, which the
/// caller passes newest first), at most `limit`.
pub fn most_similar<'a>(
    category: Option<Category>,
    fingerprint: &str,
    root_cause: &str,
    candidates: &[Candidate<'a>],
    limit: usize,
) -> Vec<Match<'a>> {
    let tokens = template_tokens(root_cause);
    let mut seen = BTreeSet::new();
    let mut found: Vec<Match<'a>> = candidates
        .iter()
        .filter(|c| category.is_none_or(|k| c.category == k) && c.fingerprint != fingerprint)
        .filter(|c| seen.insert(c.fingerprint))
        .map(|c| Match {
            candidate: *c,
            similarity: jaccard(&tokens, &template_tokens(c.root_cause)),
        })
        .filter(|m| m.similarity >= MIN_SIMILARITY)
        .collect();
    // Stable: among equals the newer incident stays first.
    found.sort_by(|a, b| b.similarity.total_cmp(&a.similarity));
    found.truncate(limit);
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate<'a>(id: i64, fingerprint: &'a str, root_cause: &'a str) -> Candidate<'a> {
        Candidate {
            id,
            fingerprint,
            category: Category::Database,
            root_cause,
        }
    }

    #[test]
    fn the_closest_template_of_the_same_category_wins() {
        let candidates = [
            candidate(
                9,
                "database:c",
                "ERROR pool: timed out waiting for a connection after 30s",
            ),
            candidate(
                8,
                "database:b",
                "ERROR db: connect to 10.1.2.3:5432 failed: connection refused",
            ),
            candidate(
                7,
                "database:b",
                "ERROR db: connect to 10.1.2.4:5432 failed: connection refused",
            ),
            Candidate {
                category: Category::Network,
                ..candidate(
                    6,
                    "network:x",
                    "ERROR db: connect to 10.1.2.3:5432 failed: connection refused",
                )
            },
        ];
        let found = most_similar(
            Some(Category::Database),
            "database:new",
            "ERROR db: connect to db-7.internal:6432 failed: connection refused by peer",
            &candidates,
            3,
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].candidate.id, 8, "one per fingerprint, the newest");
        assert!(found[0].similarity > 0.6 && found[0].similarity < 1.0);
    }

    #[test]
    fn its_own_fingerprint_and_unrelated_lines_are_not_similar() {
        let candidates = [
            candidate(2, "database:same", "ERROR db: connection refused"),
            candidate(1, "database:other", "disk quota exceeded on /var"),
        ];
        let found = most_similar(
            Some(Category::Database),
            "database:same",
            "ERROR db: connection refused",
            &candidates,
            3,
        );
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn jaccard_bounds() {
        let a = template_tokens("a b c");
        assert_eq!(jaccard(&a, &a), 1.0);
        assert_eq!(jaccard(&a, &template_tokens("x y")), 0.0);
        assert_eq!(
            jaccard(&template_tokens("123"), &template_tokens("456")),
            0.0
        );
    }
}
