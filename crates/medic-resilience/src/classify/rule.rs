//! User-supplied classification rules, checked before the built-in knowledge.

use regex::{Regex, RegexBuilder};

use super::assessment::Assessment;
use super::category::{Category, Severity};
use crate::ConfigError;

/// "Errors whose text matches `pattern` are `category`": a rule added to an
/// [`ErrorClassifier`](crate::classify::ErrorClassifier) on top of its
/// built-in knowledge.
///
/// The pattern is matched against the whole message chain (every `source()`
/// joined with `": "`), or the plain message / HTTP body. Patterns built with
/// [`ClassificationRule::new`] are case-insensitive; write `(?-i)` to opt out.
/// Severity and retryability default to the category's
/// ([`Category::default_severity`], [`Category::default_retryable`]).
///
/// ```
/// use medic_resilience::classify::{Category, ClassificationRule, Severity};
/// let rule = ClassificationRule::new("stripe-card-declined", r"card_declined", Category::Validation)?
///     .with_severity(Severity::Low);
/// assert!(rule.matches("Stripe error: CARD_DECLINED"));
/// assert_eq!(rule.retryable, None);
/// # Ok::<(), medic_resilience::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ClassificationRule {
    /// A name for logs and debugging; defaults to the pattern text in
    /// [`ErrorClassifier::try_with_rule`](crate::classify::ErrorClassifier::try_with_rule).
    pub name: String,
    /// What the error text must contain (a regex, searched anywhere).
    pub pattern: Regex,
    /// The category matching errors get.
    pub category: Category,
    /// The severity; `None` means the category's default.
    pub severity: Option<Severity>,
    /// Whether to retry; `None` means the category's default.
    pub retryable: Option<bool>,
}

impl ClassificationRule {
    /// A rule with a case-insensitive `pattern`.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] whose `field` is `"pattern"` when the pattern is not
    /// a valid regex (the reason is the regex parser's message).
    ///
    /// ```
    /// use medic_resilience::classify::{Category, ClassificationRule};
    /// let err = ClassificationRule::new("broken", "(unclosed", Category::Unknown).unwrap_err();
    /// assert_eq!(err.field, "pattern");
    /// ```
    pub fn new(
        name: impl Into<String>,
        pattern: &str,
        category: Category,
    ) -> Result<Self, ConfigError> {
        let pattern = RegexBuilder::new(pattern)
            .case_insensitive(true)
            .build()
            .map_err(|error| ConfigError::new("pattern", error.to_string()))?;
        Ok(Self {
            name: name.into(),
            pattern,
            category,
            severity: None,
            retryable: None,
        })
    }

    /// Sets the severity instead of the category's default.
    ///
    /// ```
    /// use medic_resilience::classify::{Category, ClassificationRule, Severity};
    /// let rule = ClassificationRule::new("x", "x", Category::Api)?.with_severity(Severity::Critical);
    /// assert_eq!(rule.severity, Some(Severity::Critical));
    /// # Ok::<(), medic_resilience::ConfigError>(())
    /// ```
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = Some(severity);
        self
    }

    /// Sets retryability instead of the category's default.
    ///
    /// ```
    /// use medic_resilience::classify::{Category, ClassificationRule};
    /// let rule = ClassificationRule::new("x", "x", Category::Database)?.with_retryable(true);
    /// assert_eq!(rule.retryable, Some(true));
    /// # Ok::<(), medic_resilience::ConfigError>(())
    /// ```
    pub fn with_retryable(mut self, retryable: bool) -> Self {
        self.retryable = Some(retryable);
        self
    }

    /// Whether `text` matches this rule.
    ///
    /// ```
    /// use medic_resilience::classify::{Category, ClassificationRule};
    /// let rule = ClassificationRule::new("x", r"^err-\d+$", Category::Api)?;
    /// assert!(rule.matches("ERR-42"));
    /// assert!(!rule.matches("err-x"));
    /// # Ok::<(), medic_resilience::ConfigError>(())
    /// ```
    pub fn matches(&self, text: &str) -> bool {
        self.pattern.is_match(text)
    }

    /// The verdict this rule gives, defaults filled in from the category.
    pub(crate) fn assessment(&self) -> Assessment {
        let defaults = Assessment::of(self.category);
        Assessment {
            severity: self.severity.unwrap_or(defaults.severity),
            retryable: self.retryable.unwrap_or(defaults.retryable),
            ..defaults
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_patterns_name_the_pattern_field() {
        for bad in ["(", "[a-", "a{2,1}", r"\p{NotAProperty}"] {
            let err = ClassificationRule::new("bad", bad, Category::Unknown).expect_err(bad);
            assert_eq!(err.field, "pattern");
            assert!(!err.reason.is_empty());
        }
    }

    #[test]
    fn defaults_come_from_the_category_and_overrides_win() {
        let plain = ClassificationRule::new("p", "x", Category::Network).expect("valid");
        let assessment = plain.assessment();
        assert_eq!(assessment.category, Category::Network);
        assert_eq!(assessment.severity, Category::Network.default_severity());
        assert!(assessment.retryable);

        let tuned = plain
            .with_retryable(false)
            .with_severity(Severity::Critical)
            .assessment();
        assert!(!tuned.retryable);
        assert_eq!(tuned.severity, Severity::Critical);
    }

    #[test]
    fn patterns_are_case_insensitive_unless_opted_out() {
        let loose = ClassificationRule::new("l", "quota", Category::RateLimit).expect("valid");
        assert!(loose.matches("QUOTA"));
        let strict =
            ClassificationRule::new("s", "(?-i)quota", Category::RateLimit).expect("valid");
        assert!(!strict.matches("QUOTA"));
    }
}
