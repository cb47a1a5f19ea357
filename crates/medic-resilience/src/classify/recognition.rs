//! What recognised a piece of text, for callers that weigh evidence (log
//! diagnosis) rather than just act on a category (retry loops).

use super::category::{Category, Severity};

/// The knowledge that recognised a text, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// A user [`ClassificationRule`](crate::classify::ClassificationRule), by
    /// its index in [`ErrorClassifier::rules`](crate::classify::ErrorClassifier::rules).
    Rule(usize),
    /// An HTTP status code written in the text (`HTTP/1.1 503`, `status: 429`).
    Status(u16),
    /// A built-in catalog entry that names the failure precisely
    /// ("connection refused", "no space left on device").
    Pattern(&'static str),
    /// A built-in catalog entry matching a broad word that healthy lines use
    /// too ("config", "invalid", "timeout").
    Word(&'static str),
}

/// A text's category and the knowledge that recognised it; what
/// [`ErrorClassifier::recognise`](crate::classify::ErrorClassifier::recognise)
/// returns. Unlike an [`ErrorContext`](crate::classify::ErrorContext) it
/// allocates nothing, so it suits scanning many lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recognition {
    /// The category, as `classify_message` would give it.
    pub category: Category,
    /// The severity, as `classify_message` would give it.
    pub severity: Severity,
    /// What recognised it.
    pub basis: Basis,
}

impl Recognition {
    /// Whether the evidence names the failure precisely: a user rule, a
    /// catalog phrase, or a status code with a meaning of its own (401, 429,
    /// 503, ...). A broad word and the catch-all statuses (a 500, a 4xx with
    /// no special meaning) are not specific.
    ///
    /// ```
    /// use medic_resilience::classify::ErrorClassifier;
    /// let classifier = ErrorClassifier::new();
    /// let refused = classifier.recognise("connect: connection refused").expect("known");
    /// assert!(refused.is_specific());
    /// let setting = classifier.recognise("pool: idle_timeout=30s").expect("known");
    /// assert!(!setting.is_specific());
    /// let status = classifier.recognise("HTTP/1.1 500 Internal Server Error").expect("known");
    /// assert!(!status.is_specific());
    /// ```
    pub fn is_specific(&self) -> bool {
        match self.basis {
            Basis::Rule(_) | Basis::Pattern(_) => true,
            Basis::Status(_) => !matches!(
                self.category,
                Category::Api | Category::Validation | Category::Unknown
            ),
            Basis::Word(_) => false,
        }
    }

    /// A short name for what matched: the rule's name is the caller's to look
    /// up, so rules read `rule:<index>`; catalog entries `catalog:<name>`;
    /// statuses `http-status:<code>`.
    ///
    /// ```
    /// use medic_resilience::classify::ErrorClassifier;
    /// let hit = ErrorClassifier::new().recognise("No space left on device").expect("known");
    /// assert_eq!(hit.name(), "catalog:out_of_memory_or_disk");
    /// ```
    pub fn name(&self) -> String {
        match self.basis {
            Basis::Rule(index) => format!("rule:{index}"),
            Basis::Status(code) => format!("http-status:{code}"),
            Basis::Pattern(name) | Basis::Word(name) => format!("catalog:{name}"),
        }
    }

    /// Why the built-in entry that matched files the text where it does,
    /// when the entry says (the software families' rules do); `None` for
    /// user rules, statuses and the general catalog.
    ///
    /// ```
    /// use medic_resilience::classify::{Category, ErrorClassifier};
    /// let hit = ErrorClassifier::new()
    ///     .recognise("psql: error: connection to server at \"db-1\" (10.0.0.7), port 5432 failed: Connection refused")
    ///     .expect("known");
    /// assert_eq!(hit.category, Category::Database);
    /// assert!(hit.reason().is_some_and(|why| why.contains("database")));
    /// ```
    pub fn reason(&self) -> Option<&'static str> {
        match self.basis {
            Basis::Pattern(name) | Basis::Word(name) => super::patterns::reason_of(name),
            Basis::Rule(_) | Basis::Status(_) => None,
        }
    }
}
