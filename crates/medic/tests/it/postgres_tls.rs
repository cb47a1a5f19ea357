//! PostgreSQL over TLS through the real binary. A private PostgreSQL cluster
//! (initdb on its own port) serves a certificate from a CA made in the test
//! and accepts TCP clients only over TLS (`hostssl` in pg_hba.conf), so a
//! command that works here spoke TLS. `medic migrate` and `medic check` reach
//! it with `sslmode=verify-full&sslrootcert=…`; a plain connection, an
//! unknown CA and a wrong host name each fail with their cause in one line.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::support::{TempDir, closed_port, missing_tools};

use crate::tls::pki::TestCa;

/// A private PostgreSQL cluster that takes TCP clients over TLS only;
/// stopped and removed on drop.
struct TlsPostgres {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    _dir: TempDir,
}

impl TlsPostgres {
    /// Starts the cluster with `cert_file`/`key_file`, or None (after saying
    /// why; CI=true fails instead) when PostgreSQL's server binaries are
    /// missing.
    fn start(cert_file: &Path, key_file: &Path) -> Option<Self> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .and_then(|versions| {
                versions
                    .filter_map(|version| Some(version.ok()?.path().join("bin")))
                    .filter(|bin| bin.join("initdb").exists())
                    .max()
            })
            .unwrap_or_else(|| PathBuf::from("/usr/lib/postgresql/none/bin"));
        let initdb = bin.join("initdb").display().to_string();
        if missing_tools(&[&initdb], "postgresql") {
            return None;
        }
        let dir = TempDir::new("postgres-tls");
        let data = dir.0.join("data");
        // The server runs as `postgres` and reads its key only when that
        // user owns it with mode 0600.
        let key = dir.0.join("server.key");
        std::fs::copy(cert_file, dir.0.join("server.crt")).expect("copy cert");
        std::fs::copy(key_file, &key).expect("copy key");
        set_mode(&key, 0o600);
        as_postgres(&["chown", "-R", "postgres:postgres"], &dir.0);
        let ok = as_postgres_run(&[
            &initdb,
            "-D",
            &data.display().to_string(),
            "-U",
            "postgres",
            "--auth=trust",
            "-N",
        ]);
        assert!(ok.status.success(), "initdb: {}", said(&ok));
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n",
        )
        .expect("pg_hba.conf");
        let port = closed_port();
        let options = format!(
            "-p {port} -k {dir} -c listen_addresses=127.0.0.1 -c ssl=on \
             -c ssl_cert_file={dir}/server.crt -c ssl_key_file={dir}/server.key",
            dir = dir.0.display()
        );
        let server = Self {
            bin,
            data,
            port,
            _dir: dir,
        };
        let started = server.pg_ctl(&["-o", &options, "start"]);
        assert!(started.status.success(), "pg_ctl start: {}", said(&started));
        Some(server)
    }

    fn pg_ctl(&self, args: &[&str]) -> Output {
        let pg_ctl = self.bin.join("pg_ctl").display().to_string();
        let data = self.data.display().to_string();
        let log = self.data.join("server.log").display().to_string();
        let mut argv = vec![pg_ctl.as_str(), "-D", &data, "-w", "-l", &log];
        argv.extend_from_slice(args);
        as_postgres_run(&argv)
    }

    /// The store URL for `host`, with `query` after the `?`.
    fn url(&self, host: &str, query: &str) -> String {
        format!("postgres://postgres@{host}:{}/postgres?{query}", self.port)
    }
}

impl Drop for TlsPostgres {
    fn drop(&mut self) {
        self.pg_ctl(&["-m", "immediate", "stop"]);
    }
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .any(|line| line.starts_with("Uid:") && line.split_whitespace().nth(1) == Some("0"))
    })
}

/// Runs `argv` as `postgres` when this test runs as root (the server
/// refuses to run as root), else as this user.
fn as_postgres_run(argv: &[&str]) -> Output {
    let mut command = if running_as_root() {
        let mut command = Command::new("setpriv");
        command.args(["--reuid=postgres", "--regid=postgres", "--clear-groups"]);
        command.args(argv);
        command
    } else {
        let mut command = Command::new(argv[0]);
        command.args(&argv[1..]);
        command
    };
    command.output().expect("run as postgres")
}

/// `chown`-like commands on `path`, only needed (and allowed) as root.
fn as_postgres(argv: &[&str], path: &Path) {
    if running_as_root() {
        let status = Command::new(argv[0])
            .args(&argv[1..])
            .arg(path)
            .status()
            .expect("chown");
        assert!(status.success(), "{argv:?} {}", path.display());
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn said(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs `medic COMMAND --config` on a config (`dir/LABEL.toml`) whose store
/// is `url`.
fn medic(dir: &Path, command: &str, label: &str, url: &str) -> Output {
    let config = dir.join(format!("{label}.toml"));
    std::fs::write(
        &config,
        format!(
            "[storage]\nurl = \"{url}\"\n\n[[targets]]\nname = \"shop\"\n\
             probes = [{{ kind = \"http\", url = \"http://127.0.0.1:9/health\" }}]\n"
        ),
    )
    .expect("config");
    Command::new(env!("CARGO_BIN_EXE_medic"))
        .args([command, "--config"])
        .arg(&config)
        .env_remove("MEDIC_STORAGE_URL")
        .output()
        .expect("run medic")
}

#[test]
fn the_store_speaks_tls_to_postgres_and_says_why_when_it_cannot() {
    let ca = TestCa::new("postgres test CA");
    let leaf = ca.issue("postgres-server", &["localhost"], -1, 30);
    let Some(server) = TlsPostgres::start(&leaf.cert_file, &leaf.key_file) else {
        return;
    };
    let work = TempDir::new("postgres-tls-configs");
    let ca_file = ca.ca_file();
    let verified = server.url(
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={ca_file}"),
    );

    // The server was just started: wait until it takes TLS clients.
    let deadline = Instant::now() + Duration::from_secs(20);
    let migrated = loop {
        let migrated = medic(&work.0, "migrate", "verified", &verified);
        if migrated.status.success() || Instant::now() > deadline {
            break migrated;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        migrated.status.success(),
        "medic migrate over verified TLS: {}",
        said(&migrated)
    );
    let checked = medic(&work.0, "check", "verified", &verified);
    let text = said(&checked);
    assert!(checked.status.success(), "medic check over TLS: {text}");
    assert!(
        text.contains("storage: reachable, schema version") && text.contains("(current)"),
        "check reads the migrated schema over TLS: {text}"
    );

    // Without TLS the server turns the client away, and medic says why.
    let plain = medic(
        &work.0,
        "check",
        "plain",
        &server.url("localhost", "sslmode=disable"),
    );
    let text = said(&plain);
    assert_eq!(plain.status.code(), Some(2), "{text}");
    assert!(
        text.contains("no encryption"),
        "the cause, in words: {text}"
    );

    // A server certificate from a CA the client was not given.
    let other_ca = TestCa::new("someone else's CA");
    let unknown = medic(
        &work.0,
        "check",
        "unknown-ca",
        &server.url(
            "localhost",
            &format!("sslmode=verify-full&sslrootcert={}", other_ca.ca_file()),
        ),
    );
    let text = said(&unknown);
    assert_eq!(unknown.status.code(), Some(2), "{text}");
    assert!(text.contains("TLS"), "names TLS as the cause: {text}");

    // The right CA, but the certificate is for localhost, not 127.0.0.1.
    let wrong_name = medic(
        &work.0,
        "check",
        "wrong-name",
        &server.url(
            "127.0.0.1",
            &format!("sslmode=verify-full&sslrootcert={ca_file}"),
        ),
    );
    let text = said(&wrong_name);
    assert_eq!(wrong_name.status.code(), Some(2), "{text}");
    assert!(text.contains("TLS"), "names TLS as the cause: {text}");
}
