use std::sync::{Arc, Mutex};
use std::time::Duration;

use medic_resilience::Error;
use medic_resilience::backoff::Jitter;
use medic_resilience::classify::Verdict;
use medic_resilience::events::Event;
use medic_resilience::retry::{AdaptiveThrottle, Retry, RetryBudget};
use tokio::time::Instant;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[derive(Debug, Clone, PartialEq)]
struct Failure {
    attempt: u32,
    verdict: Verdict,
}

/// Runs `retry` over an operation that fails with `verdict` until `succeed_on`
/// (never, if `None`), returning the result and the instants of every attempt.
async fn run(
    retry: &Retry,
    verdict: Verdict,
    succeed_on: Option<u32>,
) -> (Result<u32, Error<Failure>>, Vec<Duration>) {
    let start = Instant::now();
    let mut attempts = Vec::new();
    let mut n = 0;
    let result = retry
        .call_with(
            || {
                n += 1;
                attempts.push(start.elapsed());
                let attempt = n;
                async move {
                    if Some(attempt) == succeed_on {
                        Ok(attempt)
                    } else {
                        Err(Failure { attempt, verdict })
                    }
                }
            },
            |f: &Failure| f.verdict,
        )
        .await;
    (result, attempts)
}

fn no_jitter(attempts: u32) -> Retry {
    Retry::builder()
        .max_attempts(attempts)
        .initial_delay(ms(100))
        .max_delay(ms(1_000))
        .multiplier(2.0)
        .jitter(Jitter::None)
        .build()
        .expect("valid")
}

#[tokio::test(start_paused = true)]
async fn backoff_schedule_is_exact_and_there_is_no_sleep_after_the_last_attempt() {
    let retry = no_jitter(6);
    let start = Instant::now();
    let (result, attempts) = run(&retry, Verdict::Retry, None).await;
    assert_eq!(attempts, [0, 100, 300, 700, 1_500, 2_500].map(ms));
    assert_eq!(
        start.elapsed(),
        ms(2_500),
        "returned right after the last attempt"
    );
    let last = result
        .expect_err("always fails")
        .into_inner()
        .expect("operation error");
    assert_eq!(last.attempt, 6, "the last error is surfaced");
}

#[tokio::test(start_paused = true)]
async fn success_after_failures_returns_the_value() {
    let (result, attempts) = run(&no_jitter(5), Verdict::Retry, Some(3)).await;
    assert_eq!(result.expect("third attempt succeeds"), 3);
    assert_eq!(attempts.len(), 3);
}

#[tokio::test(start_paused = true)]
async fn permanent_errors_are_not_retried_unless_asked() {
    let (result, attempts) = run(&no_jitter(5), Verdict::Stop, None).await;
    assert_eq!(attempts.len(), 1);
    assert_eq!(
        result.expect_err("fails").into_inner().map(|f| f.attempt),
        Some(1)
    );

    let stubborn = Retry::builder()
        .max_attempts(3)
        .initial_delay(ms(1))
        .retry_any_error()
        .build()
        .expect("valid");
    let (_, attempts) = run(&stubborn, Verdict::Stop, None).await;
    assert_eq!(attempts.len(), 3);
}

#[tokio::test(start_paused = true)]
async fn io_errors_are_classified_by_kind() {
    let retry = no_jitter(3);
    let mut calls = 0;
    let result: Result<(), _> = retry
        .call(|| {
            calls += 1;
            async { Err(std::io::Error::from(std::io::ErrorKind::PermissionDenied)) }
        })
        .await;
    assert!(result.is_err());
    assert_eq!(calls, 1, "permission denied is permanent");

    calls = 0;
    let _ = retry
        .call(|| {
            calls += 1;
            async { Err::<(), _>(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)) }
        })
        .await;
    assert_eq!(calls, 3, "connection refused is transient");
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured_and_capped() {
    let (_, attempts) = run(
        &no_jitter(2),
        Verdict::RetryAfter(Duration::from_secs(5)),
        None,
    )
    .await;
    assert_eq!(attempts, [ms(0), Duration::from_secs(5)]);

    let capped = Retry::builder()
        .max_attempts(2)
        .max_retry_after(Duration::from_secs(2))
        .build()
        .expect("valid");
    let (_, attempts) = run(
        &capped,
        Verdict::RetryAfter(Duration::from_secs(3600)),
        None,
    )
    .await;
    assert_eq!(attempts, [ms(0), Duration::from_secs(2)]);
}

#[tokio::test(start_paused = true)]
async fn attempts_that_hang_time_out_and_are_retried() {
    let retry = Retry::builder()
        .max_attempts(3)
        .initial_delay(ms(10))
        .jitter(Jitter::None)
        .attempt_timeout(ms(100))
        .build()
        .expect("valid");
    let start = Instant::now();
    let mut calls = 0;
    let result: Result<(), Error<std::io::Error>> = retry
        .call(|| {
            calls += 1;
            std::future::pending()
        })
        .await;
    assert!(matches!(result, Err(Error::Timeout(d)) if d == ms(100)));
    assert_eq!(calls, 3);
    assert_eq!(start.elapsed(), ms(100 + 10 + 100 + 20 + 100));
}

#[tokio::test(start_paused = true)]
async fn the_deadline_bounds_the_whole_loop() {
    // Fast failures: the loop stops before a sleep would cross the deadline.
    let retry = Retry::builder()
        .max_attempts(100)
        .initial_delay(ms(300))
        .max_delay(ms(300))
        .jitter(Jitter::None)
        .deadline(Duration::from_secs(1))
        .build()
        .expect("valid");
    let start = Instant::now();
    let (result, attempts) = run(&retry, Verdict::Retry, None).await;
    assert_eq!(attempts, [0, 300, 600, 900].map(ms));
    assert!(start.elapsed() < Duration::from_secs(1));
    assert!(
        matches!(result, Err(Error::Inner(_))),
        "the real error, not a generic one"
    );

    // A hanging attempt is cut at the deadline.
    let start = Instant::now();
    let hung: Result<(), Error<std::io::Error>> = retry.call(std::future::pending).await;
    assert!(matches!(hung, Err(Error::DeadlineExceeded(_))));
    assert_eq!(start.elapsed(), Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn an_empty_budget_stops_retries() {
    let budget = Arc::new(RetryBudget::try_new(0.2, 1).expect("valid"));
    let retry = Retry::builder()
        .max_attempts(5)
        .initial_delay(ms(1))
        .budget(budget.clone())
        .build()
        .expect("valid");
    let (_, attempts) = run(&retry, Verdict::Retry, None).await;
    assert_eq!(attempts.len(), 2, "one retry from the reserve");
    let (_, attempts) = run(&retry, Verdict::Retry, None).await;
    assert_eq!(attempts.len(), 1, "budget empty: no retry");
    for _ in 0..5 {
        let (ok, _) = run(&retry, Verdict::Retry, Some(1)).await;
        assert!(ok.is_ok());
    }
    let (_, attempts) = run(&retry, Verdict::Retry, None).await;
    assert_eq!(attempts.len(), 2, "five successes earned a retry");
}

#[tokio::test(start_paused = true)]
async fn adaptive_throttling_rejects_locally_when_the_backend_refuses() {
    let throttle = Arc::new(AdaptiveThrottle::default());
    let retry = Retry::builder()
        .max_attempts(1)
        .throttle(throttle.clone())
        .build()
        .expect("valid");
    let mut throttled = 0;
    for _ in 0..200 {
        let (result, _) = run(&retry, Verdict::RetryAfter(ms(1)), None).await;
        throttled += usize::from(matches!(result, Err(Error::Throttled)));
    }
    assert!(throttled > 100, "only {throttled} of 200 throttled");
    assert!(throttle.rejection_probability() > 0.9);
}

#[tokio::test(start_paused = true)]
async fn listeners_see_each_retry_with_its_delay() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let retry = Retry::builder()
        .max_attempts(3)
        .initial_delay(ms(50))
        .jitter(Jitter::None)
        .listener(Arc::new(move |e: &Event<'_>| {
            if let Event::Retry { attempt, delay } = e {
                sink.lock().expect("lock").push((*attempt, *delay));
            }
        }))
        .build()
        .expect("valid");
    let _ = run(&retry, Verdict::Retry, None).await;
    assert_eq!(*seen.lock().expect("lock"), [(1, ms(50)), (2, ms(100))]);
}

#[tokio::test(start_paused = true)]
async fn jittered_delays_stay_within_the_schedule() {
    let retry = Retry::builder()
        .max_attempts(6)
        .initial_delay(ms(100))
        .max_delay(ms(1_000))
        .jitter(Jitter::Full)
        .seed(9)
        .build()
        .expect("valid");
    let (_, attempts) = run(&retry, Verdict::Retry, None).await;
    let gaps: Vec<Duration> = attempts.windows(2).map(|w| w[1] - w[0]).collect();
    for (i, gap) in gaps.iter().enumerate() {
        assert!(
            *gap <= retry.backoff().base(i as u32 + 1),
            "gap {i}: {gap:?}"
        );
    }
}

#[test]
fn invalid_settings_name_the_field() {
    let cases = [
        (Retry::builder().max_attempts(0).build(), "max_attempts"),
        (
            Retry::builder().initial_delay(Duration::ZERO).build(),
            "initial_delay",
        ),
        (
            Retry::builder()
                .initial_delay(ms(10))
                .max_delay(ms(5))
                .build(),
            "max_delay",
        ),
        (Retry::builder().multiplier(0.9).build(), "multiplier"),
        (
            Retry::builder().attempt_timeout(Duration::ZERO).build(),
            "attempt_timeout",
        ),
        (
            Retry::builder().deadline(Duration::ZERO).build(),
            "deadline",
        ),
    ];
    for (result, field) in cases {
        assert_eq!(result.expect_err(field).field, field);
    }
}
