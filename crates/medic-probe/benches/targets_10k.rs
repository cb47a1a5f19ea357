//! 10 000 http targets probed every second against a loopback server: the
//! share of checks that start on time, the prober's CPU and its memory
//! (issue 3's acceptance, item (a): ≥ 99 % on time, ≤ 0.5 core, ≤ 150 MB).
//!
//! Run: `cargo bench -p medic-probe --bench targets_10k`. Knobs (env):
//! `MEDIC_BENCH_TARGETS` (10000), `MEDIC_BENCH_WARMUP` (5 s),
//! `MEDIC_BENCH_SECONDS` (30 s, the measured window). With `-- --check` it
//! exits 1 when a goal is missed (CI runs it with a 10 s window).
//! `MEDIC_BENCH_CPU_ALLOWANCE` (a number of cores) replaces the CPU goal on
//! a machine known to be slower than the one the goal was set on, and the
//! report says so; docs/benchmarks.md gives the figures that justify CI's.
//!
//! The server (`GET /health` → 200 `ok`, axum on a one-thread runtime) runs
//! in a child process, this same binary re-executed with
//! `MEDIC_BENCH_ROLE=server`, so its CPU is not counted as the prober's. The
//! prober side is what medic runs: a two-worker tokio runtime, a
//! [`Scheduler`] with the default config and 10 000 real http checks built by
//! one [`Prober`] (one shared reqwest client), and a task draining signals.
//!
//! Lateness is measured two ways:
//! - the scheduler's own counters (lateness at the moment it spawns a check;
//!   only the sum and the maximum are kept, so they give a bound, not a
//!   histogram);
//! - a thin wrapper around each check that notes when the check really
//!   starts (after the spawn and the concurrency semaphore). Each probe's
//!   grid (`anchor + k·1s`) is estimated during warm-up as the least late of
//!   its runs, so the measured lateness is low by that minimum (microseconds).
//!   A check is on time if it started within [`ON_TIME`] of its due instant.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use medic_engine::config::Probe;
use medic_model::Signal;
use medic_probe::scheduler::{ScheduledProbe, Scheduler, SchedulerConfig, SchedulerStats};
use medic_probe::{Check, CheckFuture, ProbeCheck, Prober};
use tokio::sync::mpsc;

const ROLE_VAR: &str = "MEDIC_BENCH_ROLE";
const INTERVAL: Duration = Duration::from_secs(1);
const ON_TIME: Duration = Duration::from_millis(100);

const GOAL_ON_TIME: f64 = 0.99;
const GOAL_CORES: f64 = 0.5;
const GOAL_RSS_MB: f64 = 150.0;

/// Upper bounds (µs) of the lateness histogram's buckets; the last is open.
const BUCKETS_US: [u64; 9] = [
    1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000,
];

const WARMUP: u8 = 0;
const MEASURE: u8 = 1;
const DONE: u8 = 2;

fn main() {
    if std::env::var(ROLE_VAR).as_deref() == Ok("server") {
        serve();
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("prober runtime")
            .block_on(measure());
    }
}

// ---------------------------------------------------------------- server --

/// The child: answers `GET /health` on a loopback port it prints, and exits
/// when its stdin closes (the bench ended, however it ended).
fn serve() {
    std::thread::spawn(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
        std::process::exit(0);
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("server runtime");
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let port = listener.local_addr().expect("local address").port();
        let mut stdout = std::io::stdout();
        writeln!(stdout, "{port}").expect("print port");
        stdout.flush().expect("flush port");
        let app = axum::Router::new().route("/health", axum::routing::get(|| async { "ok" }));
        axum::serve(listener, app).await.expect("serve");
    });
}

fn start_server() -> (Child, u16) {
    let exe = std::env::current_exe().expect("own executable");
    let mut child = Command::new(exe)
        .env(ROLE_VAR, "server")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the server child");
    let stdout = child.stdout.take().expect("child stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the server's port");
    let port = line.trim().parse().expect("server prints its port");
    (child, port)
}

// ------------------------------------------------------- lateness tracing --

/// Shared by every traced check: the phase and the window's histogram.
struct Recorder {
    epoch: Instant,
    phase: AtomicU8,
    buckets: [AtomicU64; BUCKETS_US.len() + 1],
    count: AtomicU64,
    sum_us: AtomicU64,
    max_us: AtomicU64,
}

impl Recorder {
    fn new() -> Self {
        Self {
            epoch: Instant::now(),
            phase: AtomicU8::new(WARMUP),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            count: AtomicU64::new(0),
            sum_us: AtomicU64::new(0),
            max_us: AtomicU64::new(0),
        }
    }

    fn now_us(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    fn record(&self, lateness_us: u64) {
        let bucket = BUCKETS_US
            .iter()
            .position(|&bound| lateness_us <= bound)
            .unwrap_or(BUCKETS_US.len());
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(lateness_us, Ordering::Relaxed);
        self.max_us.fetch_max(lateness_us, Ordering::Relaxed);
    }

    /// Checks in the window that started within `bound_us` (a bucket bound).
    fn at_most(&self, bound_us: u64) -> u64 {
        BUCKETS_US
            .iter()
            .zip(&self.buckets)
            .take_while(|&(&bound, _)| bound <= bound_us)
            .map(|(_, count)| count.load(Ordering::Relaxed))
            .sum()
    }
}

/// A real check, plus a note of when it really starts.
struct Traced {
    inner: ProbeCheck,
    recorder: Arc<Recorder>,
    /// µs since the epoch of the first run (`u64::MAX` before it).
    first_us: AtomicU64,
    /// The estimated grid anchor: the least late `start − k·interval` seen in
    /// warm-up.
    anchor_us: AtomicU64,
}

impl Check for Traced {
    fn check<'a>(&'a self, target: &'a str) -> CheckFuture<'a> {
        let recorder = &self.recorder;
        let now = recorder.now_us();
        let period = u64::try_from(INTERVAL.as_micros()).unwrap_or(u64::MAX);
        let first = match self.first_us.compare_exchange(
            u64::MAX,
            now,
            Ordering::Relaxed,
            Ordering::Relaxed,
        ) {
            Ok(_) => now,
            Err(first) => first,
        };
        // Which run of the grid this is: lateness jitter is far below half
        // an interval, so rounding picks the right k.
        let runs = (now - first + period / 2) / period;
        let grid_point = now - runs * period;
        match recorder.phase.load(Ordering::Relaxed) {
            WARMUP => {
                self.anchor_us.fetch_min(grid_point, Ordering::Relaxed);
            }
            MEASURE => {
                let anchor = self.anchor_us.load(Ordering::Relaxed).min(grid_point);
                recorder.record(grid_point - anchor);
            }
            _ => {}
        }
        Check::check(&self.inner, target)
    }
}

// ------------------------------------------------------------- signals --

#[derive(Default)]
struct SignalCounts {
    received: AtomicU64,
    healthy: AtomicU64,
    latency_sum_us: AtomicU64,
    latency_max_us: AtomicU64,
    first_unhealthy: Mutex<Option<String>>,
}

/// Counts the signals of the window; runs until the scheduler stops.
fn drain(mut signals: mpsc::Receiver<Signal>, recorder: Arc<Recorder>) -> Arc<SignalCounts> {
    let counts = Arc::new(SignalCounts::default());
    let shared = Arc::clone(&counts);
    tokio::spawn(async move {
        while let Some(signal) = signals.recv().await {
            if recorder.phase.load(Ordering::Relaxed) != MEASURE {
                continue;
            }
            shared.received.fetch_add(1, Ordering::Relaxed);
            if signal.healthy {
                shared.healthy.fetch_add(1, Ordering::Relaxed);
            } else if let Ok(mut first) = shared.first_unhealthy.lock()
                && first.is_none()
            {
                *first = Some(signal.message.clone());
            }
            let latency_us = signal.latency_ms.map_or(0, |ms| (ms * 1e3) as u64);
            shared
                .latency_sum_us
                .fetch_add(latency_us, Ordering::Relaxed);
            shared
                .latency_max_us
                .fetch_max(latency_us, Ordering::Relaxed);
        }
    });
    counts
}

// ---------------------------------------------------------------- /proc --

fn clock_ticks_per_second() -> (f64, bool) {
    let ticks = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse::<f64>().ok());
    match ticks {
        Some(ticks) if ticks > 0.0 => (ticks, false),
        _ => (100.0, true),
    }
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold
    // spaces: state is field 3, utime 14, stime 15.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |n: usize| {
        fields
            .get(n - 3)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(14) + field(15)
}

fn status_kb(key: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|rest| rest.trim_start_matches(':').split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .unwrap_or(f64::NAN)
}

fn open_files_soft_limit() -> String {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    limits
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or("?")
        .to_string()
}

/// (open fds, of which sockets).
fn open_fds() -> (usize, usize) {
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
        return (0, 0);
    };
    let mut fds = 0;
    let mut sockets = 0;
    for entry in entries.flatten() {
        fds += 1;
        if std::fs::read_link(entry.path())
            .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"))
        {
            sockets += 1;
        }
    }
    (fds, sockets)
}

/// The CPU allowance that replaces [`GOAL_CORES`] on a slower machine.
fn cpu_allowance() -> Option<f64> {
    std::env::var("MEDIC_BENCH_CPU_ALLOWANCE")
        .ok()
        .and_then(|value| value.parse().ok())
        .filter(|cores: &f64| *cores > 0.0)
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

// --------------------------------------------------------------- measure --

fn http_probe(port: u16) -> Probe {
    #[derive(serde::Deserialize)]
    struct Wrapper {
        probe: Probe,
    }
    let text = format!(
        r#"probe = {{ kind = "http", url = "http://127.0.0.1:{port}/health", interval = "1s", timeout = "500ms" }}"#
    );
    toml::from_str::<Wrapper>(&text)
        .expect("probe parses")
        .probe
}

fn stats_delta(after: SchedulerStats, before: SchedulerStats) -> SchedulerStats {
    SchedulerStats {
        checks_started: after.checks_started - before.checks_started,
        missed_runs: after.missed_runs - before.missed_runs,
        skipped_in_flight: after.skipped_in_flight - before.skipped_in_flight,
        late_runs: after.late_runs - before.late_runs,
        max_lateness: after.max_lateness,
        total_lateness: after.total_lateness.saturating_sub(before.total_lateness),
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "PASS" } else { "FAIL" }
}

async fn measure() {
    let targets = env_u64("MEDIC_BENCH_TARGETS", 10_000);
    let warmup = env_u64("MEDIC_BENCH_WARMUP", 5);
    let seconds = env_u64("MEDIC_BENCH_SECONDS", 30).max(1);
    let (ticks_per_second, ticks_assumed) = clock_ticks_per_second();
    let fd_limit = open_files_soft_limit();

    let (mut server, port) = start_server();
    let server_pid = server.id().to_string();

    let recorder = Arc::new(Recorder::new());
    let (results, signals) = mpsc::channel(4096);
    let counts = drain(signals, Arc::clone(&recorder));
    let scheduler = Scheduler::start(SchedulerConfig::default(), results);
    let prober = Prober::new().expect("http client");
    let probe = http_probe(port);
    for index in 0..targets {
        let check = prober.build(&probe, "http").expect("http check builds");
        scheduler.add(ScheduledProbe {
            target: format!("svc-{index:05}"),
            probe_index: 0,
            interval: INTERVAL,
            check: Arc::new(Traced {
                inner: check,
                recorder: Arc::clone(&recorder),
                first_us: AtomicU64::new(u64::MAX),
                anchor_us: AtomicU64::new(u64::MAX),
            }),
        });
    }

    tokio::time::sleep(Duration::from_secs(warmup)).await;

    let stats_before = scheduler.stats();
    let cpu_before = cpu_ticks("self");
    let server_cpu_before = cpu_ticks(&server_pid);
    let window_start = Instant::now();
    recorder.phase.store(MEASURE, Ordering::Relaxed);
    let mut peak_fds = (0, 0);
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    while window_start.elapsed() < Duration::from_secs(seconds) {
        tick.tick().await;
        let fds = open_fds();
        peak_fds = (peak_fds.0.max(fds.0), peak_fds.1.max(fds.1));
    }
    recorder.phase.store(DONE, Ordering::Relaxed);
    let wall = window_start.elapsed().as_secs_f64();
    let cpu_after = cpu_ticks("self");
    let server_cpu_after = cpu_ticks(&server_pid);
    let stats = stats_delta(scheduler.stats(), stats_before);
    let rss_mb = status_kb("VmRSS") / 1024.0;
    let hwm_mb = status_kb("VmHWM") / 1024.0;
    let threads = status_kb("Threads");

    scheduler.shutdown().await;
    let _ = server.kill();
    let _ = server.wait();

    // ---- figures
    // Due runs in the window: one per target per second of the (measured)
    // window, which ends a little after `seconds`.
    let expected = targets as f64 * wall;
    let traced = recorder.count.load(Ordering::Relaxed);
    let on_time_checks = recorder.at_most(u64::try_from(ON_TIME.as_micros()).unwrap_or(0));
    // Over whichever is larger, so checks counted at the window's edges
    // cannot hide late ones.
    let on_time = on_time_checks as f64 / expected.max(traced as f64);
    let traced_mean_ms =
        recorder.sum_us.load(Ordering::Relaxed) as f64 / traced.max(1) as f64 / 1e3;
    let traced_max_ms = recorder.max_us.load(Ordering::Relaxed) as f64 / 1e3;
    // From the scheduler's counters alone: at most total/100ms checks can be
    // 100 ms late or more (Markov), so this is a lower bound.
    let late_bound = stats.total_lateness.as_secs_f64() / ON_TIME.as_secs_f64();
    let on_time_bound = ((stats.checks_started as f64 - late_bound)
        / expected.max(stats.checks_started as f64))
    .clamp(0.0, 1.0);
    let sched_mean_ms =
        stats.total_lateness.as_secs_f64() * 1e3 / stats.checks_started.max(1) as f64;
    let cores = (cpu_after - cpu_before) as f64 / ticks_per_second / wall;
    let server_cores = (server_cpu_after - server_cpu_before) as f64 / ticks_per_second / wall;
    let received = counts.received.load(Ordering::Relaxed);
    let healthy = counts.healthy.load(Ordering::Relaxed);
    let latency_mean_ms =
        counts.latency_sum_us.load(Ordering::Relaxed) as f64 / received.max(1) as f64 / 1e3;
    let latency_max_ms = counts.latency_max_us.load(Ordering::Relaxed) as f64 / 1e3;

    println!();
    println!(
        "targets_10k: {targets} http targets @ 1 s (timeout 500 ms) -> 127.0.0.1:{port}, \
         warm-up {warmup} s, window {wall:.1} s, prober on 2 tokio workers"
    );
    println!("  checks expected (targets x s)    {expected:>12.0}");
    println!(
        "  checks started (scheduler)       {:>12}",
        stats.checks_started
    );
    println!("  checks started (traced)          {traced:>12}");
    println!(
        "  missed runs / skipped in flight  {:>12} / {}",
        stats.missed_runs, stats.skipped_in_flight
    );
    println!("  lateness traced   mean / max     {traced_mean_ms:>9.3} ms / {traced_max_ms:.3} ms");
    println!(
        "  lateness scheduler mean / max*   {sched_mean_ms:>9.3} ms / {:.3} ms   (*since start, warm-up included)",
        stats.max_lateness.as_secs_f64() * 1e3
    );
    let bucket_line: Vec<String> = BUCKETS_US
        .iter()
        .map(|&bound| {
            format!(
                "<={}ms {:.3}%",
                bound / 1000,
                100.0 * recorder.at_most(bound) as f64 / traced.max(1) as f64
            )
        })
        .collect();
    println!(
        "  lateness cdf (traced)            {}",
        bucket_line.join("  ")
    );
    println!(
        "  signals received / healthy       {received:>12} / {healthy}   ({:.0} req/s on loopback)",
        received as f64 / wall
    );
    if let Ok(first) = counts.first_unhealthy.lock()
        && let Some(message) = first.as_ref()
    {
        println!("  first unhealthy message          {message}");
    }
    println!(
        "  probe latency mean / max         {latency_mean_ms:>9.3} ms / {latency_max_ms:.3} ms"
    );
    println!(
        "  server (child) CPU               {server_cores:>9.3} cores   (context, not counted)"
    );
    println!(
        "  fds peak / sockets peak / limit  {:>12} / {} / {fd_limit}   threads {threads}",
        peak_fds.0, peak_fds.1
    );
    if ticks_assumed {
        println!("  (getconf CLK_TCK failed: assumed 100 ticks/s)");
    } else {
        println!("  (CLK_TCK = {ticks_per_second})");
    }
    if let Ok(limit) = fd_limit.parse::<usize>()
        && peak_fds.0 * 2 > limit
    {
        println!("  WARNING: open fds came within 2x of the soft RLIMIT_NOFILE ({limit})");
    }
    println!();
    println!(
        "  on time (<= {} ms, traced)       {:>8.3} %   goal >= {:.0} %  {}",
        ON_TIME.as_millis(),
        on_time * 100.0,
        GOAL_ON_TIME * 100.0,
        verdict(on_time >= GOAL_ON_TIME)
    );
    println!(
        "  on time, lower bound (counters)  {:>8.3} %   (started - total_lateness/100ms) / expected",
        on_time_bound * 100.0
    );
    let allowance = cpu_allowance();
    let cpu_goal = allowance.unwrap_or(GOAL_CORES);
    println!(
        "  prober CPU                       {cores:>8.3} cores   goal <= {cpu_goal} {}{}",
        verdict(cores <= cpu_goal),
        if allowance.is_some() {
            format!(
                " (MEDIC_BENCH_CPU_ALLOWANCE; issue 3's goal is {GOAL_CORES}: {})",
                verdict(cores <= GOAL_CORES)
            )
        } else {
            String::new()
        }
    );
    println!(
        "  prober RSS end / peak (VmHWM)    {rss_mb:>8.1} MB / {hwm_mb:.1} MB   goal <= {GOAL_RSS_MB} MB {}",
        verdict(hwm_mb <= GOAL_RSS_MB)
    );
    println!();
    println!(
        "reproduce: MEDIC_BENCH_TARGETS={targets} MEDIC_BENCH_WARMUP={warmup} MEDIC_BENCH_SECONDS={seconds} \
         cargo bench -p medic-probe --bench targets_10k"
    );
    let met = on_time >= GOAL_ON_TIME && cores <= cpu_goal && hwm_mb <= GOAL_RSS_MB;
    if std::env::args().any(|a| a == "--check") && !met {
        eprintln!("targets_10k: a goal was missed (see above)");
        std::process::exit(1);
    }
}
