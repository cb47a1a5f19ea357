//! What kind of host medic runs on: its OS, package manager, init system,
//! and whether it is a container or a Kubernetes pod. Fixes that depend on
//! the host (refreshing the package index) choose its command from this.
//!
//! Pure: the agent gathers the [`HostFacts`] (files and `PATH`), this module
//! decides what they mean.

use std::fmt;

use medic_resilience::classify::Category;

/// What was read off the host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostFacts {
    /// `/etc/os-release` (or `/usr/lib/os-release`), if readable.
    pub os_release: Option<String>,
    /// Package manager programs found on `PATH` (`apt-get`, `dnf`, …).
    pub programs: Vec<String>,
    /// `/run/systemd/system` exists (systemd is PID 1).
    pub systemd: bool,
    /// `/run/openrc` or `/sbin/openrc` exists.
    pub openrc: bool,
    /// The container engine's marker: `/.dockerenv`, `/run/.containerenv`,
    /// the `container` variable, or a container cgroup of PID 1.
    pub container: Option<String>,
    /// `KUBERNETES_SERVICE_HOST` is set or a service account is mounted.
    pub kubernetes: bool,
}

/// The package managers medic knows how to drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageManager {
    /// Debian, Ubuntu.
    Apt,
    /// Fedora, RHEL 8+.
    Dnf,
    /// RHEL 7, CentOS 7.
    Yum,
    /// Alpine.
    Apk,
    /// openSUSE, SLES.
    Zypper,
    /// Arch.
    Pacman,
}

impl PackageManager {
    /// In the order medic looks for them on `PATH`.
    pub const ALL: [PackageManager; 6] = [
        PackageManager::Apt,
        PackageManager::Dnf,
        PackageManager::Yum,
        PackageManager::Apk,
        PackageManager::Zypper,
        PackageManager::Pacman,
    ];

    /// The program that is looked for.
    pub fn program(self) -> &'static str {
        match self {
            PackageManager::Apt => "apt-get",
            PackageManager::Dnf => "dnf",
            PackageManager::Yum => "yum",
            PackageManager::Apk => "apk",
            PackageManager::Zypper => "zypper",
            PackageManager::Pacman => "pacman",
        }
    }

    /// Refreshes the package index, or `None` where that is not safe on its
    /// own (pacman: a refresh without an upgrade is a partial upgrade).
    pub fn refresh_index(self) -> Option<Vec<String>> {
        let argv: &[&str] = match self {
            PackageManager::Apt => &["apt-get", "update"],
            PackageManager::Dnf => &["dnf", "makecache"],
            PackageManager::Yum => &["yum", "makecache"],
            PackageManager::Apk => &["apk", "update"],
            PackageManager::Zypper => &["zypper", "--non-interactive", "refresh"],
            PackageManager::Pacman => return None,
        };
        Some(argv.iter().map(|s| s.to_string()).collect())
    }
}

impl fmt::Display for PackageManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.program())
    }
}

/// The init system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Init {
    /// systemd is PID 1.
    Systemd,
    /// OpenRC.
    Openrc,
    /// Neither (a container's entrypoint, say).
    None,
}

/// The host, as medic understands it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HostContext {
    /// `ID` of os-release (`debian`, `alpine`), or `unknown`.
    pub os: String,
    /// `PRETTY_NAME`, else `ID` and `VERSION_ID`.
    pub os_name: String,
    /// The package manager fixes use, if any.
    pub package_manager: Option<PackageManager>,
    /// The init system.
    pub init: Init,
    /// The container engine, if medic runs in a container.
    pub container: Option<String>,
    /// Whether medic runs in a Kubernetes pod.
    pub kubernetes: bool,
}

/// A package index fix that the host cannot carry out.
pub const NO_PACKAGE_MANAGER: &str = "this host has no package manager medic knows how to refresh";

impl HostContext {
    /// Reads the facts.
    ///
    /// ```
    /// use medic_engine::host::{HostContext, HostFacts, PackageManager};
    /// let host = HostContext::from_facts(&HostFacts {
    ///     os_release: Some("ID=alpine\nPRETTY_NAME=\"Alpine Linux v3.20\"\n".into()),
    ///     programs: vec!["apk".into()],
    ///     ..HostFacts::default()
    /// });
    /// assert_eq!(host.package_manager, Some(PackageManager::Apk));
    /// assert_eq!(host.os_name, "Alpine Linux v3.20");
    /// ```
    pub fn from_facts(facts: &HostFacts) -> Self {
        let release = facts.os_release.as_deref().unwrap_or_default();
        let field = |key: &str| os_release_field(release, key);
        let os = field("ID").unwrap_or_else(|| "unknown".into());
        let os_name = field("PRETTY_NAME").unwrap_or_else(|| {
            [Some(os.clone()), field("VERSION_ID")]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ")
        });
        let family = format!("{os} {}", field("ID_LIKE").unwrap_or_default());
        let installed = |pm: &PackageManager| facts.programs.iter().any(|p| p == pm.program());
        // The OS's own manager if it is there (a Fedora with apt-get
        // installed still uses dnf), else the first one found.
        let package_manager = native_manager(&family)
            .filter(installed)
            .or_else(|| PackageManager::ALL.into_iter().find(installed));
        let init = if facts.systemd {
            Init::Systemd
        } else if facts.openrc {
            Init::Openrc
        } else {
            Init::None
        };
        Self {
            os,
            os_name,
            package_manager,
            init,
            container: facts.container.clone(),
            kubernetes: facts.kubernetes,
        }
    }

    /// What the host changes about a diagnosis of `category`, for its
    /// evidence: in a container, resource limits and restarts are the
    /// container's, not the machine's.
    ///
    /// ```
    /// use medic_engine::host::{HostContext, HostFacts};
    /// use medic_resilience::classify::Category;
    /// let pod = HostContext::from_facts(&HostFacts { kubernetes: true, ..HostFacts::default() });
    /// assert!(pod.remark(Category::Resource).is_some_and(|r| r.contains("Kubernetes pod")));
    /// assert_eq!(pod.remark(Category::Validation), None);
    /// ```
    pub fn remark(&self, category: Category) -> Option<String> {
        let place = match (&self.container, self.kubernetes) {
            (_, true) => "in a Kubernetes pod".to_string(),
            (Some(engine), false) => format!("in a container ({engine})"),
            (None, false) => return None,
        };
        let what = match category {
            Category::Resource => {
                "memory, disk and file limits are the container's, and a restart means the container"
            }
            Category::Network | Category::Dependency | Category::Database => {
                "addresses and ports are the container's network namespace: 127.0.0.1 is not the host"
            }
            _ => return None,
        };
        Some(format!("host: {place}: {what}"))
    }

    /// The command that refreshes the package index here, or why there is none.
    pub fn refresh_package_index(&self) -> Result<Vec<String>, String> {
        match self.package_manager {
            Some(pm) => pm
                .refresh_index()
                .ok_or_else(|| format!("{pm}: refreshing the index alone is not safe here")),
            None => Err(NO_PACKAGE_MANAGER.into()),
        }
    }
}

impl fmt::Display for HostContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pm = self
            .package_manager
            .map_or_else(|| "no package manager".to_string(), |pm| pm.to_string());
        let init = match self.init {
            Init::Systemd => "systemd",
            Init::Openrc => "openrc",
            Init::None => "no init system",
        };
        let place = match (&self.container, self.kubernetes) {
            (_, true) => "a Kubernetes pod".to_string(),
            (Some(engine), false) => format!("a container ({engine})"),
            (None, false) => "not in a container".to_string(),
        };
        write!(f, "{} ({pm}, {init}, {place})", self.os_name)
    }
}

/// The package manager of an OS family (`ID` and `ID_LIKE` words).
fn native_manager(family: &str) -> Option<PackageManager> {
    let words: Vec<&str> = family.split_whitespace().collect();
    let is = |names: &[&str]| names.iter().any(|n| words.contains(n));
    if is(&["debian", "ubuntu"]) {
        Some(PackageManager::Apt)
    } else if is(&["fedora", "rhel", "centos", "rocky", "almalinux"]) {
        Some(PackageManager::Dnf)
    } else if is(&["alpine"]) {
        Some(PackageManager::Apk)
    } else if is(&["suse", "opensuse", "sles"]) {
        Some(PackageManager::Zypper)
    } else if is(&["arch"]) {
        Some(PackageManager::Pacman)
    } else {
        None
    }
}

/// `KEY=value` or `KEY="value"` of os-release.
fn os_release_field(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let value = line.trim().strip_prefix(key)?.strip_prefix('=')?;
        let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
        (!value.is_empty()).then(|| value.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(release: &str, programs: &[&str]) -> HostContext {
        HostContext::from_facts(&HostFacts {
            os_release: Some(release.into()),
            programs: programs.iter().map(|p| p.to_string()).collect(),
            ..HostFacts::default()
        })
    }

    #[test]
    fn each_family_gets_its_own_index_refresh() {
        let cases = [
            (
                "ID=debian\nVERSION_ID=\"12\"\n",
                &["apt-get"][..],
                "apt-get update",
            ),
            (
                "ID=ubuntu\nID_LIKE=debian\n",
                &["apt-get"],
                "apt-get update",
            ),
            ("ID=fedora\n", &["dnf", "yum"], "dnf makecache"),
            (
                "ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n",
                &["dnf"],
                "dnf makecache",
            ),
            ("ID=centos\n", &["yum"], "yum makecache"),
            ("ID=alpine\n", &["apk"], "apk update"),
            (
                "ID=\"opensuse-leap\"\nID_LIKE=\"suse opensuse\"\n",
                &["zypper"],
                "zypper --non-interactive refresh",
            ),
        ];
        for (release, programs, want) in cases {
            let found = host(release, programs).refresh_package_index();
            assert_eq!(
                found.map(|argv| argv.join(" ")),
                Ok(want.to_string()),
                "{release}"
            );
        }
    }

    #[test]
    fn a_host_without_a_known_manager_says_so() {
        let none = host("ID=distroless\n", &[]);
        assert_eq!(none.refresh_package_index(), Err(NO_PACKAGE_MANAGER.into()));
        let arch = host("ID=arch\n", &["pacman"]);
        assert!(arch.refresh_package_index().is_err(), "no partial upgrades");
        let unknown = HostContext::from_facts(&HostFacts::default());
        assert_eq!(unknown.os, "unknown");
    }

    #[test]
    fn the_native_manager_wins_over_a_stray_one() {
        let fedora = host("ID=fedora\n", &["apt-get", "dnf"]);
        assert_eq!(fedora.package_manager, Some(PackageManager::Dnf));
    }

    #[test]
    fn containers_and_pods_are_described() {
        let pod = HostContext::from_facts(&HostFacts {
            os_release: Some("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n".into()),
            programs: vec!["apt-get".into()],
            container: Some("docker".into()),
            kubernetes: true,
            ..HostFacts::default()
        });
        assert_eq!(
            pod.to_string(),
            "Debian GNU/Linux 12 (bookworm) (apt-get, no init system, a Kubernetes pod)"
        );
    }

    #[test]
    fn a_container_changes_what_resource_and_network_findings_mean() {
        let boxed = HostContext::from_facts(&HostFacts {
            container: Some("docker".into()),
            ..HostFacts::default()
        });
        let remark = boxed.remark(Category::Resource).expect("a remark");
        assert!(remark.contains("in a container (docker)"), "{remark}");
        assert!(remark.contains("a restart means the container"), "{remark}");
        assert!(boxed.remark(Category::Database).is_some());
        assert_eq!(boxed.remark(Category::Authentication), None);
        let bare = host(
            "ID=debian
",
            &["apt-get"],
        );
        assert_eq!(
            bare.remark(Category::Resource),
            None,
            "a plain host adds nothing"
        );
    }
}
