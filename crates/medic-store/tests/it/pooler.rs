//! One PgBouncer per test binary, in transaction pooling mode, in front of
//! the test server: the conformance suite's third backend. A watchdog shell
//! stops it within a second of the test binary's exit.

use std::io::Write as _;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr as _;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The port PgBouncer listens on, or why it could not start.
pub fn port() -> Result<u16, String> {
    static PORT: OnceLock<Result<u16, String>> = OnceLock::new();
    PORT.get_or_init(start).clone()
}

fn start() -> Result<u16, String> {
    let binary = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"]
        .into_iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
        .ok_or("pgbouncer is not installed (apt-get install pgbouncer)")?;
    let server = std::env::var("MEDIC_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| super::harness::DEFAULT_POSTGRES_URL.to_string());
    let server = sqlx::postgres::PgConnectOptions::from_str(&server)
        .map_err(|error| format!("MEDIC_TEST_POSTGRES_URL: {error}"))?;
    let dir = std::env::temp_dir().join(format!("medic-pgbouncer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|error| format!("{}: {error}", dir.display()))?;
    let port = free_port()?;
    let config = dir.join("pgbouncer.ini");
    write(
        &dir.join("userlist.txt"),
        &format!("\"{}\" \"\"\n", server.get_username()),
    )?;
    write(
        &config,
        &format!(
            "[databases]\n* = host={host} port={server_port}\n\n[pgbouncer]\n\
             listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
             auth_type = trust\nauth_file = {dir}/userlist.txt\n\
             pool_mode = transaction\nmax_client_conn = 1000\ndefault_pool_size = 20\n\
             ignore_startup_parameters = extra_float_digits\nserver_login_retry = 1\n",
            host = server.get_host(),
            server_port = server.get_port(),
            dir = dir.display(),
        ),
    )?;
    let log = std::fs::File::create(dir.join("pgbouncer.log")).map_err(|e| e.to_string())?;
    // PgBouncer refuses to run as root: as root, it runs as `postgres`.
    let mut command: Vec<String> = Vec::new();
    if running_as_root() {
        command.extend(
            [
                "setpriv",
                "--reuid=postgres",
                "--regid=postgres",
                "--clear-groups",
            ]
            .map(String::from),
        );
    }
    command.push(binary.display().to_string());
    command.push(config.display().to_string());
    let watchdog = format!(
        "\"$@\" & child=$!; while kill -0 {parent} 2>/dev/null && kill -0 $child 2>/dev/null; \
         do sleep 1; done; kill $child 2>/dev/null; wait; rm -rf '{dir}'",
        parent = std::process::id(),
        dir = dir.display(),
    );
    Command::new("sh")
        .arg("-c")
        .arg(watchdog)
        .arg("sh")
        .args(&command)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|error| format!("could not start pgbouncer: {error}"))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let said = std::fs::read_to_string(dir.join("pgbouncer.log")).unwrap_or_default();
    Err(format!(
        "pgbouncer did not listen on {port} within 10 s: {said}"
    ))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    let mut file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    file.write_all(text.as_bytes())
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .any(|line| line.starts_with("Uid:") && line.split_whitespace().nth(1) == Some("0"))
    })
}
