//! Stopping a process *and everything it started*.
//!
//! Every child medic spawns leads its own process group (`process_group(0)`,
//! so the group id is the child's pid), and is stopped by signalling the
//! group: a shell's background jobs or nginx's workers would otherwise outlive
//! their parent, keep its port and make the restart fail.
//!
//! Signalling a group id is safe while the group has a member: the kernel
//! does not hand out a pid still in use as a group id. Callers therefore
//! signal before reaping the leader, or while members may remain.

use std::process::ExitStatus;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::{Pid, getpgrp};
use tokio::process::Child;
use tokio::time::Instant;

/// How often to look whether a signalled group is gone.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// How long to wait for a SIGKILLed group to disappear before giving up.
const KILL_SETTLE: Duration = Duration::from_secs(1);

/// The group id as the kernel wants it, refusing ids that would hit more
/// than one of our children: 0 is "my own group", 1 is init's, and our own
/// group would include medic itself.
fn group_pid(pgid: u32) -> Option<Pid> {
    let raw = i32::try_from(pgid).ok()?;
    let pid = Pid::from_raw(raw);
    (raw > 1 && pid != getpgrp()).then_some(pid)
}

/// Sends `signal` to every process of the group; a group that is already
/// gone is not an error.
pub(crate) fn signal_group(pgid: u32, signal: Signal) {
    let Some(pid) = group_pid(pgid) else {
        tracing::error!(
            pgid,
            "refusing to signal a process group medic does not own"
        );
        return;
    };
    match killpg(pid, signal) {
        Ok(()) | Err(Errno::ESRCH) => {}
        Err(error) => tracing::warn!(pgid, %signal, %error, "could not signal a process group"),
    }
}

/// Whether the group still has a member that is not a zombie. Zombies are
/// dead: they hold no port and run no code, and where init does not reap
/// orphans (some containers) they would otherwise look alive forever.
pub(crate) fn group_is_alive(pgid: u32) -> bool {
    let Some(pid) = group_pid(pgid) else {
        return false;
    };
    if killpg(pid, None) == Err(Errno::ESRCH) {
        return false;
    }
    live_member_in_proc(pid.as_raw()).unwrap_or(true)
}

/// Looks through `/proc` for a running member of group `pgid`; `None` where
/// there is no `/proc` to look in.
fn live_member_in_proc(pgid: i32) -> Option<bool> {
    let entries = std::fs::read_dir("/proc").ok()?;
    for entry in entries.flatten() {
        let is_process = entry
            .file_name()
            .to_str()
            .is_some_and(|name| name.bytes().all(|b| b.is_ascii_digit()));
        if !is_process {
            continue;
        }
        // The process may exit while we look; a vanished one is not a member.
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid pgrp …`; comm may contain spaces and parentheses.
        let Some((_, after_comm)) = stat.rsplit_once(')') else {
            continue;
        };
        let mut fields = after_comm.split_whitespace();
        let state = fields.next();
        let group = fields.nth(1).and_then(|g| g.parse::<i32>().ok());
        if group == Some(pgid) && !matches!(state, Some("Z" | "X")) {
            return Some(true);
        }
    }
    Some(false)
}

/// Waits until the group has no live member, or `deadline` passes; returns
/// whether it is gone.
pub(crate) async fn wait_until_gone(pgid: u32, deadline: Instant) -> bool {
    loop {
        if !group_is_alive(pgid) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Stops the group led by `child`: SIGTERM, up to `grace` for everyone to
/// leave, then SIGKILL. Reaps the leader; returns its exit status when known.
pub(crate) async fn terminate_group(
    child: &mut Child,
    pgid: u32,
    grace: Duration,
) -> Option<ExitStatus> {
    signal_group(pgid, Signal::SIGTERM);
    let deadline = Instant::now() + grace;
    // Reap the leader first: unreaped, it would count as a member forever.
    let mut status = tokio::time::timeout_at(deadline, child.wait())
        .await
        .ok()
        .and_then(Result::ok);
    if status.is_some() && wait_until_gone(pgid, deadline).await {
        return status;
    }
    signal_group(pgid, Signal::SIGKILL);
    if status.is_none() {
        status = child.wait().await.ok();
    }
    if !wait_until_gone(pgid, Instant::now() + KILL_SETTLE).await {
        tracing::warn!(pgid, "a process group survived SIGKILL");
    }
    status
}

/// SIGKILLs a group when dropped while armed, so that a cancelled action or
/// an aborted supervisor task does not leave the group's processes behind
/// (`kill_on_drop` only reaches the leader).
#[derive(Debug)]
pub(crate) struct GroupKillGuard {
    pgid: Option<u32>,
}

impl GroupKillGuard {
    pub(crate) fn new(pgid: u32) -> Self {
        Self { pgid: Some(pgid) }
    }

    /// The group was dealt with; dropping the guard does nothing.
    pub(crate) fn disarm(&mut self) {
        self.pgid = None;
    }
}

impl Drop for GroupKillGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.pgid.take() {
            signal_group(pgid, Signal::SIGKILL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_signals_init_our_own_group_or_everyone() {
        assert!(group_pid(0).is_none());
        assert!(group_pid(1).is_none());
        let own = u32::try_from(getpgrp().as_raw()).expect("positive");
        assert!(group_pid(own).is_none());
        assert!(group_pid(u32::MAX).is_none());
        assert!(!group_is_alive(0));
    }
}
