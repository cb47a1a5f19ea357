//! `medic eval`: measure the rules against a labelled corpus of failures.
//!
//! Each case is diagnosed with the rules alone, then planned against the
//! config's first target with no history; the first remedy the plan would
//! run is compared with the expected one. A second pass, "rules + history"
//! (`history.rs`), replays the corpus learning each case's verified outcome.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use medic_engine::diagnosis::RulesDiagnoser;
use medic_engine::plan::{Decision, Situation, plan};
use medic_model::Category;

use crate::UsageError;

mod history;

/// One line of the corpus.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    id: String,
    /// Checked on load (one of the four kinds); not reported separately yet.
    #[allow(dead_code)]
    kind: Kind,
    text: String,
    category: Category,
    remedy: String,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Kind {
    ServiceLog,
    CiLog,
    Ansible,
    Http,
}

/// What `--json` prints.
#[derive(serde::Serialize)]
struct Report {
    cases: usize,
    /// Percent of cases whose category was the expected one.
    category_accuracy: f64,
    /// Percent of cases whose first remedy was the expected one.
    remedy_accuracy: f64,
    /// Expected category → (cases, correct).
    per_category: BTreeMap<String, (usize, usize)>,
    /// Expected category → got category → cases.
    confusion: BTreeMap<String, BTreeMap<String, usize>>,
    /// `id: expected -> got`.
    misclassified: Vec<String>,
    /// `id: expected -> got` remedy.
    wrong_remedy: Vec<String>,
    /// The same corpus, replayed with history (see `history.rs`).
    with_history: Option<history::HistoryReport>,
}

/// Returns whether category accuracy reached `min_accuracy` percent.
pub(crate) fn run(
    corpus: &Path,
    config: &Path,
    min_accuracy: f64,
    json: bool,
) -> Result<bool, UsageError> {
    let config = crate::check::load(config)?;
    let target = config
        .targets
        .first()
        .ok_or_else(|| UsageError(vec!["the config has no target to plan remedies for".into()]))?;
    let cases = load(corpus)?;
    let diagnoser = RulesDiagnoser::from_config(&config.diagnosis);
    let mut report = Report {
        cases: cases.len(),
        category_accuracy: 0.0,
        remedy_accuracy: 0.0,
        per_category: BTreeMap::new(),
        confusion: BTreeMap::new(),
        misclassified: Vec::new(),
        wrong_remedy: Vec::new(),
        with_history: None,
    };
    let (mut right, mut right_remedy) = (0usize, 0usize);
    for case in &cases {
        let finding = diagnoser.diagnose_text(&case.text);
        let got = finding.diagnosis.category;
        let situation = Situation {
            diagnosis: &finding.diagnosis,
            fingerprint: &finding.fingerprint,
            history: &[],
            borrowed: Default::default(),
            tried: &[],
            since_last_action_ms: None,
            target_actions_last_hour: 0,
            all_actions_last_hour: 0,
        };
        let remedy = plan(target, &config.policy, &situation)
            .into_iter()
            .find(|s| !matches!(s.decision, Decision::Skip { .. } | Decision::Defer { .. }))
            .map_or("(none)".to_string(), |s| s.remedy.name.clone());
        let row = report
            .per_category
            .entry(case.category.to_string())
            .or_default();
        row.0 += 1;
        *report
            .confusion
            .entry(case.category.to_string())
            .or_default()
            .entry(got.to_string())
            .or_default() += 1;
        if got == case.category {
            row.1 += 1;
            right += 1;
        } else {
            report
                .misclassified
                .push(format!("{}: {} -> {got}", case.id, case.category));
        }
        if remedy == case.remedy {
            right_remedy += 1;
        } else {
            report
                .wrong_remedy
                .push(format!("{}: {} -> {remedy}", case.id, case.remedy));
        }
    }
    report.category_accuracy = percent(right, cases.len());
    report.remedy_accuracy = percent(right_remedy, cases.len());
    report.with_history = Some(history::replay(&cases, &diagnoser, target, &config.policy));
    if json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| UsageError(vec![format!("cannot encode the report: {e}")]))?;
        println!("{text}");
    } else {
        print!("{}", describe(&report));
    }
    let passed = report.category_accuracy >= min_accuracy;
    if !passed {
        eprintln!(
            "medic: category accuracy {:.1}% is below the minimum {min_accuracy}%",
            report.category_accuracy
        );
    }
    Ok(passed)
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    (part as f64 * 1000.0 / whole as f64).round() / 10.0
}

/// Parses the corpus; each bad line is one error naming it.
fn load(path: &Path) -> Result<Vec<Case>, UsageError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError(vec![format!("{}: cannot read: {e}", path.display())]))?;
    let mut cases = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Case>(line) {
            Ok(case) => cases.push(case),
            Err(e) => errors.push(format!("{}: line {}: {e}", path.display(), i + 1)),
        }
    }
    if cases.is_empty() && errors.is_empty() {
        errors.push(format!("{}: no cases", path.display()));
    }
    if errors.is_empty() {
        Ok(cases)
    } else {
        Err(UsageError(errors))
    }
}

/// The human report: accuracies, per category, confusion matrix, misses.
fn describe(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "cases: {}", report.cases);
    let _ = writeln!(out, "category accuracy: {:.1}%", report.category_accuracy);
    let _ = writeln!(out, "remedy accuracy:   {:.1}%", report.remedy_accuracy);
    out.push_str("\nper category (expected):\n");
    for (category, (cases, correct)) in &report.per_category {
        let _ = writeln!(
            out,
            "  {category:<15} {correct:>3}/{cases:<3} {:>5.1}%",
            percent(*correct, *cases)
        );
    }
    // Columns: every category that was expected or got.
    let mut columns: Vec<&str> = report.per_category.keys().map(String::as_str).collect();
    for got in report.confusion.values().flat_map(BTreeMap::keys) {
        if !columns.contains(&got.as_str()) {
            columns.push(got);
        }
    }
    columns.sort_unstable();
    out.push_str("\nconfusion matrix (rows expected, columns got):\n");
    let _ = write!(out, "  {:<15}", "");
    for column in &columns {
        let _ = write!(out, " {:>5}", abbreviate(column));
    }
    out.push('\n');
    for (expected, row) in &report.confusion {
        let _ = write!(out, "  {expected:<15}");
        for column in &columns {
            match row.get(*column) {
                Some(n) => {
                    let _ = write!(out, " {n:>5}");
                }
                None => out.push_str("     ."),
            }
        }
        out.push('\n');
    }
    let _ = writeln!(out, "\nmisclassified ({}):", report.misclassified.len());
    for miss in &report.misclassified {
        let _ = writeln!(out, "  {miss}");
    }
    let _ = writeln!(out, "\nwrong remedy ({}):", report.wrong_remedy.len());
    for miss in &report.wrong_remedy {
        let _ = writeln!(out, "  {miss}");
    }
    if let Some(history) = &report.with_history {
        out.push_str("\nrules + history (seeded shuffle; each case scored on what the cases before it taught):\n");
        let _ = writeln!(
            out,
            "  category accuracy: {:.1}% (rules alone {:.1}%)",
            history.category_accuracy, report.category_accuracy
        );
        let _ = writeln!(
            out,
            "  remedy accuracy:   {:.1}% (rules alone {:.1}%)",
            history.remedy_accuracy, report.remedy_accuracy
        );
        let _ = writeln!(
            out,
            "  unknown to the rules, recalled: {} by fingerprint, {} by a similar root cause",
            history.recalled_exact, history.recalled_similar
        );
        let _ = writeln!(
            out,
            "  recalled categories right: {} of {}",
            history.recalled_right,
            history.recalled_exact + history.recalled_similar
        );
    }
    out
}

/// A column heading of at most five characters.
fn abbreviate(category: &str) -> &str {
    &category[..category.len().min(5)]
}
