//! The pipeline failure catalog: a failed step's exit status and output →
//! what it was and what to do. Data, not code (`catalog/pipeline.toml` is
//! built in; `--catalog FILE` replaces it), so teams can teach it their own
//! failures. Pure: `medic run` does the running.

use regex::Regex;

use crate::config::ConfigError;

/// The catalog shipped with medic.
pub const BUILT_IN: &str = include_str!("../catalog/pipeline.toml");

/// What kind of failure an entry describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Retrying cannot help (a compile error, a failing test): stop at once.
    Deterministic,
    /// The world was briefly in the way (network, registry, lock): retry.
    Transient,
    /// A known fix makes the next attempt work (a stale package index).
    Fixable,
}

impl Kind {
    /// The name used in the catalog file and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Deterministic => "deterministic",
            Kind::Transient => "transient",
            Kind::Fixable => "fixable",
        }
    }
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    entries: Vec<RawEntry>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    name: String,
    kind: Kind,
    category: String,
    #[serde(default)]
    patterns: Vec<String>,
    #[serde(default)]
    exit_codes: Vec<i32>,
    #[serde(default)]
    fix: Vec<String>,
    #[serde(default)]
    host_fix: Option<HostFix>,
    #[serde(default)]
    changes_machine: bool,
}

/// A fix whose command depends on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HostFix {
    /// Refresh the package index with the host's package manager
    /// (`apt-get update`, `dnf makecache`, `apk update`, …).
    RefreshPackageIndex,
}

/// One kind of failure.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its name (`network`, `compile-error`).
    pub name: String,
    /// What it means for a retry.
    pub kind: Kind,
    /// The failure category, for reports.
    pub category: String,
    patterns: Vec<Regex>,
    exit_codes: Vec<i32>,
    /// For `fixable`: the fix, as argv (where `host_fix` is set: the one
    /// shown when the host is not known).
    pub fix: Vec<String>,
    /// The fix depends on the host: [`Entry::fix_for`] chooses its command.
    pub host_fix: Option<HostFix>,
    /// Whether the fix changes the machine (needs `--allow-fixes`).
    pub changes_machine: bool,
}

impl Entry {
    /// The fix's command on `host`, or why the host has none (the fix is
    /// then skipped with that note).
    pub fn fix_for(&self, host: &crate::host::HostContext) -> Result<Vec<String>, String> {
        match self.host_fix {
            Some(HostFix::RefreshPackageIndex) => host.refresh_package_index(),
            None => Ok(self.fix.clone()),
        }
    }
}

/// What the catalog says about one failed attempt.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Classification {
    /// The matching entry, if any.
    pub entry: Option<String>,
    /// `deterministic`, `transient`, `fixable`, or `None` for unknown.
    pub kind: Option<Kind>,
    /// The entry's category, or `unknown`.
    pub category: String,
    /// The output line that matched (the evidence), if a pattern matched.
    pub evidence: Option<String>,
}

/// The whole catalog, in match order.
#[derive(Debug, Clone)]
pub struct Catalog {
    entries: Vec<Entry>,
}

impl Catalog {
    /// The built-in catalog.
    pub fn built_in() -> Result<Catalog, Vec<ConfigError>> {
        Catalog::parse(BUILT_IN)
    }

    /// Parses and checks a catalog; errors name `entries[i].…`.
    pub fn parse(text: &str) -> Result<Catalog, Vec<ConfigError>> {
        let file: File = toml::from_str(text).map_err(|e| {
            vec![ConfigError::new(
                "",
                e.to_string()
                    .lines()
                    .next()
                    .unwrap_or("invalid TOML")
                    .to_string(),
            )]
        })?;
        let mut errors = Vec::new();
        let mut entries = Vec::new();
        for (i, raw) in file.entries.into_iter().enumerate() {
            let path = format!("entries[{i}]");
            if raw.patterns.is_empty() && raw.exit_codes.is_empty() {
                errors.push(ConfigError::new(&path, "needs patterns or exit_codes"));
            }
            match (raw.kind, raw.fix.is_empty()) {
                (Kind::Fixable, true) => errors.push(ConfigError::new(
                    format!("{path}.fix"),
                    "a fixable entry needs a fix command",
                )),
                (Kind::Fixable, false) => {
                    if let Err(refusal) = crate::safety::check_command(&raw.fix) {
                        errors.push(ConfigError::new(format!("{path}.fix"), refusal.to_string()));
                    }
                    // Every command a host could choose passes the guard too.
                    let host_fixes = match raw.host_fix {
                        Some(HostFix::RefreshPackageIndex) => crate::host::PackageManager::ALL
                            .iter()
                            .filter_map(|pm| pm.refresh_index())
                            .collect(),
                        None => Vec::new(),
                    };
                    for argv in host_fixes {
                        if let Err(refusal) = crate::safety::check_command(&argv) {
                            errors.push(ConfigError::new(
                                format!("{path}.host_fix"),
                                format!("{}: {refusal}", argv.join(" ")),
                            ));
                        }
                    }
                }
                (_, false) => errors.push(ConfigError::new(
                    format!("{path}.fix"),
                    "only fixable entries have a fix",
                )),
                (_, true) => {}
            }
            let mut patterns = Vec::new();
            for (j, pattern) in raw.patterns.iter().enumerate() {
                match Regex::new(pattern) {
                    Ok(regex) => patterns.push(regex),
                    Err(e) => errors.push(ConfigError::new(
                        format!("{path}.patterns[{j}]"),
                        e.to_string()
                            .lines()
                            .last()
                            .unwrap_or("invalid regex")
                            .to_string(),
                    )),
                }
            }
            entries.push(Entry {
                name: raw.name,
                kind: raw.kind,
                category: raw.category,
                patterns,
                exit_codes: raw.exit_codes,
                fix: raw.fix,
                host_fix: raw.host_fix,
                changes_machine: raw.changes_machine,
            });
        }
        if errors.is_empty() {
            Ok(Catalog { entries })
        } else {
            Err(errors)
        }
    }

    /// The entries, in match order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entry by name.
    pub fn entry(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// Classifies one failed attempt: the first entry whose pattern matches
    /// the output, or whose exit code matches. No match is unknown, and
    /// unknown is never retried.
    pub fn classify(&self, exit_code: Option<i32>, output: &str) -> Classification {
        for entry in &self.entries {
            let line = entry.patterns.iter().find_map(|p| {
                p.find(output).map(|m| {
                    let start = output[..m.start()].rfind('\n').map_or(0, |i| i + 1);
                    let end = output[m.end()..]
                        .find('\n')
                        .map_or(output.len(), |i| m.end() + i);
                    output[start..end].trim().to_string()
                })
            });
            let by_exit = exit_code.is_some_and(|code| entry.exit_codes.contains(&code));
            if line.is_some() || by_exit {
                return Classification {
                    entry: Some(entry.name.clone()),
                    kind: Some(entry.kind),
                    category: entry.category.clone(),
                    evidence: line,
                };
            }
        }
        Classification {
            entry: None,
            kind: None,
            category: "unknown".into(),
            evidence: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = format!("{}/catalog/fixtures/{name}.txt", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn every_entry_classifies_its_own_fixture() {
        let catalog = Catalog::built_in().expect("the built-in catalog is valid");
        assert!(catalog.entries().len() >= 11);
        for entry in catalog.entries() {
            let got = catalog.classify(Some(1), &fixture(&entry.name));
            assert_eq!(got.entry.as_deref(), Some(entry.name.as_str()), "{got:?}");
            assert!(got.evidence.is_some(), "{}: no evidence line", entry.name);
        }
    }

    #[test]
    fn decision_table() {
        let catalog = Catalog::built_in().expect("valid");
        // (exit code, output, expected entry, expected kind)
        type Case<'a> = (Option<i32>, &'a str, Option<&'a str>, Option<Kind>);
        let cases: &[Case] = &[
            (
                Some(1),
                "error[E0425]: cannot find value `x`\nCould not resolve host: x",
                Some("compile-error"),
                Some(Kind::Deterministic),
            ),
            (
                Some(101),
                "test result: FAILED. 1 passed; 2 failed",
                Some("test-failure"),
                Some(Kind::Deterministic),
            ),
            (Some(137), "", Some("oom-killed"), Some(Kind::Transient)),
            (
                Some(127),
                "",
                Some("missing-file-or-command"),
                Some(Kind::Deterministic),
            ),
            (
                Some(100),
                "E: Hash Sum mismatch",
                Some("stale-package-index"),
                Some(Kind::Fixable),
            ),
            (
                Some(1),
                "fatal: Unable to create '/repo/.git/index.lock': File exists.",
                Some("lock-contention"),
                Some(Kind::Transient),
            ),
            (
                Some(1),
                "npm ERR! code E503",
                Some("registry-unavailable"),
                Some(Kind::Transient),
            ),
            (
                Some(1),
                "curl: (56) Recv failure: Connection reset by peer",
                Some("network"),
                Some(Kind::Transient),
            ),
            // Ansible module messages.
            (
                Some(2),
                "No package matching 'libfoo' is available",
                Some("stale-package-index"),
                Some(Kind::Fixable),
            ),
            (
                Some(2),
                "Could not find the requested service nginx: host",
                Some("service-failure"),
                Some(Kind::Deterministic),
            ),
            (
                Some(2),
                "sudo: a password is required",
                Some("permission-denied"),
                Some(Kind::Deterministic),
            ),
            (
                Some(2),
                "Request failed: HTTP Error 503: Service Unavailable",
                Some("registry-unavailable"),
                Some(Kind::Transient),
            ),
            (Some(1), "something odd happened", None, None),
        ];
        for (exit, output, entry, kind) in cases {
            let got = catalog.classify(*exit, output);
            assert_eq!(got.entry.as_deref(), *entry, "{output}");
            assert_eq!(got.kind, *kind, "{output}");
        }
    }

    #[test]
    fn no_deterministic_fixture_is_ever_retried() {
        let catalog = Catalog::built_in().expect("valid");
        for entry in catalog
            .entries()
            .iter()
            .filter(|e| e.kind == Kind::Deterministic)
        {
            // Add transient noise: the deterministic cause must still win.
            let output = format!("{}\nConnection reset by peer\n", fixture(&entry.name));
            assert_eq!(
                catalog.classify(Some(1), &output).kind,
                Some(Kind::Deterministic),
                "{}",
                entry.name
            );
        }
    }

    #[test]
    fn bad_catalogs_name_the_entry() {
        let cases = [
            (
                "[[entries]]\nname='a'\nkind='transient'\ncategory='x'\npatterns=['(']",
                "entries[0].patterns[0]",
            ),
            (
                "[[entries]]\nname='a'\nkind='fixable'\ncategory='x'\npatterns=['a']",
                "entries[0].fix",
            ),
            (
                "[[entries]]\nname='a'\nkind='fixable'\ncategory='x'\npatterns=['a']\nfix=['rm','-rf','/']",
                "entries[0].fix",
            ),
            (
                "[[entries]]\nname='a'\nkind='transient'\ncategory='x'",
                "entries[0]",
            ),
            ("[[entries]]\nname='a'\nkind='sometimes'\ncategory='x'", ""),
        ];
        for (text, path) in cases {
            let errors = Catalog::parse(text).expect_err(text);
            assert_eq!(errors[0].path, path, "{errors:?}");
        }
    }
}
