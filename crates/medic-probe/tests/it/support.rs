//! Things the tests probe: a tiny keep-alive HTTP server with canned answers,
//! and a port nobody listens on.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use medic_model::SignalSource;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The body behind `/big`: longer than the 64 KiB the probe reads, with a
/// marker only at its very end.
pub const BIG_BODY_MARKER: &str = "END-OF-BIG-BODY";

/// The body of `/fail`.
pub const FAIL_BODY: &str = "database connection lost\nat pool.rs:12\nretrying\nfourth line\n";

/// An HTTP/1.1 server on loopback answering by path:
/// `/ok` 200, `/fail` 500, `/teapot` 418, `/json` 200 with JSON, `/slow` 200
/// after 300 ms, `/hang` never, `/big` 200 with a 100 KiB body, `/method`
/// 200 echoing the method; anything else 404. Keeps connections alive and
/// counts the connections it accepted.
pub struct CannedServer {
    address: SocketAddr,
    connections: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl CannedServer {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("local address");
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&connections);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve_connection(stream));
            }
        });
        Self {
            address,
            connections,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub fn connections_accepted(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for CannedServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve_connection(stream: TcpStream) {
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    loop {
        let mut request_line = String::new();
        match reader.read_line(&mut request_line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        // Skip the headers; the probes send no bodies.
        loop {
            let mut header = String::new();
            match reader.read_line(&mut header).await {
                Ok(0) | Err(_) => return,
                Ok(_) if header == "\r\n" || header == "\n" => break,
                Ok(_) => {}
            }
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let path = parts.next().unwrap_or("").to_string();
        let (status, body) = match path.as_str() {
            "/ok" => (200, "ok\n".to_string()),
            "/fail" => (500, FAIL_BODY.to_string()),
            "/teapot" => (418, "short and stout\n".to_string()),
            "/json" => (200, r#"{"status":"green","db":"up"}"#.to_string()),
            "/slow" => {
                tokio::time::sleep(Duration::from_millis(300)).await;
                (200, "ok\n".to_string())
            }
            "/hang" => {
                tokio::time::sleep(Duration::from_secs(30)).await;
                (200, "too late\n".to_string())
            }
            "/big" => (200, format!("{}{BIG_BODY_MARKER}", "a".repeat(100 * 1024))),
            "/method" => (200, method.clone()),
            _ => (404, "not found\n".to_string()),
        };
        let head = format!(
            "HTTP/1.1 {status} Canned\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        let mut answer = head.into_bytes();
        if method != "HEAD" {
            answer.extend_from_slice(body.as_bytes());
        }
        if writer.write_all(&answer).await.is_err() {
            return;
        }
    }
}

/// A loopback address nobody listens on (bound, then released).
pub async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("local address");
    drop(listener);
    address
}

/// The source every probe in these tests reports under.
pub fn probe_source(name: &str) -> SignalSource {
    SignalSource::Probe {
        probe: name.to_string(),
    }
}
