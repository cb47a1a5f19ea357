//! Setup shared by the `peers` and `allocs` benches.
//!
//! Every (operation, library) pair is a [`Case`]: built untimed, then called in
//! a loop. Both benches walk the same cases through [`for_each_case`], so the
//! timings and the allocation counts come from exactly the same code.
//!
//! Fairness rules, the same for every library:
//! - the operation is `async { Ok::<u64, BenchErr>(black_box(1)) }` ([`succeed`]);
//!   `retry_3_failures` uses [`flaky`], which fails 3 times and then succeeds;
//! - breakers: failure rate 50 % over the last 100 calls (at least 20 calls) where
//!   the library has a count window, otherwise 5 consecutive failures; never
//!   trips on the success rows; open rows are tripped by real failures first and
//!   stay open for an hour;
//! - retries: at most 4 attempts, constant 1 ms backoff, no jitter, on a
//!   current-thread runtime with paused time (sleeps auto-advance).

use std::fmt;
use std::future::Future;
use std::hint::black_box;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// The criterion groups, in run order.
pub const OPERATIONS: [&str; 5] = [
    "breaker_success",
    "breaker_open_reject",
    "retry_success",
    "retry_3_failures",
    CONTENDED,
];

/// The operation that runs many tasks through one breaker.
pub const CONTENDED: &str = "breaker_contended_8_tasks";
/// Tasks per contended round.
pub const TASKS: usize = 8;
/// Calls each task makes per contended round.
pub const CALLS_PER_TASK: u64 = 1_000;
/// Calls per contended round.
pub const CALLS_PER_ROUND: u64 = TASKS as u64 * CALLS_PER_TASK;

/// How long a tripped breaker stays open: longer than any bench.
const OPEN_FOR: Duration = Duration::from_secs(3600);
/// The constant retry delay.
const BACKOFF: Duration = Duration::from_millis(1);
/// Failures before [`flaky`] succeeds.
const FLAKY_FAILURES: u32 = 3;

/// The operation's error: a plain `Copy` value, so no library pays to move or drop it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BenchErr;

impl fmt::Display for BenchErr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection reset")
    }
}

impl std::error::Error for BenchErr {}

/// The protected operation: succeeds at once.
pub async fn succeed() -> Result<u64, BenchErr> {
    Ok(black_box(1))
}

/// An operation that fails, to trip breakers during setup.
async fn fail() -> Result<u64, BenchErr> {
    Err(BenchErr)
}

/// Failures left before [`flaky`] succeeds. Retry cases run one at a time on one
/// thread, so a single counter serves them all.
static FAILURES_LEFT: AtomicU32 = AtomicU32::new(0);

/// Makes the next [`FLAKY_FAILURES`] attempts of [`flaky`] fail.
fn arm_flaky() {
    FAILURES_LEFT.store(FLAKY_FAILURES, Ordering::Relaxed);
}

/// The operation of `retry_3_failures`: fails while [`FAILURES_LEFT`] is positive.
pub async fn flaky() -> Result<u64, BenchErr> {
    let left = FAILURES_LEFT.load(Ordering::Relaxed);
    if left > 0 {
        FAILURES_LEFT.store(left - 1, Ordering::Relaxed);
        Err(BenchErr)
    } else {
        Ok(black_box(1))
    }
}

/// One (operation, library) pair, ready to be called.
pub trait Case {
    /// Makes one call; true when it ended as the row expects (a value, or a rejection).
    fn call(&mut self) -> impl Future<Output = bool>;
}

/// A breaker shared by several tasks (`breaker_contended_8_tasks`); each task calls a clone.
pub trait Contended: Clone + Send + 'static {
    /// Makes one successful call through the shared breaker; true on success.
    fn call(&mut self) -> impl Future<Output = bool> + Send;
}

/// What a bench does with each case.
pub trait Visitor {
    /// Measures a single-threaded case; `make` builds it (inside the runtime).
    fn case<C, F, Fut>(&mut self, library: &'static str, make: F)
    where
        C: Case,
        F: Fn() -> Fut,
        Fut: Future<Output = C>;

    /// Measures a breaker shared by [`TASKS`] tasks on a 2-worker runtime.
    fn contended<B, F>(&mut self, library: &'static str, make: F)
    where
        B: Contended,
        F: Fn() -> B;
}

/// Runs `visitor` over every library that has `operation`, medic first.
pub fn for_each_case<V: Visitor>(operation: &str, v: &mut V) {
    match operation {
        "breaker_success" => {
            v.case("medic", medic::breaker_success);
            v.case("failsafe", failsafe_cases::breaker_success);
            v.case("recloser", recloser_cases::breaker_success);
            v.case("tower-resilience", tower_resilience_cases::breaker_success);
        }
        "breaker_open_reject" => {
            v.case("medic", medic::breaker_open_reject);
            v.case("failsafe", failsafe_cases::breaker_open_reject);
            v.case("recloser", recloser_cases::breaker_open_reject);
            v.case(
                "tower-resilience",
                tower_resilience_cases::breaker_open_reject,
            );
        }
        "retry_success" => {
            v.case("medic", medic::retry_success);
            v.case("backon", backon_cases::retry_success);
            v.case("tokio-retry2", tokio_retry2_cases::retry_success);
            v.case("tower", tower_cases::retry_success);
            v.case("tower-resilience", tower_resilience_cases::retry_success);
        }
        "retry_3_failures" => {
            v.case("medic", medic::retry_3_failures);
            v.case("backon", backon_cases::retry_3_failures);
            v.case("tokio-retry2", tokio_retry2_cases::retry_3_failures);
            v.case("tower", tower_cases::retry_3_failures);
            v.case("tower-resilience", tower_resilience_cases::retry_3_failures);
        }
        CONTENDED => {
            v.contended("medic", medic::contended);
            v.contended("failsafe", failsafe_cases::contended);
            v.contended("recloser", recloser_cases::contended);
            v.contended("tower-resilience", tower_resilience_cases::contended);
        }
        other => panic!("unknown operation {other}"),
    }
}

/// One contended round: [`TASKS`] tasks each make [`CALLS_PER_TASK`] calls
/// through clones of `breaker`. True when every call succeeded.
pub async fn contended_round<B: Contended>(breaker: &B) -> bool {
    let mut handles = Vec::with_capacity(TASKS);
    for _ in 0..TASKS {
        let mut breaker = breaker.clone();
        handles.push(tokio::spawn(async move {
            let mut ok = true;
            for _ in 0..CALLS_PER_TASK {
                ok &= black_box(breaker.call().await);
            }
            ok
        }));
    }
    let mut ok = true;
    for handle in handles {
        ok &= handle.await.expect("a contended task panicked");
    }
    ok
}

/// The contended harness without a breaker, to subtract its own allocations.
#[allow(dead_code, reason = "only the allocs bench uses it")]
#[derive(Clone, Copy, Debug)]
pub struct NoBreaker;

impl Contended for NoBreaker {
    async fn call(&mut self) -> bool {
        succeed().await.is_ok()
    }
}

mod medic {
    use super::*;
    use medic_resilience::Error;
    use medic_resilience::backoff::Jitter;
    use medic_resilience::breaker::{CircuitBreaker, State};
    use medic_resilience::classify::Verdict;
    use medic_resilience::retry::Retry;

    fn breaker() -> CircuitBreaker {
        CircuitBreaker::builder("bench")
            .failure_rate(0.5, 20)
            .count_window(100)
            .open_duration(OPEN_FOR)
            .build()
            .expect("valid breaker")
    }

    fn retry() -> Retry {
        Retry::builder()
            .max_attempts(4)
            .initial_delay(BACKOFF)
            .max_delay(BACKOFF)
            .multiplier(1.0)
            .jitter(Jitter::None)
            .build()
            .expect("valid retry")
    }

    pub struct BreakerSuccess(CircuitBreaker);

    impl Case for BreakerSuccess {
        async fn call(&mut self) -> bool {
            self.0.call(succeed()).await.is_ok()
        }
    }

    pub async fn breaker_success() -> BreakerSuccess {
        BreakerSuccess(breaker())
    }

    pub struct BreakerOpen(CircuitBreaker);

    impl Case for BreakerOpen {
        async fn call(&mut self) -> bool {
            matches!(self.0.call(succeed()).await, Err(Error::CircuitOpen { .. }))
        }
    }

    pub async fn breaker_open_reject() -> BreakerOpen {
        let b = breaker();
        while b.state() == State::Closed {
            let _ = b.call(fail()).await;
        }
        assert_eq!(b.state(), State::Open);
        BreakerOpen(b)
    }

    pub struct RetrySuccess(Retry);

    impl Case for RetrySuccess {
        async fn call(&mut self) -> bool {
            self.0
                .call_with(succeed, |_: &BenchErr| Verdict::Retry)
                .await
                .is_ok()
        }
    }

    pub async fn retry_success() -> RetrySuccess {
        RetrySuccess(retry())
    }

    pub struct Retry3Failures(Retry);

    impl Case for Retry3Failures {
        async fn call(&mut self) -> bool {
            arm_flaky();
            self.0
                .call_with(flaky, |_: &BenchErr| Verdict::Retry)
                .await
                .is_ok()
        }
    }

    pub async fn retry_3_failures() -> Retry3Failures {
        Retry3Failures(retry())
    }

    #[derive(Clone)]
    pub struct Shared(CircuitBreaker);

    impl Contended for Shared {
        async fn call(&mut self) -> bool {
            self.0.call(succeed()).await.is_ok()
        }
    }

    pub fn contended() -> Shared {
        Shared(breaker())
    }
}

/// failsafe has no count window; its cheapest policy, consecutive failures, stands in.
mod failsafe_cases {
    use super::*;
    use failsafe::failure_policy::{ConsecutiveFailures, consecutive_failures};
    use failsafe::futures::CircuitBreaker as _;
    use failsafe::{Config, Error, StateMachine, backoff};

    type Breaker = StateMachine<ConsecutiveFailures<backoff::Constant>, ()>;

    fn breaker() -> Breaker {
        Config::new()
            .failure_policy(consecutive_failures(5, backoff::constant(OPEN_FOR)))
            .build()
    }

    pub struct BreakerSuccess(Breaker);

    impl Case for BreakerSuccess {
        async fn call(&mut self) -> bool {
            self.0.call(succeed()).await.is_ok()
        }
    }

    pub async fn breaker_success() -> BreakerSuccess {
        BreakerSuccess(breaker())
    }

    pub struct BreakerOpen(Breaker);

    impl Case for BreakerOpen {
        async fn call(&mut self) -> bool {
            matches!(self.0.call(succeed()).await, Err(Error::Rejected))
        }
    }

    pub async fn breaker_open_reject() -> BreakerOpen {
        let b = breaker();
        for _ in 0..5 {
            let _ = b.call(fail()).await;
        }
        assert!(!b.is_call_permitted(), "failsafe breaker did not open");
        BreakerOpen(b)
    }

    #[derive(Clone)]
    pub struct Shared(Breaker);

    impl Contended for Shared {
        async fn call(&mut self) -> bool {
            self.0.call(succeed()).await.is_ok()
        }
    }

    pub fn contended() -> Shared {
        Shared(breaker())
    }
}

mod recloser_cases {
    use super::*;
    use recloser::{AsyncRecloser, Error, Recloser};

    fn breaker() -> AsyncRecloser {
        AsyncRecloser::from(
            Recloser::custom()
                .error_rate(0.5)
                .closed_len(100)
                .half_open_len(10)
                .open_wait(OPEN_FOR)
                .build(),
        )
    }

    pub struct BreakerSuccess(AsyncRecloser);

    impl Case for BreakerSuccess {
        async fn call(&mut self) -> bool {
            self.0.call(succeed()).await.is_ok()
        }
    }

    pub async fn breaker_success() -> BreakerSuccess {
        BreakerSuccess(breaker())
    }

    pub struct BreakerOpen(AsyncRecloser);

    impl Case for BreakerOpen {
        async fn call(&mut self) -> bool {
            matches!(self.0.call(succeed()).await, Err(Error::Rejected))
        }
    }

    pub async fn breaker_open_reject() -> BreakerOpen {
        let b = breaker();
        // recloser judges a rate only once its ring of 100 is full: the 101st failure trips it.
        for _ in 0..=100 {
            let _ = b.call(fail()).await;
        }
        BreakerOpen(b)
    }

    #[derive(Clone)]
    pub struct Shared(AsyncRecloser);

    impl Contended for Shared {
        async fn call(&mut self) -> bool {
            self.0.call(succeed()).await.is_ok()
        }
    }

    pub fn contended() -> Shared {
        Shared(breaker())
    }
}

mod backon_cases {
    use super::*;
    use backon::{ConstantBuilder, Retryable};

    /// 3 retries = 4 attempts, 1 ms apart; `ConstantBuilder` has no jitter unless asked.
    fn backoff() -> ConstantBuilder {
        ConstantBuilder::new().with_delay(BACKOFF).with_max_times(3)
    }

    pub struct RetrySuccess(ConstantBuilder);

    impl Case for RetrySuccess {
        async fn call(&mut self) -> bool {
            succeed.retry(self.0).await.is_ok()
        }
    }

    pub async fn retry_success() -> RetrySuccess {
        RetrySuccess(backoff())
    }

    pub struct Retry3Failures(ConstantBuilder);

    impl Case for Retry3Failures {
        async fn call(&mut self) -> bool {
            arm_flaky();
            flaky.retry(self.0).await.is_ok()
        }
    }

    pub async fn retry_3_failures() -> Retry3Failures {
        Retry3Failures(backoff())
    }
}

mod tokio_retry2_cases {
    use super::*;
    use std::iter::Take;
    use tokio_retry2::strategy::FixedInterval;
    use tokio_retry2::{Retry, RetryError};

    /// 3 retries = 4 attempts, 1 ms apart, no jitter.
    fn strategy() -> Take<FixedInterval> {
        FixedInterval::new(BACKOFF).take(3)
    }

    /// tokio-retry2 wants the operation's error marked transient.
    async fn succeed_transient() -> Result<u64, RetryError<BenchErr>> {
        succeed().await.map_err(RetryError::transient)
    }

    async fn flaky_transient() -> Result<u64, RetryError<BenchErr>> {
        flaky().await.map_err(RetryError::transient)
    }

    pub struct RetrySuccess;

    impl Case for RetrySuccess {
        async fn call(&mut self) -> bool {
            Retry::spawn(strategy(), succeed_transient).await.is_ok()
        }
    }

    pub async fn retry_success() -> RetrySuccess {
        RetrySuccess
    }

    pub struct Retry3Failures;

    impl Case for Retry3Failures {
        async fn call(&mut self) -> bool {
            arm_flaky();
            Retry::spawn(strategy(), flaky_transient).await.is_ok()
        }
    }

    pub async fn retry_3_failures() -> Retry3Failures {
        Retry3Failures
    }
}

mod tower_cases {
    use super::*;
    use tower::retry::{Policy, RetryLayer};
    use tower::{Service, ServiceBuilder, ServiceExt};

    /// Up to 3 retries, 1 ms apart. Each call's future holds its own clone, so
    /// every call starts with 3 retries left.
    #[derive(Clone, Copy, Debug)]
    pub struct ConstantRetry {
        retries_left: u32,
    }

    impl<Res> Policy<u64, Res, BenchErr> for ConstantRetry {
        type Future = tokio::time::Sleep;

        fn retry(
            &mut self,
            _req: &mut u64,
            result: &mut Result<Res, BenchErr>,
        ) -> Option<Self::Future> {
            if result.is_err() && self.retries_left > 0 {
                self.retries_left -= 1;
                Some(tokio::time::sleep(BACKOFF))
            } else {
                None
            }
        }

        fn clone_request(&mut self, req: &u64) -> Option<u64> {
            Some(*req)
        }
    }

    fn layer() -> RetryLayer<ConstantRetry> {
        RetryLayer::new(ConstantRetry { retries_left: 3 })
    }

    /// A tower service called the tower way: `ready().await`, then `call`.
    pub struct Svc<S>(S);

    impl<S> Case for Svc<S>
    where
        S: Service<u64, Response = u64, Error = BenchErr>,
    {
        async fn call(&mut self) -> bool {
            match self.0.ready().await {
                Ok(svc) => svc.call(black_box(1)).await.is_ok(),
                Err(_) => false,
            }
        }
    }

    pub async fn retry_success() -> Svc<impl Service<u64, Response = u64, Error = BenchErr>> {
        Svc(ServiceBuilder::new()
            .layer(layer())
            .service_fn(|_req: u64| succeed()))
    }

    /// Arms the flaky operation before each call.
    pub struct Flaky<S>(Svc<S>);

    impl<S> Case for Flaky<S>
    where
        S: Service<u64, Response = u64, Error = BenchErr>,
    {
        fn call(&mut self) -> impl Future<Output = bool> {
            arm_flaky();
            self.0.call()
        }
    }

    pub async fn retry_3_failures() -> Flaky<impl Service<u64, Response = u64, Error = BenchErr>> {
        Flaky(Svc(ServiceBuilder::new()
            .layer(layer())
            .service_fn(|_req: u64| flaky())))
    }
}

mod tower_resilience_cases {
    use super::*;
    use tower::{Layer, Service, ServiceBuilder, ServiceExt};
    use tower_resilience::circuitbreaker::{CircuitBreakerError, CircuitBreakerLayer};
    use tower_resilience::retry::RetryLayer;

    fn breaker_layer() -> CircuitBreakerLayer {
        CircuitBreakerLayer::builder()
            .failure_rate_threshold(0.5)
            .sliding_window_size(100)
            .minimum_number_of_calls(20)
            .wait_duration_in_open(OPEN_FOR)
            .build()
            .expect("valid breaker")
    }

    fn retry_layer() -> RetryLayer<u64, u64, BenchErr> {
        RetryLayer::<u64, u64, BenchErr>::builder()
            .max_attempts(4)
            .fixed_backoff(BACKOFF)
            .build()
    }

    /// A service whose call should succeed.
    pub struct Succeeds<S>(S);

    impl<S, E> Case for Succeeds<S>
    where
        S: Service<u64, Response = u64, Error = E>,
    {
        async fn call(&mut self) -> bool {
            match self.0.ready().await {
                Result::Ok(svc) => svc.call(black_box(1)).await.is_ok(),
                Err(_) => false,
            }
        }
    }

    /// A breaker service whose call should be rejected.
    pub struct Open<S>(S);

    impl<S> Case for Open<S>
    where
        S: Service<u64, Response = u64, Error = CircuitBreakerError<BenchErr>>,
    {
        async fn call(&mut self) -> bool {
            match self.0.ready().await {
                Result::Ok(svc) => matches!(
                    svc.call(black_box(1)).await,
                    Err(CircuitBreakerError::OpenCircuit)
                ),
                Err(_) => false,
            }
        }
    }

    pub async fn breaker_success()
    -> Succeeds<impl Service<u64, Response = u64, Error = CircuitBreakerError<BenchErr>>> {
        Succeeds(
            ServiceBuilder::new()
                .layer(breaker_layer())
                .service_fn(|_req: u64| succeed()),
        )
    }

    pub async fn breaker_open_reject()
    -> Open<impl Service<u64, Response = u64, Error = CircuitBreakerError<BenchErr>>> {
        // Services made by a layer built with a handle share one circuit.
        let (layer, handle) = CircuitBreakerLayer::builder()
            .failure_rate_threshold(0.5)
            .sliding_window_size(100)
            .minimum_number_of_calls(20)
            .wait_duration_in_open(OPEN_FOR)
            .build_with_handle()
            .expect("valid breaker");
        let mut failing = layer.layer(tower::service_fn(|_req: u64| fail()));
        while !handle.is_open() {
            let svc = failing.ready().await.expect("closed breaker is ready");
            let _ = svc.call(1).await;
        }
        Open(layer.layer(tower::service_fn(|_req: u64| succeed())))
    }

    pub async fn retry_success() -> Succeeds<impl Service<u64, Response = u64, Error = BenchErr>> {
        Succeeds(
            ServiceBuilder::new()
                .layer(retry_layer())
                .service_fn(|_req: u64| succeed()),
        )
    }

    pub struct Flaky<S>(Succeeds<S>);

    impl<S> Case for Flaky<S>
    where
        S: Service<u64, Response = u64, Error = BenchErr>,
    {
        fn call(&mut self) -> impl Future<Output = bool> {
            arm_flaky();
            self.0.call()
        }
    }

    pub async fn retry_3_failures() -> Flaky<impl Service<u64, Response = u64, Error = BenchErr>> {
        Flaky(Succeeds(
            ServiceBuilder::new()
                .layer(retry_layer())
                .service_fn(|_req: u64| flaky()),
        ))
    }

    /// Each task calls its own clone; clones share the circuit.
    #[derive(Clone)]
    pub struct Shared<S>(S);

    impl<S> Contended for Shared<S>
    where
        S: Service<u64, Response = u64, Error = CircuitBreakerError<BenchErr>>
            + Clone
            + Send
            + 'static,
        S::Future: Send,
    {
        async fn call(&mut self) -> bool {
            match self.0.ready().await {
                Result::Ok(svc) => svc.call(black_box(1)).await.is_ok(),
                Err(_) => false,
            }
        }
    }

    pub fn contended() -> Shared<
        impl Service<u64, Response = u64, Error = CircuitBreakerError<BenchErr>, Future: Send>
        + Clone
        + Send
        + 'static,
    > {
        Shared(
            ServiceBuilder::new()
                .layer(breaker_layer())
                .service_fn(|_req: u64| succeed()),
        )
    }
}
