//! MTTR: from injecting a dependency outage into the chaos shop to the
//! incident verified resolved, with a 1 s probe interval (issue 3's goal:
//! p50 ≤ 1.5 s, p95 ≤ 2.5 s).
//!
//! Run: `cargo bench -p medic --bench mttr` (about 40 s); `-- --check` runs
//! 6 injections and exits 1 when one is not healed or a goal is missed (CI). It drives the real
//! binaries over loopback: `medic serve` supervising `medic chaos`. The bench
//! raises `flap_limit`: twenty outages in a minute would otherwise, rightly,
//! count as flapping and pause automation.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const INJECTIONS: usize = 20;
const CHECK_INJECTIONS: usize = 6;
const GOAL_P50: Duration = Duration::from_millis(1_500);
const GOAL_P95: Duration = Duration::from_millis(2_500);

fn request(address: &str, method: &str, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(address).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((status, body))
}

fn newest_incident(api: &str) -> Option<serde_json::Value> {
    let (_, body) = request(api, "GET", "/api/v1/incidents?limit=1")?;
    let json: serde_json::Value = serde_json::from_str(&body).ok()?;
    json["incidents"].as_array()?.first().cloned()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

fn main() {
    let check = std::env::args().any(|a| a == "--check");
    let injections = if check { CHECK_INJECTIONS } else { INJECTIONS };
    let dir = std::env::temp_dir().join(format!("medic-mttr-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let exe = env!("CARGO_BIN_EXE_medic");
    let log = dir.join("shop.log");
    let config = dir.join("medic.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[server]
listen = "127.0.0.1:0"
[storage]
url = "sqlite://{db}"
[policy]
cooldown = "0s"
max_actions_per_hour = 1000
max_actions_per_hour_per_target = 1000
[[targets]]
name = "shop"
supervise = {{ command = ["{exe}", "chaos", "--listen", "127.0.0.1:{port}", "--log-file", "{log}"] }}
probes = [{{ kind = "http", url = "http://127.0.0.1:{port}/health", interval = "1s", timeout = "500ms" }}]
logs = [{{ path = "{log}" }}]
health = {{ failure_threshold = 2, success_threshold = 2, confirm_interval = "100ms", verify_window = "5s", flap_limit = 100 }}
[[targets.remedies]]
name = "reconnect-db"
when = {{ category = ["network", "database"] }}
action = {{ kind = "http", url = "http://127.0.0.1:{port}/chaos/resolve" }}
"#,
            db = dir.join("medic.db").display(),
            log = log.display(),
        ),
    )
    .expect("config");
    let mut serve = Command::new(exe)
        .env("MEDIC_LOG", "error")
        .args(["serve", "--config"])
        .arg(&config)
        .stdout(Stdio::piped())
        .spawn()
        .expect("medic serve");
    let mut line = String::new();
    BufReader::new(serve.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("address");
    let api = line
        .trim()
        .rsplit("http://")
        .next()
        .expect("api address")
        .to_string();
    let shop = format!("127.0.0.1:{port}");
    while request(&shop, "GET", "/health").is_none_or(|(s, _)| s != 200) {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(2));

    let mut samples = Vec::with_capacity(injections);
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    for round in 0..injections {
        // Inject at a random phase of the probe interval, like a real outage.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(1_000 + seed % 1_000));
        let before = newest_incident(&api).and_then(|i| i["id"].as_i64());
        let injected = Instant::now();
        request(&shop, "POST", "/chaos/trigger?mode=error").expect("inject");
        let healed = loop {
            if injected.elapsed() > Duration::from_secs(30) {
                break None;
            }
            if let Some(incident) = newest_incident(&api)
                && incident["id"].as_i64() != before
                && incident["status"] == "resolved"
            {
                break Some(injected.elapsed());
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        match healed {
            Some(elapsed) => {
                println!(
                    "injection {:>2}: healed in {:>5} ms",
                    round + 1,
                    elapsed.as_millis()
                );
                samples.push(elapsed);
            }
            None => println!("injection {:>2}: NOT healed within 30 s", round + 1),
        }
    }
    let _ = serve.kill();
    let _ = serve.wait();
    // The chaos shop is medic's child in its own process group; a killed
    // medic leaves it behind, so stop it by its port.
    let _ = Command::new("pkill")
        .args(["-f", &format!("chaos --listen 127.0.0.1:{port}")])
        .status();
    let _ = std::fs::remove_dir_all(&dir);

    samples.sort();
    if samples.is_empty() {
        println!("no injection healed");
        std::process::exit(1);
    }
    let (p50, p95) = (percentile(&samples, 0.5), percentile(&samples, 0.95));
    println!(
        "\nMTTR over {} of {injections} injections (1 s probe interval): p50 {} ms, p95 {} ms, max {} ms",
        samples.len(),
        p50.as_millis(),
        p95.as_millis(),
        samples[samples.len() - 1].as_millis()
    );
    let verdict = |met: bool| if met { "met" } else { "MISSED" };
    println!(
        "goals: p50 ≤ {} ms {}, p95 ≤ {} ms {}",
        GOAL_P50.as_millis(),
        verdict(p50 <= GOAL_P50),
        GOAL_P95.as_millis(),
        verdict(p95 <= GOAL_P95)
    );
    let all_healed = samples.len() == injections;
    if check && !(all_healed && p50 <= GOAL_P50 && p95 <= GOAL_P95) {
        std::process::exit(1);
    }
}
