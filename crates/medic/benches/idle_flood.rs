//! `/health` latency while 2,000 idle connections (no bytes sent) hold a
//! `medic serve` whose file limit is 1,024, against the same server with no
//! flood (issue 12, item 8). A flood thread keeps replacing its oldest
//! connection with a new one the whole time, so the accept loop is evicting
//! at its cap while the probes run.
//!
//! Run: `cargo bench -p medic --bench idle_flood` (2,000 probes per phase,
//! about 30 s); `-- --quick` (200 probes) is CI's check, which fails unless
//! every probe under the flood is answered 200 within 1 s.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const FILE_LIMIT: u64 = 1024;
const IDLE_CONNECTIONS: usize = 2000;
const LIMIT: Duration = Duration::from_secs(1);

fn health(address: &str) -> Result<Duration, String> {
    let started = Instant::now();
    let mut stream = TcpStream::connect(address).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    // The Host must be the loopback address: the open API refuses others.
    write!(
        stream,
        "GET /health HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("write: {e}"))?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| format!("read: {e}"))?;
    if response.starts_with("HTTP/1.1 200") {
        Ok(started.elapsed())
    } else {
        Err(format!("answer: {:?}", response.lines().next()))
    }
}

struct Phase {
    sorted: Vec<Duration>,
    failures: Vec<String>,
}

impl Phase {
    fn measure(address: &str, probes: usize) -> Self {
        let mut sorted = Vec::with_capacity(probes);
        let mut failures = Vec::new();
        for _ in 0..probes {
            match health(address) {
                Ok(took) => sorted.push(took),
                Err(why) => failures.push(why),
            }
        }
        sorted.sort();
        Self { sorted, failures }
    }

    fn percentile(&self, p: f64) -> Duration {
        if self.sorted.is_empty() {
            return Duration::MAX;
        }
        let index = ((p * self.sorted.len() as f64).ceil() as usize).clamp(1, self.sorted.len());
        self.sorted[index - 1]
    }

    fn row(&self, name: &str) -> String {
        format!(
            "| {name} | {} | {:.2} ms | {:.2} ms | {:.2} ms | {} |",
            self.sorted.len() + self.failures.len(),
            self.percentile(0.5).as_secs_f64() * 1e3,
            self.percentile(0.99).as_secs_f64() * 1e3,
            self.percentile(1.0).as_secs_f64() * 1e3,
            self.failures.len()
        )
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let probes = if quick { 200 } else { 2000 };
    // This process holds the flood: raise its own soft limit to the hard one.
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard).expect("setrlimit");

    let dir = std::env::temp_dir().join(format!("medic-idle-flood-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config = dir.join("medic.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nrate_limit = 0\n[storage]\nurl = \"sqlite://{}\"\n",
            dir.join("medic.db").display()
        ),
    )
    .expect("config");
    let mut medic = Command::new("prlimit")
        .arg(format!("--nofile={FILE_LIMIT}:{FILE_LIMIT}"))
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_medic"))
        .args(["serve", "--config"])
        .arg(&config)
        .env("MEDIC_LOG", "error")
        .stdout(Stdio::piped())
        .spawn()
        .expect("medic serve starts");
    let mut line = String::new();
    BufReader::new(medic.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the address line");
    let address = line
        .trim()
        .rsplit("http://")
        .next()
        .expect("address")
        .to_string();

    let calm = Phase::measure(&address, probes);

    let flooding = Arc::new(AtomicBool::new(true));
    let opened = Arc::new(AtomicUsize::new(0));
    let flood = {
        let (address, flooding, opened) = (address.clone(), flooding.clone(), opened.clone());
        std::thread::spawn(move || {
            let mut held = VecDeque::with_capacity(IDLE_CONNECTIONS);
            while flooding.load(Ordering::Acquire) {
                if let Ok(stream) = TcpStream::connect(&address) {
                    held.push_back(stream);
                    opened.fetch_add(1, Ordering::Relaxed);
                }
                if held.len() > IDLE_CONNECTIONS {
                    held.pop_front();
                }
                if held.len() == IDLE_CONNECTIONS {
                    // Full: keep churning, about 1,000 new connections a second.
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        })
    };
    while opened.load(Ordering::Relaxed) < IDLE_CONNECTIONS {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_secs(1));
    let flooded = Phase::measure(&address, probes);
    flooding.store(false, Ordering::Release);
    let _ = flood.join();
    let total_opened = opened.load(Ordering::Relaxed);
    let _ = medic.kill();
    let _ = medic.wait();
    let _ = std::fs::remove_dir_all(&dir);

    println!("| phase | probes | p50 | p99 | max | failed |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    println!("{}", calm.row("no flood"));
    println!(
        "{}",
        flooded.row(&format!(
            "{IDLE_CONNECTIONS} idle connections held, {total_opened} opened in all"
        ))
    );
    let worst = flooded.percentile(1.0);
    if !flooded.failures.is_empty() || worst >= LIMIT {
        eprintln!(
            "idle_flood: FAILED: {} probes failed ({:?}), slowest {worst:?} (limit {LIMIT:?})",
            flooded.failures.len(),
            flooded.failures.first()
        );
        std::process::exit(1);
    }
    println!("idle_flood: every /health under the flood answered 200 within {LIMIT:?}");
}
