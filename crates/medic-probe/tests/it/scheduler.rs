use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use medic_engine::config::Probe;
use medic_model::{Signal, SignalSource};
use medic_probe::scheduler::{Pace, ScheduledProbe, Scheduler, SchedulerConfig};
use medic_probe::{Check, CheckFuture, Prober};
use tokio::sync::mpsc;
use tokio::time::Instant;

const SECOND: Duration = Duration::from_secs(1);

/// A fake check that records when it ran, takes `duration`, and tracks how
/// many of its kind run at once.
#[derive(Default)]
struct Recorder {
    runs: Mutex<Vec<(String, Instant)>>,
    duration: Duration,
    running: AtomicUsize,
    most_running: AtomicUsize,
}

impl Recorder {
    fn taking(duration: Duration) -> Arc<Self> {
        Arc::new(Self {
            duration,
            ..Self::default()
        })
    }

    fn times(&self) -> Vec<Instant> {
        self.runs
            .lock()
            .expect("lock")
            .iter()
            .map(|(_, at)| *at)
            .collect()
    }

    fn count(&self) -> usize {
        self.runs.lock().expect("lock").len()
    }
}

impl Check for Recorder {
    fn check<'a>(&'a self, target: &'a str) -> CheckFuture<'a> {
        Box::pin(async move {
            self.runs
                .lock()
                .expect("lock")
                .push((target.to_string(), Instant::now()));
            let now_running = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.most_running.fetch_max(now_running, Ordering::SeqCst);
            tokio::time::sleep(self.duration).await;
            self.running.fetch_sub(1, Ordering::SeqCst);
            Signal::healthy(
                target,
                SignalSource::Probe {
                    probe: "fake".into(),
                },
            )
        })
    }
}

fn probe(target: &str, interval: Duration, check: Arc<Recorder>) -> ScheduledProbe {
    ScheduledProbe {
        target: target.to_string(),
        probe_index: 0,
        interval,
        check,
    }
}

fn start(config: SchedulerConfig) -> (Scheduler, mpsc::Receiver<Signal>) {
    let (results, received) = mpsc::channel(100_000);
    (Scheduler::start(config, results), received)
}

/// Gaps between consecutive runs.
fn gaps(times: &[Instant]) -> Vec<Duration> {
    times.windows(2).map(|pair| pair[1] - pair[0]).collect()
}

#[tokio::test(start_paused = true)]
async fn first_runs_of_100_probes_spread_over_the_interval() {
    let (scheduler, mut received) = start(SchedulerConfig::default());
    let recorder = Recorder::taking(Duration::ZERO);
    let started = Instant::now();
    for i in 0..100 {
        scheduler.add(probe(&format!("svc-{i}"), SECOND, Arc::clone(&recorder)));
    }
    tokio::time::sleep(SECOND * 3 / 2).await;
    let mut first_runs: HashMap<String, Instant> = HashMap::new();
    for (target, at) in recorder.runs.lock().expect("lock").iter() {
        first_runs.entry(target.clone()).or_insert(*at);
    }
    assert_eq!(first_runs.len(), 100, "every probe ran");
    let mut per_10ms_slot: HashMap<u128, usize> = HashMap::new();
    for at in first_runs.values() {
        // Timers have millisecond resolution: a run is due at most 1 ms late.
        assert!(*at - started <= SECOND, "first run after one interval");
        *per_10ms_slot
            .entry((*at - started).as_millis() / 10)
            .or_default() += 1;
    }
    let busiest = per_10ms_slot.values().copied().max().unwrap_or(0);
    assert!(
        busiest <= 5,
        "{busiest} of 100 probes fell in one 10 ms slot"
    );
    assert!(
        per_10ms_slot.len() >= 50,
        "only {} slots used",
        per_10ms_slot.len()
    );
    assert!(received.recv().await.is_some_and(|signal| signal.healthy));
}

#[tokio::test(start_paused = true)]
async fn ten_thousand_probes_at_one_second_run_on_time() {
    let (scheduler, mut received) = start(SchedulerConfig::default());
    let recorder = Recorder::taking(Duration::from_millis(20));
    for i in 0..10_000 {
        scheduler.add(probe(&format!("svc-{i}"), SECOND, Arc::clone(&recorder)));
    }
    // Every first run is due within the interval; each takes 20 ms.
    tokio::time::sleep(SECOND + Duration::from_millis(50)).await;
    let mut reported = std::collections::HashSet::new();
    while let Ok(signal) = received.try_recv() {
        reported.insert(signal.target);
    }
    assert_eq!(
        reported.len(),
        10_000,
        "every probe reported in its first interval"
    );
    let stats = scheduler.stats();
    assert_eq!(stats.missed_runs, 0);
    assert!(stats.max_lateness < Duration::from_millis(2), "{stats:?}");
    assert!(recorder.most_running.load(Ordering::SeqCst) <= 512);
}

#[tokio::test(start_paused = true)]
async fn runs_stay_on_the_grid_over_1000_intervals_however_long_checks_take() {
    let (scheduler, _received) = start(SchedulerConfig::default());
    let recorder = Recorder::taking(Duration::from_millis(300));
    scheduler.add(probe("payments", SECOND, Arc::clone(&recorder)));
    tokio::time::sleep(SECOND * 1001).await;
    let times = recorder.times();
    assert!(times.len() >= 1000, "{} runs", times.len());
    assert!(gaps(&times).iter().all(|gap| *gap == SECOND));
    assert_eq!(times[1000] - times[0], SECOND * 1000, "no drift");
    assert_eq!(scheduler.stats().missed_runs, 0);
}

#[tokio::test(start_paused = true)]
async fn falling_behind_skips_ahead_and_counts_the_missed_runs() {
    let (scheduler, _received) = start(SchedulerConfig::default());
    let recorder = Recorder::taking(Duration::ZERO);
    scheduler.add(probe("payments", SECOND, Arc::clone(&recorder)));
    tokio::time::sleep(SECOND).await;
    assert_eq!(recorder.count(), 1);
    // The clock jumps 5 s at once, as if the scheduler had been starved.
    tokio::time::advance(SECOND * 5).await;
    tokio::time::sleep(SECOND * 2).await;
    let times = recorder.times();
    let stats = scheduler.stats();
    assert_eq!(stats.missed_runs, 4, "{stats:?}");
    assert!(stats.max_lateness > SECOND * 4, "{stats:?}");
    // Back on the original grid, one run per interval, no burst of catch-up runs.
    let late_run = times[1] - times[0];
    assert!(
        late_run > SECOND * 4 && late_run < SECOND * 6,
        "{late_run:?}"
    );
    let after = &times[2..];
    assert!(!after.is_empty());
    for at in after {
        assert_eq!((*at - times[0]).subsec_nanos(), 0, "off the grid");
    }
}

#[tokio::test(start_paused = true)]
async fn fast_mode_confirms_at_the_short_interval_then_returns_to_the_grid() {
    let (scheduler, _received) = start(SchedulerConfig::default());
    let recorder = Recorder::taking(Duration::ZERO);
    let id = scheduler.add(probe("payments", SECOND * 10, Arc::clone(&recorder)));
    tokio::time::sleep(SECOND * 10).await;
    assert_eq!(recorder.count(), 1);
    let first = recorder.times()[0];

    scheduler.set_pace(id, Pace::Fast);
    tokio::time::sleep(Duration::from_millis(550)).await;
    let fast_runs = recorder.times()[1..].to_vec();
    assert_eq!(fast_runs.len(), 5, "every 100 ms for 550 ms");
    assert!(
        gaps(&fast_runs)
            .iter()
            .all(|gap| *gap == Duration::from_millis(100))
    );

    scheduler.set_pace(id, Pace::Normal);
    tokio::time::sleep(SECOND * 25).await;
    let slow_runs = recorder.times()[6..].to_vec();
    assert_eq!(slow_runs.len(), 2, "back to every 10 s");
    for at in slow_runs {
        assert_eq!(
            (at - first).as_nanos() % (SECOND * 10).as_nanos(),
            0,
            "off its grid"
        );
    }
}

/// Issue 14: a target down for five minutes with a 10 s interval, nothing to
/// confirm (its incident escalated): at most 40 probes, here 10 s doubling
/// to a 60 s cap. Back to normal, the probe is on its own grid again.
#[tokio::test(start_paused = true)]
async fn backoff_stretches_the_interval_up_to_its_cap_then_returns_to_the_grid() {
    let (scheduler, _received) = start(SchedulerConfig::default());
    let recorder = Recorder::taking(Duration::ZERO);
    let id = scheduler.add(probe("payments", SECOND * 10, Arc::clone(&recorder)));
    tokio::time::sleep(SECOND * 10).await;
    assert_eq!(recorder.count(), 1);
    let first = recorder.times()[0];

    scheduler.set_pace(id, Pace::BackOff { max: SECOND * 60 });
    // Setting the same pace again does not restart the backoff.
    tokio::time::sleep(SECOND * 35).await;
    scheduler.set_pace(id, Pace::BackOff { max: SECOND * 60 });
    tokio::time::sleep(SECOND * 265).await;
    let down = recorder.times()[1..].to_vec();
    let seconds: Vec<u64> = gaps(&[&[first][..], &down[..]].concat())
        .iter()
        .map(|gap| gap.as_secs())
        .collect();
    // The run already due keeps its place; then 20, 40, and 60 s for good.
    assert_eq!(seconds[..6], [10, 20, 40, 60, 60, 60], "{seconds:?}");
    assert!(seconds[6..].iter().all(|gap| *gap == 60), "{seconds:?}");
    assert!(down.len() <= 40);

    scheduler.set_pace(id, Pace::Normal);
    let before = recorder.count();
    tokio::time::sleep(SECOND * 25).await;
    let normal = recorder.times()[before..].to_vec();
    assert!(normal.len() >= 2, "every 10 s again: {normal:?}");
    assert!(gaps(&normal).iter().all(|gap| *gap == SECOND * 10));
    for at in normal {
        assert_eq!(
            (at - first).as_nanos() % (SECOND * 10).as_nanos(),
            0,
            "off its grid"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn pause_stops_checks_and_resume_picks_up_without_counting_missed_runs() {
    let (scheduler, _received) = start(SchedulerConfig::default());
    let recorder = Recorder::taking(Duration::ZERO);
    scheduler.add(probe("payments", SECOND, Arc::clone(&recorder)));
    tokio::time::sleep(SECOND * 3).await;
    let before_pause = recorder.count();
    assert!(before_pause >= 2);

    scheduler.pause();
    assert!(scheduler.is_paused());
    tokio::time::sleep(SECOND * 10).await;
    assert_eq!(recorder.count(), before_pause, "no checks while paused");

    scheduler.resume();
    assert!(!scheduler.is_paused());
    tokio::time::sleep(SECOND * 3).await;
    assert!(recorder.count() >= before_pause + 2);
    assert_eq!(scheduler.stats().missed_runs, 0);
}

#[tokio::test(start_paused = true)]
async fn an_idle_probe_does_not_run_and_comes_back_on_its_grid() {
    let (scheduler, _received) = start(SchedulerConfig::default());
    let recorder = Recorder::taking(Duration::ZERO);
    let id = scheduler.add(probe("payments", SECOND, Arc::clone(&recorder)));
    tokio::time::sleep(SECOND * 3).await;
    let first = recorder.times()[0];

    // Idle from fast mode too: its pending fast run must not fire.
    scheduler.set_pace(id, Pace::Fast);
    scheduler.set_pace(id, Pace::Idle);
    let before = recorder.count();
    tokio::time::sleep(SECOND * 10).await;
    assert_eq!(recorder.count(), before, "no checks while idle");

    scheduler.set_pace(id, Pace::Normal);
    tokio::time::sleep(SECOND * 3).await;
    let back = recorder.times()[before..].to_vec();
    assert!(back.len() >= 2, "runs again: {back:?}");
    for at in back {
        assert_eq!(
            (at - first).as_nanos() % SECOND.as_nanos(),
            0,
            "off its grid"
        );
    }
    let stats = scheduler.stats();
    assert_eq!(stats.missed_runs, 0, "idle runs are not missed");
    assert_eq!(stats.on_time_share(), 1.0);
}

#[tokio::test(start_paused = true)]
async fn a_probe_never_overlaps_itself() {
    let (scheduler, _received) = start(SchedulerConfig::default());
    let recorder = Recorder::taking(Duration::from_millis(2_500));
    scheduler.add(probe("payments", SECOND, Arc::clone(&recorder)));
    tokio::time::sleep(SECOND * 10).await;
    assert_eq!(recorder.most_running.load(Ordering::SeqCst), 1);
    assert!(gaps(&recorder.times()).iter().all(|gap| *gap == SECOND * 3));
    assert!(scheduler.stats().skipped_in_flight >= 4);
}

#[tokio::test(start_paused = true)]
async fn the_semaphore_bounds_concurrent_checks() {
    let config = SchedulerConfig {
        max_concurrent_checks: 4,
        ..SchedulerConfig::default()
    };
    let (scheduler, mut received) = start(config);
    let recorder = Recorder::taking(Duration::from_millis(500));
    for i in 0..20 {
        // Interval 10 ms: all 20 are due within the first 10 ms.
        scheduler.add(probe(
            &format!("svc-{i}"),
            Duration::from_millis(10),
            Arc::clone(&recorder),
        ));
    }
    for _ in 0..20 {
        assert!(received.recv().await.is_some());
    }
    assert_eq!(recorder.most_running.load(Ordering::SeqCst), 4);
}

#[tokio::test(start_paused = true)]
async fn a_removed_probe_stops_running() {
    let (scheduler, _received) = start(SchedulerConfig::default());
    let recorder = Recorder::taking(Duration::ZERO);
    let id = scheduler.add(probe("payments", SECOND, Arc::clone(&recorder)));
    tokio::time::sleep(SECOND * 3).await;
    scheduler.remove(id);
    let runs = recorder.count();
    tokio::time::sleep(SECOND * 5).await;
    assert_eq!(recorder.count(), runs);
    scheduler.shutdown().await;
}

#[tokio::test]
async fn real_probes_report_through_the_scheduler() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let probe_config: Probe = toml::from_str::<toml::Table>(&format!(
        "kind = \"tcp\"\naddress = \"{address}\"\ninterval = \"100ms\""
    ))
    .expect("toml")
    .try_into()
    .expect("tcp probe parses");
    let check = Prober::new()
        .expect("prober")
        .build(&probe_config, "tcp")
        .expect("builds");
    let (scheduler, mut received) = start(SchedulerConfig::default());
    scheduler.add(ScheduledProbe {
        target: "redis".to_string(),
        probe_index: 0,
        interval: probe_config.interval().get(),
        check: Arc::new(check),
    });
    let signal = tokio::time::timeout(SECOND, received.recv())
        .await
        .expect("a signal within a second")
        .expect("channel open");
    assert!(signal.healthy, "{signal:?}");
    assert_eq!(signal.target, "redis");
    scheduler.shutdown().await;
}
