//! Ansible awareness for `medic run`: a failed `ansible-playbook` step is
//! judged host by host. Each failed task's message is classified with the
//! pipeline failure catalog (so teams teach medic their failures in one
//! place), named in Ansible's terms (package, service, permission, network,
//! unreachable), and a retry re-runs only the hosts that failed.

mod parse;

use std::path::Path;

use medic_engine::pipeline::{Catalog, Classification, Kind};

pub(crate) use parse::Callback;
use parse::TaskFailure;

/// Whether the step is `ansible-playbook` (by path or name).
pub(crate) fn is_playbook(argv: &[String]) -> bool {
    argv.first()
        .and_then(|program| Path::new(program).file_name())
        .and_then(|name| name.to_str())
        .is_some_and(|name| name == "ansible-playbook" || name.starts_with("ansible-playbook-"))
}

/// A failed task in an Ansible user's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum FailureKind {
    Unreachable,
    Network,
    Package,
    Service,
    Permission,
    Other,
}

impl FailureKind {
    /// The name used in reports.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            FailureKind::Unreachable => "unreachable",
            FailureKind::Network => "network",
            FailureKind::Package => "package",
            FailureKind::Service => "service",
            FailureKind::Permission => "permission",
            FailureKind::Other => "other",
        }
    }
}

/// One host's failure, classified.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct HostFailure {
    pub host: String,
    pub task: String,
    pub message: String,
    pub kind: FailureKind,
    pub classification: Classification,
}

/// What one failed attempt's output says, host by host.
#[derive(Debug, serde::Serialize)]
pub(crate) struct Assessment {
    pub callback: Callback,
    pub failures: Vec<HostFailure>,
    /// The `--limit` of the next attempt, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
    /// Ansible's retry file, when it wrote one and it is still there.
    #[serde(skip)]
    retry_file: Option<String>,
}

impl Assessment {
    /// The failure that decides the step: one retrying cannot help
    /// (deterministic or unknown) first, then one that needs a fix, then a
    /// transient one. `None` when no host failure was found.
    pub fn deciding(&self) -> Option<&HostFailure> {
        self.failures
            .iter()
            .min_by_key(|f| match f.classification.kind {
                None | Some(Kind::Deterministic) => 0,
                Some(Kind::Fixable) => 1,
                Some(Kind::Transient) => 2,
            })
    }

    /// What the next attempt limits itself to: ansible's retry file when it
    /// wrote one (it also names hosts an `any_errors_fatal` play stopped),
    /// else the failed hosts.
    pub fn retry_limit(&self) -> String {
        match &self.retry_file {
            Some(file) => format!("@{file}"),
            None => {
                let hosts: Vec<&str> = self.failures.iter().map(|f| f.host.as_str()).collect();
                hosts.join(",")
            }
        }
    }
}

/// Reads and classifies a failed playbook's stdout; `None` when it names no
/// failed host (ansible stopped before any play: the catalog reads the
/// output as for any step).
pub(crate) fn assess(catalog: &Catalog, stdout: &str) -> Option<Assessment> {
    let output = parse::read(stdout)?;
    if output.failures.is_empty() {
        return None;
    }
    Some(Assessment {
        callback: output.callback,
        failures: output
            .failures
            .into_iter()
            .map(|failure| classify(catalog, failure))
            .collect(),
        limit: None,
        retry_file: output.retry_file.filter(|file| Path::new(file).is_file()),
    })
}

fn classify(catalog: &Catalog, failure: TaskFailure) -> HostFailure {
    let text = if failure.text.is_empty() {
        &failure.message
    } else {
        &failure.text
    };
    let mut classification = catalog.classify(None, text);
    // An unreachable host is a network failure worth retrying, unless the
    // message shows a cause that stays (ssh `Permission denied (publickey)`).
    let unreachable = failure.unreachable && classification.kind != Some(Kind::Deterministic);
    if unreachable {
        classification = Classification {
            entry: Some("unreachable-host".into()),
            kind: Some(Kind::Transient),
            category: "network".into(),
            evidence: Some(failure.message.clone()),
        };
    }
    let kind = match (classification.category.as_str(), classification.kind) {
        _ if unreachable => FailureKind::Unreachable,
        ("network", _) => FailureKind::Network,
        // A mirror answering 5xx or 429 is the network's fault, a package
        // the index does not know is the package's.
        ("dependency", Some(Kind::Transient)) => FailureKind::Network,
        ("dependency", _) => FailureKind::Package,
        ("service", _) => FailureKind::Service,
        ("permission", _) => FailureKind::Permission,
        _ => FailureKind::Other,
    };
    HostFailure {
        host: failure.host,
        task: failure.task,
        message: failure.message,
        kind,
        classification,
    }
}

/// The step's argv limited to `limit`. `--limit` is a plain option whose
/// last use wins, so appending narrows the step's own limit, never widens it.
pub(crate) fn limited(argv: &[String], limit: &str) -> Vec<String> {
    let mut next = argv.to_vec();
    next.push("--limit".into());
    next.push(limit.into());
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assess_fixture(name: &str) -> Assessment {
        let path = format!(
            "{}/tests/fixtures/ansible/output/{name}.txt",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let catalog = Catalog::built_in().expect("valid catalog");
        assess(&catalog, &text).unwrap_or_else(|| panic!("{name}: no failures"))
    }

    #[test]
    fn recognises_ansible_playbook_by_name_or_path() {
        let argv = |s: &str| vec![s.to_string(), "site.yml".into()];
        assert!(is_playbook(&argv("ansible-playbook")));
        assert!(is_playbook(&argv("/usr/bin/ansible-playbook")));
        assert!(!is_playbook(&argv("ansible")));
        assert!(!is_playbook(&argv("sh")));
        assert!(!is_playbook(&[]));
    }

    #[test]
    fn each_kind_of_failure_from_real_output() {
        // (fixture, kind, catalog kind)
        let cases = [
            ("flaky", FailureKind::Network, Kind::Transient),
            ("unreachable", FailureKind::Unreachable, Kind::Transient),
            ("permission", FailureKind::Permission, Kind::Deterministic),
            ("become", FailureKind::Permission, Kind::Deterministic),
            ("package", FailureKind::Package, Kind::Fixable),
            ("service", FailureKind::Service, Kind::Deterministic),
            ("mixed", FailureKind::Network, Kind::Transient),
        ];
        for (case, kind, verdict) in cases {
            for callback in ["default", "json"] {
                let assessment = assess_fixture(&format!("{case}.{callback}"));
                let failure = assessment.deciding().expect("a failure");
                assert_eq!(failure.kind, kind, "{case}.{callback}: {failure:?}");
                assert_eq!(
                    failure.classification.kind,
                    Some(verdict),
                    "{case}.{callback}"
                );
            }
        }
    }

    #[test]
    fn the_retry_limits_to_the_failed_hosts() {
        let assessment = assess_fixture("flaky.json");
        assert_eq!(assessment.retry_limit(), "web2");
        let argv: Vec<String> = ["ansible-playbook", "-l", "web1,web2", "site.yml"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            limited(&argv, "web2"),
            [
                "ansible-playbook",
                "-l",
                "web1,web2",
                "site.yml",
                "--limit",
                "web2"
            ]
        );
    }

    #[test]
    fn a_failure_that_cannot_heal_decides_over_a_transient_one() {
        let catalog = Catalog::built_in().expect("valid");
        let failure = |host: &str, message: &str| TaskFailure {
            host: host.into(),
            task: "t".into(),
            message: message.into(),
            unreachable: false,
            text: String::new(),
        };
        let assessment = Assessment {
            callback: Callback::Json,
            failures: vec![
                classify(&catalog, failure("a", "Connection refused")),
                classify(&catalog, failure("b", "Permission denied")),
                classify(&catalog, failure("c", "something odd")),
            ],
            limit: None,
            retry_file: None,
        };
        assert_eq!(assessment.deciding().map(|f| f.host.as_str()), Some("b"));
        assert_eq!(assessment.retry_limit(), "a,b,c");
    }

    #[test]
    fn an_unreachable_host_refusing_the_key_is_permission_not_network() {
        let catalog = Catalog::built_in().expect("valid");
        let failure = classify(
            &catalog,
            TaskFailure {
                host: "db1".into(),
                task: "ping".into(),
                message: "Failed to connect to the host via ssh: root@db1: Permission denied (publickey).".into(),
                unreachable: true,
                text: String::new(),
            },
        );
        assert_eq!(failure.kind, FailureKind::Permission);
        assert_eq!(failure.classification.kind, Some(Kind::Deterministic));
    }
}
