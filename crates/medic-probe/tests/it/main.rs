//! medic-probe against real things on loopback: a canned HTTP server, open
//! and closed ports, real processes (including a real zombie), real files
//! appended to, rotated and truncated; the scheduler with paused time.

mod exec;
mod http;
mod https;
mod log;
mod process;
mod scheduler;
mod support;
mod tcp;
