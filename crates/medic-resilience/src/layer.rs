//! Tower adapters: each policy as a `Layer`, for stacks built with tower.
//!
//! The native API (`policy.call(...)`) allocates nothing per call; tower's
//! `Service` returns a named future type, so these adapters box it. Stacked
//! layers nest their errors (`Error<Error<E>>`); [`crate::pipeline::Pipeline`]
//! avoids both costs where tower is not required.

use std::future::poll_fn;
use std::task::{Context, Poll};

use tower_layer::Layer;
use tower_service::Service;

use crate::breaker::CircuitBreaker;
use crate::bulkhead::Bulkhead;
use crate::classify::Classify;
use crate::error::Error;
use crate::fallback::BoxFuture;
use crate::retry::Retry;
use crate::timeout::Timeout;

/// Retries requests; the request must be `Clone`, as tower gives no other way
/// to send it again.
///
/// ```
/// use medic_resilience::{layer::RetryLayer, retry::Retry};
/// use tower_layer::Layer;
/// use tower_service::Service;
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// #[derive(Clone)]
/// struct Echo;
/// impl Service<u32> for Echo {
///     type Response = u32;
///     type Error = std::io::Error;
///     type Future = std::future::Ready<Result<u32, std::io::Error>>;
///     fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
///         std::task::Poll::Ready(Ok(()))
///     }
///     fn call(&mut self, n: u32) -> Self::Future { std::future::ready(Ok(n)) }
/// }
/// let mut service = RetryLayer::new(Retry::builder().build()?).layer(Echo);
/// assert_eq!(service.call(7).await?, 7);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct RetryLayer {
    retry: Retry,
}

impl RetryLayer {
    /// A layer applying `retry`.
    pub fn new(retry: Retry) -> Self {
        Self { retry }
    }
}

impl<S> Layer<S> for RetryLayer {
    type Service = RetryService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RetryService {
            inner,
            retry: self.retry.clone(),
        }
    }
}

/// The service made by [`RetryLayer`].
#[derive(Debug, Clone)]
pub struct RetryService<S> {
    inner: S,
    retry: Retry,
}

impl<S, Req> Service<Req> for RetryService<S>
where
    S: Service<Req> + Clone + Send + 'static,
    S::Future: Send,
    S::Response: Send,
    S::Error: Classify + Send,
    Req: Clone + Send + 'static,
{
    type Response = S::Response;
    type Error = Error<S::Error>;
    type Future = BoxFuture<'static, Result<S::Response, Error<S::Error>>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Each attempt readies its own clone of the inner service.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let retry = self.retry.clone();
        let service = self.inner.clone();
        Box::pin(async move {
            retry
                .call(move || {
                    let mut service = service.clone();
                    let request = request.clone();
                    async move {
                        poll_fn(|cx| service.poll_ready(cx)).await?;
                        service.call(request).await
                    }
                })
                .await
        })
    }
}

/// Guards a service with a circuit breaker; every error counts as a failure.
#[derive(Debug, Clone)]
pub struct CircuitBreakerLayer {
    breaker: CircuitBreaker,
}

impl CircuitBreakerLayer {
    /// A layer sharing `breaker` among all services it wraps.
    pub fn new(breaker: CircuitBreaker) -> Self {
        Self { breaker }
    }
}

impl<S> Layer<S> for CircuitBreakerLayer {
    type Service = CircuitBreakerService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        CircuitBreakerService {
            inner,
            breaker: self.breaker.clone(),
        }
    }
}

/// The service made by [`CircuitBreakerLayer`].
#[derive(Debug, Clone)]
pub struct CircuitBreakerService<S> {
    inner: S,
    breaker: CircuitBreaker,
}

impl<S, Req> Service<Req> for CircuitBreakerService<S>
where
    S: Service<Req>,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = S::Response;
    type Error = Error<S::Error>;
    type Future = BoxFuture<'static, Result<S::Response, Error<S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Error::Inner)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let permit = match self.breaker.try_acquire_owned() {
            Ok(permit) => permit,
            Err(rejected) => {
                return Box::pin(std::future::ready(Err(Error::CircuitOpen {
                    retry_in: rejected.retry_in,
                })));
            }
        };
        let response = self.inner.call(request);
        Box::pin(async move {
            match response.await {
                Ok(value) => {
                    permit.success();
                    Ok(value)
                }
                Err(error) => {
                    permit.failure();
                    Err(Error::Inner(error))
                }
            }
        })
    }
}

/// Defines a layer and its service for a policy that guards one call at a
/// time through `policy.call(future)`.
macro_rules! single_call_layer {
    ($(#[$layer_doc:meta])* $layer:ident, $(#[$service_doc:meta])* $service:ident, $policy:ty, $field:ident) => {
        $(#[$layer_doc])*
        #[derive(Debug, Clone)]
        pub struct $layer {
            $field: $policy,
        }

        impl $layer {
            /// A layer applying the policy to every request.
            pub fn new($field: $policy) -> Self {
                Self { $field }
            }
        }

        impl<S> Layer<S> for $layer {
            type Service = $service<S>;
            fn layer(&self, inner: S) -> Self::Service {
                $service {
                    inner,
                    $field: self.$field.clone(),
                }
            }
        }

        $(#[$service_doc])*
        #[derive(Debug, Clone)]
        pub struct $service<S> {
            inner: S,
            $field: $policy,
        }

        impl<S, Req> Service<Req> for $service<S>
        where
            S: Service<Req>,
            S::Future: Send + 'static,
            S::Response: Send + 'static,
            S::Error: Send + 'static,
        {
            type Response = S::Response;
            type Error = Error<S::Error>;
            type Future = BoxFuture<'static, Result<S::Response, Error<S::Error>>>;

            fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
                self.inner.poll_ready(cx).map_err(Error::Inner)
            }

            fn call(&mut self, request: Req) -> Self::Future {
                let $field = self.$field.clone();
                let response = self.inner.call(request);
                Box::pin(async move { $field.call(response).await })
            }
        }
    };
}

single_call_layer!(
    /// Bounds each request's time.
    TimeoutLayer,
    /// The service made by [`TimeoutLayer`].
    TimeoutService,
    Timeout,
    timeout
);

single_call_layer!(
    /// Limits concurrent requests (sharing one bulkhead among all services it
    /// wraps). The inner service's `call` runs before a slot is taken, so this
    /// suits services whose work happens in the future they return.
    BulkheadLayer,
    /// The service made by [`BulkheadLayer`].
    BulkheadService,
    Bulkhead,
    bulkhead
);
