//! Starting one supervised process, and stopping it with its process group.

use std::fs::OpenOptions;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use medic_engine::config::Supervise;
use medic_engine::safety::{check_command, child_env};
use nix::sys::signal::Signal;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::process::{Child, Command};
use tokio::time::Instant;

use super::SuperviseError;
use crate::process_group::{GroupKillGuard, group_is_alive, signal_group, wait_until_gone};

/// Everything needed to start a target's process again and again.
#[derive(Debug, Clone)]
pub(super) struct Launcher {
    target: String,
    spec: Supervise,
    log_file: Option<PathBuf>,
    /// `MEDIC_SUPERVISED`'s value, if the supervisor has an identity.
    marker: Option<String>,
}

/// A running process: the leader of its own process group.
#[derive(Debug)]
pub(super) struct RunningProcess {
    leader: Leader,
    pub(super) pid: u32,
    pub(super) started: Instant,
    /// Declared after `child`: on drop (an aborted task) the group is
    /// SIGKILLed before `kill_on_drop` lets the leader be reaped.
    group: GroupKillGuard,
}

/// How the watcher knows the leader is alive.
#[derive(Debug)]
enum Leader {
    /// Started by this agent: its child, reaped with its exit status.
    Spawned(Child),
    /// Started by an earlier agent that died, and adopted: a pidfd that
    /// turns readable when it exits (it is not our child, so its status is
    /// not ours to read).
    Adopted(AsyncFd<OwnedFd>),
}

/// Registers a pidfd with the reactor: readable once its process exits.
#[allow(unsafe_code)] // tokio's registration is unsafe since 1.5x (I/O safety)
fn watch_pidfd(pidfd: OwnedFd) -> std::io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: an `OwnedFd` is open until dropped and always returns the same
    // descriptor, and the `AsyncFd` owns it: the contract the call asks for.
    unsafe { AsyncFd::register_with_interest(pidfd, Interest::READABLE) }.map_err(Into::into)
}

impl Launcher {
    /// Checks the command once, the way it will run (the guard again, as
    /// for every argv medic runs).
    pub(super) fn new(
        target: &str,
        spec: &Supervise,
        log_file: Option<PathBuf>,
        marker: Option<String>,
    ) -> Result<Self, SuperviseError> {
        if spec.command.first().is_none_or(String::is_empty) {
            return Err(SuperviseError::EmptyCommand(target.to_string()));
        }
        check_command(&spec.command).map_err(|refusal| SuperviseError::Refused {
            target: target.to_string(),
            refusal,
        })?;
        Ok(Self {
            target: target.to_string(),
            spec: spec.clone(),
            log_file,
            marker,
        })
    }

    /// Spawns the process in a new process group, output appended to the log
    /// file (or discarded).
    pub(super) fn launch(&self) -> Result<RunningProcess, SuperviseError> {
        let Some((program, args)) = self.spec.command.split_first() else {
            return Err(SuperviseError::EmptyCommand(self.target.clone()));
        };
        let (stdout, stderr) = self.output();
        let mut command = Command::new(program);
        command
            .args(args)
            // A clean environment: the agent's secrets stay with the agent.
            .env_clear()
            .envs(child_env::from_agent(&self.spec.pass_env, &self.spec.env))
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .process_group(0)
            .kill_on_drop(true);
        if let Some(cwd) = &self.spec.cwd {
            command.current_dir(cwd);
        }
        if let Some(marker) = &self.marker {
            // How a restarted agent recognises this process (orphans.rs).
            command.env(super::MARKER, marker);
        }
        let spawn_error = |source| SuperviseError::Spawn {
            target: self.target.clone(),
            program: program.clone(),
            source,
        };
        let child = command.spawn().map_err(spawn_error)?;
        let pid = child.id().ok_or_else(|| {
            spawn_error(std::io::Error::other(
                "the process exited before its pid was read",
            ))
        })?;
        Ok(RunningProcess {
            leader: Leader::Spawned(child),
            pid,
            started: Instant::now(),
            group: GroupKillGuard::new(pid),
        })
    }

    /// Where stdout and stderr go. A log file that cannot be opened must not
    /// keep the service down: its output is discarded instead, loudly.
    fn output(&self) -> (Stdio, Stdio) {
        let Some(path) = &self.log_file else {
            return (Stdio::null(), Stdio::null());
        };
        let opened = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|file| Ok((file.try_clone()?, file)));
        match opened {
            Ok((out, err)) => (Stdio::from(out), Stdio::from(err)),
            Err(error) => {
                tracing::warn!(supervised = self.target, path = %path.display(), %error,
                    "cannot open the supervised process's log file; discarding its output");
                (Stdio::null(), Stdio::null())
            }
        }
    }
}

impl RunningProcess {
    /// Takes over `pid`, the leader of a group an earlier agent started, if
    /// it carries `marker` (`MEDIC_SUPERVISED=…`) once pinned by its pidfd:
    /// then the pidfd is that very process, not one that reused its pid.
    /// `Ok(None)` when it is gone or is not ours.
    pub(super) fn adopt(pid: u32, marker: &str) -> std::io::Result<Option<Self>> {
        let Some(raw) = i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        else {
            return Ok(None);
        };
        let pidfd = match rustix::process::pidfd_open(raw, rustix::process::PidfdFlags::NONBLOCK) {
            Ok(pidfd) => pidfd,
            Err(rustix::io::Errno::SRCH) => return Ok(None),
            Err(errno) => return Err(errno.into()),
        };
        if !super::orphans::carries(pid, &format!("{}={marker}", super::MARKER)) {
            return Ok(None);
        }
        Ok(Some(Self {
            leader: Leader::Adopted(watch_pidfd(pidfd)?),
            pid,
            // Its age is counted from the adoption.
            started: Instant::now(),
            group: GroupKillGuard::new(pid),
        }))
    }

    /// Whether it was adopted from an earlier agent.
    pub(super) fn adopted(&self) -> bool {
        matches!(self.leader, Leader::Adopted(_))
    }

    /// Waits for the leader to exit: its status, or `None` for an adopted
    /// one (the kernel tells only that it ended).
    pub(super) async fn wait(&mut self) -> std::io::Result<Option<ExitStatus>> {
        match &mut self.leader {
            Leader::Spawned(child) => child.wait().await.map(Some),
            // A pidfd stays readable once its process has exited.
            Leader::Adopted(pidfd) => pidfd.readable().await.map(|_| None),
        }
    }

    /// Stops the whole group: SIGTERM, `grace` to leave, then SIGKILL.
    pub(super) async fn terminate(mut self, grace: Duration) -> Option<ExitStatus> {
        let status = match &mut self.leader {
            Leader::Spawned(child) => {
                crate::process_group::terminate_group(child, self.pid, grace).await
            }
            Leader::Adopted(_) => {
                signal_group(self.pid, Signal::SIGTERM);
                if !wait_until_gone(self.pid, Instant::now() + grace).await {
                    signal_group(self.pid, Signal::SIGKILL);
                    wait_until_gone(self.pid, Instant::now() + Duration::from_secs(1)).await;
                }
                None
            }
        };
        self.group.disarm();
        status
    }

    /// After the leader exited by itself: stops what it left behind in its
    /// group (nginx's workers after its master was killed keep the port).
    pub(super) async fn clean_up_after_exit(mut self, grace: Duration) {
        self.group.disarm();
        if !group_is_alive(self.pid) {
            return;
        }
        signal_group(self.pid, Signal::SIGTERM);
        if !wait_until_gone(self.pid, Instant::now() + grace).await {
            signal_group(self.pid, Signal::SIGKILL);
        }
    }
}
