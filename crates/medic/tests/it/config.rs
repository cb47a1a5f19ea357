//! Config people can write: `medic init` writes one `medic check` accepts
//! and `medic serve` heals with; every file in `examples/` passes `medic
//! check`; `docs/configuration.md` is what `medic config-reference` prints;
//! `medic check` never writes to the store, `medic migrate` does.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use crate::medic;
use crate::support::{Served, TempDir, closed_port, poll};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn check(config: &Path, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let mut args = vec!["check", "--config", config.to_str().expect("utf-8")];
    args.extend_from_slice(extra);
    medic(&args, env, None)
}

/// The configs `examples/` holds; a new one must be added here to be tested.
const EXAMPLES: &[&str] = &[
    "alertmanager.toml",
    "estate.toml",
    "github-actions.toml",
    "llm.toml",
    "postgres.toml",
    "systemd.toml",
    "web-service.toml",
    "worker.toml",
];

/// Workflow files for `medic pipeline run`, not agent configs.
const FLOWS: &[&str] = &["orders-tax.toml"];

#[test]
fn every_example_config_passes_check() {
    let mut found: Vec<String> = std::fs::read_dir(repo().join("examples"))
        .expect("examples/")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".toml") && !FLOWS.contains(&name.as_str()))
        .collect();
    found.sort();
    assert_eq!(found, EXAMPLES, "examples/ and this test's list differ");
    let secrets = [
        ("MEDIC_OPS_KEY", "ops-key-0123456789abcdef"),
        ("MEDIC_ALERTMANAGER_TOKEN", "am-token-0123456789"),
        ("GITHUB_WEBHOOK_SECRET", "gh-secret-0123456789"),
        ("GITHUB_TOKEN", "gh-token-0123456789"),
    ];
    for name in EXAMPLES {
        let path = repo().join("examples").join(name);
        // --offline: the PostgreSQL example names a server that need not exist.
        let out = check(&path, &["--offline"], &secrets);
        assert_eq!(
            out.status.code(),
            Some(0),
            "examples/{name}: {}",
            text(&out.stderr)
        );
        assert!(text(&out.stdout).contains("target "), "examples/{name}");
        assert!(text(&out.stdout).contains("\nhost: "), "examples/{name}");
    }
}

#[test]
fn the_committed_configuration_reference_is_current() {
    let out = medic(&["config-reference"], &[], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let committed =
        std::fs::read_to_string(repo().join("docs/configuration.md")).unwrap_or_default();
    assert!(
        committed == text(&out.stdout),
        "docs/configuration.md is stale: run `cargo run -- config-reference > docs/configuration.md`"
    );
}

#[test]
fn init_writes_a_starter_that_check_accepts_and_never_overwrites() {
    let dir = TempDir::new("init");
    let path = dir.0.join("medic.toml");
    let path_text = path.to_str().expect("utf-8");
    let out = medic(
        &[
            "init",
            "--config",
            path_text,
            "--url",
            "http://127.0.0.1:8000/health",
            "--supervise",
            "./server --port 8000",
        ],
        &[],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("medic check"),
        "{}",
        text(&out.stdout)
    );
    let written = std::fs::read_to_string(&path).expect("written");
    assert!(
        written.contains(r#"command = ["./server", "--port", "8000"]"#),
        "{written}"
    );
    assert!(
        written.lines().filter(|l| l.starts_with('#')).count() > 10,
        "commented"
    );

    // Offline: ./server is the user's program, not on this machine (without
    // --offline, check says so, as serve would).
    let out = check(&path, &[], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("cannot find \"./server\""));
    let out = check(&path, &["--offline"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("1. restart"), "{stdout}");
    assert!(
        stdout.contains("(timeout 2s)"),
        "the timeout adapts to the interval: {stdout}"
    );

    let again = medic(&["init", "--config", path_text], &[], None);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again.stderr).contains("--force"),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(std::fs::read_to_string(&path).expect("kept"), written);
}

#[test]
fn a_newcomer_heals_the_chaos_shop_with_the_generated_config() {
    // medic init → medic check → medic serve, the file edited only by the flags.
    let dir = TempDir::new("newcomer");
    let port = closed_port();
    let supervise = format!(
        "{} chaos --listen 127.0.0.1:{port}",
        env!("CARGO_BIN_EXE_medic")
    );
    let health = format!("http://127.0.0.1:{port}/health");
    let path = dir.0.join("medic.toml");
    let path_text = path.to_str().expect("utf-8");
    let out = medic(
        &[
            "init",
            "--config",
            path_text,
            "--url",
            &health,
            "--supervise",
            &supervise,
        ],
        &[],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = check(&path, &[], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // A free port instead of 7400 and the store in the temp dir: environment
    // overrides, not edits.
    let db = format!("sqlite://{}", dir.0.join("medic.db").display());
    let served = Served::start(
        &path,
        &[
            ("MEDIC_SERVER_LISTEN", "127.0.0.1:0"),
            ("MEDIC_STORAGE_URL", &db),
        ],
    );
    let healthy = |served: &Served| {
        served.get_json("/api/v1/components")["components"][0]["state"] == "healthy"
    };
    poll(Duration::from_secs(60), || healthy(&served).then_some(()))
        .expect("the supervised shop comes up healthy");

    let shop = port.to_string();
    let (status, body) = crate::support::request(
        &format!("127.0.0.1:{shop}"),
        "POST",
        "/chaos/trigger?mode=error",
        "",
    );
    assert_eq!(status, 202, "{body}");
    let resolved = served.wait_for("/api/v1/incidents", Duration::from_secs(90), |page| {
        page["incidents"]
            .as_array()
            .is_some_and(|all| all.iter().any(|i| i["status"] == "resolved"))
    });
    let incident = &resolved["incidents"][0];
    let id = incident["id"].as_i64().expect("id");
    let full = served.get_json(&format!("/api/v1/incidents/{id}"));
    assert!(
        full["actions"]
            .as_array()
            .is_some_and(|actions| actions.iter().any(|a| a["remedy"] == "restart")),
        "{full:#}"
    );
}

fn file_bytes(path: &Path) -> Vec<Vec<u8>> {
    ["", "-wal", "-shm"]
        .iter()
        .map(|suffix| std::fs::read(format!("{}{suffix}", path.display())).unwrap_or_default())
        .collect()
}

#[test]
fn check_reads_the_store_without_writing_and_migrate_creates_it() {
    let dir = TempDir::new("check-readonly");
    let db = dir.0.join("medic.db");
    let config = dir.0.join("medic.toml");
    std::fs::write(
        &config,
        format!("[storage]\nurl = \"sqlite://{}\"\n", db.display()),
    )
    .expect("config");

    // No file: check says so and creates none.
    let out = check(&config, &[], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("no database yet"),
        "{}",
        text(&out.stdout)
    );
    assert!(!db.exists());

    // An empty database (no schema): check reads version 0, writes nothing.
    std::fs::write(&db, b"").expect("empty file");
    let out = check(&config, &[], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("schema at version 0 of"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        std::fs::metadata(&db).expect("db").len(),
        0,
        "check wrote the store"
    );

    let out = medic(
        &["migrate", "--config", config.to_str().expect("utf-8")],
        &[],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("(current)"),
        "{}",
        text(&out.stdout)
    );

    let before = file_bytes(&db);
    let out = check(&config, &[], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("(current), opened read-only"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        file_bytes(&db)[0],
        before[0],
        "check changed the database file"
    );

    // --offline does not even look.
    std::fs::write(&db, b"not a database").expect("garbage");
    let out = check(&config, &["--offline"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("not checked (--offline)"));
}

#[test]
fn an_unreachable_store_fails_check_with_its_cause_in_one_line() {
    let dir = TempDir::new("check-refused");
    let config = dir.0.join("medic.toml");
    let port = closed_port();
    std::fs::write(
        &config,
        format!("[storage]\nurl = \"postgres://medic:hunter2@127.0.0.1:{port}/medic\"\n"),
    )
    .expect("config");
    let started = std::time::Instant::now();
    let out = check(&config, &[], &[]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("storage.url: database error: connection refused"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(
        !text(&out.stdout).contains("hunter2"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}

/// Lines `medic serve` writes to stderr, read on a thread until `wanted`
/// matches one (or 60 s pass); serve is then killed.
fn serve_log_until(config: &Path, flags: &[&str], wanted: impl Fn(&str) -> bool) -> Vec<String> {
    use std::io::BufRead as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_medic"))
        .args(flags)
        .arg("serve")
        .arg("--config")
        .arg(config)
        .env("MEDIC_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("serve starts");
    let stderr = child.stderr.take().expect("stderr");
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut lines = Vec::new();
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        let Ok(line) = receive.recv_timeout(left) else {
            break;
        };
        let done = wanted(&line);
        lines.push(line);
        if done {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    lines
}

#[test]
fn log_format_json_writes_one_object_a_line_with_the_incident_and_no_colour() {
    let dir = TempDir::new("log-json");
    let port = closed_port();
    // A target that is down from the start, with a remedy, so the agent
    // logs an incident's action at once; a fresh store for each run.
    let config_with = |name: &str| {
        let config = dir.0.join(format!("{name}.toml"));
        std::fs::write(
            &config,
            format!(
                "[server]\nlisten = \"127.0.0.1:0\"\n[storage]\nurl = \"sqlite://{}\"\n[log]\nformat = \"json\"\n\
                 [[targets]]\nname = \"down\"\nprobes = [{{ kind = \"tcp\", address = \"127.0.0.1:{port}\", interval = \"200ms\" }}]\n\
                 remedies = [{{ name = \"pause\", action = {{ kind = \"wait\", duration = \"100ms\" }} }}]\n",
                dir.0.join(format!("{name}.db")).display(),
            ),
        )
        .expect("config");
        config
    };
    let config = config_with("json");

    let lines = serve_log_until(&config, &[], |line| line.contains("action finished"));
    let all = lines.join("\n");
    assert!(!all.contains('\u{1b}'), "colour written to a pipe: {all}");
    let objects: Vec<serde_json::Value> = lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    assert!(objects.iter().all(|o| o["level"].is_string()), "{all}");
    let action = objects
        .iter()
        .find(|o| o["fields"]["message"] == "action finished")
        .unwrap_or_else(|| panic!("no action logged: {all}"));
    assert_eq!(action["span"]["target"], "down", "{action}");
    assert!(action["span"]["incident"].as_i64().is_some(), "{action}");

    // The flag wins over the file.
    let lines = serve_log_until(&config_with("text"), &["--log-format", "text"], |line| {
        line.contains("action finished")
    });
    let all = lines.join("\n");
    assert!(!all.contains('\u{1b}'), "colour written to a pipe: {all}");
    let action = lines
        .iter()
        .find(|l| l.contains("action finished"))
        .unwrap_or_else(|| panic!("no action logged: {all}"));
    assert!(
        action.contains("incident{target=down incident="),
        "{action}"
    );
    assert!(serde_json::from_str::<serde_json::Value>(action).is_err());
}
