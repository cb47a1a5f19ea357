//! medic-act against real things on loopback: a recording HTTP server, real
//! processes and process groups, real supervised services; paused time where
//! only time matters.

mod breaker;
mod escalate;
mod exec;
mod http;
mod restart;
mod supervise;
mod support;
mod wait;
