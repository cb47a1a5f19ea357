//! Messages that name no operational cause: a program's own bug (a nil
//! dereference, an index out of range, a type error), startup banners and
//! routine reports, and headings whose status the lines below them explain.
//!
//! They would otherwise be caught by a broad word they happen to contain
//! (`invalid memory address` is not a validation error, `deadlock!` among
//! goroutines is not the database's, `database system is ready` reports
//! nothing). Matching them first, as `Unknown`, leaves the diagnosis to a
//! line that does name a cause, or to a human: an honest `unknown` beats a
//! confident wrong category.
//!
//! They come after the software families (a panic that names its cause,
//! `panic: listen tcp :8080: bind: address already in use`, keeps it) and
//! before the general catalog, whose broad words they shadow.

use super::category::Category::Unknown;
use super::families::{FamilyRule, rule};

/// The program's own bugs: evidence that the failure has no operational
/// cause, so a diagnosis may name such a line (as `unknown`, with its
/// reason) rather than a broad word elsewhere (`--config` in the command
/// line that crashed, a servlet's `threw exception` heading).
pub(crate) const PROGRAM_BUGS: &[FamilyRule] = &[rule(
    "runtime_bug",
    r#"panic: runtime error: (?:invalid memory address|index out of range|slice bounds out of range|integer divide by zero|assignment to entry in nil map|makeslice)|all goroutines are asleep|\bnullpointerexception\b|\bnullreferenceexception\b|object reference not set to an instance of an object|arrayindexoutofboundsexception|stringindexoutofboundsexception|classcastexception|arithmeticexception|stackoverflowerror|uncaught (?:typeerror|argumentcounterror|divisionbyzeroerror)|typeerror: cannot read propert(?:y|ies) of (?:undefined|null)|typeerror: [a-z_$][a-z0-9_$.]* is not a function|attributeerror: 'nonetype' object|typeerror: 'nonetype' object|zerodivisionerror|indexerror: list index out of range|undefined method [ -~]+ for nil|called `option::unwrap\(\)` on a `none` value|attempt to (?:add|subtract|multiply|divide) with overflow|index out of bounds: the len is|concurrentmodificationexception|sequence contains (?:no|more than one) (?:matching )?elements?|\bkeynotfoundexception\b|\bindexoutofrangeexception\b|\bnosuchelementexception\b|malloc\(\): [a-z ]*corrupt|double free or corruption|free\(\): invalid (?:pointer|size)"#,
    Unknown,
    false,
    "the program's own bug (nil or null dereference, bad index, a missing key or element, type error, a goroutine deadlock): a code fix, not an operational remedy",
    "panic: runtime error: invalid memory address or nil pointer dereference",
)];

/// Banners, routine reports and headings: no evidence of anything, so
/// nothing recognises a line they match.
pub(crate) const NO_CAUSE: &[FamilyRule] = &[
    rule(
        "startup_banner",
        r"database system is ready to accept connections|starting postgresql [0-9]|listening on (?:ipv[46] address|unix socket)|ready for connections\.? *version:|\bready to accept connections\b|waiting for connections on port|memory overcommit must be enabled|overcommit_memory is set to 0|no config file specified, using the default config|configured -- resuming normal operations",
        Unknown,
        false,
        "a server announcing that it is up, with its routine startup advice: whatever words (database, memory, config) it uses",
        "2026-12-01 10:00:00.114 UTC [1] LOG:  database system is ready to accept connections",
    ),
    rule(
        "routine_report",
        r"not yet due for renewal|is buffered to a temporary file|no renewals were attempted|all (?:simulated )?renewals succeeded|cache not found for input keys",
        Unknown,
        false,
        "a routine report (certbot's renewal run in which nothing needed doing, nginx buffering a large response to disk, a CI cache miss): the words certificate, upstream or not found in it are no problem",
        "Certificate not yet due for renewal",
    ),
    // An access-log line is read by its status: a request answered with a
    // 2xx or 3xx (HAProxy's `----`: it ended normally) whatever its URL says.
    rule(
        "served_request",
        r#"http/[0-9.]+" [23][0-9]{2} |[0-9]+/[0-9]+/[0-9]+/[0-9]+/\+?[0-9]+ [23][0-9]{2} [0-9]+ [!-~]+ [!-~]+ ---- "#,
        Unknown,
        false,
        "an access-log line for a request that was served (a 2xx or 3xx status, HAProxy's normal termination): the words in its URL (timeout, error) are the request's, not a failure",
        r#"10.0.3.7 - - [01/Dec/2026:10:14:22 +0000] "GET /api/v1/errors/timeout-report?since=24h HTTP/1.1" 200 4411 "-" "grafana/10.2.2""#,
    ),
    rule(
        "passing_report",
        r"[a-z0-9_]\(\) passed\b|::[a-z0-9_\[\]-]+ passed\b|--- pass: |(?:finished|completed|succeeded)[ -~]*\b0 errors, 0 failures\b|(?:finished|completed|succeeded)[ -~]*\berrors=0$|\bup [ -~]{1,30} \(healthy\)",
        Unknown,
        false,
        "a report that things went well (a passing test whose name mentions a failure, a run finished with 0 errors, a container up and healthy): no failure, whatever words it holds",
        "OutOfMemoryErrorHandlerTest > rejectsOversizedPayload() PASSED",
    ),
    // Vault's CLI and API client print `Error making API request.`, the URL,
    // then `Code: 403. Errors:` and a list (`* permission denied`, `*
    // missing client token`): the list names the cause, the status alone
    // would file a missing token as a permission problem.
    rule(
        "error_list_heading",
        r"code: [0-9]{3}\. errors:",
        Unknown,
        false,
        "Vault's heading over its list of errors: the status code in it is less precise than the errors listed below it",
        "Code: 403. Errors:",
    ),
];

#[cfg(test)]
mod tests {
    use super::super::patterns::match_catalog;
    use super::*;

    #[test]
    fn a_heading_or_a_routine_report_is_no_evidence_even_with_a_status() {
        use super::super::classifier::ErrorClassifier;
        let classifier = ErrorClassifier::new();
        for text in [
            "Code: 403. Errors:",
            "  | Code: 400. Errors:",
            "Certificate not yet due for renewal",
            "2026-12-01 06:00:04.118 UTC [1] LOG:  starting PostgreSQL 16.1 (Debian 16.1-1.pgdg120+1) on x86_64-pc-linux-gnu",
            "2026-12-01 06:00:04.121 UTC [1] LOG:  listening on IPv4 address \"0.0.0.0\", port 5432",
            "10.0.3.7 - - [01/Dec/2026:10:14:22 +0000] \"GET /api/errors/timeout HTTP/1.1\" 200 44 \"-\" \"curl/8\"",
            "Dec  1 17:02:11 lb-1 haproxy[902]: 10.0.7.88:49001 [01/Dec/2026:17:02:11.001] fe be/s1 0/0/1/14/15 200 1211 - - ---- 9/9/2/0/0 0/0 \"GET /q?timeout HTTP/1.1\"",
            "ConnectionRefusedRetryTest > retriesThreeTimes() PASSED",
            "job finished: 812 rows, 0 errors, 0 failures (deadlock_retries=0)",
            "shop-db-1     postgres:16      Up 3 hours (healthy)      5432/tcp",
        ] {
            assert_eq!(classifier.recognise(text), None, "{text}");
        }
        // A failure reported beside a count of zero errors is still one.
        assert!(
            classifier
                .recognise("Build completed with 0 errors; deploy step timed out after 300s")
                .is_some()
        );
    }

    #[test]
    fn a_program_bug_is_evidence_of_no_operational_cause() {
        use super::super::classifier::ErrorClassifier;
        use super::super::recognition::Basis;
        let classifier = ErrorClassifier::new();
        for text in [
            "malloc(): corrupted top size",
            "java.util.ConcurrentModificationException: null",
            "panic: runtime error: invalid memory address or nil pointer dereference",
        ] {
            let hit = classifier.recognise(text).expect("recognised");
            assert_eq!(hit.category, Unknown, "{text}");
            assert_eq!(hit.basis, Basis::Pattern("runtime_bug"), "{text}");
        }
    }

    #[test]
    fn a_crash_that_names_its_cause_keeps_it() {
        let cases = [
            "panic: listen tcp :8080: bind: address already in use",
            "thread 'main' panicked at src/main.rs:9:5: called `Result::unwrap()` on an `Err` value: Os { code: 13, kind: PermissionDenied, message: \"Permission denied\" }",
            "fatal error: runtime: out of memory",
        ];
        for text in cases {
            let hit = match_catalog(text).expect("recognised");
            assert_ne!(hit.assessment.category, Unknown, "{text}");
        }
    }
}
