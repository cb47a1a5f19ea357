//! Words as the guard sees them: known text, or a value only known at run
//! time (a variable, a command's output, a file name `find` passes on).

/// One argument of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Arg {
    /// Text known before the command runs.
    Known(String),
    /// A value chosen at run time.
    Unknown,
}

impl Arg {
    pub(crate) fn known(&self) -> Option<&str> {
        match self {
            Arg::Known(text) => Some(text),
            Arg::Unknown => None,
        }
    }

    pub(crate) fn is(&self, text: &str) -> bool {
        self.known() == Some(text)
    }
}

pub(crate) fn known_argv(argv: &[String]) -> Vec<Arg> {
    argv.iter().map(|word| Arg::Known(word.clone())).collect()
}

/// The last path component: `/usr/bin/rm` runs `rm`.
pub(crate) fn program_name(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

/// A path the way the kernel resolves it: `//usr`, `/./usr`, `/tmp/../usr`
/// and `/usr/` are all `/usr`. Relative paths are left alone (their base is
/// the action's working directory, which the guard does not know).
pub(crate) fn normalise(path: &str) -> String {
    if !path.starts_with('/') {
        return path.to_string();
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    format!("/{}", parts.join("/"))
}

/// What a path argument can reach: the directory before the first glob
/// component (`/usr/*` and `/u*` reach `/usr` and `/`), normalised.
pub(crate) fn reach(path: &str) -> String {
    let path = match path {
        "~" | "$HOME" | "${HOME}" => return "~".into(),
        p if p.starts_with("~/") => return reach_home(&p[2..]),
        p => p,
    };
    let normal = normalise(path);
    if !normal.starts_with('/') {
        return normal;
    }
    let mut reached = String::new();
    for part in normal.split('/').skip(1) {
        if part.contains(['*', '?', '[']) {
            break;
        }
        reached.push('/');
        reached.push_str(part);
    }
    if reached.is_empty() {
        "/".into()
    } else {
        reached
    }
}

fn reach_home(rest: &str) -> String {
    let inner = reach(&format!("/{rest}"));
    if inner == "/" {
        "~".into()
    } else {
        format!("~{inner}")
    }
}

/// Directories whose deletion, re-permissioning or replacement wrecks a host.
const SYSTEM_TREES: &[&str] = &[
    "/",
    "~",
    "/bin",
    "/boot",
    "/boot/efi",
    "/dev",
    "/etc",
    "/etc/ssl",
    "/etc/systemd",
    "/home",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/media",
    "/mnt",
    "/opt",
    "/proc",
    "/root",
    "/run",
    "/sbin",
    "/snap",
    "/srv",
    "/sys",
    "/tmp",
    "/usr",
    "/usr/bin",
    "/usr/include",
    "/usr/lib",
    "/usr/lib64",
    "/usr/local",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/share",
    "/var",
    "/var/lib",
    "/var/log",
    "/var/mail",
    "/var/spool",
    "/var/tmp",
];

/// Whether `path` reaches a system tree as a whole (not something inside it).
pub(crate) fn is_system_tree(path: &str) -> bool {
    let reached = reach(path);
    SYSTEM_TREES.contains(&reached.as_str()) || (path.starts_with('~') && reached == "~")
}

/// Directories whose files the host cannot lose one by one.
const SYSTEM_FILE_DIRS: &[&str] = &[
    "/bin",
    "/sbin",
    "/boot",
    "/lib",
    "/lib64",
    "/usr/bin",
    "/usr/sbin",
    "/usr/lib",
    "/usr/lib64",
];

/// Files a host cannot lose or have overwritten.
const SYSTEM_FILES: &[&str] = &[
    "/etc/passwd",
    "/etc/shadow",
    "/etc/group",
    "/etc/gshadow",
    "/etc/sudoers",
    "/etc/fstab",
    "/etc/crypttab",
    "/etc/hostname",
    "/etc/hosts",
    "/etc/resolv.conf",
    "/etc/ld.so.conf",
    "/etc/ld.so.preload",
    "/etc/pam.d",
    "/etc/ssh/sshd_config",
];

/// Whether `path` is a file the system needs, or a system tree.
pub(crate) fn is_system_path(path: &str) -> bool {
    if is_system_tree(path) {
        return true;
    }
    let reached = reach(path);
    let parent = reached.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
    SYSTEM_FILES.contains(&reached.as_str()) || SYSTEM_FILE_DIRS.contains(&parent)
}

/// Block devices and kernel files a write must never reach.
pub(crate) fn is_raw_device(path: &str) -> bool {
    let normal = normalise(path);
    let Some(device) = normal.strip_prefix("/dev/") else {
        return matches!(normal.as_str(), "/proc/sysrq-trigger" | "/proc/kcore");
    };
    const DISKS: &[&str] = &[
        "sd", "hd", "vd", "xvd", "nvme", "mmcblk", "md", "dm-", "disk/", "mapper/", "loop", "sr",
        "mem", "kmem", "port", "nbd", "zd", "rbd", "bcache",
    ];
    DISKS.iter().any(|prefix| device.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_like_the_kernel() {
        for (path, normal) in [
            ("//usr", "/usr"),
            ("/var/../usr", "/usr"),
            ("/./etc", "/etc"),
            ("/tmp/../", "/"),
            ("/usr/", "/usr"),
            ("/..", "/"),
            ("relative/../x", "relative/../x"),
        ] {
            assert_eq!(normalise(path), normal, "{path}");
        }
    }

    #[test]
    fn globs_reach_their_directory() {
        assert_eq!(reach("/usr/*"), "/usr");
        assert_eq!(reach("/u*"), "/");
        assert_eq!(reach("/var/cache/app/tmp/*"), "/var/cache/app/tmp");
        assert_eq!(reach("~/"), "~");
        assert!(is_system_tree("/*"));
        assert!(is_system_tree("~/*"));
        assert!(!is_system_tree("/var/cache/app"));
        assert!(is_system_path("/usr/bin/python3"));
        assert!(is_system_path("//etc/./passwd"));
        assert!(!is_system_path("/etc/nginx/conf.d/app.conf"));
    }

    #[test]
    fn devices() {
        assert!(is_raw_device("//dev/sda"));
        assert!(is_raw_device("/dev/nvme0n1"));
        assert!(is_raw_device("/dev/mapper/root"));
        assert!(is_raw_device("/proc/sysrq-trigger"));
        assert!(!is_raw_device("/dev/null"));
        assert!(!is_raw_device("/dev/stdout"));
    }
}
