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
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use self::config::Config;
use self::state::Phase;
use self::window::{Position, Tally, Window};
use crate::clock::{Clock, Epoch};
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
    /// Read by every call, written only on transitions.
    phase: Padded<AtomicU64>,
    /// Coarse nanoseconds since `epoch` at which an open breaker allows a trial.
    open_until: AtomicU64,
    /// Written by every call: kept off the read-mostly line above.
    hot: Padded<Hot>,
    core: Mutex<Core>,
    name: Arc<str>,
    config: Config,
    /// Successes may skip the lock: the window is a count window.
    lock_free_successes: bool,
    /// A success must be judged when the call counter reaches this
    /// (the minimum calls of a failure-rate rule), since only then can a
    /// success make an existing failure rate count.
    judge_success_at: u64,
    clock: Clock,
    epoch: Epoch,
    listeners: Vec<SharedListener>,
}

/// Counters every call touches, updated without the lock.
#[derive(Default)]
struct Hot {
    /// Calls recorded since the window was last cleared (count windows).
    calls: AtomicU64,
    consecutive_failures: AtomicU32,
}

/// Keeps a value on its own cache lines (two, for the adjacent-line prefetcher).
#[repr(align(128))]
#[derive(Default)]
struct Padded<T>(T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Bookkeeping that changes together, under the lock.
struct Core {
    window: Window,
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
    /// Nanoseconds since the epoch when the call started, or [`NOT_TIMED`].
    started: u64,
}

/// `Ticket::started` when slow calls are not tracked.
const NOT_TIMED: u64 = u64::MAX;

impl Ticket {
    /// Marks a permit whose outcome was recorded or released. Generations grow
    /// by one per transition, so no live phase ever reaches this value.
    const SETTLED: Ticket = Ticket {
        phase: Phase(u64::MAX),
        started: NOT_TIMED,
    };

    #[inline]
    fn take(&mut self) -> Option<Ticket> {
        if self.phase == Ticket::SETTLED.phase {
            None
        } else {
            Some(std::mem::replace(self, Ticket::SETTLED))
        }
    }
}

impl CircuitBreaker {
    /// Starts a builder for a breaker called `name`.
    pub fn builder(name: &str) -> BreakerBuilder {
        BreakerBuilder::new(name)
    }

    /// Builds a breaker from a validated builder.
    pub(crate) fn from_builder(builder: BreakerBuilder) -> Result<Self, ConfigError> {
        let config = builder.validate()?;
        let epoch = builder.clock.epoch();
        let window = Window::new(config.window);
        let judge_success_at = match config.trip {
            TripRule::FailureRate { minimum_calls, .. } => u64::from(minimum_calls),
            TripRule::ConsecutiveFailures(_) => u64::MAX,
        };
        Ok(Self {
            shared: Arc::new(Shared {
                phase: Padded(AtomicU64::new(State::Closed.code())),
                open_until: AtomicU64::new(0),
                hot: Padded::default(),
                lock_free_successes: window.is_count(),
                judge_success_at,
                core: Mutex::new(Core {
                    window,
                    trials_in_flight: 0,
                    trial_successes: 0,
                    opens_in_a_row: 0,
                }),
                name: builder.name,
                config,
                clock: builder.clock,
                epoch,
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
    #[inline]
    pub fn try_acquire(&self) -> Result<Permit<'_>, Rejected> {
        let ticket = self.shared.acquire()?;
        Ok(Permit {
            shared: &self.shared,
            ticket,
        })
    }

    /// Like [`CircuitBreaker::try_acquire`], for permits that must be `'static`.
    pub fn try_acquire_owned(&self) -> Result<OwnedPermit, Rejected> {
        let ticket = self.shared.acquire()?;
        Ok(OwnedPermit {
            shared: self.shared.clone(),
            ticket,
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
        let open_now = shared.open_clock_nanos();
        let mut core = shared.lock();
        let phase = shared.phase();
        let tally = core.window.tally(shared.position(0, now));
        let retry_in_ms = match phase.state() {
            State::Open => {
                shared
                    .open_until
                    .load(Ordering::Acquire)
                    .saturating_sub(open_now)
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
            consecutive_failures: shared.hot.consecutive_failures.load(Ordering::Relaxed),
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
    #[inline]
    fn phase(&self) -> Phase {
        Phase(self.phase.load(Ordering::Acquire))
    }

    fn lock(&self) -> MutexGuard<'_, Core> {
        // The core holds plain counters; a panic elsewhere cannot leave them torn.
        self.core.lock().unwrap_or_else(|e| e.into_inner())
    }

    #[inline]
    fn now_nanos(&self) -> u64 {
        self.clock.nanos_since(&self.epoch)
    }

    /// The time base of `open_until`: open durations are seconds long, so a
    /// kernel tick of imprecision is fine, and rejecting calls gets cheaper.
    #[inline]
    fn open_clock_nanos(&self) -> u64 {
        self.clock.coarse_nanos_since(&self.epoch)
    }

    #[inline]
    fn started(&self) -> u64 {
        match self.config.slow_calls {
            Some(_) => self.now_nanos(),
            None => NOT_TIMED,
        }
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

    #[inline]
    fn acquire(&self) -> Result<Ticket, Rejected> {
        let phase = self.phase();
        if phase.state() == State::Closed && self.config.slow_calls.is_none() {
            // The hot path, kept small enough to inline into the caller.
            return Ok(Ticket {
                phase,
                started: NOT_TIMED,
            });
        }
        self.acquire_other(phase)
    }

    /// Every state but a plain closed one.
    #[inline(never)]
    fn acquire_other(&self, phase: Phase) -> Result<Ticket, Rejected> {
        match phase.state() {
            State::Closed => Ok(Ticket {
                phase,
                started: self.started(),
            }),
            State::Open => {
                let now = self.open_clock_nanos();
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
                let now = self.open_clock_nanos();
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

    /// Where an outcome lands in the window, `seq` being its call number.
    fn position(&self, seq: u64, now_nanos: u64) -> Position {
        Position {
            seq,
            calls: self.hot.calls.load(Ordering::Relaxed),
            now_nanos,
        }
    }

    /// Records the outcome of an admitted call.
    #[inline(always)]
    fn complete(&self, ticket: Ticket, failure: bool) {
        let slow = ticket.started != NOT_TIMED && self.is_slow(ticket.started);
        if self.phase() != ticket.phase {
            return; // issued under an earlier state: stale
        }
        let plain_success = !failure && !slow;
        if plain_success && self.lock_free_successes && ticket.phase.state() == State::Closed {
            // The hot path: a success in a closed breaker with a count window
            // is one counter bump, without the lock.
            let calls = self.hot.calls.fetch_add(1, Ordering::Relaxed) + 1;
            if self.hot.consecutive_failures.load(Ordering::Relaxed) != 0 {
                self.hot.consecutive_failures.store(0, Ordering::Relaxed);
            }
            if calls == self.judge_success_at {
                self.judge_locked_cold(ticket);
            }
            return;
        }
        self.complete_locked(ticket, failure, slow);
    }

    #[inline(never)]
    fn is_slow(&self, started: u64) -> bool {
        self.config.slow_calls.is_some_and(|slow| {
            let elapsed = Duration::from_nanos(self.now_nanos().saturating_sub(started));
            elapsed >= slow.duration
        })
    }

    #[cold]
    #[inline(never)]
    fn complete_locked(&self, ticket: Ticket, failure: bool, slow: bool) {
        if ticket.phase.state() == State::Closed {
            let seq = if self.lock_free_successes {
                self.hot.calls.fetch_add(1, Ordering::Relaxed) + 1
            } else {
                0
            };
            let consecutive = &self.hot.consecutive_failures;
            if failure {
                consecutive.fetch_add(1, Ordering::Relaxed);
            } else {
                consecutive.store(0, Ordering::Relaxed);
            }
            self.judge_locked(ticket, Some((seq, failure, slow)));
            return;
        }
        let mut core = self.lock();
        if self.phase() != ticket.phase {
            return;
        }
        let next = match ticket.phase.state() {
            State::HalfOpen => {
                core.trials_in_flight = core.trials_in_flight.saturating_sub(1);
                if failure || slow {
                    Some(State::Open)
                } else {
                    core.trial_successes += 1;
                    (core.trial_successes >= self.config.success_threshold).then_some(State::Closed)
                }
            }
            State::Closed | State::Open | State::ForcedOpen => None,
        };
        let change = next.map(|to| self.enter(&mut core, to));
        drop(core);
        if let Some(change) = change {
            self.announce(change);
        }
    }

    #[cold]
    #[inline(never)]
    fn judge_locked_cold(&self, ticket: Ticket) {
        self.judge_locked(ticket, None);
    }

    /// Judges a closed breaker under the lock, after recording `outcome`
    /// (`(seq, failure, slow)`) if there is one.
    fn judge_locked(&self, ticket: Ticket, outcome: Option<(u64, bool, bool)>) {
        let mut core = self.lock();
        if self.phase() != ticket.phase {
            return;
        }
        let now = if core.window.is_count() {
            0
        } else {
            self.now_nanos()
        };
        let tally = match outcome {
            Some((seq, failure, slow)) => {
                core.window.record(self.position(seq, now), failure, slow)
            }
            None => core.window.tally(self.position(0, now)),
        };
        let consecutive = self.hot.consecutive_failures.load(Ordering::Relaxed);
        let change = self
            .should_trip(tally, consecutive)
            .then(|| self.enter(&mut core, State::Open));
        drop(core);
        if let Some(change) = change {
            self.announce(change);
        }
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
    #[inline]
    fn release(&self, ticket: Ticket) {
        if ticket.phase.state() == State::HalfOpen {
            self.release_trial(ticket);
        }
    }

    #[cold]
    #[inline(never)]
    fn release_trial(&self, ticket: Ticket) {
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
                    .open_clock_nanos()
                    .saturating_add(u64::try_from(open_for.as_nanos()).unwrap_or(u64::MAX));
                self.open_until.store(until, Ordering::Release);
            }
            State::Closed => {
                core.opens_in_a_row = 0;
                core.window.clear();
                self.hot.calls.store(0, Ordering::Relaxed);
                self.hot.consecutive_failures.store(0, Ordering::Relaxed);
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
        #[inline]
        pub fn success(self) {
            self.record(false);
        }

        /// The call failed in a way that counts against the dependency.
        #[inline]
        pub fn failure(self) {
            self.record(true);
        }

        /// Records the outcome.
        #[inline(always)]
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
    ticket: Ticket,
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
    #[inline]
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
    ticket: Ticket,
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
