//! Why a probe from the config cannot be built. Only building can fail: a
//! built probe never returns an error, it returns an unhealthy signal.

/// A probe that cannot be built from its config.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProbeBuildError {
    /// The URL does not parse.
    #[error("invalid probe url {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as written.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The URL's scheme is neither `http` nor `https`.
    #[error("probe url {url:?}: scheme {scheme:?} is not supported (http:// or https://)")]
    UnsupportedScheme {
        /// The URL as written.
        url: String,
        /// Its scheme.
        scheme: String,
    },
    /// The HTTP method is not a valid token.
    #[error("invalid http method {method:?}")]
    InvalidMethod {
        /// The method as written.
        method: String,
    },
    /// `body_regex` does not compile.
    #[error("invalid body_regex {pattern:?}")]
    InvalidBodyRegex {
        /// The pattern as written.
        pattern: String,
        /// The compiler's complaint.
        #[source]
        source: regex::Error,
    },
    /// The Kubernetes API server cannot be reached as configured.
    #[error("{0}")]
    Kubernetes(String),
    /// An exec probe with an empty `command`.
    #[error("exec probe has an empty command")]
    EmptyCommand,
    /// The shared HTTP client could not be created.
    #[error("cannot create the http client")]
    HttpClient(#[source] reqwest::Error),
    /// The probe's TLS settings cannot be used (a file, a name, a key).
    #[error("{0}")]
    Client(#[from] medic_client::ClientError),
    /// A `json` condition's path does not parse.
    #[error("json path: {0}")]
    JsonPath(String),
}
