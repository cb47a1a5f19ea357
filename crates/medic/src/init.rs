//! `medic init`: write a commented starter `medic.toml` that `medic check`
//! accepts as it is, so the first edit is to a working file.

use std::path::Path;

use crate::UsageError;

/// What the starter config is built from.
pub(crate) struct InitOptions<'a> {
    /// The health URL to probe (`--url`).
    pub url: Option<&'a str>,
    /// The command medic should start and keep running (`--supervise`).
    pub supervise: Option<&'a str>,
}

pub(crate) fn run(path: &Path, options: &InitOptions<'_>, force: bool) -> Result<(), UsageError> {
    if path.exists() && !force {
        return Err(UsageError(vec![format!(
            "{}: already exists; use --force to overwrite it",
            path.display()
        )]));
    }
    let text = render(options)?;
    std::fs::write(path, text)
        .map_err(|e| UsageError(vec![format!("{}: cannot write: {e}", path.display())]))?;
    crate::out::println(&format!(
        "wrote {0}; next: medic check --config {0}, then medic serve --config {0}",
        path.display()
    ));
    Ok(())
}

/// A TOML string literal.
fn quoted(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// The starter config's text.
pub(crate) fn render(options: &InitOptions<'_>) -> Result<String, UsageError> {
    let url = options.url.unwrap_or("http://127.0.0.1:8080/health");
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(UsageError(vec![format!(
            "--url {url:?}: expected the service's health URL, http://HOST:PORT/PATH"
        )]));
    }
    let supervise = match options.supervise {
        None => None,
        Some(command) => {
            let argv: Vec<String> = command.split_whitespace().map(quoted).collect();
            if argv.is_empty() {
                return Err(UsageError(vec![
                    "--supervise: expected a command, e.g. --supervise \"./server --port 8080\""
                        .into(),
                ]));
            }
            Some(argv.join(", "))
        }
    };
    let mut out = String::from(HEADER);
    out.push_str(
        "\n[[targets]]\n\
         # A name for incidents, logs and the API (letters, digits, -, _, .).\n\
         name = \"app\"\n",
    );
    match &supervise {
        Some(argv) => out.push_str(&format!(
            "# medic starts this command, restarts it when it dies (with backoff), and\n\
             # stops it when medic stops. Arguments are split at spaces by `medic init`;\n\
             # edit the list for arguments that contain spaces.\n\
             supervise = {{ command = [{argv}] }}\n"
        )),
        None => out.push_str(
            "# To have medic start and own the process instead (like systemd or monit):\n\
             # supervise = { command = [\"./server\", \"--port\", \"8080\"] }\n",
        ),
    }
    out.push_str(&format!(
        "# How medic tells whether the target is healthy. Kinds: http, tcp, exec, process.\n\
         # timeout defaults to 5s, or to the interval when that is shorter.\n\
         probes = [\n  {{ kind = \"http\", url = {}, interval = \"2s\", expect_status = [200] }},\n]\n\
         # Unhealthy after 2 failed probes in a row; healthy after 2 passes.\n\
         health = {{ failure_threshold = 2, success_threshold = 2 }}\n\
         # Log files whose last lines feed the diagnosis:\n\
         # logs = [{{ path = \"/var/log/app.log\", tail_lines = 50 }}]\n",
        quoted(url)
    ));
    out.push_str(
        "\n# The remedy ladder: tried in order until the target is healthy again; when\n\
         # none is left the incident escalates. `when` limits a remedy to some\n\
         # diagnoses; `risk = \"high\"` always waits for a human's approval.\n",
    );
    if supervise.is_some() {
        out.push_str(
            "[[targets.remedies]]\n\
             name = \"restart\"\n\
             action = { kind = \"restart\" }\n",
        );
    } else {
        out.push_str(
            "[[targets.remedies]]\n\
             name = \"restart-service\"\n\
             # argv, never a shell string; destructive commands are refused.\n\
             action = { kind = \"exec\", command = [\"systemctl\", \"restart\", \"app\"], timeout = \"30s\" }\n\
             # systemctl needs root or a polkit rule; medic asks a human first:\n\
             risk = \"high\"\n",
        );
    }
    out.push_str(FOOTER);
    Ok(out)
}

const HEADER: &str = r#"# medic.toml, written by `medic init`.
# Check it with `medic check`; run it with `medic serve`.
# Every key is described in docs/configuration.md (`medic config-reference`).

[server]
# Where the API and the dashboard listen. A non-loopback address needs [auth] keys.
listen = "127.0.0.1:7400"

[storage]
# sqlite://FILE (created on first start) or postgres://USER@HOST:5432/DB.
url = "sqlite://medic.db"

[policy]
# auto: remedies run within the limits below; dry-run: recorded, never run;
# approve: every action waits for a human (medic approvals, medic approve ID).
mode = "auto"
# Quiet time after an action on a target before the next one.
cooldown = "30s"
max_actions_per_hour = 30

# API keys (needed when [server] listen is not loopback). The key itself
# lives in the environment; operator commands send MEDIC_API_KEY.
# [auth]
# keys = [{ name = "ops", key_env = "MEDIC_OPS_KEY", scopes = ["read", "write", "admin"] }]

[log]
# text (coloured only on a terminal) or json (one object a line).
format = "text"
"#;

const FOOTER: &str = r#"
# A step for when the ladder runs out: tell a human.
# [[targets.remedies]]
# name = "page"
# action = { kind = "escalate", webhook = "https://hooks.slack.com/services/...", format = "slack" }
"#;

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::{InitOptions, render};

    #[test]
    fn every_starter_config_is_valid() {
        for (url, supervise) in [
            (None, None),
            (Some("http://127.0.0.1:8000/health"), None),
            (None, Some("./server --port 8080")),
            (
                Some("https://shop.example/healthz"),
                Some("python3 -m http.server 8080"),
            ),
        ] {
            let text = render(&InitOptions { url, supervise }).expect("renders");
            let config = medic_engine::config::parse(&text, &BTreeMap::new())
                .unwrap_or_else(|e| panic!("{e}\n{text}"));
            assert_eq!(config.targets.len(), 1);
            assert_eq!(config.targets[0].supervise.is_some(), supervise.is_some());
        }
    }

    #[test]
    fn arguments_are_quoted_as_toml_strings() {
        let text = render(&InitOptions {
            url: None,
            supervise: Some(r#"./run "x"#),
        })
        .expect("renders");
        let config = medic_engine::config::parse(&text, &BTreeMap::new()).expect("valid");
        let supervise = config.targets[0].supervise.as_ref().expect("supervised");
        assert_eq!(supervise.command, ["./run", "\"x"]);
    }

    #[test]
    fn a_url_that_is_not_http_is_refused() {
        assert!(
            render(&InitOptions {
                url: Some("localhost:8000"),
                supervise: None
            })
            .is_err()
        );
    }
}
