//! The whole-log reading: every line classified, the recognised ones mined
//! into templates, without paying per line for the healthy majority.
//!
//! One automaton (every built-in pattern and user rule as one alternation,
//! the same ones [`ErrorClassifier::recognise`] uses) searches the whole
//! buffer, as `grep` does; only lines it hits are cut out, classified and
//! templated. A line it misses cannot be recognised, so nothing is lost.

use std::collections::HashMap;

use medic_resilience::classify::{Category, ErrorClassifier, builtin_patterns};
use regex::bytes::{Regex, RegexBuilder};

use super::level::{Level, level_of};
use super::template::TemplateMiner;

/// Reads whole logs with one classifier.
#[derive(Debug, Clone)]
pub struct LogScanner {
    classifier: ErrorClassifier,
    /// Every pattern that can recognise a line; `None` when the alternation
    /// would not compile (then every line is classified on its own).
    prefilter: Option<Regex>,
}

/// One automaton for every pattern that can recognise a line: the user's
/// rules, then the built-in catalog.
fn prefilter_for(classifier: &ErrorClassifier) -> Result<Regex, regex::Error> {
    let alternatives: Vec<String> = classifier
        .rules()
        .iter()
        .map(|rule| format!("(?i:{})", rule.pattern.as_str()))
        .chain(
            builtin_patterns()
                .into_iter()
                .map(|p| format!("(?i-u:{p})")),
        )
        .collect();
    RegexBuilder::new(&alternatives.join("|"))
        // `^`/`$` in a user rule mean the line's ends, as they do per line.
        .multi_line(true)
        .size_limit(64 << 20)
        .dfa_size_limit(16 << 20)
        .build()
}

/// What a scan found.
#[derive(Debug, Clone, Default)]
pub struct ScanReport {
    /// Bytes read.
    pub bytes: u64,
    /// Lines read (a last line without `\n` counts).
    pub lines: u64,
    /// Lines the classifier recognised.
    pub recognised: u64,
    /// Recognised lines by category.
    pub by_category: HashMap<Category, u64>,
    /// Recognised lines by level (`None`: the line states none).
    pub by_level: HashMap<Option<Level>, u64>,
    /// The recognised lines, grouped into templates.
    pub templates: TemplateMiner,
}

impl LogScanner {
    /// A scanner for `classifier`'s user rules and the built-in catalog.
    ///
    /// ```
    /// use medic_engine::logs::LogScanner;
    /// use medic_resilience::classify::{Category, ErrorClassifier};
    /// let scanner = LogScanner::new(ErrorClassifier::new());
    /// let mut report = Default::default();
    /// scanner.scan(b"INFO ok\nERROR dial tcp 10.0.0.1:80: connection refused\nINFO ok\n", &mut report);
    /// assert_eq!((report.lines, report.recognised), (3, 1));
    /// assert_eq!(report.by_category[&Category::Network], 1);
    /// ```
    pub fn new(classifier: ErrorClassifier) -> Self {
        let prefilter = prefilter_for(&classifier).ok();
        Self {
            classifier,
            prefilter,
        }
    }

    /// Reads `text` (whole lines; a chunk may end mid-line only at the end
    /// of the log) into `report`. Invalid UTF-8 is read lossily.
    pub fn scan(&self, text: &[u8], report: &mut ScanReport) {
        report.bytes += text.len() as u64;
        report.lines += count_lines(text);
        let Some(prefilter) = &self.prefilter else {
            for line in text.split(|&b| b == b'\n') {
                self.read_line(line, report);
            }
            return;
        };
        let mut from = 0;
        while let Some(hit) = prefilter.find_at(text, from) {
            let start =
                memchr::memrchr(b'\n', &text[..hit.start()]).map_or(0, |newline| newline + 1);
            let end = memchr::memchr(b'\n', &text[hit.end()..])
                .map_or(text.len(), |offset| hit.end() + offset);
            // A rule with `\s` may match across a line break: read each line.
            for line in text[start..end].split(|&b| b == b'\n') {
                self.read_line(line, report);
            }
            from = end + 1;
            if from >= text.len() {
                break;
            }
        }
    }

    fn read_line(&self, line: &[u8], report: &mut ScanReport) {
        let line = String::from_utf8_lossy(line);
        let Some(recognition) = self.classifier.recognise(&line) else {
            return;
        };
        report.recognised += 1;
        *report.by_category.entry(recognition.category).or_default() += 1;
        *report.by_level.entry(level_of(&line)).or_default() += 1;
        report.templates.add(&line);
    }
}

/// Newlines, plus one for a last line without its own.
fn count_lines(text: &[u8]) -> u64 {
    let newlines = memchr::memchr_iter(b'\n', text).count() as u64;
    newlines + u64::from(text.last().is_some_and(|&b| b != b'\n'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use medic_resilience::classify::ClassificationRule;
    use proptest::prelude::*;

    #[test]
    fn the_built_in_catalog_fits_one_prefilter() {
        // Without it every line is classified on its own: correct, but
        // about ten times slower (the log_throughput bench's goal fails).
        if let Err(error) = prefilter_for(&ErrorClassifier::new()) {
            panic!("the catalog no longer fits one prefilter: {error}");
        }
    }

    const LOG: &str = "\
2026-11-26T08:00:00Z INFO  http: GET /healthz 200 3ms
2026-11-26T08:00:01Z ERROR db: connect to 10.0.0.1:5432 failed: Connection refused
2026-11-26T08:00:02Z INFO  pool: max_connections=20 idle_timeout=30s
2026-11-26T08:00:03Z ERROR db: connect to 10.0.0.2:5432 failed: Connection refused
2026-11-26T08:00:04Z WARN  ledger sealed until midnight
last line without newline";

    #[test]
    fn the_scan_agrees_with_classifying_each_line() {
        let classifier = ErrorClassifier::new().with_rule(
            ClassificationRule::new("ledger", "ledger sealed", Category::Dependency)
                .expect("valid"),
        );
        let scanner = LogScanner::new(classifier.clone());
        let mut report = ScanReport::default();
        scanner.scan(LOG.as_bytes(), &mut report);
        let expected = LOG
            .lines()
            .filter(|line| classifier.recognise(line).is_some())
            .count() as u64;
        assert_eq!(report.lines, 6);
        assert_eq!(report.recognised, expected);
        assert_eq!(report.recognised, 4);
        // Refusals on PostgreSQL's port are the database (issue 17).
        assert_eq!(report.by_category[&Category::Database], 2);
        assert_eq!(report.by_category[&Category::Dependency], 1);
        assert_eq!(report.by_level[&Some(Level::Error)], 2);
        // Both refusals share one template.
        assert_eq!(report.templates.clusters().len(), 3);
    }

    proptest! {
        #[test]
        fn scanning_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let scanner = LogScanner::new(ErrorClassifier::new());
            let mut report = ScanReport::default();
            scanner.scan(&bytes, &mut report);
            prop_assert!(report.recognised <= report.lines);
        }
    }
}
