//! `medic check`: validate a config and show what medic would do with it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use medic_engine::config::{Action, Config, Mode, OnFlapping, Probe, Remedy, Target, parse};

use crate::UsageError;

pub(crate) fn run(path: &Path, offline: bool) -> Result<(), UsageError> {
    let config = load(path)?;
    if !offline {
        // What serve reads from the environment before it binds.
        let env: BTreeMap<String, String> = std::env::vars().collect();
        let mut missing = medic_api::check_secrets(&config, &env);
        missing.extend(supervise_problems(&config));
        if !missing.is_empty() {
            return Err(UsageError(
                missing
                    .iter()
                    .map(|e| format!("{}: {e}", path.display()))
                    .collect(),
            ));
        }
    }
    crate::out::print(&describe(&config));
    if offline {
        crate::out::print("\nstorage and secrets: not checked (--offline)\n");
        return Ok(());
    }
    let storage = storage(&config.storage.url)
        .map_err(|e| UsageError(vec![format!("{}: storage.url: {e}", path.display())]))?;
    crate::out::print(&storage);
    Ok(())
}

/// What would stop `serve` from starting a supervised process: a program
/// not found (absolute, or on `PATH`) or a missing working directory.
fn supervise_problems(config: &Config) -> Vec<String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = |program: &str| {
        if program.contains('/') {
            Path::new(program).is_file()
        } else {
            std::env::split_paths(&path).any(|dir| dir.join(program).is_file())
        }
    };
    let mut problems = Vec::new();
    for (i, target) in config.targets.iter().enumerate() {
        let Some(supervise) = &target.supervise else {
            continue;
        };
        if let Some(program) = supervise.command.first()
            && !found(program)
        {
            problems.push(format!(
                "targets[{i}].supervise.command[0]: cannot find {program:?} (serve could not start it)"
            ));
        }
        if let Some(cwd) = &supervise.cwd
            && !Path::new(cwd).is_dir()
        {
            problems.push(format!(
                "targets[{i}].supervise.cwd: {cwd:?} is not a directory (serve could not start it)"
            ));
        }
    }
    problems
}

/// Whether the store at `url` may hold history: a SQLite file that does not
/// exist yet holds none, and read-only commands must not create it by
/// connecting.
pub(crate) fn store_exists(url: &str) -> bool {
    let sqlite_file = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .filter(|path| !path.starts_with(':'));
    sqlite_file.is_none_or(|file| Path::new(file).exists())
}

/// The store's reachability, schema version and what it has learned about
/// each remedy. Read-only: `check` never creates a store, migrates it or
/// writes to it (`medic migrate` and `medic serve` do). An unreachable store
/// is an error, as it would stop `medic serve`; a schema behind is not,
/// since serve migrates it.
fn storage(url: &str) -> Result<String, String> {
    if !store_exists(url) {
        return Ok("\nstorage: no database yet (medic serve or medic migrate creates it)\nlearned: no history yet\n".into());
    }
    let runtime = crate::runtime().map_err(|e| e.0.join("; "))?;
    let opened = runtime.block_on(async {
        let (store, schema) = medic_store::connect_read_only(url).await?;
        let stats = store.all_remedy_stats().await;
        store.close().await;
        stats.map(|stats| (schema, stats))
    });
    let (schema, stats) = match opened {
        Ok(opened) => opened,
        Err(medic_store::StoreError::SchemaBehind { applied, latest }) => {
            return Ok(format!(
                "\nstorage: reachable; schema at version {applied} of {latest} \
                 (medic serve migrates it at start, or run medic migrate)\n\
                 learned: not readable until then\n"
            ));
        }
        Err(e) => return Err(e.to_string()),
    };
    let mut out = format!(
        "\nstorage: reachable, schema version {} (current), opened read-only\n",
        schema.latest
    );
    out.push_str("\nlearned (per failure fingerprint and remedy):\n");
    if stats.is_empty() {
        out.push_str("  nothing yet\n");
    }
    for s in stats {
        let mean = s
            .mean_recover_ms()
            .map_or("—".to_string(), |ms| format!("{ms:.0} ms"));
        let _ = writeln!(
            out,
            "  {:<28} {:<16} {}/{} succeeded, mean time to recover {mean}",
            s.fingerprint, s.remedy, s.successes, s.attempts
        );
    }
    Ok(out)
}

/// A URL with its password, if any, shown as `***`: check's output is
/// pasted into tickets and CI logs.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((user_info, host)) if user_info.contains(':') => {
            let user = user_info.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}{}", &rest[authority_end..])
        }
        _ => url.to_string(),
    }
}

/// Reads, parses and validates a config file, errors as `file: key.path: reason`.
/// `check` and `serve` both load through here, so they reach one verdict:
/// the engine's validation, then the TLS preflight (every certificate file
/// a client will be built from is read and parsed).
pub(crate) fn load(path: &Path) -> Result<Config, UsageError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError(vec![format!("{}: cannot read: {e}", path.display())]))?;
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let located = |errors: Vec<String>| {
        UsageError(
            errors
                .iter()
                .map(|e| format!("{}: {e}", path.display()))
                .collect(),
        )
    };
    let config = parse(&text, &env)
        .map_err(|errors| located(errors.0.iter().map(ToString::to_string).collect()))?;
    let preflight = medic_client::preflight(&config);
    if !preflight.errors.is_empty() {
        return Err(located(preflight.errors));
    }
    // The configured secrets' own values are hidden wherever text is kept,
    // shown, sent or logged, whatever shape they have.
    medic_engine::redact::register_secrets(
        config
            .secret_variables()
            .iter()
            .filter_map(|name| env.get(name).cloned()),
    );
    Ok(config)
}

/// Outbound TLS in a few lines: what is trusted, and every endpoint whose
/// certificate is not verified (`insecure`), loudly.
fn describe_tls(config: &Config, out: &mut String) {
    let tls = &config.tls;
    let roots = match &tls.ca_file {
        Some(ca) => format!("the system's roots + {ca}"),
        None => "the system's roots".to_string(),
    };
    let client = match &tls.client_cert {
        Some(cert) => format!(", client certificate {cert}"),
        None => String::new(),
    };
    let _ = writeln!(out, "outbound tls: {roots}{client} (rustls, ring)");
    for warning in medic_client::preflight(config).warnings {
        let _ = writeln!(out, "  WARNING {warning}");
    }
}

/// Each `[[maintenance]]` window: what it covers and when it is next in force.
fn describe_maintenance(config: &Config, out: &mut String) {
    let now = chrono::Utc::now();
    for window in &config.maintenance {
        let Ok(parsed) = medic_engine::maintenance::Window::from_config(window) else {
            continue;
        };
        let covers: Vec<&str> = config
            .targets
            .iter()
            .filter(|t| parsed.covers(&t.name, &t.labels))
            .map(|t| t.name.as_str())
            .collect();
        let when = match (parsed.active_at(now), parsed.next_after(now)) {
            (Some(span), _) => format!("in force until {}", span.end.format("%Y-%m-%d %H:%M UTC")),
            (None, Some(span)) => format!(
                "next {} to {}",
                span.start.format("%Y-%m-%d %H:%M UTC"),
                span.end.format("%Y-%m-%d %H:%M UTC")
            ),
            (None, None) => "over".to_string(),
        };
        let _ = writeln!(
            out,
            "maintenance {:?}: {when}{}; covers {} (probed, but no incident and no remedy)",
            window.name,
            parsed
                .schedule()
                .map(|s| format!(", {s}"))
                .unwrap_or_default(),
            if covers.is_empty() {
                "no target yet".to_string()
            } else {
                covers.join(", ")
            }
        );
    }
}

/// The human summary `medic check` prints.
fn describe(config: &Config) -> String {
    let mut out = String::new();
    let p = &config.policy;
    let mode = match p.mode {
        Mode::Auto => "auto (remedies run within the limits below)",
        Mode::DryRun => "dry-run (remedies are recorded, nothing is executed)",
        Mode::Approve => "approve (every action waits for a human)",
    };
    let _ = writeln!(out, "policy: {mode}");
    let _ = writeln!(
        out,
        "  min confidence {} ({} when it rests on outside text), {} actions/hour overall, {} per target, cooldown {}, approvals expire after {}",
        p.min_confidence,
        p.min_confidence_for(medic_model::Grounds::Text),
        p.max_actions_per_hour,
        p.max_actions_per_hour_per_target,
        p.cooldown,
        p.approval_timeout
    );
    let _ = writeln!(
        out,
        "  high-risk remedies always need approval; destructive commands are always refused"
    );
    let _ = writeln!(
        out,
        "  a fix whose failure returns within {} counts as a failure (reopen window)",
        p.reopen_window
    );
    let flapping = match p.on_flapping {
        OnFlapping::Heal => {
            "a flapping target keeps being healed (cooldown doubling), a human told once"
        }
        OnFlapping::Pause => "a flapping target's automation pauses until it is quiet",
    };
    let _ = writeln!(out, "  {flapping}");
    if let Some(share) = &p.min_healthy {
        let group = match &p.min_healthy_by {
            Some(key) => format!("of the targets sharing their {key} label"),
            None => "of all targets".to_string(),
        };
        let _ = writeln!(
            out,
            "  storm brake: disruptive remedies wait while fewer than {share} {group} are healthy"
        );
    }
    let _ = writeln!(
        out,
        "server: {}   storage: {}",
        config.server.listen,
        without_password(&config.storage.url)
    );
    if config.storage.url.starts_with("postgres") {
        let node = config.cluster.node.as_deref().unwrap_or("this host's name");
        let _ = writeln!(
            out,
            "cluster: replicas on this store share the targets by leases (lease {}, node {node})",
            config.cluster.lease
        );
        for target in config.targets.iter().filter(|t| t.node.is_none()) {
            if target.is_host_bound() {
                let _ = writeln!(
                    out,
                    "  WARNING target {} is bound to one host (supervised, local probes, logs or commands) \
                     but names no node: with replicas on other hosts, set node = \"…\"",
                    target.name
                );
            }
        }
    }
    let llm = &config.llm;
    let provider = match llm.provider {
        medic_engine::config::LlmProvider::None => None,
        medic_engine::config::LlmProvider::Ollama => Some("ollama"),
        medic_engine::config::LlmProvider::Openai => Some("openai"),
    };
    match provider {
        None => {
            let _ = writeln!(out, "llm: none (rules and history decide)");
        }
        Some(provider) => {
            let _ = writeln!(
                out,
                "llm: {provider} model {:?} at {}, timeout {}, last {} log lines (redacted); a second opinion that may only pick among a target's remedies",
                llm.model, llm.url, llm.timeout, llm.max_log_lines
            );
        }
    }
    describe_tls(config, &mut out);
    describe_maintenance(config, &mut out);
    // Host-dependent fixes (the package index) use this host's commands.
    let _ = writeln!(out, "host: {}", medic_agent::host::detect());
    if config.targets.is_empty() {
        let _ = writeln!(
            out,
            "\nno targets yet (they can also be registered through the API)"
        );
    }
    for target in &config.targets {
        describe_target(target, p.mode, &mut out);
    }
    out
}

fn describe_target(target: &Target, mode: Mode, out: &mut String) {
    let _ = writeln!(out, "\ntarget {}", target.name);
    if !target.labels.is_empty() {
        let labels: Vec<String> = target
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let _ = writeln!(out, "  labels: {}", labels.join(", "));
    }
    if !target.depends_on.is_empty() {
        let _ = writeln!(
            out,
            "  depends on: {} (while one is down, no remedy here: its failure is theirs)",
            target.depends_on.join(", ")
        );
    }
    if let Some(supervise) = &target.supervise {
        let _ = writeln!(
            out,
            "  supervised: {:?} (at most {} starts per {})",
            supervise.command, supervise.start_limit, supervise.start_window
        );
    }
    let h = &target.health;
    let _ = writeln!(
        out,
        "  health: unhealthy after {} failures, healthy after {} passes; confirm every {}, verify within {}",
        h.failure_threshold, h.success_threshold, h.confirm_interval, h.verify_window
    );
    for probe in &target.probes {
        let _ = writeln!(
            out,
            "  probe {:<7} {} every {} (timeout {}){}",
            probe.kind(),
            probe.describe(),
            probe.interval(),
            probe.timeout(),
            probe_extra(probe)
        );
    }
    for log in &target.logs {
        let _ = writeln!(
            out,
            "  log     {} (last {} lines, {} patterns)",
            log.path,
            log.tail_lines,
            log.patterns.len()
        );
    }
    if target.remedies.is_empty() {
        let _ = writeln!(out, "  remedies: none (incidents escalate at once)");
    }
    for (step, remedy) in target.remedies.iter().enumerate() {
        let _ = writeln!(
            out,
            "  {}. {:<16} {:<8} {}{}",
            step + 1,
            remedy.name,
            remedy.action.kind(),
            action_summary(remedy),
            gate(remedy, mode)
        );
    }
}

fn probe_extra(probe: &Probe) -> String {
    let Probe::Http(http) = probe else {
        return String::new();
    };
    let mut extra = String::new();
    if !http.expect_status.is_empty() {
        let _ = write!(extra, ", expects {:?}", http.expect_status);
    }
    if let Some(within) = http.cert_expires_within {
        let _ = write!(extra, ", certificate valid for more than {within}");
    }
    for condition in &http.json {
        match &condition.equals {
            Some(value) => {
                let _ = write!(extra, ", {} = {value}", condition.path);
            }
            None => {
                let _ = write!(extra, ", {} present", condition.path);
            }
        }
    }
    extra
}

fn action_summary(remedy: &Remedy) -> String {
    let when = &remedy.when;
    let mut conditions = Vec::new();
    if !when.category.is_empty() {
        let names: Vec<&str> = when.category.iter().map(|c| c.as_str()).collect();
        conditions.push(format!("category in [{}]", names.join(", ")));
    }
    if !when.severity.is_empty() {
        let names: Vec<&str> = when.severity.iter().map(|s| s.as_str()).collect();
        conditions.push(format!("severity in [{}]", names.join(", ")));
    }
    if let Some(fingerprint) = &when.fingerprint {
        conditions.push(format!("fingerprint ~ /{fingerprint}/"));
    }
    let what = match &remedy.action {
        Action::Http(http) => format!("{} {}", http.method, http.url),
        Action::Exec(exec) => format!("{:?} (timeout {})", exec.command, exec.timeout),
        Action::Restart(_) => "restart the supervised process".into(),
        Action::Failover(_) => "switch to the next endpoint".into(),
        Action::Escalate(escalate) => {
            format!("{:?} webhook {}", escalate.format, escalate.webhook).to_lowercase()
        }
        Action::Wait(wait) => format!("wait {}", wait.duration),
        Action::Systemd(systemd) => {
            let calls: Vec<String> = (systemd.verb.commands().iter())
                .map(|verb| format!("systemctl {verb} {}", systemd.unit))
                .collect();
            format!(
                "{} (timeout {} each)",
                calls.join(", then "),
                systemd.timeout
            )
        }
        Action::Kubernetes(kubernetes) => {
            use medic_engine::config::KubernetesVerb as Verb;
            let namespace = kubernetes
                .namespace
                .as_deref()
                .unwrap_or("[kubernetes] namespace");
            let what = match kubernetes.verb {
                Verb::RolloutRestart => "rollout restart".to_string(),
                Verb::Scale => format!(
                    "scale by {} within {}..={}",
                    kubernetes.by,
                    kubernetes.min,
                    kubernetes.max.unwrap_or(kubernetes.min)
                ),
                Verb::DeletePod => "delete the pods that are not ready of".to_string(),
            };
            format!(
                "kubernetes: {what} deployment {namespace}/{}",
                kubernetes.deployment
            )
        }
    };
    if conditions.is_empty() {
        what
    } else {
        format!("{what}  when {}", conditions.join(" and "))
    }
}

fn gate(remedy: &Remedy, mode: Mode) -> &'static str {
    match (mode, remedy.risk) {
        (Mode::DryRun, _) => "  [dry-run: recorded only]",
        (Mode::Approve, _) | (_, medic_engine::config::Risk::High) => "  [needs approval]",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_in_storage_urls_are_hidden() {
        assert_eq!(
            super::without_password("postgres://medic:hunter2@db:5432/medic?sslmode=require"),
            "postgres://medic:***@db:5432/medic?sslmode=require"
        );
        assert_eq!(
            super::without_password("postgres://medic@db/medic"),
            "postgres://medic@db/medic"
        );
        assert_eq!(
            super::without_password("sqlite://medic.db"),
            "sqlite://medic.db"
        );
    }
}
