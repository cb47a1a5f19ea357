//! Readiness (issue 13 item 5): `/ready` says whether the store answers,
//! and the API answers 503 `store_unavailable` quickly instead of hanging
//! when PostgreSQL cannot be reached. The outage is real: the agent talks
//! to PostgreSQL through a TCP relay the test cuts and restores.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::chaos::Chaos;
use crate::support::{PgSchema, Served, TempDir, poll, request};

/// Used when `MEDIC_TEST_POSTGRES_URL` is not set (as in medic-store's suite).
const DEFAULT_POSTGRES: &str = "127.0.0.1:5432";

/// A TCP relay to PostgreSQL that can be cut (its port closed, so connects
/// are refused as during a server restart, and every connection reset) and
/// restored on the same port.
struct Relay {
    port: u16,
    upstream: &'static str,
    stopping: Arc<AtomicBool>,
    streams: Arc<Mutex<Vec<TcpStream>>>,
    accepting: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Relay {
    fn start(upstream: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
        let relay = Self {
            port: listener.local_addr().expect("address").port(),
            upstream,
            stopping: Arc::new(AtomicBool::new(false)),
            streams: Arc::new(Mutex::new(Vec::new())),
            accepting: Mutex::new(None),
        };
        relay.serve(listener);
        relay
    }

    fn serve(&self, listener: TcpListener) {
        let (stopping, tracked, upstream) =
            (self.stopping.clone(), self.streams.clone(), self.upstream);
        let handle = std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if stopping.load(Ordering::SeqCst) {
                    return; // drops the listener: the port refuses from now on
                }
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                let mut list = tracked.lock().expect("lock");
                for stream in [&client, &server] {
                    list.push(stream.try_clone().expect("clone"));
                }
                pipe(
                    client.try_clone().expect("clone"),
                    server.try_clone().expect("clone"),
                );
                pipe(server, client);
            }
        });
        *self.accepting.lock().expect("lock") = Some(handle);
    }

    fn cut(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port)); // wakes the accept
        if let Some(handle) = self.accepting.lock().expect("lock").take() {
            handle.join().expect("relay thread");
        }
        for stream in self.streams.lock().expect("lock").drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.stopping.store(false, Ordering::SeqCst);
        self.serve(TcpListener::bind(("127.0.0.1", self.port)).expect("binds the same port"));
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buffer = [0u8; 16 * 1024];
        while let Ok(n) = from.read(&mut buffer) {
            if n == 0 || to.write_all(&buffer[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Both);
    });
}

/// A schema of its own on the test PostgreSQL, reached through a [`Relay`];
/// `None` (after saying why) when PostgreSQL is unreachable outside CI.
struct RelayedStore {
    relay: Relay,
    url: String,
    _schema: PgSchema,
}

impl RelayedStore {
    fn start(name: &str) -> Option<Self> {
        let schema = PgSchema::create(name)?;
        // The relay stands in for the network path to the default server.
        let relay = Relay::start(DEFAULT_POSTGRES);
        let url = schema.url(&format!(
            "postgres://postgres@127.0.0.1:{}/test",
            relay.port
        ));
        Some(Self {
            relay,
            url,
            _schema: schema,
        })
    }
}

#[test]
fn ready_follows_the_store_and_the_api_answers_503_while_it_is_gone() {
    let Some(store) = RelayedStore::start("ready") else {
        return;
    };
    let relay = &store.relay;
    let dir = TempDir::new("ready");
    let config = dir.0.join("medic.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n[storage]\nurl = \"{}\"\n",
            store.url
        ),
    )
    .expect("config");
    let served = Served::start(&config, &[]);
    let (status, body) = request(&served.address, "GET", "/ready", "");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""store":"postgres""#), "{body}");

    relay.cut();
    let started = Instant::now();
    let (_, body) = poll(Duration::from_secs(15), || {
        let answer = request(&served.address, "GET", "/ready", "");
        (answer.0 == 503).then_some(answer)
    })
    .expect("/ready turns 503 once the store is gone");
    assert!(body.contains("store_unavailable"), "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "noticed after {:?}",
        started.elapsed()
    );
    // A read needs the store: a prompt 503 with Retry-After, not a hang or a 500.
    let asked = Instant::now();
    let (status, body) = request(&served.address, "GET", "/api/v1/incidents?limit=7", "");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("store_unavailable"), "{body}");
    assert!(
        asked.elapsed() < Duration::from_secs(8),
        "answered after {:?}",
        asked.elapsed()
    );
    // Liveness is the process, not its dependencies.
    assert_eq!(request(&served.address, "GET", "/health", "").0, 200);

    relay.restore();
    poll(Duration::from_secs(20), || {
        (request(&served.address, "GET", "/ready", "").0 == 200).then_some(())
    })
    .expect("/ready is 200 again once the store is back");
    let (status, body) = request(&served.address, "GET", "/api/v1/incidents?limit=7", "");
    assert_eq!(status, 200, "{body}");
}

/// The issue's outage: PostgreSQL unreachable for 3 minutes (far longer
/// than the old give-up, four tries in ~25 s) while a target fails. The
/// incident waits for the store instead of stopping, then is recorded and
/// healed once it is back.
#[test]
fn a_failure_during_a_store_outage_is_recorded_and_healed_once_the_store_returns() {
    let Some(store) = RelayedStore::start("outage") else {
        return;
    };
    let chaos = Chaos::start("store-outage");
    let dir = TempDir::new("store-outage");
    let config = shop_config(&dir, &store.url, &chaos.address);
    let served = Served::start(&config, &[]);

    store.relay.cut();
    let (status, body) = chaos.request("POST", "/chaos/trigger?mode=error");
    assert_eq!(status, 202, "{body}");
    std::thread::sleep(Duration::from_secs(180));
    assert_eq!(request(&served.address, "GET", "/ready", "").0, 503);
    store.relay.restore();

    assert_one_incident_healed(&served, &chaos);
}

/// The issue's other outage: the SQLite file locked by another process for
/// 40 s while a target fails. Writes wait out the lock; the incident is
/// recorded and healed once it is released.
#[test]
fn a_failure_while_the_sqlite_file_is_locked_is_recorded_and_healed_after() {
    let chaos = Chaos::start("sqlite-lock");
    let dir = TempDir::new("sqlite-lock");
    let db = dir.0.join("medic.db");
    let config = shop_config(&dir, &format!("sqlite://{}", db.display()), &chaos.address);
    let served = Served::start(&config, &[]);

    // Another process takes the write lock and keeps it for 40 s.
    let mut locker = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys, time\n\
             c = sqlite3.connect(sys.argv[1], isolation_level=None)\n\
             c.execute('BEGIN EXCLUSIVE')\n\
             print('locked', flush=True)\n\
             time.sleep(40)\n\
             c.execute('COMMIT')\n",
            &db.display().to_string(),
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut said = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(locker.stdout.take().expect("stdout")),
        &mut said,
    )
    .expect("reads");
    assert_eq!(said.trim(), "locked");
    let (status, body) = chaos.request("POST", "/chaos/trigger?mode=error");
    assert_eq!(status, 202, "{body}");
    assert!(
        locker.wait().expect("waits").success(),
        "the lock was held and released"
    );

    assert_one_incident_healed(&served, &chaos);
}

/// A config whose one target, `shop`, probes the chaos shop and heals it
/// with an HTTP call, on the store at `url`.
fn shop_config(dir: &TempDir, url: &str, chaos: &str) -> std::path::PathBuf {
    let config = dir.0.join("medic.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[server]
listen = "127.0.0.1:0"
[storage]
url = "{url}"
[[targets]]
name = "shop"
probes = [{{ kind = "http", url = "http://{chaos}/health", interval = "500ms", timeout = "400ms", expect_status = [200] }}]
health = {{ failure_threshold = 2 }}
[[targets.remedies]]
name = "reconnect-db"
action = {{ kind = "http", method = "POST", url = "http://{chaos}/chaos/resolve" }}
"#
        ),
    )
    .expect("config");
    config
}

/// Once the store is back: one incident for the outage, resolved, and the
/// shop healthy again.
fn assert_one_incident_healed(served: &Served, chaos: &Chaos) {
    let incidents = served.wait_for("/api/v1/incidents", Duration::from_secs(60), |page| {
        page["incidents"].as_array().is_some_and(|list| {
            list.iter()
                .any(|i| i["target"] == "shop" && i["status"] == "resolved")
        })
    });
    assert_eq!(
        incidents["incidents"].as_array().map(Vec::len),
        Some(1),
        "one outage, one incident: {incidents:#}"
    );
    let (status, _) = chaos.request("GET", "/health");
    assert_eq!(status, 200, "the remedy healed the service");
}
