//! Timeout: give up on a call that takes too long.

use std::future::Future;
use std::time::Duration;

use crate::error::{ConfigError, Error, check_nonzero};
use crate::events::{Event, SharedListener, emit};

/// A validated time limit for one call.
///
/// ```
/// use medic_resilience::{timeout::Timeout, Error};
/// use std::time::Duration;
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() -> Result<(), medic_resilience::ConfigError> {
/// let timeout = Timeout::try_new(Duration::from_millis(100))?;
/// let slow = timeout.call(async {
///     tokio::time::sleep(Duration::from_secs(5)).await;
///     Ok::<_, std::io::Error>(())
/// });
/// assert!(matches!(slow.await, Err(Error::Timeout(_))));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Timeout {
    limit: Duration,
    listener: Option<SharedListener>,
}

impl std::fmt::Debug for Timeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timeout")
            .field("limit", &self.limit)
            .finish()
    }
}

impl Timeout {
    /// A limit greater than zero.
    pub fn try_new(limit: Duration) -> Result<Self, ConfigError> {
        check_nonzero("timeout", limit)?;
        Ok(Self {
            limit,
            listener: None,
        })
    }

    /// Sends timeout events to `listener`.
    pub fn with_listener(mut self, listener: SharedListener) -> Self {
        self.listener = Some(listener);
        self
    }

    /// The limit.
    pub fn limit(&self) -> Duration {
        self.limit
    }

    /// Runs `call`, cancelling it once the limit passes.
    pub async fn call<T, E, Fut>(&self, call: Fut) -> Result<T, Error<E>>
    where
        Fut: Future<Output = Result<T, E>>,
    {
        self.execute(async { call.await.map_err(Error::Inner) })
            .await
    }

    /// Like [`Timeout::call`] for a call that already speaks [`Error`].
    pub async fn execute<T, E, Fut>(&self, call: Fut) -> Result<T, Error<E>>
    where
        Fut: Future<Output = Result<T, Error<E>>>,
    {
        match tokio::time::timeout(self.limit, call).await {
            Ok(result) => result,
            Err(_) => {
                emit(self.listener.as_ref(), Event::Timeout { after: self.limit });
                Err(Error::Timeout(self.limit))
            }
        }
    }
}
