//! Every command the README shows is run, as written. The README's shell
//! blocks are read from the file; each line runs through `sh` in a scratch
//! directory where `cargo run [--release] -- ARGS` is this build's `medic`
//! (a `cargo` shim on `PATH`). Only loopback ports are rewritten (the
//! shop's 8000 and the agent's 7400 to free ones, in the lines and in the
//! copied examples; `--listen` is added where a line relies on 8000 being
//! the default) and ids the README makes up (`incident 12`, run `N`) become
//! real ones. A README line this test does not know fails it, so a
//! new command cannot slip into the README untried; the few run elsewhere
//! (the demo and `.ci/run` by CI itself, the deploy checks by
//! `scripts/check-deploy.sh`) say where.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::support::{TempDir, closed_port, poll, request};

/// README commands run outside this test, and by what.
const RUN_ELSEWHERE: &[(&str, &str)] = &[
    ("cargo run --release -- demo", ".ci/run's demo step"),
    ("bash .ci/run", "CI itself"),
    (
        "cargo install --locked --path crates/medic",
        ".ci/run (into a scratch --root)",
    ),
    (
        "python3 eval/loghub.py --medic target/release/medic",
        ".ci/run (eval/loghub.py --quick --check)",
    ),
    (
        "kubectl kustomize deploy/kubernetes",
        "scripts/check-deploy.sh, from .ci/run",
    ),
    (
        "kubectl apply -k deploy/kubernetes",
        "nothing: no Kubernetes cluster on the test machines (the rendering is checked)",
    ),
    (
        "podman run --init",
        "nothing: podman is refused in the CI sandbox; scripts/build-image.sh runs the image with buildah",
    ),
];

/// One README command: its block's first line number and its text (a
/// trailing comment and `\` continuations folded away).
#[derive(Debug, Clone)]
struct Shown {
    block: usize,
    line: String,
}

/// The commands of the README's `sh` blocks, in order.
fn readme_commands() -> Vec<Shown> {
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let text = std::fs::read_to_string(&readme).expect("README.md");
    let mut commands = Vec::new();
    let mut block = None;
    let mut pending = String::new();
    for (number, line) in text.lines().enumerate() {
        match (block, line.trim_start().strip_prefix("```")) {
            (None, Some("sh" | "bash" | "console")) => block = Some(number + 1),
            (Some(_), Some(_)) => block = None,
            (Some(start), None) => {
                let code = strip_comment(line);
                if code.trim().is_empty() {
                    continue;
                }
                pending.push_str(code.trim_end().trim_end_matches('\\'));
                pending.push(' ');
                if !code.trim_end().ends_with('\\') {
                    commands.push(Shown {
                        block: start,
                        line: pending.split_whitespace().collect::<Vec<_>>().join(" "),
                    });
                    pending.clear();
                }
            }
            _ => {}
        }
    }
    commands
}

/// `line` without a `# comment` (a `#` after whitespace, outside quotes).
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    let mut previous = ' ';
    for (at, c) in line.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(open), _) if c == open => quote = None,
            (None, '#') if previous.is_whitespace() => return &line[..at],
            _ => {}
        }
        previous = c;
    }
    line
}

/// A scratch directory with the repository's `eval/` and `examples/` and a
/// `cargo` shim that runs this build's medic for `cargo run … -- ARGS`.
struct Sandbox {
    dir: TempDir,
    env: BTreeMap<String, String>,
    ports: Vec<(String, String)>,
}

impl Sandbox {
    fn new() -> Self {
        let dir = TempDir::new("readme");
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        std::os::unix::fs::symlink(repo.join("eval"), dir.0.join("eval")).expect("symlink");
        std::fs::create_dir_all(dir.0.join("examples")).expect("examples");
        for entry in std::fs::read_dir(repo.join("examples")).expect("examples/") {
            let path = entry.expect("entry").path();
            if let Ok(text) = std::fs::read_to_string(&path) {
                let name = path.file_name().expect("name");
                std::fs::write(dir.0.join("examples").join(name), text).expect("copy");
            }
        }
        let bin = dir.0.join("bin");
        std::fs::create_dir_all(&bin).expect("bin");
        let real_cargo = which("cargo").unwrap_or_else(|| PathBuf::from("cargo"));
        let shim = bin.join("cargo");
        std::fs::write(
            &shim,
            format!(
                "#!/bin/sh\n\
                 # `cargo run [--release] -- ARGS` is this build's medic; anything else is cargo.\n\
                 if [ \"$1\" = run ]; then\n  \
                   while [ \"$#\" -gt 0 ] && [ \"$1\" != -- ]; do shift; done\n  \
                   shift\n  \
                   exec '{medic}' \"$@\"\n\
                 fi\n\
                 exec '{cargo}' \"$@\"\n",
                medic = env!("CARGO_BIN_EXE_medic"),
                cargo = real_cargo.display(),
            ),
        )
        .expect("shim");
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let mut env = BTreeMap::new();
        env.insert(
            "PATH".to_string(),
            format!(
                "{}:{}",
                bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        );
        env.insert("MEDIC_LOG".into(), "error".into());
        Self {
            dir,
            env,
            ports: Vec::new(),
        }
    }

    /// `line` with this block's ports and made-up ids replaced.
    fn rewrite(&self, line: &str, ids: &[(&str, String)]) -> String {
        let mut line = line.to_string();
        for (from, to) in &self.ports {
            line = line.replace(from, to);
        }
        for (from, to) in ids {
            line = line.replace(from, to);
        }
        line
    }

    fn shell(&self, line: &str, cwd: &Path) -> Command {
        let mut command = Command::new("sh");
        command
            .args(["-c", line])
            .current_dir(cwd)
            .env_clear()
            .envs(&self.env)
            .env("HOME", std::env::var("HOME").unwrap_or_default());
        for key in ["CARGO_HOME", "RUSTUP_HOME", "CARGO_TARGET_DIR"] {
            if let Ok(value) = std::env::var(key) {
                command.env(key, value);
            }
        }
        command
    }

    /// Runs `line` to completion in the sandbox.
    fn run(&self, line: &str) -> Output {
        self.run_in(line, &self.dir.0)
    }

    fn run_in(&self, line: &str, cwd: &Path) -> Output {
        self.shell(line, cwd)
            .stdin(Stdio::null())
            .output()
            .expect("sh runs")
    }

    /// Starts `line` (a server) in the background; stopped on drop.
    fn spawn(&self, line: &str) -> Background {
        let line = line.trim_end().trim_end_matches('&');
        Background(
            self.shell(&format!("exec {line}"), &self.dir.0)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("sh starts"),
        )
    }

    /// Rewrites the shop's port 8000 in the copied examples too.
    fn move_shop_in_examples(&self, port: &str) {
        for entry in std::fs::read_dir(self.dir.0.join("examples")).expect("examples") {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("example");
            std::fs::write(
                &path,
                text.replace("127.0.0.1:8000", &format!("127.0.0.1:{port}")),
            )
            .expect("example");
        }
    }

    /// `export A=1 B=2` for the lines after it.
    fn export(&mut self, line: &str) {
        for pair in line.trim_start_matches("export").split_whitespace() {
            let (key, value) = pair.split_once('=').expect("export KEY=VALUE");
            self.env.insert(key.into(), value.into());
        }
    }
}

/// A server started by a README line: stopped with SIGTERM on drop, as a
/// user's Ctrl-C would (an agent stops its supervised processes then), and
/// killed if it has not gone within 10 s.
struct Background(std::process::Child);

impl Drop for Background {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.0.id().to_string()).status();
        let gone = poll(Duration::from_secs(10), || self.0.try_wait().ok().flatten());
        if gone.is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn wait_healthy(address: &str, path: &str) {
    let up = poll(Duration::from_secs(30), || {
        std::net::TcpStream::connect(address).ok()?;
        (request(address, "GET", path, "").0 == 200).then_some(())
    });
    assert!(up.is_some(), "{address}{path} never answered 200");
}

/// Runs `line` and requires exit 0; returns what it printed.
fn succeeds(sandbox: &Sandbox, shown: &Shown, line: &str) -> String {
    let output = sandbox.run(line);
    let said = text(&output);
    assert!(
        output.status.success(),
        "README line (block at line {}) failed: {}\n{said}",
        shown.block,
        shown.line
    );
    said
}

#[test]
fn every_command_in_the_readme_runs() {
    let shown = readme_commands();
    assert!(shown.len() > 30, "the README's commands were not found");
    let mut sandbox = Sandbox::new();
    // The supervised shop (from `init --supervise`), the shop run by hand,
    // and the agent, each on a free port.
    let supervised_port = closed_port().to_string();
    let shop_port = closed_port().to_string();
    let agent_port = closed_port().to_string();
    sandbox.move_shop_in_examples(&shop_port);
    sandbox.ports = vec![
        ("127.0.0.1:7400".into(), format!("127.0.0.1:{agent_port}")),
        (
            "--url http://127.0.0.1:8000".into(),
            format!("--url http://127.0.0.1:{supervised_port}"),
        ),
        (
            "\"./server --port 8000\"".into(),
            format!("\"cargo run -- chaos --listen 127.0.0.1:{supervised_port}\""),
        ),
        ("127.0.0.1:8000".into(), format!("127.0.0.1:{shop_port}")),
        (
            "cargo run -- chaos &".into(),
            format!("cargo run -- chaos --listen 127.0.0.1:{shop_port} &"),
        ),
    ];
    let mut servers: BTreeMap<&str, Background> = BTreeMap::new();
    let mut ids: Vec<(&str, String)> = Vec::new();
    let mut ran = 0;
    for command in &shown {
        let line = command.line.as_str();
        if let Some((_, by)) = RUN_ELSEWHERE
            .iter()
            .find(|(known, _)| line.starts_with(known))
        {
            eprintln!("README: `{line}` runs in {by}");
            continue;
        }
        let line = sandbox.rewrite(line, &ids);
        ran += 1;
        match line.as_str() {
            l if l.starts_with("export ") => sandbox.export(l),
            l if l.starts_with("cargo run -- init ") => {
                succeeds(&sandbox, command, l);
                // The agent's API on a free port instead of 7400.
                let config = sandbox.dir.0.join("medic.toml");
                let written = std::fs::read_to_string(&config).expect("init wrote medic.toml");
                assert!(written.contains("127.0.0.1:7400"), "{written}");
                std::fs::write(
                    &config,
                    written.replace("127.0.0.1:7400", &format!("127.0.0.1:{agent_port}")),
                )
                .expect("medic.toml");
            }
            l if l.starts_with("cargo run -- serve") => {
                // One agent at a time on the store: the second start replaces the first.
                servers.remove("agent");
                servers.insert("agent", sandbox.spawn(l));
                let address = format!("127.0.0.1:{agent_port}");
                wait_healthy(&address, "/health");
                wait_healthy(&format!("127.0.0.1:{supervised_port}"), "/health");
                if !ids.iter().any(|(from, _)| *from == "incident 12") {
                    let id = healed_incident(&address, &supervised_port);
                    ids.push(("incident 12", format!("incident {id}")));
                }
            }
            l if l.starts_with("cargo run -- chaos")
                || l.starts_with("cargo run --release -- chaos") =>
            {
                // The shop by itself; a second start replaces the first.
                servers.remove("shop");
                servers.insert("shop", sandbox.spawn(l));
                wait_healthy(&format!("127.0.0.1:{shop_port}"), "/health");
            }
            l if l.starts_with("cargo run -- approve ") => {
                // Nothing waits for approval in this walk-through: the agent
                // answers "not found" (exit 1), as docs/cli.md says.
                let output = sandbox.run(l);
                assert_eq!(output.status.code(), Some(1), "{l}: {}", text(&output));
                assert!(
                    text(&output).contains("not found"),
                    "{l}: {}",
                    text(&output)
                );
            }
            l if l.starts_with("cargo run -- pipeline run ") => {
                let said = succeeds(&sandbox, command, l);
                let run = said
                    .lines()
                    .find_map(|line| line.strip_prefix("run ")?.split(':').next())
                    .expect("`run N:` first")
                    .to_string();
                ids.push(("resume N", format!("resume {run}")));
                ids.push(("show N", format!("show {run}")));
            }
            l if l.contains("-- cargo fetch") => {
                // A pipeline step needs a Cargo project: the repository's.
                let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
                let output = sandbox.run_in(l, &repo);
                assert!(output.status.success(), "{l}: {}", text(&output));
            }
            l if l.starts_with("cargo run -- eval --llm") => {
                eval_with_a_model(&mut sandbox, command, l)
            }
            l if l.starts_with("curl ") => {
                let output = sandbox.run(&format!("{l} --silent --show-error --max-time 10"));
                assert!(output.status.success(), "{l}: {}", text(&output));
            }
            l if l.starts_with("cargo run -- ") => {
                let said = succeeds(&sandbox, command, l);
                check_output(l, &said);
            }
            other => panic!(
                "README line (block at line {}) is not known to this test: `{other}`; \
                 run it here or list it in RUN_ELSEWHERE",
                command.block
            ),
        }
        // The diagnose and templates lines read app.log: the shop's own log.
        let app_log = sandbox.dir.0.join("app.log");
        if !app_log.exists() {
            std::fs::write(
                &app_log,
                "2026-12-07T10:00:01Z INFO orders: checkout ok\n\
                 2026-12-07T10:00:02Z ERROR orders: connection to database at 127.0.0.1:5432 refused\n",
            )
            .expect("app.log");
        }
    }
    assert!(ran > 25, "only {ran} README commands ran");
}

/// Breaks the supervised shop, waits for its incident to be healed, and
/// gives its id (the README's `incident 12`).
fn healed_incident(agent: &str, shop_port: &str) -> i64 {
    let shop = format!("127.0.0.1:{shop_port}");
    assert_eq!(
        request(&shop, "POST", "/chaos/trigger?mode=error", "").0,
        202
    );
    let healed = poll(Duration::from_secs(30), || {
        let (_, body) = request(agent, "GET", "/api/v1/incidents", "");
        let incidents: serde_json::Value = serde_json::from_str(&body).ok()?;
        incidents["incidents"]
            .as_array()?
            .iter()
            .find(|incident| incident["status"] == "resolved")
            .and_then(|incident| incident["id"].as_i64())
    });
    healed.expect("the supervised shop's incident was healed within 30 s")
}

/// What a few commands must print, beyond exiting 0.
fn check_output(line: &str, said: &str) {
    let expect: &[&str] = match line {
        l if l.starts_with("cargo run -- check") => &["storage:"],
        l if l.starts_with("cargo run -- status") => &["app"],
        l if l.starts_with("cargo run -- incident ") => &["resolved"],
        l if l.starts_with("cargo run -- diagnose") => &["\"category\""],
        l if l.starts_with("cargo run -- eval") => &["accuracy"],
        l if l.starts_with("cargo run -- templates --format jsonl") => &["\"template\""],
        l if l.starts_with("cargo run -- pipeline show") => &["\"status\""],
        l if l.starts_with("cargo run -- maintenance start") => &["db upgrade", "covers app"],
        l if l.starts_with("cargo run -- maintenance list") => &["db upgrade", "in force"],
        l if l.starts_with("cargo run -- maintenance end") => &["ended"],
        _ => &[],
    };
    for needle in expect {
        assert!(
            said.contains(needle),
            "`{line}` printed no {needle:?}:\n{said}"
        );
    }
}

/// `eval --llm` needs a model: the local llama.cpp server of `llm.rs`,
/// named through the environment overrides of `[llm]`.
fn eval_with_a_model(sandbox: &mut Sandbox, shown: &Shown, line: &str) {
    let Some((server, model)) = crate::llm::artifacts() else {
        return;
    };
    let (_llama, url) = crate::llm::start_llama(&server, &model);
    sandbox
        .env
        .insert("MEDIC_LLM_PROVIDER".into(), "openai".into());
    sandbox.env.insert("MEDIC_LLM_URL".into(), url);
    sandbox
        .env
        .insert("MEDIC_LLM_MODEL".into(), "smollm2".into());
    let said = succeeds(sandbox, shown, line);
    assert!(
        said.contains("llm"),
        "`{line}` printed no model figures:\n{said}"
    );
    for key in ["MEDIC_LLM_PROVIDER", "MEDIC_LLM_URL", "MEDIC_LLM_MODEL"] {
        sandbox.env.remove(key);
    }
}
