use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use medic_engine::config::LogWatch;
use medic_model::SignalSource;
use medic_probe::log::{LogMatch, LogTail, LogTailError};

fn watch(path: &Path, tail_lines: u32, patterns: &[&str]) -> LogWatch {
    LogWatch {
        path: path.display().to_string(),
        tail_lines,
        patterns: patterns.iter().map(|p| p.to_string()).collect(),
        threshold: 2,
        window: medic_engine::config::HumanDuration::new(std::time::Duration::from_secs(30)),
    }
}

fn append(path: &Path, bytes: &[u8]) {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open log for append");
    file.write_all(bytes).expect("append");
}

fn lines(matches: &[LogMatch]) -> Vec<&str> {
    matches.iter().map(|m| m.line.as_str()).collect()
}

fn log_in(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("service.log")
}

#[test]
fn lines_already_in_the_file_are_history() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = log_in(&dir);
    append(&path, b"ERROR from yesterday\n");
    let mut tail = LogTail::new(&watch(&path, 10, &["ERROR"])).expect("tail");
    assert!(tail.poll().expect("poll").is_empty());
    append(&path, b"INFO fine\nERROR database is down\n");
    assert_eq!(
        lines(&tail.poll().expect("poll")),
        ["ERROR database is down"]
    );
    assert!(tail.poll().expect("poll").is_empty(), "nothing new");
    assert_eq!(tail.recent(), ["INFO fine", "ERROR database is down"]);
}

#[test]
fn a_partial_line_waits_for_its_newline() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = log_in(&dir);
    File::create(&path).expect("create");
    let mut tail = LogTail::new(&watch(&path, 10, &["ERROR"])).expect("tail");
    append(&path, b"ERR");
    assert!(tail.poll().expect("poll").is_empty());
    assert!(tail.recent().is_empty());
    append(&path, b"OR half written\r\n");
    assert_eq!(lines(&tail.poll().expect("poll")), ["ERROR half written"]);
}

#[test]
fn a_match_carries_up_to_three_lines_before_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = log_in(&dir);
    File::create(&path).expect("create");
    let mut tail = LogTail::new(&watch(&path, 1, &["panic", "ERROR"])).expect("tail");
    append(
        &path,
        b"ERROR first\na\nb\nc\nd\nthread main panicked: panic at x\n",
    );
    let matches = tail.poll().expect("poll");
    assert_eq!(matches.len(), 2);
    assert_eq!(matches[0].context, Vec::<String>::new());
    assert_eq!(matches[1].context, ["b", "c", "d"]);
    assert_eq!(
        tail.recent(),
        ["thread main panicked: panic at x"],
        "tail_lines = 1"
    );
}

#[test]
fn the_recent_ring_keeps_the_last_tail_lines() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = log_in(&dir);
    File::create(&path).expect("create");
    let mut tail = LogTail::new(&watch(&path, 5, &[])).expect("tail");
    for i in 0..20 {
        append(&path, format!("line {i}\n").as_bytes());
    }
    assert!(
        tail.poll().expect("poll").is_empty(),
        "no patterns, no matches"
    );
    assert_eq!(
        tail.recent(),
        ["line 15", "line 16", "line 17", "line 18", "line 19"]
    );
}

#[test]
fn rotation_finishes_the_old_file_then_reads_the_new_one_from_its_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = log_in(&dir);
    append(&path, b"old history\n");
    let mut tail = LogTail::new(&watch(&path, 10, &["ERROR"])).expect("tail");
    append(&path, b"ERROR just before rotation\n");
    fs::rename(&path, dir.path().join("service.log.1")).expect("rotate");
    append(&path, b"ERROR in the new file\n");
    assert_eq!(
        lines(&tail.poll().expect("poll")),
        ["ERROR just before rotation", "ERROR in the new file"]
    );
    append(&path, b"ERROR later\n");
    assert_eq!(lines(&tail.poll().expect("poll")), ["ERROR later"]);
}

#[test]
fn a_missing_file_mid_rotation_is_not_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = log_in(&dir);
    append(&path, b"history\n");
    let mut tail = LogTail::new(&watch(&path, 10, &["ERROR"])).expect("tail");
    fs::rename(&path, dir.path().join("service.log.1")).expect("rotate");
    assert!(tail.poll().expect("poll while missing").is_empty());
    append(&path, b"ERROR after the gap\n");
    assert_eq!(lines(&tail.poll().expect("poll")), ["ERROR after the gap"]);
}

#[test]
fn truncation_restarts_from_the_beginning() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = log_in(&dir);
    append(
        &path,
        "a long line of history that makes the file big\n"
            .repeat(20)
            .as_bytes(),
    );
    let mut tail = LogTail::new(&watch(&path, 10, &["ERROR"])).expect("tail");
    append(&path, b"INFO more\n");
    assert!(tail.poll().expect("poll").is_empty());
    // copytruncate: same file, emptied, then written again.
    File::create(&path).expect("truncate");
    append(&path, b"ERROR after truncate\n");
    assert_eq!(lines(&tail.poll().expect("poll")), ["ERROR after truncate"]);
}

#[test]
fn a_file_created_after_the_tail_started_is_read_from_its_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = log_in(&dir);
    let mut tail = LogTail::new(&watch(&path, 10, &["ERROR"])).expect("tail of a missing file");
    assert!(tail.poll().expect("poll").is_empty());
    append(&path, b"ERROR right at startup\n");
    assert_eq!(
        lines(&tail.poll().expect("poll")),
        ["ERROR right at startup"]
    );
}

#[test]
fn invalid_utf8_is_replaced_not_fatal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = log_in(&dir);
    File::create(&path).expect("create");
    let mut tail = LogTail::new(&watch(&path, 10, &["ERROR"])).expect("tail");
    append(&path, b"ERROR bad bytes \xff\xfe here\n");
    assert_eq!(
        lines(&tail.poll().expect("poll")),
        ["ERROR bad bytes \u{fffd}\u{fffd} here"]
    );
}

#[test]
fn an_invalid_pattern_is_refused_up_front() {
    let dir = tempfile::tempdir().expect("temp dir");
    let result = LogTail::new(&watch(&log_in(&dir), 10, &["ERROR", "("]));
    assert!(matches!(result, Err(LogTailError::InvalidPattern { .. })));
}

#[test]
fn a_match_becomes_an_unhealthy_log_signal() {
    let found = LogMatch {
        line: "ERROR db down".to_string(),
        context: vec!["connecting".to_string()],
    };
    let signal = found.to_signal("payments", "/var/log/p.log");
    assert!(!signal.healthy);
    assert_eq!(signal.message, "ERROR db down");
    assert_eq!(signal.evidence, ["connecting", "ERROR db down"]);
    assert_eq!(
        signal.source,
        SignalSource::Log {
            path: "/var/log/p.log".to_string()
        }
    );
}

#[test]
fn recent_since_returns_only_lines_after_the_mark() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = log_in(&dir);
    append(&path, b"");
    let mut tail = LogTail::new(&watch(&path, 10, &[])).expect("tail");
    append(&path, b"ERROR old outage\nINFO recovered\n");
    tail.poll().expect("poll");
    let mark = tail.lines_seen();
    assert_eq!(mark, 2);
    assert!(tail.recent_since(mark).is_empty());
    append(&path, b"ERROR new outage\n");
    tail.poll().expect("poll");
    assert_eq!(tail.recent_since(mark), ["ERROR new outage"]);
    assert_eq!(tail.recent_since(0).len(), 3);
}
