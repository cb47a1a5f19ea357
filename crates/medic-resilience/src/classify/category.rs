//! What kind of failure an error is, and how bad it is.
//!
//! The category answers "whose fault, and will it pass?"; the severity answers
//! "how loudly should someone hear about it?". Both have a stable snake_case /
//! lowercase spelling because they end up in logs, metrics labels and JSON.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The kind of failure, as far as recovery is concerned.
///
/// The spelling used by `Display`, `FromStr` and serde is the snake_case name
/// (`rate_limit`, `authentication`, ...), stable across versions.
///
/// ```
/// use medic_resilience::classify::Category;
/// assert_eq!(Category::RateLimit.to_string(), "rate_limit");
/// assert_eq!("rate_limit".parse::<Category>(), Ok(Category::RateLimit));
/// assert!(Category::Network.default_retryable());
/// assert!(!Category::Validation.default_retryable());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// The connection itself failed: refused, reset, unreachable, DNS.
    Network,
    /// The remote API answered with a server-side error (generic 5xx).
    Api,
    /// The remote side asked us to slow down (429, quota, throttling).
    RateLimit,
    /// Who we are was not accepted: missing, invalid or expired credentials.
    Authentication,
    /// A local or remote resource ran out: memory, disk, file handles, busy.
    Resource,
    /// The database refused or failed the statement.
    Database,
    /// The request itself is wrong: bad input, parse errors, 4xx.
    Validation,
    /// Something took longer than allowed.
    Timeout,
    /// The system is set up wrongly: missing settings, bad certificates.
    Configuration,
    /// An upstream service is down or overloaded (502/503, "unavailable").
    Dependency,
    /// We are known but not allowed: forbidden, access denied.
    Permission,
    /// Nothing recognisable.
    Unknown,
}

impl Category {
    /// Every category, in declaration order.
    ///
    /// ```
    /// use medic_resilience::classify::Category;
    /// assert_eq!(Category::ALL.len(), 12);
    /// assert!(Category::ALL.contains(&Category::Unknown));
    /// ```
    pub const ALL: &'static [Category] = &[
        Category::Network,
        Category::Api,
        Category::RateLimit,
        Category::Authentication,
        Category::Resource,
        Category::Database,
        Category::Validation,
        Category::Timeout,
        Category::Configuration,
        Category::Dependency,
        Category::Permission,
        Category::Unknown,
    ];

    /// The stable snake_case name.
    ///
    /// ```
    /// use medic_resilience::classify::Category;
    /// assert_eq!(Category::Authentication.as_str(), "authentication");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Category::Network => "network",
            Category::Api => "api",
            Category::RateLimit => "rate_limit",
            Category::Authentication => "authentication",
            Category::Resource => "resource",
            Category::Database => "database",
            Category::Validation => "validation",
            Category::Timeout => "timeout",
            Category::Configuration => "configuration",
            Category::Dependency => "dependency",
            Category::Permission => "permission",
            Category::Unknown => "unknown",
        }
    }

    /// The severity used when nothing more specific is known.
    ///
    /// Caller faults that a human must fix (configuration) are `Critical`;
    /// outages of something we depend on are `High`; transient noise is
    /// `Medium`; being told to slow down or sending a bad request is `Low`.
    ///
    /// ```
    /// use medic_resilience::classify::{Category, Severity};
    /// assert_eq!(Category::Configuration.default_severity(), Severity::Critical);
    /// assert_eq!(Category::RateLimit.default_severity(), Severity::Low);
    /// ```
    pub const fn default_severity(self) -> Severity {
        match self {
            Category::Configuration => Severity::Critical,
            Category::Authentication
            | Category::Permission
            | Category::Resource
            | Category::Database
            | Category::Dependency => Severity::High,
            Category::Network | Category::Api | Category::Timeout | Category::Unknown => {
                Severity::Medium
            }
            Category::RateLimit | Category::Validation => Severity::Low,
        }
    }

    /// Whether errors of this category are worth retrying when nothing more
    /// specific is known.
    ///
    /// `Unknown` is *not* retryable: retrying an operation nobody understands
    /// may repeat a side effect. Teach the classifier a rule instead.
    ///
    /// ```
    /// use medic_resilience::classify::Category;
    /// assert!(Category::Timeout.default_retryable());
    /// assert!(!Category::Unknown.default_retryable());
    /// ```
    pub const fn default_retryable(self) -> bool {
        match self {
            Category::Network
            | Category::Api
            | Category::RateLimit
            | Category::Resource
            | Category::Timeout
            | Category::Dependency => true,
            Category::Authentication
            | Category::Database
            | Category::Validation
            | Category::Configuration
            | Category::Permission
            | Category::Unknown => false,
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Category {
    type Err = ParseCategoryError;

    /// Parses the snake_case name, ignoring ASCII case and surrounding spaces.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let wanted = input.trim();
        Category::ALL
            .iter()
            .copied()
            .find(|category| category.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| ParseCategoryError {
                input: input.to_owned(),
            })
    }
}

/// The text given to `Category::from_str` names no category.
///
/// ```
/// use medic_resilience::classify::Category;
/// let err = "netwrok".parse::<Category>().unwrap_err();
/// assert_eq!(err.input, "netwrok");
/// assert!(err.to_string().contains("rate_limit"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown error category `{input}`; expected one of: network, api, rate_limit, \
     authentication, resource, database, validation, timeout, configuration, dependency, \
     permission, unknown"
)]
pub struct ParseCategoryError {
    /// The text that was given.
    pub input: String,
}

/// How urgently a failure needs attention. Ordered: `Low < Medium < High < Critical`.
///
/// ```
/// use medic_resilience::classify::Severity;
/// assert!(Severity::Low < Severity::Critical);
/// assert_eq!(Severity::High.to_string(), "high");
/// assert_eq!("MEDIUM".parse::<Severity>(), Ok(Severity::Medium));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Expected noise; log at debug.
    Low,
    /// Worth a warning; usually transient.
    Medium,
    /// Something is broken and a feature is degraded.
    High,
    /// Nothing will work until a human acts.
    Critical,
}

impl Severity {
    /// Every severity, from lowest to highest.
    ///
    /// ```
    /// use medic_resilience::classify::Severity;
    /// assert!(Severity::ALL.is_sorted());
    /// ```
    pub const ALL: &'static [Severity] = &[
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The stable lowercase name.
    ///
    /// ```
    /// use medic_resilience::classify::Severity;
    /// assert_eq!(Severity::Critical.as_str(), "critical");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = ParseSeverityError;

    /// Parses the lowercase name, ignoring ASCII case and surrounding spaces.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let wanted = input.trim();
        Severity::ALL
            .iter()
            .copied()
            .find(|severity| severity.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| ParseSeverityError {
                input: input.to_owned(),
            })
    }
}

/// The text given to `Severity::from_str` names no severity.
///
/// ```
/// use medic_resilience::classify::Severity;
/// let err = "urgent".parse::<Severity>().unwrap_err();
/// assert_eq!(err.input, "urgent");
/// assert!(err.to_string().contains("critical"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity `{input}`; expected one of: low, medium, high, critical")]
pub struct ParseSeverityError {
    /// The text that was given.
    pub input: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_category_round_trips_through_display_from_str_and_serde() {
        for &category in Category::ALL {
            let name = category.to_string();
            assert_eq!(name.parse::<Category>(), Ok(category));
            let json = serde_json::to_string(&category).expect("serialize");
            assert_eq!(json, format!("\"{name}\""));
            let back: Category = serde_json::from_str(&json).expect("deserialize");
            assert_eq!(back, category);
        }
    }

    #[test]
    fn category_names_are_the_documented_snake_case_spellings() {
        let names: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(
            names,
            [
                "network",
                "api",
                "rate_limit",
                "authentication",
                "resource",
                "database",
                "validation",
                "timeout",
                "configuration",
                "dependency",
                "permission",
                "unknown"
            ]
        );
    }

    #[test]
    fn category_parsing_ignores_case_and_spaces_but_rejects_near_misses() {
        assert_eq!(" Rate_Limit ".parse::<Category>(), Ok(Category::RateLimit));
        for bad in ["", "ratelimit", "rate-limit", "net work", "networks"] {
            let err = bad.parse::<Category>().expect_err(bad);
            assert_eq!(err.input, bad);
            assert!(err.to_string().starts_with("unknown error category"));
        }
    }

    #[test]
    fn every_severity_round_trips_and_is_ordered() {
        for &severity in Severity::ALL {
            let name = severity.to_string();
            assert_eq!(name.parse::<Severity>(), Ok(severity));
            let json = serde_json::to_string(&severity).expect("serialize");
            assert_eq!(json, format!("\"{name}\""));
        }
        assert!(Severity::Low < Severity::Medium);
        assert!(Severity::Medium < Severity::High);
        assert!(Severity::High < Severity::Critical);
        assert!("severe".parse::<Severity>().is_err());
    }

    #[test]
    fn default_retryability_separates_transient_from_caller_faults() {
        let retryable: Vec<Category> = Category::ALL
            .iter()
            .copied()
            .filter(|c| c.default_retryable())
            .collect();
        assert_eq!(
            retryable,
            [
                Category::Network,
                Category::Api,
                Category::RateLimit,
                Category::Resource,
                Category::Timeout,
                Category::Dependency
            ]
        );
    }
}
