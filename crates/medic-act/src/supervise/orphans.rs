//! Supervised processes a killed agent left behind.
//!
//! `kill -9` of the agent does not reach its supervised processes: each
//! leads its own process group, and is reparented when the agent dies. The
//! next agent would start a second copy beside it, which crash-loops on the
//! port the orphan still holds while the orphan runs unsupervised.
//!
//! So each supervised process is started with [`MARKER`]`=<id>` in its
//! environment, `id` naming the agent's store and the target: the marker is
//! the record of what runs, kept by the kernel with the process (no store
//! needed to find it, on the one host where it can run). Before an agent
//! starts a target's process it looks in `/proc` for an orphaned group
//! leader carrying its id (parent gone: reparented to init or a subreaper,
//! not another live medic). Exactly one is adopted: watched through a pidfd
//! and left running, so the service does not even restart. Several (which
//! one agent never leaves) are stopped, whole groups, and one copy starts.

use std::time::Duration;

use nix::sys::signal::Signal;
use tokio::time::Instant;

use super::launch::RunningProcess;
use crate::process_group::{signal_group, wait_until_gone};

/// The environment variable that marks a supervised process as medic's.
pub const MARKER: &str = "MEDIC_SUPERVISED";

/// The marker's value for `target` supervised by the agent whose store is
/// `store` (its URL): stable across restarts, distinct between agents.
pub fn marker(store: &str, target: &str) -> String {
    // FNV-1a: stable across builds and platforms, unlike `DefaultHasher`.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in store.bytes().chain([0]).chain(target.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{target}:{hash:016x}")
}

/// The process an earlier agent left running with `marker`, adopted, when
/// there is exactly one; otherwise every such group is stopped and `None`
/// says to start afresh.
pub(super) async fn adopt_or_stop(marker: &str, grace: Duration) -> Option<RunningProcess> {
    let orphans = find_orphans(marker);
    if let [pid] = orphans[..] {
        match RunningProcess::adopt(pid, marker) {
            Ok(Some(process)) => {
                tracing::warn!(
                    pid,
                    marker,
                    "adopted a supervised process an earlier agent left running"
                );
                return Some(process);
            }
            Ok(None) => return None, // gone meanwhile
            Err(error) => {
                tracing::warn!(pid, marker, %error, "cannot watch an orphaned supervised process; stopping it");
            }
        }
    }
    stop_orphans(&orphans, marker, grace).await;
    None
}

/// Stops the orphaned groups led by `orphans` (SIGTERM, `grace`, then
/// SIGKILL).
async fn stop_orphans(orphans: &[u32], marker: &str, grace: Duration) {
    for &pid in orphans {
        tracing::warn!(
            pid,
            marker,
            "stopping a supervised process an earlier agent left running"
        );
        signal_group(pid, Signal::SIGTERM);
    }
    for &pid in orphans {
        if !wait_until_gone(pid, Instant::now() + grace).await {
            signal_group(pid, Signal::SIGKILL);
            wait_until_gone(pid, Instant::now() + Duration::from_secs(1)).await;
        }
    }
}

/// Group leaders carrying `marker` whose parent is not a live medic.
fn find_orphans(marker: &str) -> Vec<u32> {
    let wanted = format!("{MARKER}={marker}");
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let own_exe = std::fs::read_link("/proc/self/exe").ok();
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != std::process::id())
        .filter(|&pid| carries(pid, &wanted))
        .filter_map(|pid| {
            let (ppid, pgid) = parent_and_group(pid)?;
            // Only whole groups: a member is stopped with its leader.
            let leader = pgid == pid;
            let parent_is_medic = ppid > 1
                && own_exe.is_some()
                && std::fs::read_link(format!("/proc/{ppid}/exe")).ok() == own_exe;
            (leader && !parent_is_medic).then_some(pid)
        })
        .collect()
}

/// Whether `pid` runs as this agent's user and its environment holds
/// `variable` (`NAME=value`). The marker is no secret (a target name and a
/// hash of the store URL): another user's process carrying it, planted for
/// an agent running as root to adopt, must not stand in for the service.
pub(super) fn carries(pid: u32, variable: &str) -> bool {
    use std::os::unix::fs::MetadataExt;
    let ours = std::fs::metadata(format!("/proc/{pid}"))
        .is_ok_and(|proc| proc.uid() == rustix::process::geteuid().as_raw());
    ours && std::fs::read(format!("/proc/{pid}/environ"))
        .is_ok_and(|environ| environ.split(|&b| b == 0).any(|v| v == variable.as_bytes()))
}

/// `(ppid, pgrp)` from `/proc/PID/stat`.
fn parent_and_group(pid: u32) -> Option<(u32, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid pgrp …`; comm may contain spaces and parentheses.
    let (_, after_comm) = stat.rsplit_once(')')?;
    let mut fields = after_comm.split_whitespace();
    let state = fields.next()?;
    if matches!(state, "Z" | "X") {
        return None;
    }
    let ppid = fields.next()?.parse().ok()?;
    let pgid = fields.next()?.parse().ok()?;
    Some((ppid, pgid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_stable_and_tell_agents_and_targets_apart() {
        let a = marker("sqlite:///var/lib/medic/medic.db", "shop");
        assert_eq!(a, marker("sqlite:///var/lib/medic/medic.db", "shop"));
        assert_ne!(a, marker("sqlite:///tmp/other.db", "shop"));
        assert_ne!(a, marker("sqlite:///var/lib/medic/medic.db", "orders"));
        // The separator keeps ("ab", "c") and ("a", "bc") apart.
        assert_ne!(marker("ab", "c"), marker("a", "bc"));
    }

    #[test]
    fn only_a_process_of_this_user_carries_a_marker() {
        // `carries` reads the caller's own environment like any other.
        let (name, value) = std::env::vars().next().expect("some variable");
        let own = format!("{name}={value}");
        assert!(carries(std::process::id(), &own));
        if rustix::process::geteuid().as_raw() != 0 {
            // PID 1 belongs to root, not to this user.
            assert!(!carries(1, "PATH=/usr/bin"));
            return;
        }
        // As root: a process of `nobody` carrying the marker is not ours.
        let mut planted = std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .args(["env", "MEDIC_SUPERVISED=shop:planted", "sleep", "5"])
            .spawn()
            .expect("setpriv runs");
        let pid = planted.id();
        std::thread::sleep(std::time::Duration::from_millis(300));
        let carried = carries(pid, "MEDIC_SUPERVISED=shop:planted");
        let _ = planted.kill();
        let _ = planted.wait();
        assert!(!carried, "another user's process passed for ours");
    }

    #[test]
    fn this_process_is_no_orphan() {
        let own = parent_and_group(std::process::id()).expect("own stat");
        assert!(own.0 > 0);
        assert!(find_orphans("no-such-marker").is_empty());
    }
}
