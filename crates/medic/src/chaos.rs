//! `medic chaos`: a small shop service that fails on demand, for demos and tests.
//!
//! `GET /buy` and `GET /health` behave according to the mode set with
//! `POST /chaos/trigger?mode=…` until `POST /chaos/resolve`:
//!
//! | mode | behaviour |
//! | --- | --- |
//! | `error` | 500s, and the log file gets database-connection-refused lines, like a real outage |
//! | `latency` | answers after 2 s |
//! | `ratelimit` | 429 with `Retry-After: 1` |
//! | `hang` | requests wait until the mode changes |
//! | `crash` | the process exits with status 1 |
//! | `leak` | each `/buy` keeps 1 MiB (up to 512 MiB); health turns `degraded` past 64 MiB |
//!
//! Two more endpoints feed the workflow example (`examples/orders-tax.toml`),
//! and fail in the same modes:
//!
//! | endpoint | answer |
//! | --- | --- |
//! | `GET /orders?busy=N` | `{"orders":[{"id","amount_cents"}…],"count"}`; with `busy=N`, like a rate limiter, N requests in a row get 429 with `Retry-After: 1`, then one gets the orders, and so on |
//! | `POST /tax` `{"orders":[{"amount_cents"}…],"rate_bp"?}` | `{"count","subtotal_cents","tax_cents","total_cents","rate_bp"}`; the rate defaults to 800 basis points (8 %), tax rounded half up |
//!
//! `GET /status` counts the orders and tax answers served, so tests can tell
//! whether a step ran again.
//!
//! With `--redis HOST:PORT` the shop needs a Redis: `/health` sends it a
//! `PING` and answers 503 while no `+PONG` comes back, as a real service's
//! health check does for its dependencies (`depends_on` in a config).

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use tokio::sync::watch;

use crate::UsageError;

/// How the service misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Normal,
    Error,
    Latency,
    Ratelimit,
    Hang,
    Crash,
    Leak,
}

impl Mode {
    const TRIGGERS: [(&'static str, Mode); 6] = [
        ("error", Mode::Error),
        ("latency", Mode::Latency),
        ("ratelimit", Mode::Ratelimit),
        ("hang", Mode::Hang),
        ("crash", Mode::Crash),
        ("leak", Mode::Leak),
    ];

    fn name(self) -> &'static str {
        Self::TRIGGERS
            .iter()
            .find(|(_, m)| *m == self)
            .map_or("normal", |(name, _)| name)
    }
}

const LEAK_CHUNK: usize = 1 << 20;
const LEAK_LIMIT_CHUNKS: usize = 512;
const DEGRADED_CHUNKS: usize = 64;

struct Chaos {
    mode: watch::Sender<Mode>,
    since: Mutex<Instant>,
    requests: AtomicU64,
    errors: AtomicU64,
    orders_requests: AtomicU64,
    orders_served: AtomicU64,
    tax_served: AtomicU64,
    log: Option<Mutex<std::fs::File>>,
    leaked: Mutex<Vec<Vec<u8>>>,
    /// The Redis `/health` pings, if the shop needs one.
    redis: Option<SocketAddr>,
}

/// How long the Redis `PING` may take before the shop counts it as down.
const REDIS_PING_TIMEOUT: Duration = Duration::from_millis(300);

/// Whether the Redis at `address` answers `PING` with `+PONG` in time.
async fn redis_answers(address: SocketAddr) -> bool {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let ping = async {
        let mut stream = tokio::net::TcpStream::connect(address).await.ok()?;
        stream.write_all(b"PING\r\n").await.ok()?;
        let mut reply = [0u8; 16];
        let read = stream.read(&mut reply).await.ok()?;
        Some(reply[..read].starts_with(b"+PONG"))
    };
    matches!(
        tokio::time::timeout(REDIS_PING_TIMEOUT, ping).await,
        Ok(Some(true))
    )
}

impl Chaos {
    fn mode(&self) -> Mode {
        *self.mode.borrow()
    }

    fn set_mode(&self, mode: Mode) {
        self.mode.send_replace(mode);
        *self.since.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        if mode == Mode::Normal {
            self.leaked
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clear();
        }
        self.log("INFO", &format!("chaos: mode is now {}", mode.name()));
    }

    fn log(&self, level: &str, line: &str) {
        if let Some(file) = &self.log {
            let stamp = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ");
            let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
            // A full disk must not take the service down with it.
            let _ = writeln!(file, "{stamp} {level} {line}");
        }
    }

    fn leaked_chunks(&self) -> usize {
        self.leaked.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Waits while the mode is `hang`; returns the mode that ended the wait.
    async fn unless_hanging(&self) -> Mode {
        let mut mode = self.mode.subscribe();
        loop {
            let current = *mode.borrow_and_update();
            if current != Mode::Hang {
                return current;
            }
            if mode.changed().await.is_err() {
                return Mode::Normal;
            }
        }
    }

    /// The answer every endpoint gives in a failing mode, or `None` when healthy.
    async fn failure(&self, path: &str) -> Option<Response> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        match self.unless_hanging().await {
            Mode::Error => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                self.log(
                    "ERROR",
                    "db: connect to 127.0.0.1:5432 failed: Connection refused (os error 111)",
                );
                self.log(
                    "ERROR",
                    &format!("http: GET {path} -> 500 database unavailable"),
                );
                Some(
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        Json(json!({"status": "error", "error": "database connection refused"})),
                    )
                        .into_response(),
                )
            }
            Mode::Ratelimit => Some(rate_limited(path, self)),
            Mode::Latency => {
                tokio::time::sleep(Duration::from_secs(2)).await;
                None
            }
            Mode::Normal | Mode::Crash | Mode::Leak | Mode::Hang => None,
        }
    }
}

/// The endpoints and modes, shown by `medic chaos --help`.
pub(crate) const ENDPOINTS_HELP: &str = "\
Endpoints:
  GET  /health                   {\"status\":\"ok\"}, or as the mode says (\"degraded\" during a leak)
  GET  /buy                      an order, or as the mode says
  GET  /orders?busy=N            three orders; with busy=N, N answers in a row are 429 first
  POST /tax                      {\"orders\":[{\"amount_cents\":N}],\"rate_bp\":800} -> subtotal, tax, total
  GET  /status                   mode, counters (requests, errors, leaked_mb, orders/tax served)
  POST /chaos/trigger?mode=MODE  start failing (answers 202 {\"mode\":MODE})
  POST /chaos/resolve            back to normal

Modes (for /health, /buy, /orders and /tax until /chaos/resolve):
  error      500s; the log file gets database-connection-refused lines
  latency    answers after 2 s
  ratelimit  429 with Retry-After: 1
  hang       requests wait until the mode changes
  crash      the process exits with status 1
  leak       each /buy keeps 1 MiB (up to 512 MiB); health says degraded from 64 MiB

With --redis HOST:PORT, /health also PINGs that Redis and answers 503 while
it does not answer (a shop that depends on its cache).

Example:
  medic chaos --listen 127.0.0.1:8000 --log-file shop.log &
  curl -X POST 'http://127.0.0.1:8000/chaos/trigger?mode=error'
  curl http://127.0.0.1:8000/health          # 500
  curl -X POST http://127.0.0.1:8000/chaos/resolve
";

type Shared = Arc<Chaos>;

async fn index() -> &'static str {
    "medic chaos: a shop that fails on demand\n\
     GET  /buy /health /status /orders?busy=N\n\
     POST /tax {\"orders\":[{\"amount_cents\":N}]}\n\
     POST /chaos/trigger?mode=error|latency|ratelimit|hang|crash|leak\n\
     POST /chaos/resolve\n"
}

async fn buy(State(chaos): State<Shared>) -> Response {
    if let Some(failure) = chaos.failure("/buy").await {
        return failure;
    }
    if chaos.mode() == Mode::Leak {
        let mut leaked = chaos.leaked.lock().unwrap_or_else(|e| e.into_inner());
        if leaked.len() < LEAK_LIMIT_CHUNKS {
            leaked.push(vec![1u8; LEAK_CHUNK]);
        }
    }
    let order = chaos.requests.load(Ordering::Relaxed);
    chaos.log("INFO", "http: GET /buy -> 200");
    Json(json!({"order": order, "status": "confirmed"})).into_response()
}

async fn health(State(chaos): State<Shared>) -> Response {
    if let Some(failure) = chaos.failure("/health").await {
        return failure;
    }
    if let Some(redis) = chaos.redis
        && !redis_answers(redis).await
    {
        chaos.log(
            "ERROR",
            &format!("redis: Error connecting to {redis}: Connection refused"),
        );
        let body = json!({"status": "error", "redis": format!("{redis} does not answer PING")});
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    }
    let degraded = chaos.leaked_chunks() >= DEGRADED_CHUNKS;
    Json(json!({"status": if degraded { "degraded" } else { "ok" }})).into_response()
}

async fn status(State(chaos): State<Shared>) -> Json<serde_json::Value> {
    let since = chaos
        .since
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .elapsed();
    Json(json!({
        "mode": chaos.mode().name(),
        "since_ms": since.as_millis() as u64,
        "requests": chaos.requests.load(Ordering::Relaxed),
        "errors": chaos.errors.load(Ordering::Relaxed),
        "leaked_mb": chaos.leaked_chunks(),
        "orders_served": chaos.orders_served.load(Ordering::Relaxed),
        "tax_served": chaos.tax_served.load(Ordering::Relaxed),
    }))
}

/// The shop's orders: amounts in cents, so totals are exact.
const ORDERS: [(u64, u64); 3] = [(1001, 2500), (1002, 1299), (1003, 7450)];

/// The default tax rate, in basis points (8 %).
const DEFAULT_RATE_BP: u64 = 800;

#[derive(serde::Deserialize)]
struct OrdersQuery {
    busy: Option<u64>,
}

fn rate_limited(path: &str, chaos: &Chaos) -> Response {
    chaos.log("WARN", &format!("http: GET {path} -> 429 rate limited"));
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        Json(json!({"status": "error", "error": "rate limit exceeded"})),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

async fn orders(State(chaos): State<Shared>, Query(query): Query<OrdersQuery>) -> Response {
    if let Some(failure) = chaos.failure("/orders").await {
        return failure;
    }
    let seen = chaos.orders_requests.fetch_add(1, Ordering::Relaxed);
    if let Some(busy) = query.busy.filter(|busy| *busy > 0)
        && seen % busy.saturating_add(1) < busy
    {
        return rate_limited("/orders", &chaos);
    }
    chaos.orders_served.fetch_add(1, Ordering::Relaxed);
    chaos.log("INFO", "http: GET /orders -> 200");
    let orders: Vec<_> = ORDERS
        .iter()
        .map(|(id, cents)| json!({"id": id, "amount_cents": cents}))
        .collect();
    Json(json!({"orders": orders, "count": ORDERS.len()})).into_response()
}

#[derive(serde::Deserialize)]
struct TaxRequest {
    orders: Vec<TaxOrder>,
    rate_bp: Option<u64>,
}

#[derive(serde::Deserialize)]
struct TaxOrder {
    amount_cents: u64,
}

async fn tax(State(chaos): State<Shared>, body: axum::body::Bytes) -> Response {
    if let Some(failure) = chaos.failure("/tax").await {
        return failure;
    }
    let request: TaxRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": {
                    "code": "invalid_body",
                    "message": format!("expected {{\"orders\":[{{\"amount_cents\":N}}…]}}: {e}"),
                }})),
            )
                .into_response();
        }
    };
    let rate_bp = request.rate_bp.unwrap_or(DEFAULT_RATE_BP);
    let subtotal = request
        .orders
        .iter()
        .fold(0u64, |sum, order| sum.saturating_add(order.amount_cents));
    // Half up, in integers: (subtotal × rate + 5000) / 10000.
    let tax = subtotal.saturating_mul(rate_bp).saturating_add(5_000) / 10_000;
    chaos.tax_served.fetch_add(1, Ordering::Relaxed);
    chaos.log("INFO", "http: POST /tax -> 200");
    Json(json!({
        "count": request.orders.len(),
        "subtotal_cents": subtotal,
        "tax_cents": tax,
        "total_cents": subtotal.saturating_add(tax),
        "rate_bp": rate_bp,
    }))
    .into_response()
}

#[derive(serde::Deserialize)]
struct Trigger {
    mode: Option<String>,
}

async fn trigger(State(chaos): State<Shared>, Query(query): Query<Trigger>) -> Response {
    let requested = query.mode.unwrap_or_default();
    let Some((_, mode)) = Mode::TRIGGERS.iter().find(|(name, _)| *name == requested) else {
        let known: Vec<&str> = Mode::TRIGGERS.iter().map(|(name, _)| *name).collect();
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": {
                "code": "invalid_mode",
                "message": format!("unknown mode {requested:?}; expected one of: {}", known.join(", ")),
            }})),
        )
            .into_response();
    };
    chaos.set_mode(*mode);
    if *mode == Mode::Crash {
        chaos.log("ERROR", "panic: chaos crash requested; exiting");
        // Answer first, so the caller knows the crash was on purpose.
        tokio::spawn(async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            std::process::exit(1);
        });
    }
    (StatusCode::ACCEPTED, Json(json!({"mode": mode.name()}))).into_response()
}

async fn resolve(State(chaos): State<Shared>) -> Json<serde_json::Value> {
    chaos.set_mode(Mode::Normal);
    Json(json!({"mode": "normal"}))
}

fn router(chaos: Shared) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/buy", get(buy))
        .route("/health", get(health))
        .route("/status", get(status))
        .route("/orders", get(orders))
        .route("/tax", post(tax))
        .route("/chaos/trigger", post(trigger))
        .route("/chaos/resolve", post(resolve))
        .with_state(chaos)
}

fn open_log(path: &Path) -> Result<std::fs::File, UsageError> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| {
            UsageError(vec![format!(
                "{}: cannot open log file: {e}",
                path.display()
            )])
        })
}

pub(crate) fn run(
    listen: &str,
    log_file: Option<&PathBuf>,
    redis: Option<&str>,
) -> Result<(), UsageError> {
    let redis = redis
        .map(|text| {
            text.parse::<SocketAddr>().map_err(|e| {
                UsageError(vec![format!(
                    "--redis {text:?}: {e} (write it like 127.0.0.1:6379)"
                )])
            })
        })
        .transpose()?;
    let address: SocketAddr = listen
        .parse()
        .map_err(|e| UsageError(vec![format!("--listen {listen:?}: {e}")]))?;
    let log = log_file.map(|p| open_log(p)).transpose()?.map(Mutex::new);
    let chaos = Arc::new(Chaos {
        mode: watch::Sender::new(Mode::Normal),
        since: Mutex::new(Instant::now()),
        requests: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        orders_requests: AtomicU64::new(0),
        orders_served: AtomicU64::new(0),
        tax_served: AtomicU64::new(0),
        log,
        leaked: Mutex::new(Vec::new()),
        redis,
    });
    let runtime = crate::runtime()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|e| UsageError(vec![format!("--listen {address}: {e}")]))?;
        let bound = listener
            .local_addr()
            .map_err(|e| UsageError(vec![format!("--listen {address}: {e}")]))?;
        // Tests and the demo read this line to find a port chosen by the OS.
        println!("medic chaos listening on http://{bound}");
        let _ = std::io::stdout().flush();
        chaos.log("INFO", &format!("chaos: listening on {bound}"));
        axum::serve(listener, router(chaos))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .map_err(|e| UsageError(vec![format!("server error: {e}")]))
    })
}
