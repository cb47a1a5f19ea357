//! Which line of a failure's window caused it, and how sure to be.
//!
//! Every line is read twice: its [`Level`] (what its writer called it) and
//! its [`Recognition`] (what the catalog or a user rule makes of it). The
//! root cause is the first line of the best rank:
//!
//! 1. a line that names its failure precisely (a user rule, a catalog
//!    phrase, a meaningful status), unless it is routine (INFO and quieter);
//!    error-level lines first, then warnings, then lines with no level;
//! 2. a line at error level recognised only by a broad word (`500 Internal
//!    Server Error`, `config`), or by nothing: the first error decides, and
//!    when nothing recognises it the failure is unknown; saying so beats
//!    guessing from a weak word elsewhere;
//! 3. a warning recognised by a broad word (`WARN job timeout: 1h`), or an
//!    unmarked one that says in its own words that something failed
//!    (`render config failed`). An unmarked line whose broad word is only a
//!    name (`=== RUN TestRetryOnTimeout`, `Config loaded from app.conf`,
//!    `TASK [render config]`) is no evidence: on blind set 6, before this
//!    rule, such lines named a category more often wrongly than rightly;
//! 4. a routine line recognised by a specific phrase. A routine line with
//!    only a broad word is no evidence at all (`INFO pool: idle_timeout=30s`
//!    mentions a timeout, it does not report one).
//!
//! Within a rank the earliest line wins: the first failure usually causes the
//! rest. One refinement mirrors `ErrorClassifier::classify_http`: a 400 or 403
//! status whose response says it is a rate limit (as GitHub's does) is a rate
//! limit.

use std::sync::LazyLock;

use medic_resilience::classify::{Basis, Category, ErrorClassifier, Recognition};
use regex::Regex;

use super::level::{Level, level_of};

/// What one line of the window says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineFacts {
    /// The line's level, when it states one.
    pub level: Option<Level>,
    /// What recognises the line, if anything does.
    pub recognition: Option<Recognition>,
    /// Whether what recognised the line reports a failure: anything but a
    /// catalog's broad word does (a status code is a failed response); a
    /// broad word does on a warning or an error, or on a line that says in
    /// its own words that something failed (`error`, `failed`, ...).
    reports_failure: bool,
}

/// The words a line uses to report a failure, whatever its subject.
static FAILURE_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    // A constant pattern, exercised by every test of this module.
    #[allow(clippy::expect_used)]
    Regex::new(
        r"(?i-u)\b(?:err(?:or|ors|no)?|fail(?:ed|ure|ures|s|ing)?|fatal|panic(?:ked|s)?|exception|abort(?:ed|ing|s)?|crash(?:ed|es|ing)?|can ?not|can't|couldn'?t|could not|unable|refus(?:ed|es|ing)|denied|reject(?:ed|s|ing)?|exceed(?:ed|s|ing)?|invalid|missing|wrong|incorrect|unexpected|corrupt(?:ed|ion)?|mismatch(?:ed)?|unhealthy|timed ?out|not (?:found|allowed|permitted|available|ready|running|responding|reachable|provided|set|defined)|unavailable|unreachable|no such|too (?:many|large|long|low|high|old)|out of (?:memory|space|disk|range|sync)|did ?n[o']?t|required|due to|reached|kill(?:ed|ing)?|cancel(?:l?ed|ling|ing)?|interrupt(?:ed)?|terminat(?:ed|ing)|expired|lost|giving up|gave up|retrying|exit (?:status|code)|stopped|warn(?:ing)?)\b",
    )
    .expect("the failure words compile")
});

/// Lines that say what was run or that something passed: a command echoed
/// by a shell (`+ cmd`, `$ cmd`) or a CI runner (`Run cmd`, a command
/// word after it), and a test runner's pass lines (`--- PASS`, Go's `ok
/// <package>`). Their words are arguments and names (`pytest -k "timeout
/// or oom"`, a package called `ratelimit`), never a report of a failure.
/// The user's own rules still apply to them.
static RUN_OR_PASS: LazyLock<Regex> = LazyLock::new(|| {
    // A constant pattern, exercised by every test of this module.
    #[allow(clippy::expect_used)]
    Regex::new(
        r"^\s*(?:\+{1,3} |\$ |Run [a-z./]|--- PASS\b|ok\s+[!-~]+\s+(?:[0-9.]+s|\(cached\))\s*$)",
    )
    .expect("the run-or-pass pattern compiles")
});

impl LineFacts {
    /// Reads one line. A line that echoes a command or reports a pass is
    /// recognised only by a user rule (`RUN_OR_PASS`).
    pub fn read(classifier: &ErrorClassifier, line: &str) -> Self {
        let level = level_of(line);
        let recognition = classifier
            .recognise(line)
            .filter(|r| matches!(r.basis, Basis::Rule(_)) || !RUN_OR_PASS.is_match(line));
        let broad_and_unmarked =
            level.is_none() && recognition.is_some_and(|r| matches!(r.basis, Basis::Word(_)));
        Self {
            level,
            recognition,
            reports_failure: !broad_and_unmarked || FAILURE_WORDS.is_match(line),
        }
    }

    /// Whether the line's writer called it routine (INFO or quieter).
    fn is_routine(&self) -> bool {
        self.level.is_some_and(Level::is_routine)
    }

    fn is_error(&self) -> bool {
        self.level.is_some_and(Level::is_error)
    }

    /// Error 0, warning 1, no level 2, routine 3.
    fn loudness(&self) -> u8 {
        match self.level {
            Some(level) if level.is_error() => 0,
            Some(Level::Warn) => 1,
            None => 2,
            Some(_) => 3,
        }
    }

    /// The line's place in the ranking of the module docs; lower is better.
    fn rank(&self) -> Option<(u8, u8)> {
        let loudness = self.loudness();
        match self.recognition {
            // A broad word on a routine line (`INFO retry timeout=30s`) is a
            // setting being logged, not a failure: no evidence at all.
            Some(r) if self.is_routine() => r.is_specific().then_some((4, 0)),
            Some(r) if r.is_specific() => Some((1, loudness)),
            _ if self.is_error() => Some((2, 0)),
            Some(_) if self.reports_failure => Some((3, loudness)),
            _ => None,
        }
    }
}

/// Reads every line of a window.
pub fn read_lines<S: AsRef<str>>(classifier: &ErrorClassifier, lines: &[S]) -> Vec<LineFacts> {
    lines
        .iter()
        .map(|line| LineFacts::read(classifier, line.as_ref()))
        .collect()
}

/// The index of the root-cause line, or `None` when no line is either
/// recognised as evidence (see the module docs: a broad word on a routine
/// line, or on an unmarked one that reports nothing, is none) or at error
/// level. The chosen line may be unrecognised (an
/// error nothing explains): its category is then unknown.
///
/// ```
/// use medic_engine::logs::{choose_root_cause, read_lines};
/// use medic_resilience::classify::ErrorClassifier;
/// let lines = [
///     "INFO  pool: max_connections=20 idle_timeout=30s",
///     "ERROR inventory: dial tcp 10.0.0.7:8080: connect: connection refused",
///     "ERROR request 7f3a failed: 500 Internal Server Error",
/// ];
/// let facts = read_lines(&ErrorClassifier::new(), &lines);
/// assert_eq!(choose_root_cause(&facts), Some(1));
/// ```
pub fn choose_root_cause(facts: &[LineFacts]) -> Option<usize> {
    let chosen = facts
        .iter()
        .enumerate()
        .filter_map(|(index, line)| line.rank().map(|rank| (rank, index)))
        .min()
        .map(|(_, index)| index)?;
    Some(rate_limit_behind_status(facts, chosen).unwrap_or(chosen))
}

/// A 400/403 status line chosen while another line of the response says it
/// is a rate limit: that line.
fn rate_limit_behind_status(facts: &[LineFacts], chosen: usize) -> Option<usize> {
    let status = facts.get(chosen)?.recognition?.basis;
    if !matches!(status, Basis::Status(400 | 403)) {
        return None;
    }
    facts.iter().position(|line| {
        !line.is_routine()
            && line
                .recognition
                .is_some_and(|r| r.category == Category::RateLimit)
    })
}

/// How sure a diagnosis from `facts[root]` is, in [0, 1].
///
/// | evidence | confidence |
/// |---|---|
/// | nothing recognises the root cause | 0 |
/// | a broad word / a specific phrase or status / a user rule | 0.5 / 0.7 / 0.8 |
/// | … on a line its writer marked as an error | + 0.1 |
/// | … on a routine (INFO) line | − 0.3 |
/// | each other non-routine line of the same category that is evidence | + 0.05, at most + 0.1 |
///
/// capped at 0.95: rules never know for certain.
///
/// ```
/// use medic_engine::logs::{confidence, read_lines};
/// use medic_resilience::classify::ErrorClassifier;
/// let facts = read_lines(&ErrorClassifier::new(), &[
///     "ERROR connect: connection refused",
///     "ERROR connect: connection refused",
/// ]);
/// assert_eq!(confidence(&facts, 0), 0.85);
/// ```
pub fn confidence(facts: &[LineFacts], root: usize) -> f64 {
    let Some(line) = facts.get(root) else {
        return 0.0;
    };
    let Some(recognition) = line.recognition else {
        return 0.0;
    };
    let mut hundredths: i32 = match recognition.basis {
        Basis::Rule(_) => 80,
        _ if recognition.is_specific() => 70,
        _ => 50,
    };
    if line.is_error() {
        hundredths += 10;
    }
    if line.is_routine() {
        hundredths -= 30;
    }
    let agreeing = facts
        .iter()
        .enumerate()
        .filter(|(index, other)| {
            *index != root
                && !other.is_routine()
                && other.recognition.is_some_and(|r| {
                    r.category == recognition.category && (r.is_specific() || other.reports_failure)
                })
        })
        .count();
    hundredths += 5 * i32::try_from(agreeing.min(2)).unwrap_or(2);
    f64::from(hundredths.clamp(0, 95)) / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use medic_resilience::classify::ClassificationRule;

    fn root_of(lines: &[&str]) -> Option<usize> {
        choose_root_cause(&read_lines(&ErrorClassifier::new(), lines))
    }

    #[test]
    fn routine_lines_that_mention_a_failure_word_lose_to_a_real_error() {
        let lines = [
            "2026-11-21T19:39:43.216Z INFO  pool: max_connections=20 idle_timeout=30s",
            "2026-11-21T19:39:47.394Z DEBUG worker-39 picked job a450dd59",
            "2026-11-21T19:39:48.025Z ERROR inventory: dial tcp 10.8.42.10:9092: connect: connection refused",
            "2026-11-21T19:39:49.000Z INFO  pool: max_connections=20 idle_timeout=30s",
        ];
        assert_eq!(root_of(&lines), Some(2));
    }

    #[test]
    fn a_routine_line_is_chosen_only_when_nothing_else_is_there() {
        assert_eq!(
            root_of(&["INFO disk: No space left on device", "INFO ok"]),
            Some(0)
        );
        assert_eq!(root_of(&["INFO ok", "DEBUG fine"]), None);
    }

    #[test]
    fn a_broad_word_on_a_routine_line_is_no_evidence() {
        // A setting being logged mentions a timeout; it does not report one.
        assert_eq!(
            root_of(&["INFO retry policy: attempts=3 timeout=10s", "INFO ok"]),
            None
        );
    }

    #[test]
    fn a_broad_word_in_a_name_is_no_evidence() {
        // A test's name, a config file being loaded, a plan refreshing a
        // resource named after timeouts: words, not reports.
        for line in [
            "=== RUN   TestClient_RetryOnTimeout",
            "upstream backend { server 10.0.0.7 max_fails=3 fail_timeout=30s; }",
            "1733570011: Config loaded from /mosquitto/config/mosquitto.conf.",
            "aws_sns_topic.oncall_timeouts: Refreshing state... [id=oncall-timeouts]",
        ] {
            assert_eq!(root_of(&[line]), None, "{line}");
        }
        // The same words in a report of a failure are evidence.
        assert_eq!(
            root_of(&["render config failed: template missing"]),
            Some(0)
        );
        assert_eq!(root_of(&["WARN job timeout: 1h"]), Some(0));
    }

    #[test]
    fn a_command_echoed_or_a_test_passed_is_no_evidence() {
        for line in [
            "Run pytest -q -k \"timeout or deadlock or oom\"",
            "+ curl --max-time 5 https://api.example.com/limits?rate_limit=1",
            "$ kubectl logs deploy/oom-watcher",
            "--- PASS: TestBackoff_On429 (0.00s)",
            "ok  \tgithub.com/acme/api/internal/ratelimit\t0.412s",
        ] {
            assert_eq!(root_of(&[line]), None, "{line}");
        }
        // The user's own rule still reads an echoed command.
        let classifier = ErrorClassifier::new().with_rule(
            ClassificationRule::new("r", "restore-from-backup", Category::Database).expect("valid"),
        );
        let echo = ["+ ./restore-from-backup --latest"];
        assert_eq!(choose_root_cause(&read_lines(&classifier, &echo)), Some(0));
        // A run that failed is a report, not an echo.
        assert_eq!(
            root_of(&["Run 4411 failed: container OOMKilled (exit 137)"]),
            Some(0)
        );
        // What the command printed is read as usual.
        let lines = [
            "+ apt-get install -y ffmpeg",
            "E: You don't have enough free space in /var/cache/apt/archives/.",
        ];
        assert_eq!(root_of(&lines), Some(1));
    }

    #[test]
    fn an_unrecognised_error_beats_a_broad_word_elsewhere() {
        let lines = [
            "TASK [app : render config] *****",
            "fatal: [web-1]: FAILED! => {\"changed\": true, \"rc\": 1}",
        ];
        assert_eq!(root_of(&lines), Some(1));
    }

    #[test]
    fn a_crash_in_the_program_itself_beats_a_broad_word_after_it() {
        // glibc's heap check names a bug; `--config` in the shell's report
        // of the crash is an argument, not a configuration problem.
        let lines = [
            "malloc(): corrupted top size",
            "./run.sh: line 8:  2231 Aborted (core dumped) ./tileserver --config tiles.json",
        ];
        assert_eq!(root_of(&lines), Some(0));
    }

    #[test]
    fn a_heading_loses_to_the_cause_it_heads() {
        // apk's `unable to select packages` heads the list; the failed
        // index download above it says why.
        let lines = [
            "fetch https://dl-cdn.alpinelinux.org/alpine/v3.20/main/x86_64/APKINDEX.tar.gz",
            "WARNING: fetching https://dl-cdn.alpinelinux.org/alpine/v3.20/main: temporary error (try again later)",
            "ERROR: unable to select packages:",
        ];
        assert_eq!(root_of(&lines), Some(1));
    }

    #[test]
    fn among_vague_errors_the_first_decides() {
        let lines = [
            "ERROR worker-3 exited with status 3",
            "ERROR request 42 failed: 500 Internal Server Error",
        ];
        assert_eq!(root_of(&lines), Some(0));
        assert_eq!(root_of(&[lines[1], lines[0]]), Some(0));
    }

    #[test]
    fn a_precise_warning_beats_a_generic_error_that_follows_it() {
        let lines = [
            "WARN  upstream cache-2: read: connection reset by peer",
            "ERROR request 42 failed: 500 Internal Server Error",
        ];
        assert_eq!(root_of(&lines), Some(0));
    }

    #[test]
    fn exception_heads_are_errors_and_stack_frames_are_not() {
        let lines = [
            "\tat java.base/java.net.Socket.connect(Socket.java:633)",
            "java.net.SocketTimeoutException: Read timed out",
            "\tat java.base/sun.nio.ch.NioSocketImpl.timedRead(NioSocketImpl.java:288)",
        ];
        let facts = read_lines(&ErrorClassifier::new(), &lines);
        assert_eq!(facts[1].level, Some(Level::Error));
        assert_eq!(choose_root_cause(&facts), Some(1));
        let lines = [
            "Traceback (most recent call last):",
            "  File \"x.py\", line 3",
        ];
        assert_eq!(root_of(&lines), Some(0));
    }

    #[test]
    fn json_logs_are_read_by_their_level_field() {
        let lines = [
            r#"{"ts":"2026-11-26T08:00:00Z","level":"info","msg":"request timeout set to 30s"}"#,
            r#"{"ts":"2026-11-26T08:00:01Z","level":"error","msg":"write /data/x: no space left on device"}"#,
        ];
        let facts = read_lines(&ErrorClassifier::new(), &lines);
        assert_eq!(facts[0].level, Some(Level::Info));
        assert_eq!(choose_root_cause(&facts), Some(1));
    }

    #[test]
    fn the_earliest_line_of_the_best_rank_wins() {
        let lines = [
            "ERROR dial tcp 10.0.0.1:5432: connection refused",
            "ERROR write /x: no space left on device",
        ];
        assert_eq!(root_of(&lines), Some(0));
    }

    #[test]
    fn the_cause_below_a_heading_decides() {
        // anyhow's `Caused by:` list under reqwest's wrapper: the timeout.
        let lines = [
            "Error: sending charge request",
            "",
            "Caused by:",
            "    0: error sending request for url (https://api.example/v1/charges)",
            "    1: operation timed out",
        ];
        assert_eq!(root_of(&lines), Some(4));
        // Vault's error block: the listed error, not the status heading it.
        let lines = [
            "Error listing secrets engines: Error making API request.",
            "",
            "URL: GET http://127.0.0.1:8200/v1/sys/mounts",
            "Code: 403. Errors:",
            "",
            "* missing client token",
        ];
        assert_eq!(root_of(&lines), Some(5));
    }

    #[test]
    fn a_403_that_says_rate_limit_is_a_rate_limit() {
        let lines = [
            "< HTTP/2 403",
            "{\"message\":\"API rate limit exceeded for 10.0.0.1.\"}",
        ];
        assert_eq!(root_of(&lines), Some(1));
        assert_eq!(
            root_of(&["< HTTP/2 403", "{\"message\":\"nope\"}"]),
            Some(0)
        );
    }

    proptest::proptest! {
        #[test]
        fn any_window_gets_a_root_cause_inside_it(lines in proptest::collection::vec(".{0,120}", 0..12)) {
            let facts = read_lines(&ErrorClassifier::new(), &lines);
            if let Some(root) = choose_root_cause(&facts) {
                proptest::prop_assert!(root < lines.len());
                let c = confidence(&facts, root);
                proptest::prop_assert!((0.0..=0.95).contains(&c));
            }
        }
    }

    #[test]
    fn confidence_grows_with_specificity_level_and_agreement() {
        let classifier = ErrorClassifier::new().with_rule(
            ClassificationRule::new("r", "ledger sealed", Category::Dependency).expect("valid"),
        );
        let one = |line: &str| confidence(&read_lines(&classifier, &[line]), 0);
        let rule = one("WARN ledger sealed");
        let specific = one("WARN connection refused");
        let generic = one("WARN config thing");
        let routine = one("INFO connection refused");
        let unknown = one("ERROR something odd");
        assert!(rule > specific && specific > generic && generic > routine && routine > unknown);
        assert_eq!(unknown, 0.0);
        assert!(one("ERROR connection refused") > specific);
        let agreeing = confidence(
            &read_lines(
                &classifier,
                &["WARN connection refused", "ERROR connection reset by peer"],
            ),
            0,
        );
        assert!(agreeing > specific);
        let many = vec!["ERROR connection refused"; 10];
        assert!(confidence(&read_lines(&classifier, &many), 0) <= 0.95);
    }
}
