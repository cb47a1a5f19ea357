//! Composition: several policies around one operation, in a fixed order.
//!
//! From the outside in:
//!
//! ```text
//! retry ▸ circuit breaker ▸ bulkhead ▸ timeout ▸ operation
//! ```
//!
//! - **retry outermost**, so every attempt asks the breaker again: an open
//!   breaker stops the retry loop instead of being hammered by it;
//! - **breaker outside the bulkhead**, so calls rejected while the breaker is
//!   open do not queue for a slot;
//! - **bulkhead outside the timeout**, so time spent waiting for a slot does not
//!   eat the attempt's time budget;
//! - **timeout innermost**, bounding one attempt; a timed-out attempt counts as
//!   a breaker failure and is retried.
//!
//! A [`crate::fallback::Fallback`] goes around the whole pipeline:
//! `fallback.execute(pipeline.call(op))`. Nothing here allocates per call: the
//! policies are nested `async fn`s, so the composed future is one state machine.

use std::future::Future;

use crate::breaker::CircuitBreaker;
use crate::bulkhead::Bulkhead;
use crate::classify::{Classify, Verdict};
use crate::error::Error;
use crate::retry::Retry;
use crate::timeout::Timeout;

/// Policies applied together; any of them may be absent.
///
/// ```
/// use medic_resilience::{pipeline::Pipeline, retry::Retry, breaker::CircuitBreaker, timeout::Timeout};
/// use std::time::Duration;
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pipeline = Pipeline::builder()
///     .retry(Retry::builder().max_attempts(3).initial_delay(Duration::from_millis(10)).build()?)
///     .breaker(CircuitBreaker::builder("inventory").build()?)
///     .timeout(Timeout::try_new(Duration::from_millis(200))?)
///     .build();
/// let mut attempts = 0;
/// let stock = pipeline
///     .call(|| {
///         attempts += 1;
///         let first = attempts == 1;
///         async move {
///             if first {
///                 tokio::time::sleep(Duration::from_secs(1)).await; // times out
///             }
///             Ok::<_, std::io::Error>(42)
///         }
///     })
///     .await?;
/// assert_eq!((stock, attempts), (42, 2));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct Pipeline {
    retry: Option<Retry>,
    breaker: Option<CircuitBreaker>,
    bulkhead: Option<Bulkhead>,
    timeout: Option<Timeout>,
}

/// Builds a [`Pipeline`]; the order of the calls does not matter.
#[derive(Debug, Clone, Default)]
pub struct PipelineBuilder {
    pipeline: Pipeline,
}

impl PipelineBuilder {
    /// Retries failed attempts.
    pub fn retry(mut self, retry: Retry) -> Self {
        self.pipeline.retry = Some(retry);
        self
    }
    /// Guards attempts with a circuit breaker.
    pub fn breaker(mut self, breaker: CircuitBreaker) -> Self {
        self.pipeline.breaker = Some(breaker);
        self
    }
    /// Limits concurrent attempts.
    pub fn bulkhead(mut self, bulkhead: Bulkhead) -> Self {
        self.pipeline.bulkhead = Some(bulkhead);
        self
    }
    /// Bounds each attempt.
    pub fn timeout(mut self, timeout: Timeout) -> Self {
        self.pipeline.timeout = Some(timeout);
        self
    }
    /// The pipeline.
    pub fn build(self) -> Pipeline {
        self.pipeline
    }
}

impl Pipeline {
    /// Starts a builder with no policies.
    pub fn builder() -> PipelineBuilder {
        PipelineBuilder::default()
    }

    /// The retry policy, if any.
    pub fn retry(&self) -> Option<&Retry> {
        self.retry.as_ref()
    }

    /// The circuit breaker, if any.
    pub fn breaker(&self) -> Option<&CircuitBreaker> {
        self.breaker.as_ref()
    }

    /// Runs `op` through every policy; errors are classified by [`Classify`].
    pub async fn call<T, E, F, Fut>(&self, op: F) -> Result<T, Error<E>>
    where
        E: Classify,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.call_with(op, E::verdict).await
    }

    /// Runs `op` through every policy, asking `classify` which errors to retry.
    pub async fn call_with<T, E, F, Fut, C>(&self, mut op: F, classify: C) -> Result<T, Error<E>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        C: Fn(&E) -> Verdict,
    {
        // The breaker admits or rejects synchronously, before `op` is called,
        // so a rejected attempt runs none of the caller's code.
        let mut attempt = || {
            let admitted = match self.breaker.as_ref().map(CircuitBreaker::try_acquire) {
                Some(Err(rejected)) => Err(Error::CircuitOpen {
                    retry_in: rejected.retry_in,
                }),
                Some(Ok(permit)) => Ok((Some(permit), op())),
                None => Ok((None, op())),
            };
            async move {
                let (permit, call) = admitted?;
                let call = async { call.await.map_err(Error::Inner) };
                let limited = with_bulkhead(self.bulkhead.as_ref(), call);
                let result = with_timeout(self.timeout.as_ref(), limited).await;
                if let Some(permit) = permit {
                    permit.settle(&result);
                }
                result
            }
        };
        match &self.retry {
            None => attempt().await,
            Some(retry) => {
                let verdict = |e: &Error<E>| match e {
                    Error::Inner(inner) => classify(inner),
                    other => other.policy_verdict(),
                };
                retry.execute(attempt, verdict).await
            }
        }
    }
}

async fn with_timeout<T, E, Fut>(timeout: Option<&Timeout>, call: Fut) -> Result<T, Error<E>>
where
    Fut: Future<Output = Result<T, Error<E>>>,
{
    match timeout {
        Some(timeout) => timeout.execute(call).await,
        None => call.await,
    }
}

async fn with_bulkhead<T, E, Fut>(bulkhead: Option<&Bulkhead>, call: Fut) -> Result<T, Error<E>>
where
    Fut: Future<Output = Result<T, Error<E>>>,
{
    match bulkhead {
        Some(bulkhead) => bulkhead.execute(call).await,
        None => call.await,
    }
}
