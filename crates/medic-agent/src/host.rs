//! Reads the host's facts off the filesystem and `PATH`; medic-engine's
//! `host` module says what they mean.

use std::path::Path;

use medic_engine::host::{HostContext, HostFacts, PackageManager};

/// The host medic runs on, as read now.
pub fn detect() -> HostContext {
    HostContext::from_facts(&facts())
}

fn facts() -> HostFacts {
    let os_release = ["/etc/os-release", "/usr/lib/os-release"]
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok());
    let programs = PackageManager::ALL
        .iter()
        .map(|pm| pm.program())
        .filter(|program| on_path(program))
        .map(str::to_string)
        .collect();
    HostFacts {
        os_release,
        programs,
        systemd: Path::new("/run/systemd/system").is_dir(),
        openrc: Path::new("/run/openrc").is_dir() || Path::new("/sbin/openrc").exists(),
        container: container(),
        kubernetes: std::env::var_os("KUBERNETES_SERVICE_HOST").is_some()
            || Path::new("/var/run/secrets/kubernetes.io/serviceaccount").is_dir(),
    }
}

/// The container engine, from the markers engines leave.
fn container() -> Option<String> {
    if Path::new("/.dockerenv").exists() {
        return Some("docker".into());
    }
    if Path::new("/run/.containerenv").exists() {
        return Some("podman".into());
    }
    // systemd-nspawn, podman and LXC set `container` for PID 1.
    if let Some(engine) = std::env::var("container").ok().filter(|v| !v.is_empty()) {
        return Some(engine);
    }
    let cgroup = std::fs::read_to_string("/proc/1/cgroup").unwrap_or_default();
    ["kubepods", "docker", "containerd", "lxc"]
        .into_iter()
        .find(|engine| cgroup.contains(engine))
        .map(str::to_string)
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            let candidate = dir.join(program);
            candidate.is_file()
                && std::fs::metadata(&candidate).is_ok_and(|m| {
                    std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0
                })
        })
    })
}
