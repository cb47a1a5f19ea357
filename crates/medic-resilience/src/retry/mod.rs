//! Retry: run an operation again after transient failures.
//!
//! The loop is bounded by attempts and, optionally, by an overall deadline; it
//! never sleeps after the last attempt, and it surfaces the last error rather
//! than a generic "retries exhausted". Which errors are worth retrying is asked
//! of [`Classify`] (or a closure), so permanent failures fail fast.
//! Delays come from [`Backoff`], except that a server's `Retry-After` wins
//! (capped by `max_retry_after`).

mod budget;
mod throttle;

pub use budget::RetryBudget;
pub use throttle::AdaptiveThrottle;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::backoff::{Backoff, Delays, Jitter};
use crate::classify::{Classify, Verdict};
use crate::error::{ConfigError, Error, check_nonzero};
use crate::events::{Event, EventListener, SharedListener, emit};

/// A validated retry policy. Cheap to clone and share.
///
/// ```
/// use medic_resilience::retry::Retry;
/// use std::time::Duration;
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let retry = Retry::builder()
///     .max_attempts(3)
///     .initial_delay(Duration::from_millis(1))
///     .build()?;
/// let mut calls = 0;
/// let value = retry
///     .call(|| {
///         calls += 1;
///         let attempt = calls;
///         async move {
///             if attempt < 3 {
///                 Err(std::io::Error::from(std::io::ErrorKind::ConnectionReset))
///             } else {
///                 Ok("connected")
///             }
///         }
///     })
///     .await?;
/// assert_eq!((value, calls), ("connected", 3));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Retry {
    max_attempts: u32,
    backoff: Backoff,
    attempt_timeout: Option<Duration>,
    deadline: Option<Duration>,
    max_retry_after: Duration,
    retry_any_error: bool,
    budget: Option<Arc<RetryBudget>>,
    throttle: Option<Arc<AdaptiveThrottle>>,
    listener: Option<SharedListener>,
    seed: Option<u64>,
}

impl std::fmt::Debug for Retry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Retry")
            .field("max_attempts", &self.max_attempts)
            .field("backoff", &self.backoff)
            .field("attempt_timeout", &self.attempt_timeout)
            .field("deadline", &self.deadline)
            .field("max_retry_after", &self.max_retry_after)
            .field("retry_any_error", &self.retry_any_error)
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Retry`]; [`RetryBuilder::build`] validates every field.
#[derive(Clone)]
pub struct RetryBuilder {
    max_attempts: u32,
    initial_delay: Duration,
    max_delay: Duration,
    multiplier: f64,
    jitter: Jitter,
    attempt_timeout: Option<Duration>,
    deadline: Option<Duration>,
    max_retry_after: Duration,
    retry_any_error: bool,
    budget: Option<Arc<RetryBudget>>,
    throttle: Option<Arc<AdaptiveThrottle>>,
    listener: Option<SharedListener>,
    seed: Option<u64>,
}

impl Default for RetryBuilder {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(10),
            multiplier: 2.0,
            jitter: Jitter::Full,
            attempt_timeout: None,
            deadline: None,
            max_retry_after: Duration::from_secs(60),
            retry_any_error: false,
            budget: None,
            throttle: None,
            listener: None,
            seed: None,
        }
    }
}

impl std::fmt::Debug for RetryBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryBuilder")
            .field("max_attempts", &self.max_attempts)
            .field("initial_delay", &self.initial_delay)
            .field("max_delay", &self.max_delay)
            .field("multiplier", &self.multiplier)
            .field("jitter", &self.jitter)
            .finish_non_exhaustive()
    }
}

impl RetryBuilder {
    /// Total attempts including the first (default 3; must be ≥ 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }
    /// Delay before the first retry (default 100 ms).
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }
    /// Cap on any delay (default 10 s).
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }
    /// Growth factor per retry (default 2).
    pub fn multiplier(mut self, multiplier: f64) -> Self {
        self.multiplier = multiplier;
        self
    }
    /// Jitter mode (default full jitter).
    pub fn jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }
    /// Uses a ready-made backoff schedule.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.initial_delay = backoff.initial();
        self.max_delay = backoff.max();
        self.multiplier = backoff_multiplier(&backoff);
        self.jitter = backoff.jitter();
        self
    }
    /// Cancels and fails an attempt that runs longer than this.
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = Some(timeout);
        self
    }
    /// Bounds the whole loop, sleeps included.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }
    /// Longest `Retry-After` honoured (default 60 s); longer hints are capped.
    pub fn max_retry_after(mut self, cap: Duration) -> Self {
        self.max_retry_after = cap;
        self
    }
    /// Retries every error, even those classified permanent.
    pub fn retry_any_error(mut self) -> Self {
        self.retry_any_error = true;
        self
    }
    /// Spends from a (usually shared) retry budget; no budget means unlimited.
    pub fn budget(mut self, budget: Arc<RetryBudget>) -> Self {
        self.budget = Some(budget);
        self
    }
    /// Applies client-side adaptive throttling before each attempt.
    pub fn throttle(mut self, throttle: Arc<AdaptiveThrottle>) -> Self {
        self.throttle = Some(throttle);
        self
    }
    /// Receives retry events.
    pub fn listener(mut self, listener: Arc<dyn EventListener>) -> Self {
        self.listener = Some(listener);
        self
    }
    /// Fixes the jitter seed, for reproducible tests.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Validates and builds the policy.
    ///
    /// ```
    /// use medic_resilience::retry::Retry;
    /// use std::time::Duration;
    /// let err = Retry::builder()
    ///     .initial_delay(Duration::from_secs(2))
    ///     .max_delay(Duration::from_secs(1))
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(err.field, "max_delay");
    /// ```
    pub fn build(self) -> Result<Retry, ConfigError> {
        if self.max_attempts == 0 {
            return Err(ConfigError::new("max_attempts", "must be at least 1"));
        }
        let backoff = Backoff::try_new(
            self.initial_delay,
            self.max_delay,
            self.multiplier,
            self.jitter,
        )?;
        if let Some(t) = self.attempt_timeout {
            check_nonzero("attempt_timeout", t)?;
        }
        if let Some(d) = self.deadline {
            check_nonzero("deadline", d)?;
        }
        Ok(Retry {
            max_attempts: self.max_attempts,
            backoff,
            attempt_timeout: self.attempt_timeout,
            deadline: self.deadline,
            max_retry_after: self.max_retry_after,
            retry_any_error: self.retry_any_error,
            budget: self.budget,
            throttle: self.throttle,
            listener: self.listener,
            seed: self.seed,
        })
    }
}

fn backoff_multiplier(backoff: &Backoff) -> f64 {
    // base(2) / base(1) recovers the multiplier unless the cap already bites.
    let first = backoff.base(1).as_secs_f64();
    let second = backoff.base(2).as_secs_f64();
    if first > 0.0 && second > first {
        second / first
    } else {
        1.0
    }
}

impl Retry {
    /// Starts a builder with the defaults: 3 attempts, 100 ms → 10 s, ×2, full jitter.
    pub fn builder() -> RetryBuilder {
        RetryBuilder::default()
    }

    /// Total attempts including the first.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The backoff schedule.
    pub fn backoff(&self) -> &Backoff {
        &self.backoff
    }

    /// Runs `op`, retrying errors that [`Classify`] calls transient.
    pub async fn call<T, E, F, Fut>(&self, mut op: F) -> Result<T, Error<E>>
    where
        E: Classify,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.execute(
            || {
                let attempt = op();
                async move { attempt.await.map_err(Error::Inner) }
            },
            Error::verdict,
        )
        .await
    }

    /// Runs `op`, asking `classify` whether each error is worth retrying.
    ///
    /// ```
    /// use medic_resilience::{classify::Verdict, retry::Retry};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let retry = Retry::builder().max_attempts(5).build().unwrap();
    /// let mut calls = 0;
    /// let result: Result<(), _> = retry
    ///     .call_with(|| { calls += 1; async { Err("bad request") } }, |_| Verdict::Stop)
    ///     .await;
    /// assert_eq!(calls, 1); // a permanent error is not retried
    /// assert_eq!(result.unwrap_err().into_inner(), Some("bad request"));
    /// # }
    /// ```
    pub async fn call_with<T, E, F, Fut, C>(&self, mut op: F, classify: C) -> Result<T, Error<E>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        C: Fn(&E) -> Verdict,
    {
        self.execute(
            || {
                let attempt = op();
                async move { attempt.await.map_err(Error::Inner) }
            },
            |e: &Error<E>| match e {
                Error::Inner(inner) => classify(inner),
                other => other.policy_verdict(),
            },
        )
        .await
    }

    /// The retry loop over an operation that already speaks [`Error`]; used to
    /// compose retry around other policies.
    pub async fn execute<T, E, F, Fut, C>(&self, mut op: F, classify: C) -> Result<T, Error<E>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Error<E>>>,
        C: Fn(&Error<E>) -> Verdict,
    {
        let started = self.deadline.map(|_| tokio::time::Instant::now());
        let mut delays: Option<Delays> = None;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            if let Some(throttle) = &self.throttle
                && let Some(probability) = throttle.should_reject()
            {
                throttle.record(false);
                emit(self.listener.as_ref(), Event::Throttled { probability });
                return Err(Error::Throttled);
            }

            let result = if self.attempt_timeout.is_none() && self.deadline.is_none() {
                op().await
            } else {
                self.run_attempt(&mut op, started).await
            };
            let error = match result {
                Ok(value) => {
                    if let Some(budget) = &self.budget {
                        budget.deposit();
                    }
                    if let Some(throttle) = &self.throttle {
                        throttle.record(true);
                    }
                    return Ok(value);
                }
                Err(error) => error,
            };
            let verdict = classify(&error);
            if let Some(throttle) = &self.throttle {
                // A backend that asks us to come back later did not accept the request.
                throttle.record(!matches!(verdict, Verdict::RetryAfter(_)));
            }
            if attempt >= self.max_attempts
                || matches!(error, Error::DeadlineExceeded(_))
                || (!verdict.is_retryable() && !self.retry_any_error)
            {
                return Err(error);
            }

            let delays = delays.get_or_insert_with(|| match self.seed {
                Some(seed) => self.backoff.delays_seeded(seed),
                None => self.backoff.delays(),
            });
            let backoff_delay = delays.next().unwrap_or(self.backoff.max());
            let delay = match verdict {
                Verdict::RetryAfter(hint) => hint.min(self.max_retry_after),
                _ => backoff_delay,
            };
            if let (Some(deadline), Some(started)) = (self.deadline, started)
                && started.elapsed() + delay >= deadline
            {
                // Sleeping would only end past the deadline: surface the real error now.
                return Err(error);
            }
            if let Some(budget) = &self.budget
                && !budget.try_spend()
            {
                emit(self.listener.as_ref(), Event::RetryBudgetExhausted);
                return Err(error);
            }
            emit(self.listener.as_ref(), Event::Retry { attempt, delay });
            drop(error);
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
        }
    }

    async fn run_attempt<T, E, F, Fut>(
        &self,
        op: &mut F,
        started: Option<tokio::time::Instant>,
    ) -> Result<T, Error<E>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Error<E>>>,
    {
        let remaining = match (self.deadline, started) {
            (Some(deadline), Some(started)) => Some(deadline.saturating_sub(started.elapsed())),
            _ => None,
        };
        let limit = match (self.attempt_timeout, remaining) {
            (Some(t), Some(r)) => Some(t.min(r)),
            (t, r) => t.or(r),
        };
        let Some(limit) = limit else {
            return op().await;
        };
        match tokio::time::timeout(limit, op()).await {
            Ok(result) => result,
            Err(_) if remaining == Some(limit) => {
                Err(Error::DeadlineExceeded(self.deadline.unwrap_or(limit)))
            }
            Err(_) => {
                emit(self.listener.as_ref(), Event::Timeout { after: limit });
                Err(Error::Timeout(limit))
            }
        }
    }
}
