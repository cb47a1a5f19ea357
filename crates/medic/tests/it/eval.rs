//! `medic eval` on the committed corpus: CI fails when the rules regress.

use super::medic;

/// Rules-alone category accuracy on `eval/corpus.jsonl`, rounded down to a
/// whole percent: measured 99.1% on 2026-11-26 (318 cases; 60.7% before the
/// root cause was chosen by rank), and 99.1% again on 2026-12-06 after
/// issue 17 relabelled five database-client items `database`. Raise it when
/// the rules improve; never lower it to make a regression pass.
const BASELINE_ACCURACY: &str = "99";

/// Rules-alone category accuracy on `eval/holdout.jsonl`, rounded down:
/// 80 cases written blind (without reading the catalog or the tuning
/// corpus) after the rules were tuned; measured 70.0% on 2026-11-26 and
/// 80.0% on 2026-12-06 with issue 17's software families, 92.5% on
/// 2026-12-07 with rules-3 (its misses had been listed in
/// docs/benchmarks.md, so part of that gain is tuned). Do not tune on it.
const HOLDOUT_BASELINE: &str = "92";

/// Rules-alone category accuracy on `eval/blind-2.jsonl`, rounded down,
/// less a point of slack: 327 cases written blind for issue 17 (see
/// eval/BLIND-2.md). Scored before any rule change of that issue: 50.8 %
/// strict, 60.6 % counting acceptable alternatives, 10.7 % a wrong
/// category; after the software families: 78.3 %, 83.8 %, 5.8 %. That
/// spent it: rules were then written against its misses (rules-3, 97.9 %,
/// 100.0 %, 0.0 %), so it is tuning data now, like the corpus, and no longer
/// says how the rules do on unseen text. rules-4 (tuned on blind-3) took it
/// to 98.2 %, 100.0 %, 0.0 % on 2026-12-07, rules-5 (tuned on blind-4) to
/// 98.5 %, 100.0 %, 0.0 %.
const BLIND_2_BASELINE: &str = "97";

/// The most wrong categories (percent) blind-2 may get now that it is
/// tuning data: measured 0.0 % since rules-3, with a little slack.
const BLIND_2_MAX_WRONG: f64 = 0.5;

/// Rules-alone category accuracy on `eval/blind-3.jsonl`, rounded down,
/// less a point of slack: 354 cases written blind on 2026-12-07 (see
/// eval/BLIND-3.md) while the rules-3 work went on without it. Scored
/// before rules-3: 73.4 % strict, 81.1 % with acceptable alternatives,
/// 7.6 % wrong; after: 89.0 %, 94.4 %, 3.1 %. Then spent by rules-4,
/// which read its misses and wrote rules against them (before rules-4:
/// 89.0 %, 94.4 %, 3.1 %; after: 97.2 %, 99.7 %, 0.3 %): it is tuning data
/// now, like blind-2, and no longer says how the rules do on unseen text.
/// rules-5 (tuned on blind-4) took it to 97.5 %, 99.7 %, 0.3 %.
const BLIND_3_BASELINE: &str = "96";

/// Blind-3's wrong-category rate as measured after rules-4 (0.3 %), with a
/// little slack.
const BLIND_3_MAX_WRONG: f64 = 0.8;

/// Rules-alone category accuracy on `eval/blind-4.jsonl`, rounded down,
/// less a point of slack: 437 cases (79 families, 31 % of them software
/// neither issue 17 nor BLIND-3 names) written blind on 2026-12-07 (see
/// eval/BLIND-4.md) and committed before rules-4. Scored before rules-4:
/// 72.8 % strict, 79.4 % with acceptable alternatives, 5.7 % wrong; after
/// rules-4: 74.4 %, 80.1 %, 5.5 % (rules tuned on one blind set barely
/// carried to this one). Then spent by rules-5, which read its misses and
/// wrote rules against them, mostly whole documented enumerations (gRPC
/// codes, exception class names, errno names, Envoy flags, systemd and IIS
/// statuses): 95.0 %, 99.5 %, 0.5 % on 2026-12-07. It is tuning data now,
/// like blind-2 and blind-3, and no longer says how the rules do on unseen
/// text.
const BLIND_4_BASELINE: &str = "94";

/// Blind-4's wrong-category rate as measured after rules-5 (0.5 %), with a
/// little slack.
const BLIND_4_MAX_WRONG: f64 = 1.0;

/// Rules-alone category accuracy on `eval/blind-5.jsonl`, rounded down: 428
/// cases (92 families, 47 % of them software no earlier list names) written
/// blind on 2026-12-07 (see eval/BLIND-5.md) while rules-5 was written from
/// blind-4 without it. Scored before rules-5: 56.3 % strict, 65.9 % with
/// acceptable alternatives, 13.1 % wrong; after: 57.7 %, 67.3 %, 12.6 %.
/// Then spent by rules-6, which read its misses and wrote rules against
/// them, mostly general wordings and published code lists (`general.rs`,
/// `codes.rs`): 91.8 %, 98.4 %, 1.2 % on 2026-12-07. It is tuning data since
/// rules-6, like blind-2 to blind-4, and no longer says how the rules do on
/// unseen text (blind-6 does).
const BLIND_5_BASELINE: &str = "91";

/// Blind-5's wrong-category rate as measured after rules-6 (1.2 %).
const BLIND_5_MAX_WRONG: f64 = 1.2;

/// Rules-alone category accuracy on `eval/blind-6.jsonl`, rounded down: 463
/// cases (92 families, 39 % of them software no earlier list names) written
/// blind on 2026-12-07 (see eval/BLIND-6.md) while rules-6 was written from
/// blind-5 without it. Scored before rules-6: 57.0 % strict, 65.0 % with
/// acceptable alternatives, 15.1 % wrong; after: 61.1 %, 69.1 %, 12.7 %.
/// Spent on 2026-12-07: its wrong answers were read to find which broad
/// words guess wrongly on unseen text (`invalid_word`, names in unmarked
/// lines); after that round 61.6 %, 69.5 %, 7.1 %.
const BLIND_6_BASELINE: &str = "61";

/// Blind-6's wrong-category rate after the broad-word round (7.1 %).
const BLIND_6_MAX_WRONG: f64 = 7.1;

/// Rules-alone category accuracy on `eval/blind-7.jsonl`, rounded down: 440
/// cases (92 families, 40 % of them software no earlier list names; its
/// writer also rewrote every draft that shared a 30-character window with
/// an earlier set) written blind on 2026-12-07 (see eval/BLIND-7.md).
/// Scored unseen: 48.0 % strict, 55.7 % with acceptable alternatives,
/// 13.6 % wrong; after the broad-word round 47.3 %, 54.3 %, 7.0 %. Spent on
/// 2026-12-08 by rules-8, which read its misses (`general.rs`: versions,
/// installations, settings, capacity, datastores' own state), narrowed
/// after a review for benign look-alikes: 70.0 %, 77.3 %, 3.6 %. Tuning
/// data since; blind-8 is the unseen figure.
const BLIND_7_BASELINE: &str = "70";

/// Blind-7's wrong-category rate after rules-8 (3.6 %).
const BLIND_7_MAX_WRONG: f64 = 3.6;

/// Rules-alone category accuracy on `eval/blind-8.jsonl`, rounded down: 405
/// cases (92 families, 40 % of them software no earlier list names) written
/// blind on 2026-12-08 (see eval/BLIND-8.md) and committed before rules-8
/// merged. Scored before rules-8: 43.7 % strict, 49.1 % with acceptable
/// alternatives, 10.4 % wrong; after: 45.2 %, 50.6 %, 9.6 %. Its misses
/// have not been read: it is the figure for unseen text. Do not tune on it;
/// a round that does spends it.
const BLIND_8_BASELINE: &str = "45";

/// Blind-8's wrong-category rate after rules-8 (9.6 %).
const BLIND_8_MAX_WRONG: f64 = 9.6;

fn repo_file(path: &str) -> String {
    format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn rules_alone_hold_the_recorded_baseline_on_the_corpus() {
    let (corpus, config) = (repo_file("eval/corpus.jsonl"), repo_file("eval/medic.toml"));
    let out = medic(
        &[
            "eval",
            "--corpus",
            &corpus,
            "--config",
            &config,
            "--min-accuracy",
            BASELINE_ACCURACY,
        ],
        &[],
        None,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("confusion matrix"), "{stdout}");
    assert!(stdout.contains("remedy accuracy"), "{stdout}");
    // History only fills in where the rules say `unknown`: never worse than
    // the rules alone on the same replay. The line reads
    // `category accuracy: 99.1% (rules alone 99.1%)`.
    let line = stdout
        .lines()
        .skip_while(|l| !l.starts_with("rules + history"))
        .find_map(|l| l.trim().strip_prefix("category accuracy: "))
        .expect("a rules + history section");
    let figures: Vec<f64> = line
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter_map(|n| n.parse().ok())
        .collect();
    let [with_history, rules_alone] = figures[..] else {
        panic!("two figures in {line:?}");
    };
    assert!(rules_alone > 0.0, "{stdout}");
    assert!(with_history >= rules_alone, "{stdout}");
}

#[test]
fn rules_alone_hold_the_recorded_baseline_on_the_blind_holdout() {
    let out = medic(
        &[
            "eval",
            "--corpus",
            &repo_file("eval/holdout.jsonl"),
            "--config",
            &repo_file("eval/medic.toml"),
            "--min-accuracy",
            HOLDOUT_BASELINE,
        ],
        &[],
        None,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("cases: 80"), "{stdout}");
}

/// Scores a blind set with rules alone: at least `floor` percent strict,
/// exactly `cases` cases, at most `max_wrong` percent wrong categories.
fn hold_blind_set(set: &str, floor: &str, cases: u64, max_wrong: f64) {
    let out = medic(
        &[
            "eval",
            "--corpus",
            &repo_file(set),
            "--config",
            &repo_file("eval/medic.toml"),
            "--min-accuracy",
            floor,
            "--json",
        ],
        &[],
        None,
    );
    assert!(
        out.status.success(),
        "{set}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["cases"], cases, "{set}");
    // Alternatives only add; the wrong-category rate is reported beside.
    let strict = json["category_accuracy"].as_f64().expect("strict");
    let lenient = json["acceptable_accuracy"].as_f64().expect("lenient");
    assert!(lenient >= strict, "{set}: {json}");
    let wrong = json["wrong_category_rate"].as_f64().expect("wrong");
    assert!(wrong <= max_wrong, "{set}: {json}");
}

#[test]
fn rules_alone_hold_the_recorded_baseline_on_blind_2() {
    hold_blind_set(
        "eval/blind-2.jsonl",
        BLIND_2_BASELINE,
        327,
        BLIND_2_MAX_WRONG,
    );
}

#[test]
fn rules_alone_hold_the_recorded_baseline_on_blind_3() {
    hold_blind_set(
        "eval/blind-3.jsonl",
        BLIND_3_BASELINE,
        354,
        BLIND_3_MAX_WRONG,
    );
}

#[test]
fn rules_alone_hold_the_recorded_baseline_on_blind_5() {
    hold_blind_set(
        "eval/blind-5.jsonl",
        BLIND_5_BASELINE,
        428,
        BLIND_5_MAX_WRONG,
    );
}

#[test]
fn rules_alone_hold_the_recorded_baseline_on_blind_6() {
    hold_blind_set(
        "eval/blind-6.jsonl",
        BLIND_6_BASELINE,
        463,
        BLIND_6_MAX_WRONG,
    );
}

#[test]
fn rules_alone_hold_the_recorded_baseline_on_blind_7() {
    hold_blind_set(
        "eval/blind-7.jsonl",
        BLIND_7_BASELINE,
        440,
        BLIND_7_MAX_WRONG,
    );
}

#[test]
fn rules_alone_hold_the_recorded_baseline_on_blind_8() {
    hold_blind_set(
        "eval/blind-8.jsonl",
        BLIND_8_BASELINE,
        405,
        BLIND_8_MAX_WRONG,
    );
}

#[test]
fn rules_alone_hold_the_recorded_baseline_on_blind_4() {
    hold_blind_set(
        "eval/blind-4.jsonl",
        BLIND_4_BASELINE,
        437,
        BLIND_4_MAX_WRONG,
    );
}

#[test]
fn a_bad_corpus_line_is_named_with_exit_2() {
    let dir = std::env::temp_dir().join(format!("medic-it-{}-eval", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let corpus = dir.join("corpus.jsonl");
    std::fs::write(
        &corpus,
        "{\"id\":\"a\",\"kind\":\"http\",\"text\":\"curl: (6) Could not resolve host: x\",\"category\":\"network\",\"remedy\":\"reconnect\"}\n{\"id\":\"b\",\"kind\":\"http\"\n",
    )
    .expect("write corpus");
    let out = medic(
        &[
            "eval",
            "--corpus",
            corpus.to_str().expect("utf-8"),
            "--config",
            &repo_file("eval/medic.toml"),
        ],
        &[],
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("line 2"), "{stderr}");
}

#[test]
fn accuracy_below_the_minimum_exits_1() {
    let out = medic(
        &[
            "eval",
            "--corpus",
            &repo_file("eval/corpus.jsonl"),
            "--config",
            &repo_file("eval/medic.toml"),
            "--min-accuracy",
            "100",
            "--json",
        ],
        &[],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(json["cases"].as_u64().is_some_and(|n| n >= 200));
}

/// The acting table counts what `medic serve` would do at each bar for
/// diagnoses from text: a case is acted on exactly when its diagnosis (the
/// one `medic diagnose` prints) is known and at least that confident. The
/// config's own bar is `min_confidence_from_text` when that is the higher.
#[test]
fn the_acting_table_counts_what_the_threshold_lets_through() {
    let text = "ERROR inventory: dial tcp 10.0.0.7:8080: connect: connection refused";
    let diagnosed = medic(&["diagnose", "-"], &[], Some(text));
    assert!(diagnosed.status.success(), "{diagnosed:?}");
    let diagnosis: serde_json::Value = serde_json::from_slice(&diagnosed.stdout).expect("JSON");
    assert_eq!(diagnosis["category"], "network", "{diagnosis}");
    let confidence = diagnosis["confidence"].as_f64().expect("confidence");

    let dir = std::env::temp_dir().join(format!("medic-it-{}-acting", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let case = |id: &str, text: &str, category: &str| {
        serde_json::json!({"id": id, "kind": "service-log", "text": text, "category": category, "remedy": "page"})
            .to_string()
    };
    // Right, wrong (the same text labelled otherwise), and nothing known.
    let corpus = dir.join("corpus.jsonl");
    std::fs::write(
        &corpus,
        [
            case("right", text, "network"),
            case("wrong", text, "timeout"),
            case("unknown", "the frobnicator hiccuped", "resource"),
        ]
        .join("\n"),
    )
    .expect("write corpus");
    let config = dir.join("medic.toml");
    let eval_config = std::fs::read_to_string(repo_file("eval/medic.toml")).expect("eval config");
    std::fs::write(
        &config,
        format!("{eval_config}\n[policy]\nmin_confidence = 0.5\nmin_confidence_from_text = 0.65\n"),
    )
    .expect("write config");
    let args = |json: bool| {
        let mut args = vec![
            "eval".to_string(),
            "--corpus".into(),
            corpus.to_string_lossy().into_owned(),
            "--config".into(),
            config.to_string_lossy().into_owned(),
            "--min-accuracy".into(),
            "0".into(),
        ];
        if json {
            args.push("--json".into());
        }
        args
    };
    let run = |json: bool| {
        let args = args(json);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = medic(&args, &[], None);
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let report: serde_json::Value = serde_json::from_str(&run(true)).expect("JSON");
    assert_eq!(report["min_confidence"], 0.65, "{report}");
    let rows = report["acting"].as_array().expect("acting rows");
    let thresholds: Vec<f64> = rows
        .iter()
        .map(|r| r["min_confidence"].as_f64().expect("threshold"))
        .collect();
    assert_eq!(thresholds, [0.5, 0.6, 0.65, 0.7, 0.8, 0.9], "{report}");
    for row in rows {
        let threshold = row["min_confidence"].as_f64().expect("threshold");
        let figures = |key: &str| row[key].as_f64().expect(key);
        if confidence >= threshold {
            assert_eq!(figures("acted"), 66.7, "{row}");
            assert_eq!(figures("acted_right"), 50.0, "{row}");
            assert_eq!(figures("acted_wrong"), 33.3, "{row}");
            assert_eq!(figures("right_held_back"), 0.0, "{row}");
        } else {
            assert_eq!(figures("acted"), 0.0, "{row}");
            assert_eq!(figures("acted_wrong"), 0.0, "{row}");
            assert_eq!(figures("right_held_back"), 33.3, "{row}");
        }
    }
    let text = run(false);
    assert!(text.contains("acting without approval"), "{text}");
    assert!(
        text.lines().any(|l| l.trim_start().starts_with("*0.65")),
        "the config's threshold is marked: {text}"
    );
}
