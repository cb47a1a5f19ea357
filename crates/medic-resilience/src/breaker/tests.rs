use std::sync::Mutex as StdMutex;

use proptest::prelude::*;

use super::*;
use crate::clock::ManualClock;

fn manual() -> (Arc<ManualClock>, Clock) {
    let clock = ManualClock::new();
    (clock.clone(), Clock::Manual(clock))
}

fn trials_in_flight(breaker: &CircuitBreaker) -> u32 {
    breaker.shared.lock().trials_in_flight
}

fn fail(breaker: &CircuitBreaker) {
    breaker.try_acquire().expect("admitted").failure();
}

fn succeed(breaker: &CircuitBreaker) {
    breaker.try_acquire().expect("admitted").success();
}

#[test]
fn consecutive_failures_open_and_a_success_resets_the_count() {
    let b = CircuitBreaker::builder("t")
        .consecutive_failures(3)
        .build()
        .expect("valid");
    fail(&b);
    fail(&b);
    succeed(&b);
    fail(&b);
    fail(&b);
    assert_eq!(b.state(), State::Closed);
    fail(&b);
    assert_eq!(b.state(), State::Open);
    assert!(b.try_acquire().is_err());
}

#[test]
fn failure_rate_waits_for_minimum_calls() {
    let b = CircuitBreaker::builder("t")
        .failure_rate(0.5, 4)
        .count_window(10)
        .build()
        .expect("valid");
    fail(&b);
    fail(&b);
    fail(&b);
    assert_eq!(b.state(), State::Closed, "only 3 calls, minimum is 4");
    succeed(&b);
    // 3 of 4 failed after the fourth call, but it was a success: judged then.
    assert_eq!(b.state(), State::Open);
}

#[test]
fn failure_rate_below_threshold_stays_closed() {
    let b = CircuitBreaker::builder("t")
        .failure_rate(0.5, 10)
        .count_window(10)
        .build()
        .expect("valid");
    for i in 0..100 {
        if i % 3 == 0 {
            fail(&b);
        } else {
            succeed(&b);
        }
    }
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn open_rejects_until_the_duration_passes_then_half_open_closes_on_successes() {
    let (clock, c) = manual();
    let b = CircuitBreaker::builder("t")
        .consecutive_failures(1)
        .open_duration(Duration::from_secs(10))
        .half_open_permits(2)
        .success_threshold(2)
        .clock(c)
        .build()
        .expect("valid");
    fail(&b);
    let rejected = b.try_acquire().expect_err("open");
    assert_eq!(rejected.retry_in, Duration::from_secs(10));
    clock.advance(Duration::from_secs(9));
    assert_eq!(
        b.try_acquire().expect_err("open").retry_in,
        Duration::from_secs(1)
    );
    clock.advance(Duration::from_secs(1));
    let first = b.try_acquire().expect("trial 1");
    assert_eq!(b.state(), State::HalfOpen);
    let second = b.try_acquire().expect("trial 2");
    assert!(b.try_acquire().is_err(), "only two trials at once");
    first.success();
    assert_eq!(b.state(), State::HalfOpen);
    second.success();
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn half_open_failure_reopens_for_longer_when_growth_is_set() {
    let (clock, c) = manual();
    let b = CircuitBreaker::builder("t")
        .consecutive_failures(1)
        .open_duration(Duration::from_secs(1))
        .open_duration_growth(2.0, Duration::from_secs(3))
        .clock(c)
        .build()
        .expect("valid");
    fail(&b);
    for expected in [2, 3, 3] {
        clock.advance(Duration::from_secs(5));
        fail(&b); // the trial fails
        assert_eq!(
            b.try_acquire().expect_err("open").retry_in,
            Duration::from_secs(expected)
        );
    }
    clock.advance(Duration::from_secs(5));
    succeed(&b);
    assert_eq!(b.state(), State::Closed);
    fail(&b);
    assert_eq!(
        b.try_acquire().expect_err("open").retry_in,
        Duration::from_secs(1),
        "closing resets the growth"
    );
}

#[test]
fn dropped_half_open_permit_gives_its_slot_back() {
    let (clock, c) = manual();
    let b = CircuitBreaker::builder("t")
        .consecutive_failures(1)
        .open_duration(Duration::from_secs(1))
        .clock(c)
        .build()
        .expect("valid");
    fail(&b);
    clock.advance(Duration::from_secs(1));
    let trial = b.try_acquire().expect("trial");
    assert!(b.try_acquire().is_err());
    drop(trial);
    assert_eq!(trials_in_flight(&b), 0);
    assert!(b.try_acquire().is_ok(), "the slot came back");
}

#[tokio::test(start_paused = true)]
async fn cancelled_and_timed_out_trials_release_their_permit() {
    let b = CircuitBreaker::builder("t")
        .consecutive_failures(1)
        .open_duration(Duration::from_secs(1))
        .clock(Clock::Tokio)
        .build()
        .expect("valid");
    fail(&b);
    tokio::time::advance(Duration::from_secs(1)).await;
    // A trial that hangs is cancelled by an outer timeout.
    let hung = tokio::time::timeout(
        Duration::from_millis(10),
        b.call(std::future::pending::<Result<(), ()>>()),
    )
    .await;
    assert!(hung.is_err());
    assert_eq!(b.state(), State::HalfOpen);
    assert_eq!(trials_in_flight(&b), 0);
    // The next trial is admitted and closes the breaker.
    b.call(async { Ok::<_, ()>(()) })
        .await
        .expect("trial admitted");
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn outcomes_from_an_earlier_generation_are_ignored() {
    let b = CircuitBreaker::builder("t")
        .consecutive_failures(1)
        .build()
        .expect("valid");
    let slow_call = b.try_acquire().expect("closed");
    b.force_open();
    b.reset();
    slow_call.failure(); // started before the reset: must not open the new cycle
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn forced_open_stays_open_until_reset() {
    let (clock, c) = manual();
    let b = CircuitBreaker::builder("t")
        .clock(c)
        .build()
        .expect("valid");
    b.force_open();
    clock.advance(Duration::from_secs(3600));
    assert_eq!(b.try_acquire().expect_err("forced").retry_in, Duration::MAX);
    b.reset();
    assert!(b.try_acquire().is_ok());
}

#[test]
fn slow_calls_open_the_breaker() {
    let (clock, c) = manual();
    let b = CircuitBreaker::builder("t")
        .failure_rate(0.5, 4)
        .slow_calls(Duration::from_millis(100), 0.5)
        .clock(c)
        .build()
        .expect("valid");
    for _ in 0..4 {
        let p = b.try_acquire().expect("closed");
        clock.advance(Duration::from_millis(150));
        p.success();
    }
    assert_eq!(b.state(), State::Open);
    assert_eq!(
        b.snapshot().slow_calls,
        4,
        "an open breaker still shows why it opened"
    );
}

#[test]
fn time_window_forgets_old_failures() {
    let (clock, c) = manual();
    let b = CircuitBreaker::builder("t")
        .failure_rate(0.5, 4)
        .time_window(Duration::from_secs(10), 10)
        .clock(c)
        .build()
        .expect("valid");
    fail(&b);
    fail(&b);
    fail(&b);
    clock.advance(Duration::from_secs(11));
    succeed(&b);
    assert_eq!(
        b.state(),
        State::Closed,
        "the three failures left the window"
    );
    assert_eq!(b.snapshot().calls, 1);
}

#[test]
fn state_changes_are_announced_in_order() {
    let (clock, c) = manual();
    let seen = Arc::new(StdMutex::new(Vec::new()));
    let sink = seen.clone();
    let b = CircuitBreaker::builder("db")
        .consecutive_failures(1)
        .open_duration(Duration::from_secs(1))
        .clock(c)
        .on_state_change(move |name, from, to| {
            sink.lock()
                .expect("lock")
                .push(format!("{name}:{from}->{to}"))
        })
        .build()
        .expect("valid");
    fail(&b);
    clock.advance(Duration::from_secs(1));
    succeed(&b);
    b.force_open();
    b.reset();
    assert_eq!(
        *seen.lock().expect("lock"),
        [
            "db:closed->open",
            "db:open->half_open",
            "db:half_open->closed",
            "db:closed->forced_open",
            "db:forced_open->closed"
        ]
    );
}

#[test]
fn invalid_settings_name_the_field() {
    let cases = [
        (
            CircuitBreaker::builder("x").failure_rate(-0.1, 5).build(),
            "failure_rate_threshold",
        ),
        (
            CircuitBreaker::builder("x").failure_rate(0.5, 0).build(),
            "minimum_calls",
        ),
        (
            CircuitBreaker::builder("x").consecutive_failures(0).build(),
            "consecutive_failures",
        ),
        (
            CircuitBreaker::builder("x").count_window(0).build(),
            "count_window",
        ),
        (
            CircuitBreaker::builder("x")
                .time_window(Duration::ZERO, 10)
                .build(),
            "time_window",
        ),
        (
            CircuitBreaker::builder("x")
                .slow_calls(Duration::from_secs(1), 2.0)
                .build(),
            "slow_call_rate_threshold",
        ),
        (
            CircuitBreaker::builder("x")
                .open_duration(Duration::ZERO)
                .build(),
            "open_duration",
        ),
        (
            CircuitBreaker::builder("x").half_open_permits(0).build(),
            "half_open_permits",
        ),
        (
            CircuitBreaker::builder("x").success_threshold(0).build(),
            "success_threshold",
        ),
        (
            CircuitBreaker::builder("x")
                .open_duration_growth(2.0, Duration::from_millis(1))
                .build(),
            "max_open_duration",
        ),
    ];
    for (result, field) in cases {
        assert_eq!(result.expect_err(field).field, field);
    }
}

#[derive(Debug, Clone)]
enum Step {
    Acquire,
    Succeed(usize),
    Fail(usize),
    Drop(usize),
    Advance(u64),
    Reset,
    ForceOpen,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => Just(Step::Acquire),
        3 => any::<usize>().prop_map(Step::Succeed),
        3 => any::<usize>().prop_map(Step::Fail),
        2 => any::<usize>().prop_map(Step::Drop),
        2 => (0u64..3_000).prop_map(Step::Advance),
        1 => Just(Step::Reset),
        1 => Just(Step::ForceOpen),
    ]
}

proptest! {
    /// Whatever happens, trial slots are never over-issued, and once every
    /// permit is settled and the open time has passed, a call gets through.
    #[test]
    fn breaker_never_gets_stuck(steps in proptest::collection::vec(step(), 1..200), permits in 1u32..4) {
        let (clock, c) = manual();
        let b = CircuitBreaker::builder("p")
            .failure_rate(0.5, 3)
            .count_window(5)
            .open_duration(Duration::from_secs(1))
            .open_duration_growth(2.0, Duration::from_secs(4))
            .half_open_permits(permits)
            .success_threshold(2)
            .clock(c)
            .build()
            .expect("valid");
        let mut held = Vec::new();
        for s in steps {
            match s {
                Step::Acquire => { if let Ok(p) = b.try_acquire_owned() { held.push(p) } }
                Step::Succeed(i) if !held.is_empty() => held.swap_remove(i % held.len()).success(),
                Step::Fail(i) if !held.is_empty() => held.swap_remove(i % held.len()).failure(),
                Step::Drop(i) if !held.is_empty() => drop(held.swap_remove(i % held.len())),
                Step::Advance(ms) => clock.advance(Duration::from_millis(ms)),
                Step::Reset => b.reset(),
                Step::ForceOpen => b.force_open(),
                _ => {}
            }
            prop_assert!(trials_in_flight(&b) <= permits);
            if b.state() == State::HalfOpen {
                let live = held.iter().filter(|p| Phase(b.shared.phase.load(Ordering::Acquire)) == p.ticket.phase).count();
                prop_assert_eq!(trials_in_flight(&b) as usize, live);
            }
        }
        held.clear();
        if b.state() == State::ForcedOpen {
            b.reset();
        }
        clock.advance(Duration::from_secs(4));
        prop_assert!(b.try_acquire().is_ok(), "stuck in {:?}", b.state());
    }
}

/// Many tasks on a multi-threaded runtime, with failures, successes and
/// cancellations racing: afterwards no trial slot may be leaked.
#[test]
fn concurrent_callers_never_leak_trial_permits() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_time()
        .build()
        .expect("runtime");
    let b = CircuitBreaker::builder("stress")
        .failure_rate(0.3, 5)
        .count_window(20)
        .open_duration(Duration::from_millis(1))
        .half_open_permits(2)
        .success_threshold(2)
        .build()
        .expect("valid");
    runtime.block_on(async {
        let tasks: Vec<_> = (0..16u64)
            .map(|task| {
                let b = b.clone();
                tokio::spawn(async move {
                    let mut rng = crate::rng::SplitMix64::seeded(task);
                    for _ in 0..2_000 {
                        let roll = rng.next_u64() % 10;
                        let call = async move {
                            if roll == 0 {
                                std::future::pending::<()>().await;
                            }
                            tokio::task::yield_now().await;
                            if roll < 5 { Err(()) } else { Ok(()) }
                        };
                        let _ = tokio::time::timeout(Duration::from_micros(50), b.call(call)).await;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("task");
        }
    });
    assert_eq!(trials_in_flight(&b), 0, "state {:?}", b.state());
    std::thread::sleep(Duration::from_millis(5));
    let mut admitted = false;
    for _ in 0..3 {
        if let Ok(p) = b.try_acquire() {
            p.success();
            admitted = true;
        }
    }
    assert!(admitted, "stuck in {:?}", b.state());
}

/// The standard clock times open durations on the coarse clock: within a
/// kernel tick (at most a few milliseconds) of the configured duration.
#[test]
fn open_duration_on_the_standard_clock_is_accurate_to_a_tick() {
    let b = CircuitBreaker::builder("coarse")
        .consecutive_failures(1)
        .open_duration(Duration::from_millis(100))
        .build()
        .expect("valid");
    fail(&b);
    let retry_in = b.try_acquire().expect_err("open").retry_in;
    assert!(
        retry_in > Duration::from_millis(80) && retry_in <= Duration::from_millis(100),
        "{retry_in:?}"
    );
    std::thread::sleep(Duration::from_millis(60));
    assert!(b.try_acquire().is_err(), "still open after 60 ms");
    std::thread::sleep(Duration::from_millis(60));
    assert!(b.try_acquire().is_ok(), "a trial is admitted after 120 ms");
}
