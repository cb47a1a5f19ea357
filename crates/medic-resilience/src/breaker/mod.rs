//! Circuit breaker: stop calling a dependency that keeps failing, then probe it.
//!
//! A state machine (closed → open → half-open → closed) fed by outcomes that the
//! caller classifies. The hot path is one atomic load to learn the state; a
//! closed breaker then runs the call and records its outcome under a short
//! uncontended lock, and an open one rejects without locking at all.
//!
//! **It never gets stuck.** Half-open trial permits are RAII guards: a permit
//! that is dropped without an outcome (the future was cancelled, panicked or
//! timed out) gives its slot back. Every permit carries the state *generation*
//! it was issued in; an outcome from an older generation is ignored, so a slow
//! call that started before the breaker opened cannot close it or re-open it.

mod config;
mod state;
mod window;

pub use config::{BreakerBuilder, SlowCalls, TripRule};
pub use state::State;
pub use window::WindowKind;

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use self::config::Config;
use self::state::Phase;
use self::window::{Tally, Window};
use crate::clock::Clock;
use crate::error::{ConfigError, Error};
use crate::events::{Event, SharedListener};

/// A circuit breaker. Clones share state.
///
/// ```
/// use medic_resilience::breaker::{CircuitBreaker, State};
/// use medic_resilience::Error;
/// use std::time::Duration;
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), medic_resilience::ConfigError> {
/// let breaker = CircuitBreaker::builder("payments-db")
///     .consecutive_failures(2)
///     .open_duration(Duration::from_secs(10))
///     .build()?;
/// for _ in 0..2 {
///     let _ = breaker.call(async { Err::<(), _>("connection refused") }).await;
/// }
/// assert_eq!(breaker.state(), State::Open);
/// let rejected = breaker.call(async { Ok::<_, &str>(()) }).await;
/// assert!(matches!(rejected, Err(Error::CircuitOpen { .. })));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct CircuitBreaker {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("name", &self.shared.name)
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

struct Shared {
    name: Arc<str>,
    config: Config,
    clock: Clock,
    epoch: Instant,
    phase: AtomicU64,
    /// Nanoseconds since `epoch` at which an open breaker allows a trial.
    open_until: AtomicU64,
    core: Mutex<Core>,
    listeners: Vec<SharedListener>,
}

/// Bookkeeping that changes together, under the lock.
struct Core {
    window: Window,
    consecutive_failures: u32,
    trials_in_flight: u32,
    trial_successes: u32,
    opens_in_a_row: u32,
}

/// A snapshot of a breaker for dashboards and APIs.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BreakerSnapshot {
    /// The breaker's name.
    pub name: String,
    /// Its state.
    pub state: State,
    /// Calls in the current window.
    pub calls: u32,
    /// Failed calls in the current window.
    pub failures: u32,
    /// Slow calls in the current window.
    pub slow_calls: u32,
    /// `failures / calls`, or 0 with no calls.
    pub failure_rate: f64,
    /// Failures in a row.
    pub consecutive_failures: u32,
    /// Milliseconds until an open breaker allows a trial (0 unless open).
    pub retry_in_ms: u64,
}

/// What a permit was issued under.
#[derive(Debug, Clone, Copy)]
struct Ticket {
    phase: Phase,
    started: Option<Instant>,
}

impl CircuitBreaker {
    /// Starts a builder for a breaker called `name`.
    pub fn builder(name: &str) -> BreakerBuilder {
        BreakerBuilder::new(name)
    }

    /// Builds a breaker from a validated builder.
    pub(crate) fn from_builder(builder: BreakerBuilder) -> Result<Self, ConfigError> {
        let config = builder.validate()?;
        let epoch = builder.clock.now();
        Ok(Self {
            shared: Arc::new(Shared {
                core: Mutex::new(Core {
                    window: Window::new(config.window),
                    consecutive_failures: 0,
                    trials_in_flight: 0,
                    trial_successes: 0,
                    opens_in_a_row: 0,
                }),
                name: builder.name,
                config,
                clock: builder.clock,
                epoch,
                phase: AtomicU64::new(State::Closed.code()),
                open_until: AtomicU64::new(0),
                listeners: builder.listeners,
            }),
        })
    }

    /// The breaker's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The current state. An open breaker whose open duration has passed still
    /// reads `Open` until a call arrives and becomes the half-open trial.
    pub fn state(&self) -> State {
        self.shared.phase().state()
    }

    /// Asks to make one call. On success the permit must be told the outcome;
    /// dropping it untold gives a half-open trial slot back.
    ///
    /// ```
    /// use medic_resilience::breaker::CircuitBreaker;
    /// let breaker = CircuitBreaker::builder("cache").build()?;
    /// let permit = breaker.try_acquire().expect("closed breakers admit calls");
    /// permit.success();
    /// # Ok::<(), medic_resilience::ConfigError>(())
    /// ```
    pub fn try_acquire(&self) -> Result<Permit<'_>, Rejected> {
        let ticket = self.shared.acquire()?;
        Ok(Permit {
            shared: &self.shared,
            ticket: Some(ticket),
        })
    }

    /// Like [`CircuitBreaker::try_acquire`], for permits that must be `'static`.
    pub fn try_acquire_owned(&self) -> Result<OwnedPermit, Rejected> {
        let ticket = self.shared.acquire()?;
        Ok(OwnedPermit {
            shared: self.shared.clone(),
            ticket: Some(ticket),
        })
    }

    /// Runs `call` if the breaker admits it; every `Err` counts as a failure.
    pub async fn call<T, E, Fut>(&self, call: Fut) -> Result<T, Error<E>>
    where
        Fut: Future<Output = Result<T, E>>,
    {
        self.call_with(call, |_| true).await
    }

    /// Runs `call` if admitted; `is_failure` decides which errors count against
    /// the dependency (a caller's own bad request usually should not).
    pub async fn call_with<T, E, Fut, P>(&self, call: Fut, is_failure: P) -> Result<T, Error<E>>
    where
        Fut: Future<Output = Result<T, E>>,
        P: FnOnce(&E) -> bool,
    {
        let permit = self.try_acquire().map_err(|r| Error::CircuitOpen {
            retry_in: r.retry_in,
        })?;
        match call.await {
            Ok(value) => {
                permit.success();
                Ok(value)
            }
            Err(error) => {
                permit.record(is_failure(&error));
                Err(Error::Inner(error))
            }
        }
    }

    /// Runs a call that already speaks [`Error`], for composition inside other
    /// policies. Operation errors and timeouts count as failures; rejections by
    /// inner policies (a full bulkhead, say) release the permit without counting.
    pub async fn execute<T, E, Fut>(&self, call: Fut) -> Result<T, Error<E>>
    where
        Fut: Future<Output = Result<T, Error<E>>>,
    {
        let permit = self.try_acquire().map_err(|r| Error::CircuitOpen {
            retry_in: r.retry_in,
        })?;
        let result = call.await;
        permit.settle(&result);
        result
    }

    /// Closes the breaker and forgets its history.
    pub fn reset(&self) {
        self.shared.transition_to(State::Closed);
    }

    /// Opens the breaker until [`CircuitBreaker::reset`].
    pub fn force_open(&self) {
        self.shared.transition_to(State::ForcedOpen);
    }

    /// Counts, rates and state, for display.
    pub fn snapshot(&self) -> BreakerSnapshot {
        let shared = &self.shared;
        let now = shared.now_nanos();
        let core = shared.lock();
        let phase = shared.phase();
        let tally = core.window.tally(now);
        let retry_in_ms = match phase.state() {
            State::Open => {
                shared
                    .open_until
                    .load(Ordering::Acquire)
                    .saturating_sub(now)
                    / 1_000_000
            }
            _ => 0,
        };
        BreakerSnapshot {
            name: shared.name.to_string(),
            state: phase.state(),
            calls: tally.calls,
            failures: tally.failures,
            slow_calls: tally.slow,
            failure_rate: ratio(tally.failures, tally.calls),
            consecutive_failures: core.consecutive_failures,
            retry_in_ms,
        }
    }
}

fn ratio(part: u32, whole: u32) -> f64 {
    if whole == 0 {
        0.0
    } else {
        f64::from(part) / f64::from(whole)
    }
}

/// The breaker refused a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("circuit breaker open; next trial in {retry_in:?}")]
pub struct Rejected {
    /// How long until a trial may be admitted (`Duration::MAX` when forced open).
    pub retry_in: Duration,
}

impl Shared {
    fn phase(&self) -> Phase {
        Phase(self.phase.load(Ordering::Acquire))
    }

    fn lock(&self) -> MutexGuard<'_, Core> {
        // The core holds plain counters; a panic elsewhere cannot leave them torn.
        self.core.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn now_nanos(&self) -> u64 {
        let elapsed = self.clock.now().saturating_duration_since(self.epoch);
        u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
    }

    fn started(&self) -> Option<Instant> {
        self.config.slow_calls.map(|_| self.clock.now())
    }

    fn emit(&self, event: Event<'_>) {
        crate::events::emit(None, event);
        for listener in &self.listeners {
            listener.on_event(&event);
        }
    }

    fn reject(&self, retry_in: Duration) -> Rejected {
        if !self.listeners.is_empty() {
            self.emit(Event::BreakerRejected {
                breaker: &self.name,
            });
        }
        Rejected { retry_in }
    }

    fn acquire(&self) -> Result<Ticket, Rejected> {
        let phase = self.phase();
        match phase.state() {
            State::Closed => Ok(Ticket {
                phase,
                started: self.started(),
            }),
            State::Open => {
                let now = self.now_nanos();
                let until = self.open_until.load(Ordering::Acquire);
                if now < until {
                    Err(self.reject(Duration::from_nanos(until - now)))
                } else {
                    self.acquire_trial()
                }
            }
            State::HalfOpen => self.acquire_trial(),
            State::ForcedOpen => Err(self.reject(Duration::MAX)),
        }
    }

    /// The slow path: an open breaker whose time is up, or a half-open one.
    fn acquire_trial(&self) -> Result<Ticket, Rejected> {
        let mut core = self.lock();
        let mut change = None;
        let mut phase = self.phase();
        match phase.state() {
            State::Closed => {
                return Ok(Ticket {
                    phase,
                    started: self.started(),
                });
            }
            State::ForcedOpen => return Err(self.reject(Duration::MAX)),
            State::Open => {
                let now = self.now_nanos();
                let until = self.open_until.load(Ordering::Acquire);
                if now < until {
                    return Err(self.reject(Duration::from_nanos(until - now)));
                }
                change = Some(self.enter(&mut core, State::HalfOpen));
                phase = self.phase();
            }
            State::HalfOpen => {}
        }
        let admitted = core.trials_in_flight < self.config.half_open_permits;
        if admitted {
            core.trials_in_flight += 1;
        }
        drop(core);
        if let Some(change) = change {
            self.announce(change);
        }
        if admitted {
            Ok(Ticket {
                phase,
                started: self.started(),
            })
        } else {
            Err(self.reject(Duration::ZERO))
        }
    }

    /// Records the outcome of an admitted call.
    fn complete(&self, ticket: Ticket, failure: bool) {
        let slow = match (ticket.started, self.config.slow_calls) {
            (Some(started), Some(slow)) => {
                self.clock.now().saturating_duration_since(started) >= slow.duration
            }
            _ => false,
        };
        if self.phase() != ticket.phase {
            return; // issued under an earlier state: stale
        }
        let mut core = self.lock();
        if self.phase() != ticket.phase {
            return;
        }
        let next = match ticket.phase.state() {
            State::Closed => self.judge_closed(&mut core, failure, slow),
            State::HalfOpen => {
                core.trials_in_flight = core.trials_in_flight.saturating_sub(1);
                if failure || slow {
                    Some(State::Open)
                } else {
                    core.trial_successes += 1;
                    (core.trial_successes >= self.config.success_threshold).then_some(State::Closed)
                }
            }
            State::Open | State::ForcedOpen => None,
        };
        let change = next.map(|to| self.enter(&mut core, to));
        drop(core);
        if let Some(change) = change {
            self.announce(change);
        }
    }

    fn judge_closed(&self, core: &mut Core, failure: bool, slow: bool) -> Option<State> {
        let now = if core.window.needs_clock() {
            self.now_nanos()
        } else {
            0
        };
        let tally = core.window.record(now, failure, slow);
        core.consecutive_failures = if failure {
            core.consecutive_failures + 1
        } else {
            0
        };
        self.should_trip(tally, core.consecutive_failures)
            .then_some(State::Open)
    }

    fn should_trip(&self, tally: Tally, consecutive_failures: u32) -> bool {
        let slow_trip = |minimum_calls: u32| {
            self.config.slow_calls.is_some_and(|slow| {
                tally.calls >= minimum_calls
                    && ratio(tally.slow, tally.calls) >= slow.rate_threshold
                    && tally.slow > 0
            })
        };
        match self.config.trip {
            TripRule::ConsecutiveFailures(n) => consecutive_failures >= n || slow_trip(n),
            TripRule::FailureRate {
                threshold,
                minimum_calls,
            } => {
                (tally.calls >= minimum_calls
                    && tally.failures > 0
                    && ratio(tally.failures, tally.calls) >= threshold)
                    || slow_trip(minimum_calls)
            }
        }
    }

    /// Gives back a permit that ended without an outcome.
    fn release(&self, ticket: Ticket) {
        if ticket.phase.state() != State::HalfOpen || self.phase() != ticket.phase {
            return;
        }
        let mut core = self.lock();
        if self.phase() == ticket.phase {
            core.trials_in_flight = core.trials_in_flight.saturating_sub(1);
        }
    }

    fn transition_to(&self, to: State) {
        let mut core = self.lock();
        let change = self.enter(&mut core, to);
        drop(core);
        self.announce(change);
    }

    /// Moves to `to` under the lock, starting a new generation.
    fn enter(&self, core: &mut Core, to: State) -> (State, State) {
        let from = self.phase();
        core.trials_in_flight = 0;
        core.trial_successes = 0;
        match to {
            State::Open => {
                core.opens_in_a_row = core.opens_in_a_row.saturating_add(1);
                let open_for = self.config.open_duration_for(core.opens_in_a_row);
                let until = self
                    .now_nanos()
                    .saturating_add(u64::try_from(open_for.as_nanos()).unwrap_or(u64::MAX));
                self.open_until.store(until, Ordering::Release);
            }
            State::Closed => {
                core.opens_in_a_row = 0;
                core.consecutive_failures = 0;
                core.window.clear();
            }
            State::HalfOpen | State::ForcedOpen => {}
        }
        self.phase.store(from.next(to).0, Ordering::Release);
        (from.state(), to)
    }

    fn announce(&self, (from, to): (State, State)) {
        self.emit(Event::StateChange {
            breaker: &self.name,
            from,
            to,
        });
    }
}

impl BreakerBuilder {
    /// Validates the settings and builds the breaker.
    ///
    /// ```
    /// use medic_resilience::breaker::CircuitBreaker;
    /// let err = CircuitBreaker::builder("x").failure_rate(1.5, 10).build().unwrap_err();
    /// assert_eq!(err.field, "failure_rate_threshold");
    /// ```
    pub fn build(self) -> Result<CircuitBreaker, ConfigError> {
        CircuitBreaker::from_builder(self)
    }

    /// Calls `f(breaker, from, to)` on every state change.
    pub fn on_state_change<F>(self, f: F) -> Self
    where
        F: Fn(&str, State, State) + Send + Sync + 'static,
    {
        self.listener(Arc::new(move |event: &Event<'_>| {
            if let Event::StateChange { breaker, from, to } = *event {
                f(breaker, from, to);
            }
        }))
    }
}

macro_rules! permit_methods {
    () => {
        /// The call succeeded.
        pub fn success(self) {
            self.record(false);
        }

        /// The call failed in a way that counts against the dependency.
        pub fn failure(self) {
            self.record(true);
        }

        /// Records the outcome.
        pub fn record(mut self, failure: bool) {
            if let Some(ticket) = self.ticket.take() {
                self.shared.complete(ticket, failure);
            }
        }
    };
}

/// Leave to make one call through a breaker; see [`CircuitBreaker::try_acquire`].
#[must_use = "a permit must be told the call's outcome"]
pub struct Permit<'a> {
    shared: &'a Shared,
    ticket: Option<Ticket>,
}

impl Permit<'_> {
    permit_methods!();

    /// Records a composed call's result: operation errors and timeouts are
    /// failures; rejections by inner policies release the permit uncounted.
    pub(crate) fn settle<T, E>(self, result: &Result<T, Error<E>>) {
        match result {
            Ok(_) => self.success(),
            Err(e) if e.is_rejection() => drop(self),
            Err(_) => self.failure(),
        }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            self.shared.release(ticket);
        }
    }
}

/// A permit that owns a handle on its breaker, for `'static` futures.
#[must_use = "a permit must be told the call's outcome"]
pub struct OwnedPermit {
    shared: Arc<Shared>,
    ticket: Option<Ticket>,
}

impl OwnedPermit {
    permit_methods!();
}

impl Drop for OwnedPermit {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            self.shared.release(ticket);
        }
    }
}

impl std::fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Permit")
            .field("ticket", &self.ticket)
            .finish()
    }
}

impl std::fmt::Debug for OwnedPermit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnedPermit")
            .field("ticket", &self.ticket)
            .finish()
    }
}

#[cfg(test)]
mod tests;
