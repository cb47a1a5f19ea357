//! Fallback: when the primary path fails, try ordered alternatives.
//!
//! Each alternative has a predicate over the error, so a cached answer can
//! cover a timeout while a validation error still reaches the caller. The
//! first alternative whose predicate holds runs; if it fails too, its error is
//! offered to the next one. When nothing serves, the last error is returned.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::error::Error;
use crate::events::{Event, SharedListener, emit};

/// A boxed, sendable future, as alternatives store them.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

type Predicate<E> = Arc<dyn Fn(&Error<E>) -> bool + Send + Sync>;
type Producer<T, E> = Arc<dyn Fn() -> BoxFuture<'static, Result<T, E>> + Send + Sync>;

struct Alternative<T, E> {
    name: Arc<str>,
    when: Predicate<E>,
    run: Producer<T, E>,
}

impl<T, E> Clone for Alternative<T, E> {
    fn clone(&self) -> Self {
        Self {
            name: self.name.clone(),
            when: self.when.clone(),
            run: self.run.clone(),
        }
    }
}

/// An ordered chain of alternatives. Clones share the alternatives.
///
/// ```
/// use medic_resilience::{fallback::Fallback, Error};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let chain = Fallback::new()
///     .then_when("stale-cache", |e: &Error<&str>| matches!(e, Error::Timeout(_) | Error::Inner("unavailable")), || async { Ok("cached price") })
///     .then("default", || async { Ok("no price") });
/// let (price, served_by) = chain.call_traced(async { Err("unavailable") }).await;
/// assert_eq!(price.unwrap(), "cached price");
/// assert_eq!(served_by.as_deref(), Some("stale-cache"));
/// # }
/// ```
pub struct Fallback<T, E> {
    alternatives: Vec<Alternative<T, E>>,
    listener: Option<SharedListener>,
}

impl<T, E> Clone for Fallback<T, E> {
    fn clone(&self) -> Self {
        Self {
            alternatives: self.alternatives.clone(),
            listener: self.listener.clone(),
        }
    }
}

impl<T, E> Default for Fallback<T, E> {
    fn default() -> Self {
        Self {
            alternatives: Vec::new(),
            listener: None,
        }
    }
}

impl<T, E> std::fmt::Debug for Fallback<T, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.alternatives.iter().map(|a| &*a.name).collect();
        f.debug_struct("Fallback")
            .field("alternatives", &names)
            .finish()
    }
}

impl<T, E> Fallback<T, E>
where
    T: Send + 'static,
    E: Send + 'static,
{
    /// An empty chain: errors pass through.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an alternative tried for any error.
    pub fn then<F, Fut>(self, name: &str, run: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        self.then_when(name, |_| true, run)
    }

    /// Adds an alternative tried only for errors that satisfy `when`.
    pub fn then_when<P, F, Fut>(mut self, name: &str, when: P, run: F) -> Self
    where
        P: Fn(&Error<E>) -> bool + Send + Sync + 'static,
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        self.alternatives.push(Alternative {
            name: Arc::from(name),
            when: Arc::new(when),
            run: Arc::new(move || Box::pin(run())),
        });
        self
    }

    /// Adds a fixed value as the last resort.
    ///
    /// ```
    /// use medic_resilience::fallback::Fallback;
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let chain = Fallback::new().value("empty-list", Vec::<u32>::new());
    /// assert_eq!(chain.call(async { Err::<Vec<u32>, _>("down") }).await.unwrap(), Vec::<u32>::new());
    /// # }
    /// ```
    pub fn value(self, name: &str, value: T) -> Self
    where
        T: Clone + Sync,
    {
        self.then(name, move || std::future::ready(Ok(value.clone())))
    }

    /// Sends an event whenever an alternative serves.
    pub fn with_listener(mut self, listener: SharedListener) -> Self {
        self.listener = Some(listener);
        self
    }

    /// How many alternatives the chain holds.
    pub fn len(&self) -> usize {
        self.alternatives.len()
    }

    /// Whether the chain has no alternatives.
    pub fn is_empty(&self) -> bool {
        self.alternatives.is_empty()
    }

    /// Runs `primary`, falling back through the chain on error.
    pub async fn call<Fut>(&self, primary: Fut) -> Result<T, Error<E>>
    where
        Fut: Future<Output = Result<T, E>>,
    {
        self.call_traced(primary).await.0
    }

    /// Like [`Fallback::call`], also naming the alternative that served, if any.
    pub async fn call_traced<Fut>(&self, primary: Fut) -> (Result<T, Error<E>>, Option<Arc<str>>)
    where
        Fut: Future<Output = Result<T, E>>,
    {
        self.execute(async { primary.await.map_err(Error::Inner) })
            .await
    }

    /// The chain over a primary call that already speaks [`Error`].
    pub async fn execute<Fut>(&self, primary: Fut) -> (Result<T, Error<E>>, Option<Arc<str>>)
    where
        Fut: Future<Output = Result<T, Error<E>>>,
    {
        let mut error = match primary.await {
            Ok(value) => return (Ok(value), None),
            Err(error) => error,
        };
        for (index, alternative) in self.alternatives.iter().enumerate() {
            if !(alternative.when)(&error) {
                continue;
            }
            match (alternative.run)().await {
                Ok(value) => {
                    emit(
                        self.listener.as_ref(),
                        Event::FallbackUsed {
                            index,
                            name: &alternative.name,
                        },
                    );
                    return (Ok(value), Some(alternative.name.clone()));
                }
                Err(next) => error = Error::Inner(next),
            }
        }
        (Err(error), None)
    }
}
