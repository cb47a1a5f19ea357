//! `medic templates`: the template miner fingerprints use, as a command.
//!
//! Each input line gets its template ([`template_of`]) and a group id, the
//! template's hash ([`template_hash`]): the very values a fingerprint is
//! made of, so what this prints is what the agent would deduplicate by.
//! `jsonl` prints one row per input line, in order; `text` a summary.
//! `--repeat N` templates the input N times in-process and reports lines/s
//! on stderr, to measure the miner without the cost of printing.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Instant;

use medic_engine::logs::{template_hash, template_into, template_of};

use crate::UsageError;

/// How many templates the text summary lists.
const TOP: usize = 20;

/// Output shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// A summary: lines, groups, the most frequent templates.
    Text,
    /// One `{"line", "template", "group"}` object per input line.
    Jsonl,
}

/// One jsonl row.
#[derive(serde::Serialize)]
struct Row<'a> {
    line: usize,
    template: &'a str,
    group: String,
}

pub(crate) fn run(input: &str, format: Format, repeat: u32) -> Result<(), UsageError> {
    let text = crate::diagnose::read(input)?;
    let lines: Vec<&str> = text.lines().collect();
    let templates: Vec<String> = lines.iter().map(|l| template_of(l)).collect();
    if repeat > 1 {
        measure(&lines, repeat);
    }
    match format {
        Format::Jsonl => {
            let mut out = String::with_capacity(templates.len() * 64);
            for (i, template) in templates.iter().enumerate() {
                let row = Row {
                    line: i + 1,
                    template,
                    group: group_of(template),
                };
                let json = serde_json::to_string(&row)
                    .map_err(|e| UsageError(vec![format!("cannot encode a row: {e}")]))?;
                out.push_str(&json);
                out.push('\n');
            }
            crate::out::print(&out);
        }
        Format::Text => crate::out::print(&summary(&templates)),
    }
    Ok(())
}

/// The group id: the template's hash, as in a fingerprint.
fn group_of(template: &str) -> String {
    format!("{:016x}", template_hash(template))
}

/// Templates every line `repeat` times and prints the rate on stderr. The
/// hash is taken too, as a fingerprint would, and summed so the work
/// cannot be optimised away.
fn measure(lines: &[&str], repeat: u32) {
    let started = Instant::now();
    let mut checksum = 0u64;
    let mut buffer = String::new();
    for _ in 0..repeat {
        for line in lines {
            template_into(line, &mut buffer);
            checksum = checksum.wrapping_add(template_hash(&buffer));
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let total = lines.len() as f64 * f64::from(repeat);
    let rate = if seconds > 0.0 { total / seconds } else { 0.0 };
    eprintln!(
        "medic templates: {total:.0} lines in {seconds:.3} s: {rate:.0} lines/s (checksum {checksum:016x})"
    );
}

/// Lines, groups, and the most frequent templates with their counts.
fn summary(templates: &[String]) -> String {
    let mut counts: HashMap<&str, (usize, usize)> = HashMap::new();
    for (i, template) in templates.iter().enumerate() {
        counts.entry(template).or_insert((0, i)).0 += 1;
    }
    let mut ranked: Vec<(&str, usize, usize)> = counts
        .iter()
        .map(|(t, &(n, first))| (*t, n, first))
        .collect();
    // Most frequent first; ties in order of first appearance.
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)));
    let mut out = String::new();
    let _ = writeln!(out, "lines: {}", templates.len());
    let _ = writeln!(out, "groups: {}", ranked.len());
    let _ = writeln!(out, "top templates:");
    for (template, count, _) in ranked.iter().take(TOP) {
        let _ = writeln!(out, "  {count:>7}  {}  {template}", group_of(template));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_ranks_templates_by_count() {
        let templates: Vec<String> = ["user 1 in", "disk full", "user 2 in", "user 3 in"]
            .iter()
            .map(|l| template_of(l))
            .collect();
        let text = summary(&templates);
        assert!(text.starts_with("lines: 4\ngroups: 2\n"), "{text}");
        let first = text.lines().nth(3).unwrap_or_default();
        assert!(
            first.contains("      3  ") && first.ends_with("user <*> in"),
            "{text}"
        );
    }
}
