//! Bulkhead: cap how many calls run at once, with a bounded waiting line.
//!
//! A slow dependency should tie up a few tasks, not all of them. Calls beyond
//! `max_concurrent` wait in a queue of at most `max_queued`, optionally for at
//! most `max_wait`; beyond that they are rejected at once with
//! [`Error::BulkheadFull`], which is cheaper for everyone than queueing forever.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};

use crate::error::{ConfigError, Error, check_nonzero};
use crate::events::{Event, SharedListener, emit};

/// A concurrency limit with a bounded queue. Clones share the limit.
///
/// ```
/// use medic_resilience::{bulkhead::Bulkhead, Error};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), medic_resilience::ConfigError> {
/// let bulkhead = Bulkhead::try_new(1, 0)?;
/// let held = bulkhead.try_enter().expect("one slot free");
/// let rejected = bulkhead.call(async { Ok::<_, std::io::Error>(()) }).await;
/// assert!(matches!(rejected, Err(Error::BulkheadFull)));
/// drop(held);
/// assert!(bulkhead.call(async { Ok::<_, std::io::Error>(()) }).await.is_ok());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Bulkhead {
    shared: Arc<Shared>,
}

struct Shared {
    slots: Semaphore,
    max_concurrent: usize,
    max_queued: usize,
    queued: AtomicUsize,
    max_wait: Option<Duration>,
    listener: Option<SharedListener>,
}

impl std::fmt::Debug for Bulkhead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bulkhead")
            .field("max_concurrent", &self.shared.max_concurrent)
            .field("max_queued", &self.shared.max_queued)
            .field("in_flight", &self.in_flight())
            .field("queued", &self.queued())
            .finish()
    }
}

/// A slot in the bulkhead; the slot frees when this drops.
#[derive(Debug)]
pub struct BulkheadPermit<'a> {
    _permit: SemaphorePermit<'a>,
}

/// Builds a [`Bulkhead`]; [`BulkheadBuilder::build`] validates every field.
#[derive(Clone, Default)]
pub struct BulkheadBuilder {
    max_concurrent: usize,
    max_queued: usize,
    max_wait: Option<Duration>,
    listener: Option<SharedListener>,
}

impl BulkheadBuilder {
    /// How many calls may wait for a slot (default 0: reject at once).
    pub fn max_queued(mut self, max_queued: usize) -> Self {
        self.max_queued = max_queued;
        self
    }

    /// Queued calls give up after this long.
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = Some(max_wait);
        self
    }

    /// Sends rejection events to `listener`.
    pub fn listener(mut self, listener: SharedListener) -> Self {
        self.listener = Some(listener);
        self
    }

    /// Validates and builds the bulkhead.
    ///
    /// ```
    /// use medic_resilience::bulkhead::Bulkhead;
    /// assert_eq!(Bulkhead::builder(0).build().unwrap_err().field, "max_concurrent");
    /// ```
    pub fn build(self) -> Result<Bulkhead, ConfigError> {
        if self.max_concurrent == 0 {
            return Err(ConfigError::new("max_concurrent", "must be at least 1"));
        }
        if self.max_concurrent > Semaphore::MAX_PERMITS {
            return Err(ConfigError::new("max_concurrent", "is too large"));
        }
        if let Some(wait) = self.max_wait {
            check_nonzero("max_wait", wait)?;
        }
        Ok(Bulkhead {
            shared: Arc::new(Shared {
                slots: Semaphore::new(self.max_concurrent),
                max_concurrent: self.max_concurrent,
                max_queued: self.max_queued,
                queued: AtomicUsize::new(0),
                max_wait: self.max_wait,
                listener: self.listener,
            }),
        })
    }
}

impl Bulkhead {
    /// At most `max_concurrent` (≥ 1) calls at once and `max_queued` waiting.
    pub fn try_new(max_concurrent: usize, max_queued: usize) -> Result<Self, ConfigError> {
        Self::builder(max_concurrent).max_queued(max_queued).build()
    }

    /// Starts a builder for at most `max_concurrent` calls at once.
    pub fn builder(max_concurrent: usize) -> BulkheadBuilder {
        BulkheadBuilder {
            max_concurrent,
            ..BulkheadBuilder::default()
        }
    }

    /// Calls running now.
    pub fn in_flight(&self) -> usize {
        self.shared.max_concurrent - self.shared.slots.available_permits()
    }

    /// Calls waiting now.
    pub fn queued(&self) -> usize {
        self.shared.queued.load(Ordering::Relaxed)
    }

    /// Takes a slot if one is free right now.
    pub fn try_enter(&self) -> Option<BulkheadPermit<'_>> {
        self.shared
            .slots
            .try_acquire()
            .ok()
            .map(|permit| BulkheadPermit { _permit: permit })
    }

    /// Takes a slot, waiting in the queue if there is room in it.
    pub async fn enter(&self) -> Option<BulkheadPermit<'_>> {
        if let Some(permit) = self.try_enter() {
            return Some(permit);
        }
        let shared = &self.shared;
        let joined = shared
            .queued
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |q| {
                (q < shared.max_queued).then_some(q + 1)
            })
            .is_ok();
        if !joined {
            emit(shared.listener.as_ref(), Event::BulkheadRejected);
            return None;
        }
        // Leave the queue however this future ends, cancellation included.
        let _in_queue = QueueSlot(&shared.queued);
        let acquired = match shared.max_wait {
            Some(wait) => tokio::time::timeout(wait, shared.slots.acquire())
                .await
                .ok()
                .and_then(Result::ok),
            None => shared.slots.acquire().await.ok(),
        };
        if acquired.is_none() {
            emit(shared.listener.as_ref(), Event::BulkheadRejected);
        }
        acquired.map(|permit| BulkheadPermit { _permit: permit })
    }

    /// Runs `call` inside the bulkhead.
    pub async fn call<T, E, Fut>(&self, call: Fut) -> Result<T, Error<E>>
    where
        Fut: Future<Output = Result<T, E>>,
    {
        let _slot = self.enter().await.ok_or(Error::BulkheadFull)?;
        call.await.map_err(Error::Inner)
    }

    /// Like [`Bulkhead::call`] for a call that already speaks [`Error`].
    pub async fn execute<T, E, Fut>(&self, call: Fut) -> Result<T, Error<E>>
    where
        Fut: Future<Output = Result<T, Error<E>>>,
    {
        let _slot = self.enter().await.ok_or(Error::BulkheadFull)?;
        call.await
    }
}

struct QueueSlot<'a>(&'a AtomicUsize);

impl Drop for QueueSlot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}
