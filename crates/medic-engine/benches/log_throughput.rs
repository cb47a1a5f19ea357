//! Log reading throughput: medic's whole-log scan against `rg` with the same
//! patterns, on the same generated file, in the same run.
//!
//! ```sh
//! cargo bench -p medic-engine --bench log_throughput            # ~1 min
//! cargo bench -p medic-engine --bench log_throughput -- --check # exit 1 below 0.5 x rg
//! ```
//!
//! The log (128 MiB, fixed seed, in the temp dir) is mostly INFO and DEBUG
//! lines, some of which mention failure words the way healthy lines do
//! (`idle_timeout=30s`), with about 2 % warnings and errors in real tools'
//! wordings. medic: read the file in 1 MiB blocks, find the lines any catalog pattern
//! matches with one automaton, classify each (`ErrorClassifier::recognise`),
//! read its level and mine its template (`LogScanner::scan`). rg: `rg -i -c
//! -f patterns.txt log` with the catalog's patterns exported to the file
//! (each as `(?-u:…)`: ASCII case folding, as medic matches). Both read a
//! file the first run put in the page cache; each side's best of five runs.
//! A second medic figure templates *every* line (`TemplateMiner::add`), for
//! scale; it is not the comparison.
#![allow(clippy::unwrap_used, missing_docs)]

use std::fs;
use std::io::{BufWriter, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use medic_engine::logs::{LogScanner, ScanReport, TemplateMiner};
use medic_resilience::classify::{ErrorClassifier, builtin_patterns};

const LOG_BYTES: usize = 128 << 20;
const RUNS: usize = 5;
const GOAL: f64 = 0.5;

fn main() -> ExitCode {
    let check = std::env::args().any(|a| a == "--check");
    if Command::new("rg").arg("--version").output().is_err() {
        eprintln!(
            "log_throughput: `rg` (ripgrep) is not on PATH; install it (apt-get install ripgrep) to compare"
        );
        return ExitCode::FAILURE;
    }
    let dir = std::env::temp_dir().join(format!("medic-log-bench-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let log = dir.join("app.log");
    let patterns = dir.join("patterns.txt");
    generate(&log, LOG_BYTES);
    let text = builtin_patterns()
        .iter()
        // rg 13's regex refuses non-ASCII literals under `-u`; such a
        // pattern keeps Unicode case folding, which finds the same lines here.
        .map(|p| match p.is_ascii() {
            true => format!("(?-u:{p})\n"),
            false => format!("{p}\n"),
        })
        .collect::<String>();
    fs::write(&patterns, text).unwrap();
    let megabytes = fs::metadata(&log).unwrap().len() as f64 / 1e6;

    let (medic_time, report) = best_of(|| scan(&log));
    let (rg_time, rg_count) = best_of(|| rg(&patterns, &log));
    let (all_time, clusters) = best_of(|| template_every_line(&log));

    let medic_speed = megabytes / medic_time.as_secs_f64();
    let rg_speed = megabytes / rg_time.as_secs_f64();
    let ratio = medic_speed / rg_speed;
    println!("log: {megabytes:.1} MB, {} lines", report.lines);
    println!(
        "medic scan      {:>8.1} MB/s  ({:.3} s; {} lines recognised, {} templates)",
        medic_speed,
        medic_time.as_secs_f64(),
        report.recognised,
        report.templates.clusters().len()
    );
    println!(
        "rg -i -c -f     {:>8.1} MB/s  ({:.3} s; {} lines matched)",
        rg_speed,
        rg_time.as_secs_f64(),
        rg_count
    );
    println!("ratio medic/rg  {ratio:>8.2}  (goal >= {GOAL})");
    println!(
        "template all    {:>8.1} MB/s  ({:.3} s; {clusters} clusters; for scale)",
        megabytes / all_time.as_secs_f64(),
        all_time.as_secs_f64()
    );
    if report.recognised != rg_count {
        println!(
            "note: medic recognised {} lines, rg matched {rg_count}",
            report.recognised
        );
    }
    let _ = fs::remove_dir_all(&dir);
    if check && ratio < GOAL {
        eprintln!("log_throughput: medic reads at {ratio:.2} x rg, below the goal of {GOAL}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn best_of<T>(mut run: impl FnMut() -> T) -> (Duration, T) {
    let mut best: Option<(Duration, T)> = None;
    for _ in 0..RUNS {
        let start = Instant::now();
        let value = run();
        let took = start.elapsed();
        if best.as_ref().is_none_or(|(t, _)| took < *t) {
            best = Some((took, value));
        }
    }
    best.unwrap()
}

/// Reads the log in 1 MiB blocks (one buffer, reused), hands whole lines
/// to the scanner and carries a cut line over to the next block.
fn scan(log: &Path) -> ScanReport {
    let scanner = LogScanner::new(ErrorClassifier::new());
    let mut report = ScanReport::default();
    let mut file = fs::File::open(log).unwrap();
    let mut buffer = vec![0u8; 1 << 20];
    let mut kept = 0;
    loop {
        let read = file.read(&mut buffer[kept..]).unwrap();
        let filled = kept + read;
        if read == 0 {
            scanner.scan(&buffer[..filled], &mut report);
            return report;
        }
        let whole = buffer[..filled]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |newline| newline + 1);
        if whole == 0 && filled == buffer.len() {
            // One line longer than the buffer: grow it.
            buffer.resize(buffer.len() * 2, 0);
            kept = filled;
            continue;
        }
        scanner.scan(&buffer[..whole], &mut report);
        buffer.copy_within(whole..filled, 0);
        kept = filled - whole;
    }
}

fn rg(patterns: &Path, log: &PathBuf) -> u64 {
    let out = Command::new("rg")
        .args(["-i", "-c", "-f"])
        .arg(patterns)
        .arg(log)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "rg failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

fn template_every_line(log: &Path) -> usize {
    let text = fs::read_to_string(log).unwrap();
    let mut miner = TemplateMiner::default();
    for line in text.lines() {
        miner.add(line);
    }
    miner.clusters().len()
}

/// SplitMix64: a fixed, tiny generator, so the log is the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const SERVICES: &[&str] = &[
    "orders",
    "payments",
    "checkout",
    "inventory",
    "search",
    "notifier",
];

/// Healthy lines; a few mention failure words the way settings do.
const ROUTINE: &[&str] = &[
    "INFO  http: GET /api/orders/{n} 200 {ms}ms",
    "INFO  http: POST /v1/charges 201 {ms}ms",
    "DEBUG worker-{n} picked job {hex}",
    "INFO  {svc}: listening on 0.0.0.0:{port}",
    "DEBUG cache hit ratio 0.{n}",
    "INFO  scheduler: next run in {n}s",
    "INFO  pool: max_connections=20 idle_timeout=30s",
    "INFO  retry policy: attempts=3 backoff=exponential",
    "DEBUG {svc}: span {hex} finished in {ms}ms",
    "INFO  {svc}: order {n} confirmed for customer {hex}",
    "DEBUG kafka: committed offset {n} for partition {port}",
    "INFO  {svc}: request id={hex} user={n} path=/api/v2/users/{n}",
];

const WARNINGS: &[&str] = &[
    "WARN  slow request: GET /api/orders/{n} took {ms}ms",
    "WARN  upstream {svc}: read: connection reset by peer",
    "WARN  stripe: request {hex} throttled: 429 Too Many Requests, retrying in {n}s",
];

const ERRORS: &[&str] = &[
    "ERROR {svc}: dial tcp 10.0.{n}.7:{port}: connect: connection refused",
    "ERROR pq: duplicate key value violates unique constraint \"orders_pkey\"",
    "ERROR write /var/lib/app/segment-{n}.log: no space left on device",
    "ERROR context deadline exceeded while calling {svc}:{port}",
    "ERROR open /etc/app/config.yaml: permission denied",
    "ERROR {svc}: upstream inventory returned 503 Service Unavailable",
    "ERROR request {hex} failed: 500 Internal Server Error",
    "ERROR {svc}: unexpected state {n} in reconcile loop for {hex}",
];

fn generate(path: &Path, bytes: usize) {
    let mut rng = Rng(20_261_126);
    let mut out = BufWriter::new(fs::File::create(path).unwrap());
    let mut written = 0;
    let mut second = 0u64;
    while written < bytes {
        second += rng.below(2);
        let template = match rng.below(1000) {
            0..=9 => rng.pick(ERRORS),
            10..=19 => rng.pick(WARNINGS),
            _ => rng.pick(ROUTINE),
        };
        let line = format!(
            "2026-11-26T{:02}:{:02}:{:02}.{:03}Z {}\n",
            second / 3600 % 24,
            second / 60 % 60,
            second % 60,
            rng.below(1000),
            fill(template, &mut rng)
        );
        out.write_all(line.as_bytes()).unwrap();
        written += line.len();
    }
    out.flush().unwrap();
}

fn fill(template: &str, rng: &mut Rng) -> String {
    let mut line = template.to_string();
    for (key, value) in [
        ("{svc}", rng.pick(SERVICES).to_string()),
        ("{n}", rng.below(100_000).to_string()),
        ("{ms}", (rng.below(900) + 1).to_string()),
        ("{port}", (rng.below(60_000) + 1024).to_string()),
        ("{hex}", format!("{:08x}", rng.next() as u32)),
    ] {
        line = line.replace(key, &value);
    }
    line
}
