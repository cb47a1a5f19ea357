//! `medic eval`: measure the rules against a labelled corpus of failures.
//!
//! Each case is diagnosed with the rules alone, then planned against the
//! config's first target with no history; the first remedy the plan would
//! run is compared with the expected one. A second pass, "rules + history"
//! (`history.rs`), replays the corpus learning each case's verified outcome.
//!
//! With `--llm`, the config's `[llm]` model is consulted on each case too
//! (the first target's remedy names as the choices) and the combined
//! diagnosis is what gets scored; the report adds a `rules + llm` section:
//! the rules' own accuracy on the same cases, how the model's opinions
//! counted, and its latency. `--limit N` scores N cases spread evenly over
//! the corpus, so a slow local model can be measured in minutes.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use medic_engine::diagnosis::{RulesDiagnoser, Symptoms};
use medic_engine::plan::{Decision, Situation, plan};
use medic_llm::{LlmDiagnoser, Settings, Verdict};
use medic_model::{Category, Grounds, Signal, SignalSource};

use crate::UsageError;

mod acting;
mod history;

use acting::Grade;

/// One line of the corpus.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    id: String,
    /// Checked on load (one of the known kinds); not reported separately yet.
    #[allow(dead_code)]
    kind: Kind,
    text: String,
    category: Category,
    remedy: String,
    /// Other categories a careful reader could honestly give (blind-2);
    /// scored separately, never in the headline accuracy.
    #[serde(default)]
    acceptable: Vec<Category>,
    /// The software family the case comes from; informative only.
    #[serde(default)]
    #[allow(dead_code)]
    family: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Kind {
    ServiceLog,
    CiLog,
    Ansible,
    Http,
    // Blind-2's sources: what a shell, a container runtime, journald,
    // Kubernetes' events or the kernel printed.
    Shell,
    Container,
    SystemdJournal,
    Kubernetes,
    Kernel,
}

/// What `--json` prints.
#[derive(serde::Serialize)]
struct Report {
    cases: usize,
    /// Percent of cases whose category was the expected one.
    category_accuracy: f64,
    /// Percent of cases whose first remedy was the expected one.
    remedy_accuracy: f64,
    /// Percent of cases whose category was the expected one or one of its
    /// `acceptable` alternatives.
    acceptable_accuracy: f64,
    /// Percent of cases given a category that is neither expected, nor
    /// acceptable, nor `unknown`: a confident wrong answer, worse than none.
    wrong_category_rate: f64,
    /// Expected category → (cases, correct).
    per_category: BTreeMap<String, (usize, usize)>,
    /// Expected category → got category → cases.
    confusion: BTreeMap<String, BTreeMap<String, usize>>,
    /// What medic would do on its own: at the bar the config sets for
    /// diagnoses from text (every case here is text: the higher of
    /// `[policy] min_confidence` and `min_confidence_from_text`) and at a
    /// sweep of others (see `acting.rs`).
    min_confidence: f64,
    acting: Vec<acting::AtThreshold>,
    /// `id: expected -> got`.
    misclassified: Vec<String>,
    /// `id: expected -> got` remedy.
    wrong_remedy: Vec<String>,
    /// The same corpus, replayed with history (see `history.rs`).
    with_history: Option<history::HistoryReport>,
    /// With `--llm`: the rules alone on the same cases, and the model.
    #[serde(skip_serializing_if = "Option::is_none")]
    llm: Option<LlmFigures>,
}

/// How the model did, with `--llm`.
#[derive(serde::Serialize, Default)]
struct LlmFigures {
    provider: String,
    model: String,
    /// The rules alone on the same cases, for comparison.
    rules_category_accuracy: f64,
    rules_remedy_accuracy: f64,
    /// Verdict → cases (agreed, refined, disagreed, ignored, failed, skipped).
    verdicts: BTreeMap<String, usize>,
    /// Cases where the model's own category (valid or not) was the expected one.
    model_category_accuracy: f64,
    /// Cases where the model named an allowed remedy, and where it was the expected one.
    valid_remedy: usize,
    right_remedy: usize,
    /// Consultation latency in milliseconds (answers from the cache excluded).
    latency_p50_ms: u64,
    latency_p95_ms: u64,
    latency_max_ms: u64,
}

/// Returns whether category accuracy reached `min_accuracy` percent.
pub(crate) fn run(
    corpus: &Path,
    config: &Path,
    min_accuracy: f64,
    json: bool,
    with_llm: bool,
    limit: Option<usize>,
) -> Result<bool, UsageError> {
    let config = crate::check::load(config)?;
    let target = config
        .targets
        .first()
        .ok_or_else(|| UsageError(vec!["the config has no target to plan remedies for".into()]))?;
    let mut cases = load(corpus)?;
    if let Some(limit) = limit.filter(|&n| n < cases.len()) {
        // Spread evenly over the corpus (it is grouped by category).
        let total = cases.len();
        let mut all: Vec<Option<Case>> = cases.into_iter().map(Some).collect();
        cases = (0..limit)
            .filter_map(|i| all[i * total / limit].take())
            .collect();
    }
    let diagnoser = RulesDiagnoser::from_config(&config.diagnosis);
    let llm = if with_llm {
        let settings = Settings::from_config(&config.llm).ok_or_else(|| {
            UsageError(vec![
                "--llm: the config's [llm] has no provider (or set MEDIC_LLM_PROVIDER, MEDIC_LLM_URL, MEDIC_LLM_MODEL)".into(),
            ])
        })?;
        let llm = LlmDiagnoser::new(settings).map_err(|e| UsageError(vec![format!("llm: {e}")]))?;
        Some((llm, crate::runtime()?))
    } else {
        None
    };
    let remedies: Vec<String> = target.remedies.iter().map(|r| r.name.clone()).collect();
    let mut figures = LlmFigures::default();
    let (mut rules_right, mut rules_right_remedy, mut model_right) = (0usize, 0usize, 0usize);
    let mut latencies = Vec::new();
    let mut report = Report {
        cases: cases.len(),
        category_accuracy: 0.0,
        remedy_accuracy: 0.0,
        acceptable_accuracy: 0.0,
        wrong_category_rate: 0.0,
        per_category: BTreeMap::new(),
        confusion: BTreeMap::new(),
        min_confidence: config.policy.min_confidence_for(Grounds::Text),
        acting: Vec::new(),
        misclassified: Vec::new(),
        wrong_remedy: Vec::new(),
        with_history: None,
        llm: None,
    };
    let first_remedy = |finding: &medic_engine::diagnosis::Finding, preferred: Option<&str>| {
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
        let mut steps = plan(target, &config.policy, &situation);
        if let Some(preferred) = preferred {
            medic_llm::prefer_remedy(&mut steps, preferred);
        }
        steps
            .into_iter()
            .find(|s| !matches!(s.decision, Decision::Skip { .. } | Decision::Defer { .. }))
            .map_or("(none)".to_string(), |s| s.remedy.name.clone())
    };
    let (mut right, mut right_remedy) = (0usize, 0usize);
    let mut graded = Vec::with_capacity(cases.len());
    for case in &cases {
        let mut finding = diagnoser.diagnose_text(&case.text);
        let mut remedy = first_remedy(&finding, None);
        if let Some((llm, runtime)) = &llm {
            rules_right += usize::from(finding.diagnosis.category == case.category);
            rules_right_remedy += usize::from(remedy == case.remedy);
            let lines: Vec<String> = case.text.lines().map(str::to_string).collect();
            let signal = Signal::unhealthy(
                &target.name,
                SignalSource::Log {
                    path: case.id.clone(),
                },
                &finding.diagnosis.root_cause,
            );
            let symptoms = Symptoms {
                signal: &signal,
                log_lines: &lines,
            };
            let consultation =
                runtime.block_on(llm.consult(&finding, &symptoms, &remedies, &target.name));
            let opinion = consultation.opinion;
            *figures
                .verdicts
                .entry(opinion.verdict.as_str().to_string())
                .or_default() += 1;
            if !opinion.cached && !matches!(opinion.verdict, Verdict::Skipped) {
                latencies.push(opinion.latency_ms);
            }
            if let Some(answer) = &opinion.answer {
                model_right += usize::from(answer.category == Some(case.category));
                if let Some(named) = &answer.remedy {
                    figures.valid_remedy += 1;
                    figures.right_remedy += usize::from(*named == case.remedy);
                }
            }
            finding = consultation.finding;
            remedy = first_remedy(&finding, opinion.preferred_remedy.as_deref());
        }
        let got = finding.diagnosis.category;
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
        graded.push((
            finding.diagnosis.confidence,
            Grade::of(got, case.category, &case.acceptable),
        ));
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
    let count = |grade: Grade| graded.iter().filter(|(_, g)| *g == grade).count();
    report.acceptable_accuracy = percent(count(Grade::Right), cases.len());
    report.wrong_category_rate = percent(count(Grade::Wrong), cases.len());
    report.acting = acting::sweep(&graded, report.min_confidence);
    report.with_history = Some(history::replay(&cases, &diagnoser, target, &config.policy));
    if let Some((llm, _)) = &llm {
        latencies.sort_unstable();
        let at = |q: f64| {
            latencies
                .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
                .copied()
                .unwrap_or(0)
        };
        figures.provider = llm.settings().provider.as_str().to_string();
        figures.model = llm.settings().model.clone();
        figures.rules_category_accuracy = percent(rules_right, cases.len());
        figures.rules_remedy_accuracy = percent(rules_right_remedy, cases.len());
        figures.model_category_accuracy = percent(model_right, cases.len());
        figures.latency_p50_ms = at(0.5);
        figures.latency_p95_ms = at(0.95);
        figures.latency_max_ms = latencies.last().copied().unwrap_or(0);
        report.llm = Some(figures);
    }
    if json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| UsageError(vec![format!("cannot encode the report: {e}")]))?;
        crate::out::println(&text);
    } else {
        crate::out::print(&describe(&report));
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
    let _ = writeln!(
        out,
        "with acceptable alternatives: {:.1}%",
        report.acceptable_accuracy
    );
    let _ = writeln!(
        out,
        "wrong category (neither expected, acceptable nor unknown): {:.1}%",
        report.wrong_category_rate
    );
    describe_acting(&mut out, report);
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
        // With `--llm` the headline figures are the combined ones; the
        // replay uses the rules, so it is compared with the rules alone.
        let (rules_category, rules_remedy) = report
            .llm
            .as_ref()
            .map_or((report.category_accuracy, report.remedy_accuracy), |llm| {
                (llm.rules_category_accuracy, llm.rules_remedy_accuracy)
            });
        out.push_str("\nrules + history (seeded shuffle; each case scored on what the cases before it taught):\n");
        let _ = writeln!(
            out,
            "  category accuracy: {:.1}% (rules alone {rules_category:.1}%)",
            history.category_accuracy
        );
        let _ = writeln!(
            out,
            "  remedy accuracy:   {:.1}% (rules alone {rules_remedy:.1}%)",
            history.remedy_accuracy
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
    if let Some(llm) = &report.llm {
        let _ = writeln!(out, "\nrules + llm ({} {}):", llm.provider, llm.model);
        let _ = writeln!(
            out,
            "  category accuracy: rules alone {:.1}%, rules + llm {:.1}%, the model's own answer {:.1}%",
            llm.rules_category_accuracy, report.category_accuracy, llm.model_category_accuracy
        );
        let _ = writeln!(
            out,
            "  remedy accuracy:   rules alone {:.1}%, rules + llm {:.1}%",
            llm.rules_remedy_accuracy, report.remedy_accuracy
        );
        let verdicts: Vec<String> = llm
            .verdicts
            .iter()
            .map(|(v, n)| format!("{v} {n}"))
            .collect();
        let _ = writeln!(out, "  opinions: {}", verdicts.join(", "));
        let _ = writeln!(
            out,
            "  allowed remedy named: {} (the expected one: {})",
            llm.valid_remedy, llm.right_remedy
        );
        let _ = writeln!(
            out,
            "  latency: p50 {} ms, p95 {} ms, max {} ms",
            llm.latency_p50_ms, llm.latency_p95_ms, llm.latency_max_ms
        );
    }
    out
}

/// The acting table: one row per threshold, the config's own marked.
fn describe_acting(out: &mut String, report: &Report) {
    let _ = writeln!(
        out,
        "\nacting without approval, by the confidence required of a diagnosis from text\n(* this config's: the higher of [policy] min_confidence and min_confidence_from_text;\n\"right\" counts acceptable alternatives):"
    );
    let _ = writeln!(
        out,
        "  {:>16} {:>8} {:>14} {:>13} {:>16}",
        "min_confidence", "acts on", "of them right", "acts wrongly", "right, held back"
    );
    for row in &report.acting {
        let mark = if (row.min_confidence - report.min_confidence).abs() < 1e-9 {
            "*"
        } else {
            ""
        };
        let threshold = format!("{mark}{:.2}", row.min_confidence);
        let _ = writeln!(
            out,
            "  {threshold:>16} {:>7.1}% {:>13.1}% {:>12.1}% {:>15.1}%",
            row.acted, row.acted_right, row.acted_wrong, row.right_held_back
        );
    }
}

/// A column heading of at most five characters.
fn abbreviate(category: &str) -> &str {
    &category[..category.len().min(5)]
}
