//! The built-in catalog of error messages, and the hints read from them.
//!
//! All patterns are compiled once into one `RegexSet` (a single automaton, one
//! pass over the text however many patterns there are). They are ASCII-only
//! and case-insensitive: error text from libraries, operating systems and
//! servers is English, and ASCII-only matching keeps the automaton small and
//! lets non-ASCII text pass through without slowing it down.
//!
//! Order matters: the first entry that matches wins, so specific phrases come
//! before the broad words that also occur in them ("disk quota exceeded" is a
//! full disk, not a rate limit; "pool timed out" is the database, not a
//! generic timeout; "invalid token" is authentication, not validation).

use std::sync::LazyLock;
use std::time::Duration;

use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

use super::assessment::Assessment;
use super::category::{Category, Severity};
use super::codes::CODES;
use super::families::{FAMILIES, FamilyRule};
use super::general::GENERAL;
use super::no_cause::{NO_CAUSE, PROGRAM_BUGS};
use super::platforms::PLATFORMS;
use super::tools::TOOLS;

/// One entry of the catalog.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MessagePattern {
    /// A short stable name, for tests, `Debug` output and diagnoses.
    pub(crate) name: &'static str,
    /// ASCII regex, matched case-insensitively anywhere in the text.
    pub(crate) regex: &'static str,
    pub(crate) assessment: Assessment,
    /// Whether the entry names a failure precisely ("connection refused",
    /// "no space left on device") rather than matching a broad word that
    /// also occurs in healthy lines ("config", "invalid", "timeout").
    /// Diagnosis weighs the two differently; classification does not.
    pub(crate) specific: bool,
    /// Whether the entry is a software family's rule (`families.rs`,
    /// `tools.rs`, `no_cause.rs`): it knows the program's message better
    /// than a status code found in the same text (`Code: 241.
    /// DB::Exception` is ClickHouse's error number, `acme: error: 403 ::
    /// ...:unauthorized` a failed ACME challenge, Vault's `Code: 403.
    /// Errors:` only heads the list of errors that say why).
    pub(crate) narrow: bool,
    /// Why the failure belongs to its category, for the entries that carry
    /// one (the families' rules); shown to users beside the diagnosis.
    pub(crate) reason: Option<&'static str>,
    /// Whether the entry may recognise a log line; see [`calls_only`].
    pub(crate) in_logs: bool,
}

const fn retry(category: Category) -> Assessment {
    Assessment::with_retryable(category, true)
}

const fn stop(category: Category) -> Assessment {
    Assessment::with_retryable(category, false)
}

/// A catalog entry that names its failure precisely.
const fn specific(
    name: &'static str,
    regex: &'static str,
    assessment: Assessment,
) -> MessagePattern {
    MessagePattern {
        name,
        regex,
        assessment,
        specific: true,
        narrow: false,
        reason: None,
        in_logs: true,
    }
}

/// A catalog entry that matches a broad word: right more often than not,
/// but weak evidence on its own.
const fn generic(
    name: &'static str,
    regex: &'static str,
    assessment: Assessment,
) -> MessagePattern {
    MessagePattern {
        name,
        regex,
        assessment,
        specific: false,
        narrow: false,
        reason: None,
        in_logs: true,
    }
}

/// A catalog entry whose broad words classify a call's own error (stop
/// retrying `user 42 not found`, `invalid digit found in string`) but
/// explain no service's failure. In a log, `not found`, `invalid` or `does
/// not exist` name a missing setting, package, account or resource at least
/// as often as bad input: where such a word alone decided, blind set 6
/// (unseen by the rules) was right 4 times and wrong 21. So no log line is
/// recognised by it: a diagnosis says `unknown` rather than guess.
const fn calls_only(
    name: &'static str,
    regex: &'static str,
    assessment: Assessment,
) -> MessagePattern {
    MessagePattern {
        in_logs: false,
        ..generic(name, regex, assessment)
    }
}

/// The catalog, most specific first.
///
/// Where an entry's broad words were split off into a `generic` entry, the
/// two sit next to each other with the same assessment, so the category of
/// any text is what the single entry gave.
pub(crate) const CATALOG: &[MessagePattern] = &[
    // This crate's own rejections (`crate::Error`), which must not be retried
    // into: the same verdicts as `Classify for crate::Error`.
    specific(
        "medic_circuit_open",
        r"circuit breaker open; next trial in",
        stop(Category::Dependency),
    ),
    specific(
        "medic_bulkhead_full",
        r"bulkhead full: too many concurrent calls",
        stop(Category::Resource).severity(Severity::Medium),
    ),
    specific(
        "medic_throttled",
        r"rejected by client-side adaptive throttling",
        stop(Category::RateLimit),
    ),
    specific(
        "medic_deadline_exceeded",
        r"deadline of [0-9.]+(?:ns|µs|ms|s) exceeded",
        stop(Category::Timeout),
    ),
    // A config file that does not parse: go-yaml's `cannot unmarshal !!str`
    // (a YAML tag), the toml crate's ``missing field `port` for key
    // `server` `` (`failed to parse app.toml` is `platforms.rs`' job_setup).
    // Bad input, but the operator's, not a request's; before the broad words
    // a field's name may contain (`read_timeout`, `database`).
    specific(
        "config_file_unparsed",
        // Literal anchors only: a `[ -~]*` up to a file's extension in the
        // log scan's one automaton slowed it by a quarter.
        r"cannot unmarshal !!(?:str|int|bool|float|map|seq)\b| for key `[a-z0-9_.-]+`",
        stop(Category::Configuration),
    ),
    // `OutOfMemoryError` (JVM) and `MemoryError` (Python) are written without
    // spaces; the kernel's OOM killer says "Out of memory: Killed process".
    specific(
        "out_of_memory_or_disk",
        r"out ?of ?memory|\bmemoryerror\b|\boom\b|oom[ -]?kill|cannot allocate memory|memory allocation (?:of [0-9]+ bytes )?failed|\benomem\b|no space left on device|\benospc\b|disk (?:is )?full|disk quota exceeded|\bedquot\b",
        stop(Category::Resource).severity(Severity::Critical),
    ),
    // Docker Hub answers `toomanyrequests: You have reached your pull rate
    // limit`; AWS says `ThrottlingException ... Rate exceeded`.
    specific(
        "rate_limited",
        r"too ?many ?requests|rate[ _-]?limit|rate exceeded|quota exceeded|exceeded (?:[a-z]+ ){0,3}quota|throttl|slow ?down",
        retry(Category::RateLimit),
    ),
    // ssh's `Permission denied (publickey,password)` is a rejected login, not
    // a file mode; SMTP's 535 is a failed AUTH; git and npm have their own words.
    specific(
        "unauthenticated",
        r"unauthori[sz]ed|unauthenticated|not authenticated|authentication (?:failed|failure|required|error)|(?:unable|failed|could not) to authenticate|authentication credentials (?:invalid|were not provided)|invalid (?:api[ _-]?)?(?:token|key|credentials?|password|signature)|invalid username or password|incorrect (?:username|password)|(?:token|credentials?|session|signature) (?:has |is )?expired|expired (?:token|credentials?|session)|invalid_grant|invalid_client|bad credentials|login failed|password authentication failed|permission denied \((?:publickey|password|keyboard-interactive|gssapi)|\b535[ -]5\.7\.[0-9]+",
        stop(Category::Authentication),
    ),
    // `sudo` asking for a password it was not given is a missing privilege;
    // git says `Permission to org/repo.git denied to user`.
    specific(
        "forbidden",
        r"forbidden|permission denied|permission to [ -~]{1,80} denied|access (?:is )?denied|accessdenied|not authori[sz]ed|not permitted|insufficient (?:permissions?|privileges?|scopes?)|\beacces\b|\beperm\b|missing sudo password|sudo: a (?:terminal|password) is required",
        stop(Category::Permission),
    ),
    specific(
        "certificate",
        // Not the `ca-certificates` package an install line names.
        r"(?:^|[ -,.-~])certificate|\bx\.?509\b|unknown ?ca\b|unknownissuer|self[ -]signed|hostname mismatch",
        stop(Category::Configuration),
    ),
    specific(
        "resource_busy",
        r"too many open files|\bemfile\b|\benfile\b|resource (?:temporarily )?unavailable|resource[ _]exhausted|\beagain\b|device or resource busy|\bebusy\b",
        retry(Category::Resource).severity(Severity::Medium),
    ),
    specific(
        "database_transient",
        r"deadlock|could not serialize|serialization failure|database (?:table )?is locked|\bsqlite_(?:busy|locked)\b|lock wait timeout|lock timeout|pool timed out|timed out waiting for (?:a )?(?:connection|pool)|connection pool (?:exhausted|timed? ?out)|too many (?:clients|connections)|sqlstate[ :=]{0,3}(?:40001|40p01|55p03|53300)",
        retry(Category::Database).severity(Severity::Medium),
    ),
    // MySQL says `Duplicate entry '7' for key 'PRIMARY'` and PDO `Integrity
    // constraint violation`; migration tools report failed migrations.
    specific(
        "database_statement",
        r"relation [ -~]{1,80} does not exist|no such (?:table|column)|column [ -~]{1,80} does not exist|duplicate key|duplicate entry [ -~]{1,80} for key|integrity constraint violation|(?:unique|foreign key|check|not-null|exclusion) constraint|syntax error at or near|\bora-[0-9]{5}\b|failed migrations?\b|migrations? failed",
        stop(Category::Database),
    ),
    // GitLab: `ERROR: Job failed: execution took longer than 1h0m0s seconds`;
    // PostgreSQL: `canceling statement due to statement timeout`.
    specific(
        "timed_out",
        r"timed ?out|time ?out (?:exceeded|expired|occurred|error|when|while|after)|(?:exceeded|statement|read|write|connect|connection|request|query|socket|operation) ?time ?out\b|timeout ?(?:exception|error)|deadline (?:has )?(?:elapsed|exceeded)|deadline_exceeded|\betimedout\b|gateway time-?out|execution took longer than",
        retry(Category::Timeout),
    ),
    // The bare noun also names settings (`idle_timeout=30s`, `Job timeout: 1h`).
    generic("timeout_word", r"time ?out", retry(Category::Timeout)),
    // Gradle's `Could not resolve group:artifact:version.` heads a tree of
    // causes (a 403, a 429, an unknown host) nested below it: a broad hint,
    // so the nested cause decides, and not "could not resolve" a host.
    generic(
        "gradle_unresolved",
        r"could not resolve [a-z0-9_.-]+:[a-z0-9_.-]+:",
        stop(Category::Dependency),
    ),
    // Terraform's `Error: Failed to query available provider packages` is
    // the heading of a box whose body says why (an unknown provider, an
    // unreachable registry): the same kind of broad hint.
    generic(
        "terraform_providers_heading",
        r"failed to query available provider packages",
        stop(Category::Dependency),
    ),
    // apk's `ERROR: unable to select packages:` heads the list of what it
    // could not select; a `WARNING: fetching ...: temporary error` above it
    // (the index was never downloaded) or `(no such package)` below it
    // says why: a broad hint, so a specific cause decides.
    generic(
        "apk_unresolved_heading",
        r"unable to select packages",
        stop(Category::Dependency),
    ),
    // curl: `Couldn't connect to server`; Kafka: `Connection to node -1 ...
    // could not be established`; Ansible marks the host `UNREACHABLE!`.
    specific(
        "connection_failed",
        r"connection (?:was )?(?:refused|reset|aborted|closed|broken)|\beconn(?:refused|reset|aborted)\b|broken pipe|\bepipe\b|not connected|(?:network|host) (?:is )?(?:unreachable|down)|no route to host|\be(?:host|net)unreach\b|\bdns\b|name resolution|resolve host|failed to lookup address|could not resolve|name or service not known|nodename nor servname|no such host|getaddrinfo|error trying to connect|tcp connect error|unexpected eof|unexpected end of file|incomplete message|socket hang ?up|connection error|network error|reset by peer|peer closed|stream (?:closed|reset)|goaway|(?:could ?n[o']?t|can ?n[o']?t|unable to|failed to) connect to|could not be established|\bunreachable!",
        retry(Category::Network),
    ),
    // reqwest's `error sending request for url (...)` heads a chain whose
    // cause (a timeout, a refused connection, a certificate) follows it,
    // often on the next line (anyhow's `Caused by:`): a broad hint, so
    // that cause decides.
    generic(
        "request_not_sent",
        r"error sending request",
        retry(Category::Network),
    ),
    specific(
        "dependency_unavailable",
        r"service unavailable|(?:status|code) ?[:=] ?unavailable\b|bad gateway|upstream connect error|overloaded|over capacity|server (?:is )?busy|circuit (?:breaker )?(?:[ -~]{1,40} )?(?:is )?open\b|try again later",
        retry(Category::Dependency),
    ),
    generic(
        "dependency_word",
        r"\bunavailable\b|upstream|maintenance",
        retry(Category::Dependency),
    ),
    generic(
        "database",
        r"\bdatabase\b|\bsql\b|sqlstate|\bsqlx\b|postgres|\bmysql\b|mariadb|sqlite|\bdb error\b|mongo",
        stop(Category::Database),
    ),
    // YAML loaders (`yaml: line 3: mapping values are not allowed`, Ansible's
    // `Syntax Error while loading YAML`), Ansible's undefined variables,
    // Cargo's manifest, GitHub Actions' missing inputs.
    specific(
        "configuration_file",
        r"\byaml: line [0-9]+|error while loading yaml|mapping values are not allowed|undefined variable|failed to parse manifest|input required and not supplied|environment variable [ -~]{0,40}(?:not set|not found|missing|is required)",
        stop(Category::Configuration),
    ),
    generic(
        "configuration",
        r"\bconfig|misconfigur|not configured|environment variable|\benv(?:ironment)? var|missing (?:setting|option)|unknown (?:setting|option)",
        stop(Category::Configuration),
    ),
    specific(
        "not_implemented",
        r"not implemented|unimplemented",
        stop(Category::Api),
    ),
    // A 500 says the server failed, not why; often a consequence.
    generic(
        "server_error",
        r"internal server error|internal error|server error|\b5[0-9][0-9] (?:internal|server|error)",
        retry(Category::Api),
    ),
    // Go's `json: cannot unmarshal`, pydantic's `validation error for`,
    // clap's `invalid value 'x' for '--flag'`.
    specific(
        "invalid_request",
        r"validation (?:error|failed)|malformed|parse error|failed to parse|(?:can ?not|could not|unable to) parse|parsing failed|cannot unmarshal|unexpected (?:token|character|end of input)|expected [ -~]{1,40} (?:found|got|but)|at line [0-9]+ column [0-9]+|bad request|unprocessable|missing (?:required )?(?:field|parameter|argument|property)|unknown (?:field|variant|parameter)|invalid value|must be one of",
        stop(Category::Validation),
    ),
    // A secret that was refused, in words the phrases above do not use:
    // `API Key invalid`, `Invalid license key`, `received an invalid passwd`.
    generic(
        "credential_invalid",
        r"(?:password|passwd|api[ _-]?key|license key|access key|secret key|credentials?) (?:is |was )?(?:invalid|incorrect|wrong|rejected|not valid)\b|invalid (?:license key|passwd|login|access key|secret key)|\binvalidlogin\b|wrong password",
        stop(Category::Authentication),
    ),
    generic(
        "validation_word",
        r"validation|out of range|not a valid",
        stop(Category::Validation),
    ),
    calls_only(
        "invalid_word",
        r"invalid|must be|not found|does not exist|no such file",
        stop(Category::Validation),
    ),
];

/// Every entry in the order they are tried: the platforms beyond issue
/// 17's list (`platforms.rs`, narrowest), the software families
/// (`families.rs`, then `tools.rs`), the documented enumerations
/// (`codes.rs`: gRPC codes, exception class names, errno names, ...), the
/// program bugs (`no_cause.rs`, specific evidence of an `unknown` cause),
/// the general wordings (`general.rs`: a memory limit reached, a name that
/// does not exist, ...), then the banners and headings (`no_cause.rs`, no
/// evidence; both they and the general wordings shadow the broad words),
/// then [`CATALOG`].
///
/// All of the first six lists are narrow: a family's rule knows its
/// program's message better than a status code on the same line, and a
/// message that names no cause (Vault's `Code: 403. Errors:` heading, a
/// startup banner) is not explained by a status on it either.
static ENTRIES: LazyLock<Vec<MessagePattern>> = LazyLock::new(|| {
    EVIDENCE_RULES
        .iter()
        .flat_map(|rules| rules.iter())
        .map(|rule| (rule, true))
        .chain(NO_CAUSE.iter().map(|rule| (rule, false)))
        .map(|(rule, specific)| MessagePattern {
            name: rule.name,
            regex: rule.regex,
            assessment: Assessment::with_retryable(rule.category, rule.retryable),
            specific,
            narrow: true,
            reason: Some(rule.reason),
            in_logs: true,
        })
        .chain(CATALOG.iter().copied())
        .collect()
});

/// The rule lists whose match is evidence, in the order they are tried;
/// [`NO_CAUSE`] follows them.
const EVIDENCE_RULES: [&[FamilyRule]; 6] =
    [PLATFORMS, FAMILIES, TOOLS, CODES, PROGRAM_BUGS, GENERAL];

/// Checks that each text is classified as its category (the rule modules'
/// wording tests).
#[cfg(test)]
pub(crate) fn assert_categories(cases: &[(&str, Category)]) {
    for (text, category) in cases {
        let got = match_catalog(text).map(|p| p.assessment.category);
        assert_eq!(got, Some(*category), "{text}");
    }
}

/// All entries as one automaton, indices matching [`ENTRIES`].
static CATALOG_SET: LazyLock<RegexSet> = LazyLock::new(|| {
    // The catalog is a constant; `every_catalog_pattern_compiles` and every
    // other test in this module would fail on a typo, so this cannot fail.
    #[allow(clippy::expect_used)]
    RegexSetBuilder::new(ENTRIES.iter().map(|pattern| pattern.regex))
        .case_insensitive(true)
        .unicode(false)
        // The default lazy-DFA cache (2 MiB) is too small for a catalog this
        // wide: it thrashes and the set falls back to a slow engine, about
        // a tenth of the speed on a recognised line (log_throughput bench).
        .dfa_size_limit(16 << 20)
        .build()
        .expect("the built-in message catalog compiles")
});

/// `HTTP status client error (404 Not Found)` (reqwest), `status code: 503`,
/// `HTTP/1.1 429`, `error 500`, ... Only 4xx and 5xx: other codes are not
/// failures and tell us nothing.
static STATUS_IN_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    // Constant pattern, covered by `status_codes_are_found_in_text`.
    #[allow(clippy::expect_used)]
    RegexBuilder::new(STATUS_REGEX)
        .case_insensitive(true)
        .unicode(false)
        .build()
        .expect("the status code pattern compiles")
});

/// `retry after 30s`, `Retry-After: 5`, `try again in 1.5s`, `retry in 200ms`.
static RETRY_HINT_IN_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    // Constant pattern, covered by `retry_hints_are_found_in_text`.
    #[allow(clippy::expect_used)]
    RegexBuilder::new(
        r"(?:retry[ _-]?after|try again in|retry in)[ :=]{0,3}([0-9]{1,9}(?:\.[0-9]{1,3})?) ?(ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?)?\b",
    )
    .case_insensitive(true)
    .unicode(false)
    .build()
    .expect("the retry hint pattern compiles")
});

/// The regex of every catalog entry that may recognise a log line, in
/// catalog order.
pub(crate) fn catalog_regexes() -> impl Iterator<Item = &'static str> {
    ENTRIES
        .iter()
        .filter(|pattern| pattern.in_logs)
        .map(|pattern| pattern.regex)
}

/// The status-code pattern's source, for [`catalog_regexes`]' users.
pub(crate) const STATUS_REGEX: &str = r"\b(?:http status (?:client|server) error \(|(?:status(?:[ _]?code)?|http(?:/[0-9.]+)?|response(?: code)?|error(?: code)?|code)[ :=#]{1,3})([45][0-9]{2})\b";

/// Why the catalog entry `name` files its failure where it does, if it says.
pub(crate) fn reason_of(name: &str) -> Option<&'static str> {
    ENTRIES
        .iter()
        .find(|pattern| pattern.name == name)
        .and_then(|pattern| pattern.reason)
}

/// The first catalog entry matching `text`, if any.
pub(crate) fn match_catalog(text: &str) -> Option<&'static MessagePattern> {
    let first = CATALOG_SET.matches(text).iter().next()?;
    ENTRIES.get(first)
}

/// A 4xx/5xx status code mentioned in `text`, if any.
pub(crate) fn status_in_text(text: &str) -> Option<u16> {
    // Most texts have no status; a plain match is several times cheaper than
    // resolving the capture group.
    if !STATUS_IN_TEXT.is_match(text) {
        return None;
    }
    let code = STATUS_IN_TEXT.captures(text)?.get(1)?;
    code.as_str().parse().ok()
}

/// A "retry after N units" hint in `text`, if any.
pub(crate) fn retry_hint_in_text(text: &str) -> Option<Duration> {
    let captures = RETRY_HINT_IN_TEXT.captures(text)?;
    let amount: f64 = captures.get(1)?.as_str().parse().ok()?;
    let unit = captures
        .get(2)
        .map_or("s", |m| m.as_str())
        .to_ascii_lowercase();
    let seconds = match unit.as_str() {
        "ms" | "millisecond" | "milliseconds" => amount / 1000.0,
        "m" | "min" | "mins" | "minute" | "minutes" => amount * 60.0,
        _ => amount,
    };
    Duration::try_from_secs_f64(seconds).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalog_pattern_compiles_on_its_own() {
        for pattern in ENTRIES.iter() {
            RegexBuilder::new(pattern.regex)
                .case_insensitive(true)
                .unicode(false)
                .build()
                .unwrap_or_else(|e| panic!("{}: {e}", pattern.name));
        }
        assert_eq!(CATALOG_SET.len(), ENTRIES.len());
    }

    #[test]
    fn every_fixture_is_recognised_by_its_own_rule() {
        for rule in EVIDENCE_RULES
            .iter()
            .flat_map(|rules| rules.iter())
            .chain(NO_CAUSE)
        {
            // A fixture may span lines; the rule must match one of them.
            let hit = rule
                .fixture
                .lines()
                .find_map(|line| match_catalog(line).filter(|p| p.name == rule.name));
            assert!(
                hit.is_some(),
                "{}: fixture {:?} hit {:?}",
                rule.name,
                rule.fixture,
                rule.fixture
                    .lines()
                    .map(|l| match_catalog(l).map(|p| p.name))
                    .collect::<Vec<_>>()
            );
            assert!(rule.reason.len() > 20, "{}", rule.name);
        }
    }

    #[test]
    fn catalog_names_are_unique() {
        let mut names: Vec<&str> = ENTRIES.iter().map(|p| p.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ENTRIES.len());
    }

    #[test]
    fn messages_hit_the_intended_entry() {
        let cases: &[(&str, &str)] = &[
            // resource, fatal
            ("fatal: out of memory", "out_of_memory_or_disk"),
            ("container OOMKilled", "out_of_memory_or_disk"),
            (
                "memory allocation of 1024 bytes failed",
                "out_of_memory_or_disk",
            ),
            (
                "write /data/x: No space left on device",
                "out_of_memory_or_disk",
            ),
            ("disk quota exceeded", "out_of_memory_or_disk"),
            // rate limits
            ("429 Too Many Requests", "rate_limited"),
            ("API rate limit exceeded for user", "rate_limited"),
            ("RateLimitExceeded", "rate_limited"),
            ("Quota exceeded for quota metric 'Queries'", "rate_limited"),
            ("You exceeded your current quota", "rate_limited"),
            ("Request was throttled", "rate_limited"),
            ("SlowDown: Please reduce your request rate", "rate_limited"),
            // authentication
            ("401 Unauthorized", "unauthenticated"),
            ("Request is unauthenticated", "unauthenticated"),
            ("invalid API key provided", "unauthenticated"),
            ("invalid token", "unauthenticated"),
            ("the token has expired", "unauthenticated"),
            ("Expired token", "unauthenticated"),
            (
                "password authentication failed for user \"app\"",
                "db_login_failed",
            ),
            // permission
            ("403 Forbidden", "forbidden"),
            ("Permission denied (os error 13)", "forbidden"),
            ("AccessDenied: Access Denied", "forbidden"),
            (
                "user is not authorized to perform s3:GetObject",
                "forbidden",
            ),
            ("Operation not permitted", "forbidden"),
            ("insufficient privileges", "forbidden"),
            // certificates
            ("invalid peer certificate: UnknownIssuer", "certificate"),
            (
                "x509: certificate signed by unknown authority",
                "certificate",
            ),
            (
                "self-signed certificate in certificate chain",
                "certificate",
            ),
            // resource, transient
            ("Too many open files (os error 24)", "resource_busy"),
            (
                "Resource temporarily unavailable (os error 11)",
                "resource_busy",
            ),
            ("RESOURCE_EXHAUSTED: out of quota", "resource_busy"),
            ("Device or resource busy", "resource_busy"),
            // database, transient
            ("ERROR: deadlock detected", "database_transient"),
            (
                "could not serialize access due to concurrent update",
                "database_transient",
            ),
            ("database is locked", "database_transient"),
            (
                "pool timed out while waiting for an open connection",
                "database_transient",
            ),
            (
                "Lock wait timeout exceeded; try restarting transaction",
                "database_transient",
            ),
            (
                "FATAL: sorry, too many clients already",
                "database_transient",
            ),
            ("db error: SQLSTATE 40001", "database_transient"),
            // database, permanent
            ("relation \"users\" does not exist", "database_statement"),
            ("no such table: jobs", "database_statement"),
            (
                "duplicate key value violates unique constraint \"users_pkey\"",
                "database_statement",
            ),
            ("syntax error at or near \"SELEC\"", "database_statement"),
            (
                "ORA-00942: table or view does not exist",
                "database_statement",
            ),
            // timeouts
            ("operation timed out", "timed_out"),
            ("deadline has elapsed", "timed_out"),
            ("context deadline exceeded", "timed_out"),
            ("DEADLINE_EXCEEDED", "timed_out"),
            ("RequestTimeout", "timed_out"),
            ("504 Gateway Time-out", "timed_out"),
            // network
            ("Connection refused (os error 111)", "connection_failed"),
            ("connection reset by peer", "connection_failed"),
            ("ECONNRESET", "connection_failed"),
            ("Broken pipe (os error 32)", "connection_failed"),
            ("No route to host", "connection_failed"),
            (
                "dns error: failed to lookup address information",
                "connection_failed",
            ),
            ("Temporary failure in name resolution", "connection_failed"),
            ("Name or service not known", "connection_failed"),
            (
                "error sending request for url (http://x/)",
                "request_not_sent",
            ),
            (
                "error sending request for url (http://x/): error trying to connect: tcp connect error: Connection refused (os error 111)",
                "connection_failed",
            ),
            (
                "│ Error: Failed to query available provider packages",
                "terraform_providers_heading",
            ),
            (
                "error trying to connect: tcp connect error",
                "connection_failed",
            ),
            (
                "connection closed before message completed",
                "connection_failed",
            ),
            ("unexpected EOF", "connection_failed"),
            ("socket hang up", "connection_failed"),
            // dependencies
            ("503 Service Unavailable", "dependency_unavailable"),
            (
                "status: Unavailable, message: \"x\"",
                "dependency_unavailable",
            ),
            ("502 Bad Gateway", "dependency_unavailable"),
            (
                "upstream connect error or disconnect",
                "dependency_unavailable",
            ),
            ("The server is overloaded", "dependency_unavailable"),
            ("circuit breaker is open", "dependency_unavailable"),
            // database, generic
            ("database error: column mismatch", "database"),
            ("error returned from database: boom", "database"),
            ("sqlx::Error", "database"),
            // configuration
            ("missing config key `port`", "configuration"),
            ("environment variable not found", "configuration_file"),
            ("DATABASE_URL env var not set", "configuration"),
            ("smtp host not configured", "configuration"),
            // api
            ("501 Not Implemented", "not_implemented"),
            ("UNIMPLEMENTED: method not found", "not_implemented"),
            ("500 Internal Server Error", "server_error"),
            ("INTERNAL: internal error", "server_error"),
            // validation
            ("invalid digit found in string", "invalid_word"),
            ("cannot parse integer from empty string", "invalid_request"),
            ("string contains no or an invalid date", "invalid_word"),
            ("malformed JSON", "invalid_request"),
            ("expected value at line 1 column 1", "invalid_request"),
            ("missing field `name`", "invalid_request"),
            ("user 42 not found", "invalid_word"),
            ("integer out of range", "validation_word"),
            (
                "failed to load settings: missing field `read_timeout` for key `server` in /etc/relay/relay.toml",
                "config_file_unparsed",
            ),
            (
                "line 14: cannot unmarshal !!str `fast` into int",
                "config_file_unparsed",
            ),
            (
                "NewRelic::Agent::LicenseException: Invalid license key",
                "credential_invalid",
            ),
            ("400 Bad Request", "invalid_request"),
            ("422 Unprocessable Entity", "invalid_request"),
            // wordings of particular tools
            (
                // PostgreSQL's port: the database (issue 17).
                "curl: (7) Failed to connect to db-1 port 5432 after 3 ms: Couldn't connect to server",
                "db_unreachable_then_named",
            ),
            (
                "Connection to node -1 (kafka/10.0.0.4:9092) could not be established. Broker may not be available.",
                "connection_failed",
            ),
            ("fatal: [web-1]: UNREACHABLE! => {}", "tool_unreachable"),
            (
                "Failed to connect to the host via ssh: app@web-1: Permission denied (publickey,password).",
                "ssh_login_rejected",
            ),
            (
                "smtp: 535 5.7.8 Authentication credentials invalid",
                "unauthenticated",
            ),
            ("remote: Invalid username or password.", "unauthenticated"),
            (
                "toomanyrequests: You have reached your pull rate limit",
                "rate_limited",
            ),
            (
                "java.lang.OutOfMemoryError: Java heap space",
                "out_of_memory_or_disk",
            ),
            (
                "SQLSTATE[23000]: Integrity constraint violation: 1062 Duplicate entry '7' for key 'PRIMARY'",
                "database_statement",
            ),
            (
                "ERROR: Job failed: execution took longer than 1h0m0s seconds",
                "timed_out",
            ),
            ("canceling statement due to statement timeout", "timed_out"),
            ("pool: max_connections=20 idle_timeout=30s", "timeout_word"),
            ("Job timeout: 1h, set by project", "timeout_word"),
            (
                "grpc: code = Unavailable desc = name resolver error",
                "dependency_unavailable",
            ),
            (
                "circuit breaker 'payments' is OPEN; failing fast",
                "dependency_unavailable",
            ),
            (
                "yaml: line 3: mapping values are not allowed in this context",
                "configuration_file",
            ),
            (
                "The task includes an option with an undefined variable.",
                "configuration_file",
            ),
            ("TASK [app : render config] ****", "configuration"),
            ("Missing sudo password", "forbidden"),
            (
                "remote: Permission to acme/shop.git denied to ci-bot.",
                "forbidden",
            ),
            (
                "json: cannot unmarshal string into Go struct field Order.amount of type int64",
                "invalid_request",
            ),
        ];
        let misses: Vec<String> = cases
            .iter()
            .filter_map(|(message, expected)| {
                let hit = match_catalog(message).map(|p| p.name);
                (hit != Some(*expected)).then(|| format!("{message:?}: {hit:?}, not {expected}"))
            })
            .collect();
        assert!(misses.is_empty(), "{misses:#?}");
    }

    #[test]
    fn unrecognised_and_non_ascii_text_matches_nothing() {
        for message in ["", "all good", "something odd happened", "ошибка ✗ 失败"] {
            assert!(match_catalog(message).is_none(), "message: {message:?}");
        }
    }

    #[test]
    fn status_codes_are_found_in_text() {
        let cases: &[(&str, Option<u16>)] = &[
            (
                "HTTP status client error (404 Not Found) for url (http://x/)",
                Some(404),
            ),
            (
                "HTTP status server error (503 Service Unavailable)",
                Some(503),
            ),
            ("status code: 429", Some(429)),
            ("status=500", Some(500)),
            ("got HTTP/1.1 502 from upstream", Some(502)),
            ("HTTP 503 Service Unavailable", Some(503)),
            ("error 401", Some(401)),
            ("status: 200", None),
            ("status: 4000", None),
            ("took 500 ms", None),
            ("port 443 closed", None),
        ];
        for (text, expected) in cases {
            assert_eq!(status_in_text(text), *expected, "text: {text:?}");
        }
    }

    #[test]
    fn retry_hints_are_found_in_text() {
        let cases: &[(&str, Option<Duration>)] = &[
            (
                "Rate limit reached. Please try again in 20s.",
                Some(Duration::from_secs(20)),
            ),
            ("try again in 1.5s", Some(Duration::from_millis(1500))),
            ("Retry-After: 7", Some(Duration::from_secs(7))),
            ("retry after 250ms", Some(Duration::from_millis(250))),
            ("retry in 2 minutes", Some(Duration::from_secs(120))),
            ("try again later", None),
            ("retry after soon", None),
        ];
        for (text, expected) in cases {
            assert_eq!(retry_hint_in_text(text), *expected, "text: {text:?}");
        }
    }
}
