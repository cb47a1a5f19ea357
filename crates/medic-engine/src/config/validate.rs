//! What types cannot say: names unique, regexes valid, commands safe, and
//! every reference (a restart needs a supervised process…) satisfiable.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use regex::Regex;

use super::http_shape::{header_name_problem, header_value_problem, method_problem};
use super::json_path::JsonPath;
use super::load::ConfigError;
use super::schema::{
    Action, ClientTls, Config, ENDPOINT_PLACEHOLDER, Failback, LlmProvider, Probe, Risk, Target,
};
use crate::safety::{check_command_template, child_env, validate_template};

/// Every semantic problem in `config`, in file order.
pub fn validate(config: &Config) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    let mut push = |path: String, message: String| errors.push(ConfigError::new(path, message));

    match config.server.listen.parse::<SocketAddr>() {
        Err(e) => push(
            "server.listen".into(),
            format!("{e} (write it like 127.0.0.1:7400)"),
        ),
        Ok(address) if !address.ip().is_loopback() && config.auth.keys.is_empty() => push(
            "server.listen".into(),
            format!("{address} is reachable from other hosts: configure [auth] keys first"),
        ),
        Ok(_) => {}
    }
    let server = &config.server;
    if server.max_body_bytes == 0 {
        push("server.max_body_bytes".into(), "must be at least 1".into());
    }
    if server.rate_limit > 0 && server.rate_burst == 0 {
        push(
            "server.rate_burst".into(),
            "must be at least 1 while rate_limit is on".into(),
        );
    }
    if server.request_timeout.get().is_zero() {
        push(
            "server.request_timeout".into(),
            "must be longer than 0s".into(),
        );
    }
    for (key, timeout) in [
        ("server.header_timeout", &server.header_timeout),
        ("server.idle_timeout", &server.idle_timeout),
    ] {
        if timeout.get().is_zero() {
            push(key.into(), "must be longer than 0s".into());
        }
    }
    if server.max_connections.is_some_and(|cap| cap < 2) {
        push(
            "server.max_connections".into(),
            "must be at least 2 (one to evict, one to serve)".into(),
        );
    }
    if let Some(url) = &server.public_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        push(
            "server.public_url".into(),
            format!("{url:?} is not an http:// or https:// URL"),
        );
    }
    validate_tls(&config.tls, "tls", true, &mut push);
    if let Some(tls) = &config.llm.tls {
        validate_tls(tls, "llm.tls", false, &mut push);
    }
    let url = &config.storage.url;
    if !(url.starts_with("sqlite:")
        || url.starts_with("postgres://")
        || url.starts_with("postgresql://"))
    {
        push(
            "storage.url".into(),
            format!("{url:?} is neither sqlite:… nor postgres://…"),
        );
    }
    for (i, key) in config.auth.keys.iter().enumerate() {
        if key.key_env.is_none() == key.key_sha256.is_none() {
            push(
                format!("auth.keys[{i}]"),
                "set exactly one of key_env and key_sha256".into(),
            );
        }
        if let Some(hash) = &key.key_sha256
            && (hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            push(
                format!("auth.keys[{i}].key_sha256"),
                "must be 64 hex digits".into(),
            );
        }
        if key.scopes.is_empty() {
            push(
                format!("auth.keys[{i}].scopes"),
                "a key needs at least one scope".into(),
            );
        }
    }
    if config.llm.provider != LlmProvider::None && config.llm.model.is_empty() {
        push("llm.model".into(), "a provider needs a model name".into());
    }
    if config.llm.provider != LlmProvider::None {
        if !(config.llm.url.starts_with("http://") || config.llm.url.starts_with("https://")) {
            push(
                "llm.url".into(),
                format!("{:?} is not an http:// or https:// URL", config.llm.url),
            );
        }
        if config.llm.timeout.get().is_zero() {
            push("llm.timeout".into(), "must be greater than 0".into());
        }
        if !(1..=500).contains(&config.llm.max_log_lines) {
            push(
                "llm.max_log_lines".into(),
                format!("{} is outside 1..=500", config.llm.max_log_lines),
            );
        }
    }
    let policy = &config.policy;
    for (key, value) in [
        ("policy.min_confidence", policy.min_confidence),
        (
            "policy.min_confidence_from_text",
            policy.min_confidence_from_text,
        ),
    ] {
        if !(0.0..=1.0).contains(&value) {
            push(key.into(), format!("{value} is outside [0, 1]"));
        }
    }
    if policy.max_actions_per_hour == 0 {
        push(
            "policy.max_actions_per_hour".into(),
            "must be at least 1".into(),
        );
    }
    if policy.max_actions_per_hour_per_target == 0 {
        push(
            "policy.max_actions_per_hour_per_target".into(),
            "must be at least 1".into(),
        );
    }

    if policy.reopen_window.get() > std::time::Duration::from_secs(24 * 3600) {
        push(
            "policy.reopen_window".into(),
            "must be at most 24h (a failure a day later is a new one)".into(),
        );
    }

    validate_ci_webhooks(config, &mut push);

    for (i, rule) in config.diagnosis.rules.iter().enumerate() {
        if let Err(e) = Regex::new(&rule.pattern) {
            push(format!("diagnosis.rules[{i}].pattern"), one_line(&e));
        }
    }

    let mut names = BTreeSet::new();
    for (i, target) in config.targets.iter().enumerate() {
        let path = format!("targets[{i}]");
        if !names.insert(target.name.as_str()) {
            push(
                format!("{path}.name"),
                format!("{:?} is used by an earlier target", target.name),
            );
        }
        validate_target(target, &path, &mut push);
    }
    validate_dependencies(config, &names, &mut push);
    validate_maintenance(config, &names, &mut push);
    if let Some(share) = &config.policy.min_healthy
        && let Err(message) = super::schema::parse_percent(share)
    {
        push("policy.min_healthy".into(), message);
    }
    errors
}

/// `depends_on` names other targets, and no chain of them comes back to
/// where it started (the cycle is printed: `a → b → a`).
fn validate_dependencies(
    config: &Config,
    targets: &BTreeSet<&str>,
    push: &mut impl FnMut(String, String),
) {
    for (i, target) in config.targets.iter().enumerate() {
        for (j, name) in target.depends_on.iter().enumerate() {
            let path = format!("targets[{i}].depends_on[{j}]");
            if name == &target.name {
                push(path, "a target cannot depend on itself".into());
            } else if !targets.contains(name.as_str()) {
                push(path, format!("no target is named {name:?}"));
            }
        }
    }
    let edges: std::collections::BTreeMap<&str, Vec<&str>> = config
        .targets
        .iter()
        .map(|t| {
            let needs = t
                .depends_on
                .iter()
                .map(String::as_str)
                .filter(|n| *n != t.name);
            (t.name.as_str(), needs.collect())
        })
        .collect();
    if let Some(cycle) = find_cycle(&edges) {
        let at = config
            .targets
            .iter()
            .position(|t| t.name == cycle[0])
            .unwrap_or_default();
        push(
            format!("targets[{at}].depends_on"),
            format!("dependencies go round in a circle: {}", cycle.join(" → ")),
        );
    }
}

/// The first cycle in `edges` (depth first, in name order), as the path
/// that closes it: `["a", "b", "a"]`.
fn find_cycle<'a>(
    edges: &std::collections::BTreeMap<&'a str, Vec<&'a str>>,
) -> Option<Vec<&'a str>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit<'a>(
        node: &'a str,
        edges: &std::collections::BTreeMap<&'a str, Vec<&'a str>>,
        marks: &mut std::collections::BTreeMap<&'a str, Mark>,
        path: &mut Vec<&'a str>,
    ) -> Option<Vec<&'a str>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let from = path.iter().position(|n| *n == node).unwrap_or_default();
                let mut cycle = path[from..].to_vec();
                cycle.push(node);
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(node, Mark::Open);
        path.push(node);
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, marks, path) {
                return Some(cycle);
            }
        }
        path.pop();
        marks.insert(node, Mark::Done);
        None
    }
    let mut marks = std::collections::BTreeMap::new();
    edges
        .keys()
        .find_map(|node| visit(node, edges, &mut marks, &mut Vec::new()))
}

fn validate_maintenance(
    config: &Config,
    targets: &BTreeSet<&str>,
    push: &mut impl FnMut(String, String),
) {
    let mut names = BTreeSet::new();
    for (i, window) in config.maintenance.iter().enumerate() {
        let path = format!("maintenance[{i}]");
        if window.name.trim().is_empty() {
            push(format!("{path}.name"), "must not be empty".into());
        } else if !names.insert(window.name.as_str()) {
            push(
                format!("{path}.name"),
                format!("{:?} is used by an earlier window", window.name),
            );
        }
        if let Err((key, message)) = crate::maintenance::Window::from_config(window) {
            push(format!("{path}.{key}"), message);
        }
        for (j, name) in window.targets.iter().enumerate() {
            if !targets.contains(name.as_str()) {
                push(
                    format!("{path}.targets[{j}]"),
                    format!("no target is named {name:?}"),
                );
            }
        }
    }
}

/// More re-runs than this hide a broken pipeline behind retries.
const MAX_RERUNS_LIMIT: u32 = 10;

fn validate_ci_webhooks(config: &Config, push: &mut impl FnMut(String, String)) {
    let hooks = &config.webhooks;
    let platforms = [
        ("github", &hooks.github),
        ("gitlab", &hooks.gitlab),
        ("jenkins", &hooks.jenkins),
    ];
    for (name, hook) in platforms {
        let Some(hook) = hook else { continue };
        let path = format!("webhooks.{name}");
        if let Some(url) = &hook.api_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            push(
                format!("{path}.api_url"),
                format!("{url:?} is not an http:// or https:// URL"),
            );
        }
        if let Some(tls) = &hook.tls {
            validate_tls(tls, &format!("{path}.tls"), false, push);
        }
        if hook.max_reruns > MAX_RERUNS_LIMIT {
            push(
                format!("{path}.max_reruns"),
                format!("{} is more than {MAX_RERUNS_LIMIT}", hook.max_reruns),
            );
        }
        if name != "jenkins" && hook.api_user_env.is_some() {
            push(
                format!("{path}.api_user_env"),
                "only Jenkins takes an API user; use api_token_env".into(),
            );
        }
        if name == "jenkins" && hook.api_user_env.is_some() != hook.api_token_env.is_some() {
            push(
                path,
                "set both api_user_env and api_token_env, or neither".into(),
            );
        }
    }
}

/// Outbound TLS settings: a client certificate comes with its key, and the
/// inbound keys `cert`/`key` are pointed at where they belong. `global` is
/// the `[tls]` section, where what weakens or narrows every connection
/// (`insecure`, `server_name`) is refused.
fn validate_tls(tls: &ClientTls, path: &str, global: bool, push: &mut impl FnMut(String, String)) {
    for (key, value) in [("cert", &tls.cert), ("key", &tls.key)] {
        if value.is_some() {
            push(
                format!("{path}.{key}"),
                format!(
                    "`{key}` belongs to [server.tls] (the certificate medic serves HTTPS with); \
                     for a client certificate sent to servers write client_{key}"
                ),
            );
        }
    }
    if tls.client_cert.is_some() != tls.client_key.is_some() {
        push(
            path.into(),
            "set both client_cert and client_key, or neither".into(),
        );
    }
    for (key, value) in [
        ("ca_file", &tls.ca_file),
        ("client_cert", &tls.client_cert),
        ("client_key", &tls.client_key),
        ("server_name", &tls.server_name),
    ] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            push(format!("{path}.{key}"), "must not be empty".into());
        }
    }
    if global && tls.insecure {
        push(
            format!("{path}.insecure"),
            "refused for every connection at once; set tls = { insecure = true } on the one \
             probe or action that needs it"
                .into(),
        );
    }
    if global && tls.server_name.is_some() {
        push(
            format!("{path}.server_name"),
            "names one server: set it in the tls = { … } of the endpoint it belongs to".into(),
        );
    }
}

/// Target names end up in URLs, metrics labels and log lines.
const MAX_NAME_LEN: usize = 100;

fn validate_target(target: &Target, path: &str, push: &mut impl FnMut(String, String)) {
    let valid_name = !target.name.is_empty()
        && target.name.len() <= MAX_NAME_LEN
        && target
            .name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !valid_name {
        push(
            format!("{path}.name"),
            format!("use 1 to {MAX_NAME_LEN} letters, digits, '-', '_' and '.'"),
        );
    }
    if target.health.failure_threshold == 0 || target.health.success_threshold == 0 {
        push(
            format!("{path}.health"),
            "thresholds must be at least 1".into(),
        );
    }
    validate_endpoints(target, path, push);
    for (j, probe) in target.probes.iter().enumerate() {
        let probe_path = format!("{path}.probes[{j}]");
        // Checked as it will run: aimed at the primary endpoint.
        let aimed = match target.endpoints.first() {
            Some(primary) if probe.uses_endpoint() => probe.at_endpoint(primary),
            None if probe.uses_endpoint() => {
                let key = if matches!(probe, Probe::Tcp(_)) {
                    "address"
                } else {
                    "url"
                };
                push(
                    format!("{probe_path}.{key}"),
                    format!("uses {ENDPOINT_PLACEHOLDER} but the target has no endpoints = [...]"),
                );
                continue;
            }
            _ => probe.clone(),
        };
        let left = match &aimed {
            Probe::Http(http) => Some(("url", &http.url)),
            Probe::Tcp(tcp) => Some(("address", &tcp.address)),
            _ => None,
        };
        if let Some((key, text)) = left.filter(|(_, text)| text.contains("{{")) {
            push(
                format!("{probe_path}.{key}"),
                format!("{text:?}: a probe fills only {ENDPOINT_PLACEHOLDER}"),
            );
            continue;
        }
        validate_probe(&aimed, &probe_path, push);
    }
    for (j, log) in target.logs.iter().enumerate() {
        for (k, pattern) in log.patterns.iter().enumerate() {
            if let Err(e) = Regex::new(pattern) {
                push(format!("{path}.logs[{j}].patterns[{k}]"), one_line(&e));
            }
        }
        if log.threshold == 0 {
            push(
                format!("{path}.logs[{j}].threshold"),
                "must be at least 1".into(),
            );
        }
        if log.window.get().is_zero() {
            push(
                format!("{path}.logs[{j}].window"),
                "must be greater than zero".into(),
            );
        }
    }
    if let Some(supervise) = &target.supervise {
        check_argv(
            &supervise.command,
            &format!("{path}.supervise.command"),
            false,
            push,
        );
        check_env(
            &supervise.env,
            &supervise.pass_env,
            &format!("{path}.supervise"),
            push,
        );
    }
    let mut remedies = BTreeSet::new();
    for (j, remedy) in target.remedies.iter().enumerate() {
        let path = format!("{path}.remedies[{j}]");
        if !remedies.insert(remedy.name.as_str()) {
            push(
                format!("{path}.name"),
                format!("{:?} is used by an earlier remedy", remedy.name),
            );
        }
        if let Some(pattern) = &remedy.when.fingerprint
            && let Err(e) = Regex::new(pattern)
        {
            push(format!("{path}.when.fingerprint"), one_line(&e));
        }
        let action_path = format!("{path}.action");
        match &remedy.action {
            Action::Exec(exec) => {
                check_argv(
                    &exec.command,
                    &format!("{action_path}.command"),
                    remedy.risk == Risk::High,
                    push,
                );
                check_env(&exec.env, &exec.pass_env, &action_path, push);
            }
            Action::Http(http) => {
                check_url(&http.url, &format!("{action_path}.url"), push);
                if let Some(why) = method_problem(&http.method) {
                    push(format!("{action_path}.method"), why);
                }
                if let Some(tls) = &http.tls {
                    validate_tls(tls, &format!("{action_path}.tls"), false, push);
                }
                for (name, value) in &http.headers {
                    let header_path = format!("{action_path}.headers.{}", name.escape_debug());
                    if let Some(why) = header_name_problem(name) {
                        push(header_path.clone(), why);
                    }
                    if let Some(why) = header_value_problem(value) {
                        push(header_path.clone(), why);
                    }
                    check_template(value, &header_path, push);
                }
                if let Some(body) = &http.body {
                    check_template(body, &format!("{action_path}.body"), push);
                }
            }
            Action::Restart(_) if target.supervise.is_none() => push(
                action_path,
                "restart needs the target to be supervised (supervise = { command = [...] })"
                    .into(),
            ),
            Action::Failover(_) if target.endpoints.len() < 2 => push(
                action_path,
                "failover needs at least two endpoints in the target's endpoints = [...]".into(),
            ),
            Action::Systemd(systemd) => {
                check_unit(&systemd.unit, &format!("{action_path}.unit"), push);
            }
            Action::Kubernetes(kubernetes) => {
                check_kubernetes_names(
                    &kubernetes.deployment,
                    kubernetes.namespace.as_deref(),
                    &action_path,
                    push,
                );
                if kubernetes.verb == super::schema::KubernetesVerb::Scale {
                    check_scale(kubernetes, &action_path, push);
                }
            }
            Action::Escalate(escalate) => {
                check_url(&escalate.webhook, &format!("{action_path}.webhook"), push);
                if let Some(tls) = &escalate.tls {
                    validate_tls(tls, &format!("{action_path}.tls"), false, push);
                }
            }
            _ => {}
        }
    }
}

/// The failover endpoints: real text, no repeats, and two of them for an
/// automatic failback.
fn validate_endpoints(target: &Target, path: &str, push: &mut impl FnMut(String, String)) {
    for (j, endpoint) in target.endpoints.iter().enumerate() {
        if endpoint.trim().is_empty()
            || endpoint
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            push(
                format!("{path}.endpoints[{j}]"),
                format!("{endpoint:?}: an endpoint is host:port or a URL, without spaces"),
            );
        } else if target.endpoints[..j].contains(endpoint) {
            push(
                format!("{path}.endpoints[{j}]"),
                format!("{endpoint:?} is listed twice"),
            );
        }
    }
    if target.failback == Failback::Auto && target.endpoints.len() < 2 {
        push(
            format!("{path}.failback"),
            "\"auto\" needs at least two endpoints in the target's endpoints = [...]".into(),
        );
    }
    if target.failback_after.get().is_zero() {
        push(
            format!("{path}.failback_after"),
            "must be longer than 0s".into(),
        );
    }
}

fn validate_probe(probe: &Probe, path: &str, push: &mut impl FnMut(String, String)) {
    if probe.interval().get().is_zero() {
        push(
            format!("{path}.interval"),
            "must be greater than zero".into(),
        );
    }
    if probe.timeout().get().is_zero() {
        push(
            format!("{path}.timeout"),
            "must be greater than zero".into(),
        );
    } else if probe.timeout() > probe.interval() {
        push(
            format!("{path}.timeout"),
            format!(
                "{} is more than the interval {}; a check must end before the next starts",
                probe.timeout(),
                probe.interval()
            ),
        );
    }
    match probe {
        Probe::Http(http) => {
            check_url(&http.url, &format!("{path}.url"), push);
            if let Some(why) = method_problem(&http.method) {
                push(format!("{path}.method"), why);
            }
            if let Some(pattern) = &http.body_regex
                && let Err(e) = Regex::new(pattern)
            {
                push(format!("{path}.body_regex"), one_line(&e));
            }
            if let Some(tls) = &http.tls {
                validate_tls(tls, &format!("{path}.tls"), false, push);
            }
            if let Some(within) = http.cert_expires_within {
                if !http.url.starts_with("https://") {
                    push(
                        format!("{path}.cert_expires_within"),
                        "needs an https:// URL (a plain http server has no certificate)".into(),
                    );
                } else if within.get().is_zero() {
                    push(
                        format!("{path}.cert_expires_within"),
                        "must be longer than 0s".into(),
                    );
                }
            }
            for (k, condition) in http.json.iter().enumerate() {
                if let Err(e) = JsonPath::parse(&condition.path) {
                    push(format!("{path}.json[{k}].path"), e);
                }
                if matches!(condition.equals, Some(toml::Value::Datetime(_))) {
                    push(
                        format!("{path}.json[{k}].equals"),
                        "JSON has no dates: write the date as a string".into(),
                    );
                }
            }
            if let Some(bad) = http
                .expect_status
                .iter()
                .find(|s| !(100..=599).contains(*s))
            {
                push(
                    format!("{path}.expect_status"),
                    format!("{bad} is not an HTTP status"),
                );
            }
        }
        Probe::Tcp(tcp) => {
            let address = &tcp.address;
            if address
                .rsplit_once(':')
                .is_none_or(|(_, port)| port.parse::<u16>().is_err())
            {
                push(
                    format!("{path}.address"),
                    format!("{address:?} is not host:port"),
                );
            }
        }
        Probe::Exec(exec) => {
            check_argv(&exec.command, &format!("{path}.command"), false, push);
            check_env(&exec.env, &exec.pass_env, path, push);
        }
        Probe::Process(process) => {
            if process.pidfile.is_empty() {
                push(format!("{path}.pidfile"), "must not be empty".into());
            }
        }
        Probe::Systemd(systemd) => check_unit(&systemd.unit, &format!("{path}.unit"), push),
        Probe::Kubernetes(kubernetes) => check_kubernetes_names(
            &kubernetes.deployment,
            kubernetes.namespace.as_deref(),
            path,
            push,
        ),
    }
}

/// Deployment and namespace names as Kubernetes allows them (DNS-1123:
/// lowercase letters, digits, `-` and `.`), so they can never change the
/// API path they are put in.
fn check_kubernetes_names(
    deployment: &str,
    namespace: Option<&str>,
    path: &str,
    push: &mut impl FnMut(String, String),
) {
    let dns_name = |name: &str| {
        !name.is_empty()
            && name.len() <= 253
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
            && name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && name.ends_with(|c: char| c.is_ascii_alphanumeric())
    };
    if !dns_name(deployment) {
        push(
            format!("{path}.deployment"),
            format!(
                "{deployment:?} is not a Kubernetes name (lowercase letters, digits, '-', '.')"
            ),
        );
    }
    if let Some(namespace) = namespace.filter(|n| !dns_name(n) || n.contains('.')) {
        push(
            format!("{path}.namespace"),
            format!("{namespace:?} is not a Kubernetes namespace (lowercase letters, digits, '-')"),
        );
    }
}

/// `scale` stays within bounds a human chose, and never to zero.
fn check_scale(
    action: &super::schema::KubernetesAction,
    path: &str,
    push: &mut impl FnMut(String, String),
) {
    if action.min == 0 {
        push(
            format!("{path}.min"),
            "0 is refused: scaling a Deployment to zero takes the service away".into(),
        );
    }
    match action.max {
        None => push(
            format!("{path}.max"),
            "scale needs a max, the most replicas medic may ask for".into(),
        ),
        Some(max) if max < action.min => push(
            format!("{path}.max"),
            format!("{max} is below min {}", action.min),
        ),
        Some(_) => {}
    }
    if action.by == 0 {
        push(format!("{path}.by"), "0 would change nothing".into());
    }
}

/// A systemd unit name as systemd allows it (letters, digits, `:-_.\@`,
/// with a type suffix such as `.service`), so it can never read as an
/// option of `systemctl` or as more than one argument.
fn check_unit(unit: &str, path: &str, push: &mut impl FnMut(String, String)) {
    let allowed = |c: char| c.is_ascii_alphanumeric() || ":-_.\\@".contains(c);
    let typed = unit
        .rsplit_once('.')
        .is_some_and(|(name, kind)| !name.is_empty() && !kind.is_empty());
    if unit.starts_with('-') || !unit.chars().all(allowed) || !typed || unit.len() > 255 {
        push(
            path.to_string(),
            format!("{unit:?} is not a systemd unit name (e.g. \"nginx.service\")"),
        );
    }
}

/// `env` and `pass_env`: names a shell would accept; `MEDIC_*` is kept for
/// the incident's facts an action receives.
fn check_env(
    env: &std::collections::BTreeMap<String, String>,
    pass_env: &[String],
    path: &str,
    push: &mut impl FnMut(String, String),
) {
    let names = env
        .keys()
        .map(|name| (format!("{path}.env.{name}"), name))
        .chain(
            pass_env
                .iter()
                .enumerate()
                .map(|(i, name)| (format!("{path}.pass_env[{i}]"), name)),
        );
    for (at, name) in names {
        if !child_env::is_valid_name(name) {
            push(
                at,
                format!("{name:?} is not a variable name (a letter or _, then letters, digits, _)"),
            );
        } else if name.starts_with("MEDIC_") && at.contains(".env.") {
            push(
                at,
                "MEDIC_* variables are the incident's facts medic sets itself".into(),
            );
        }
    }
}

/// An argv from the configuration: placeholders filled as data only, and the
/// guard's verdict. A command the guard cannot read passes only on a remedy
/// with `risk = "high"` (`approvable`), which runs after a human approves.
fn check_argv(
    argv: &[String],
    path: &str,
    approvable: bool,
    push: &mut impl FnMut(String, String),
) {
    if argv.first().is_none_or(|program| program.is_empty()) {
        push(
            path.into(),
            "needs a program: command = [\"program\", \"arg\", ...]".into(),
        );
        return;
    }
    for (k, element) in argv.iter().enumerate() {
        check_template(element, &format!("{path}[{k}]"), push);
    }
    match check_command_template(argv) {
        Err(refusal) if !(approvable && refusal.unreadable) => {
            push(path.into(), refusal.to_string())
        }
        _ => {}
    }
}

fn check_url(url: &str, path: &str, push: &mut impl FnMut(String, String)) {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        push(
            path.into(),
            format!("{url:?} is not an http:// or https:// URL"),
        );
    }
    check_template(url, path, push);
}

fn check_template(text: &str, path: &str, push: &mut impl FnMut(String, String)) {
    if let Err(e) = validate_template(text) {
        push(path.into(), e.to_string());
    }
}

/// Regex errors span several lines; configuration errors are one line each.
fn one_line(error: &regex::Error) -> String {
    error
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::config::parse;

    /// The errors of `text`, as `path: message` lines.
    fn errors(text: &str) -> Vec<String> {
        match parse(text, &BTreeMap::new()) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.0.iter().map(ToString::to_string).collect(),
        }
    }

    fn has(errors: &[String], path_and_words: (&str, &str)) -> bool {
        let (path, words) = path_and_words;
        errors
            .iter()
            .any(|e| e.starts_with(&format!("{path}: ")) && e.contains(words))
    }

    #[test]
    fn llm_settings_are_checked_when_a_provider_is_set() {
        let found = errors(
            "[llm]\nprovider = \"openai\"\nmodel = \"m\"\nurl = \"https://api.example.com\"\nmax_log_lines = 0\n",
        );
        assert!(!found.iter().any(|e| e.starts_with("llm.url")), "{found:?}");
        assert!(
            found.iter().any(|e| e.starts_with("llm.max_log_lines")),
            "{found:?}"
        );
        // Without a provider the section is inert.
        assert!(errors("[llm]\nurl = \"nonsense\"\n").is_empty());
        assert!(
            errors("[llm]\nprovider = \"ollama\"\nmodel = \"m\"\napi_key_env = \"K\"\n").is_empty()
        );
    }

    #[test]
    fn dependencies_name_targets_and_never_go_round_in_a_circle() {
        let target = |name: &str, needs: &str| {
            format!("[[targets]]\nname = \"{name}\"\ndepends_on = [{needs}]\n")
        };
        let fine = [
            target("db", ""),
            target("api", "\"db\""),
            target("web", "\"api\", \"db\""),
        ];
        assert!(
            errors(&fine.concat()).is_empty(),
            "{:?}",
            errors(&fine.concat())
        );
        let unknown = errors(&target("api", "\"dbb\""));
        assert!(
            has(
                &unknown,
                ("targets[0].depends_on[0]", "no target is named \"dbb\"")
            ),
            "{unknown:?}"
        );
        let itself = errors(&target("api", "\"api\""));
        assert!(
            has(&itself, ("targets[0].depends_on[0]", "itself")),
            "{itself:?}"
        );
        let circle = [
            target("a", "\"b\""),
            target("b", "\"c\""),
            target("c", "\"a\""),
        ]
        .concat();
        let found = errors(&circle);
        assert!(
            has(&found, ("targets[0].depends_on", "a → b → c → a")),
            "{found:?}"
        );
    }

    #[test]
    fn kubernetes_names_and_scale_bounds_are_checked() {
        let target = |action: &str| {
            format!(
                "[[targets]]\nname = \"shop\"\n[[targets.remedies]]\nname = \"fix\"\naction = {{ kind = \"kubernetes\", {action} }}\n"
            )
        };
        let fine = target(
            "verb = \"scale\", deployment = \"shop\", namespace = \"store\", by = 1, max = 4",
        );
        assert!(errors(&fine).is_empty(), "{:?}", errors(&fine));
        let zero = errors(&target(
            "verb = \"scale\", deployment = \"shop\", min = 0, max = 2",
        ));
        assert!(
            has(
                &zero,
                (
                    "targets[0].remedies[0].action.min",
                    "scaling a Deployment to zero"
                )
            ),
            "{zero:?}"
        );
        let unbounded = errors(&target("verb = \"scale\", deployment = \"shop\""));
        assert!(
            has(
                &unbounded,
                ("targets[0].remedies[0].action.max", "needs a max")
            ),
            "{unbounded:?}"
        );
        let path = errors(&target(
            "verb = \"rollout-restart\", deployment = \"../../secrets\"",
        ));
        assert!(
            has(
                &path,
                (
                    "targets[0].remedies[0].action.deployment",
                    "not a Kubernetes name"
                )
            ),
            "{path:?}"
        );
        let verb = errors(&target(
            "verb = \"delete-namespace\", deployment = \"shop\"",
        ));
        assert!(
            verb.iter().any(|e| e.contains("delete-namespace")),
            "{verb:?}"
        );
    }

    #[test]
    fn confidence_bars_are_fractions() {
        assert!(errors("[policy]\nmin_confidence_from_text = 0.9\n").is_empty());
        let found = errors("[policy]\nmin_confidence = -0.1\nmin_confidence_from_text = 70\n");
        assert!(
            has(&found, ("policy.min_confidence", "outside [0, 1]")),
            "{found:?}"
        );
        assert!(
            has(&found, ("policy.min_confidence_from_text", "70 is outside")),
            "{found:?}"
        );
    }

    #[test]
    fn the_storm_brake_takes_a_percentage() {
        assert!(errors("[policy]\nmin_healthy = \"50%\"\n").is_empty());
        let found = errors("[policy]\nmin_healthy = \"half\"\n");
        assert!(
            has(&found, ("policy.min_healthy", "percentage")),
            "{found:?}"
        );
        let found = errors("[policy]\nmin_healthy = \"150%\"\n");
        assert!(
            has(&found, ("policy.min_healthy", "0% to 100%")),
            "{found:?}"
        );
    }

    #[test]
    fn the_product_example_is_valid() {
        let text = r#"
[server]
listen = "127.0.0.1:7400"
[storage]
url = "sqlite://medic.db"
[auth]
keys = [{ name = "ops", key_env = "MEDIC_OPS_KEY", scopes = ["read", "write", "admin"] }]
[llm]
provider = "ollama"
url = "http://127.0.0.1:11434"
model = "gemma3:1b"
timeout = "5s"
[policy]
mode = "auto"
min_confidence = 0.8
max_actions_per_hour = 30
cooldown = "30s"
[[targets]]
name = "payments"
labels = { team = "pay", tier = "critical" }
probes = [{ kind = "http", url = "http://127.0.0.1:8000/health", interval = "1s", timeout = "500ms", expect_status = [200], max_latency = "1s" }]
logs = [{ path = "/var/log/payments/service.log", tail_lines = 50 }]
health = { failure_threshold = 2, success_threshold = 2 }
[[targets.remedies]]
name = "reconnect-db"
when = { category = ["database", "network"] }
action = { kind = "http", method = "POST", url = "http://127.0.0.1:8000/chaos/resolve" }
risk = "low"
[[targets.remedies]]
name = "restart"
action = { kind = "exec", command = ["systemctl", "restart", "payments"], timeout = "30s" }
risk = "medium"
[[targets.remedies]]
name = "page"
action = { kind = "escalate", webhook = "http://127.0.0.1:9000/page" }
"#;
        assert_eq!(errors(text), Vec::<String>::new());
    }

    #[test]
    fn outbound_tls_is_checked_where_it_is_written() {
        let text = r#"
[tls]
ca_file = "/etc/medic/ca.pem"
cert = "server.pem"
insecure = true
server_name = "x"
client_cert = "c.pem"
[[targets]]
name = "web"
probes = [
  { kind = "http", url = "https://127.0.0.1/health", cert_expires_within = "14d", json = [{ path = "$.status", equals = "ok" }, { path = "status" }], tls = { insecure = true, server_name = "web.internal" } },
  { kind = "http", url = "http://127.0.0.1/health", cert_expires_within = "14d" },
]
remedies = [
  { name = "hook", action = { kind = "http", url = "https://h/", tls = { key = "k.pem" } } },
]
"#;
        let found = errors(text);
        for expected in [
            ("tls.cert", "belongs to [server.tls]"),
            ("tls.insecure", "refused for every connection"),
            ("tls.server_name", "names one server"),
            ("tls", "client_cert and client_key"),
            ("targets[0].probes[0].json[1].path", "must start with $"),
            (
                "targets[0].probes[1].cert_expires_within",
                "needs an https://",
            ),
            ("targets[0].remedies[0].action.tls.key", "client_key"),
        ] {
            assert!(has(&found, expected), "missing {expected:?} in {found:#?}");
        }
        assert!(
            !found
                .iter()
                .any(|e| e.starts_with("targets[0].probes[0].tls")),
            "{found:#?}"
        );
        assert_eq!(
            errors(
                "[llm]\nprovider = \"openai\"\nmodel = \"m\"\nurl = \"https://api.example.com\"\n"
            ),
            Vec::<String>::new()
        );
    }

    #[test]
    fn the_reopen_window_is_bounded() {
        let found = errors("[policy]\nreopen_window = \"48h\"\n");
        assert!(
            has(&found, ("policy.reopen_window", "at most 24h")),
            "{found:?}"
        );
        assert_eq!(
            errors("[policy]\nreopen_window = \"0s\"\n"),
            Vec::<String>::new()
        );
        let config = parse("", &BTreeMap::new()).expect("defaults");
        assert_eq!(config.policy.reopen_window.get().as_secs(), 600);
    }

    #[test]
    fn destructive_commands_are_refused_with_their_path() {
        let text = r#"
[[targets]]
name = "db"
[[targets.remedies]]
name = "nuke"
action = { kind = "exec", command = ["sudo", "rm", "-rf", "/"] }
"#;
        let found = errors(text);
        assert!(
            has(
                &found,
                (
                    "targets[0].remedies[0].action.command",
                    "destructive-command guard"
                )
            ),
            "{found:?}"
        );
    }

    #[test]
    fn http_methods_and_headers_must_keep_their_shape() {
        let text = r#"
[[targets]]
name = "web"
probes = [{ kind = "http", url = "http://127.0.0.1:9/health", method = "GET /admin" }]
remedies = [
  { name = "notify", action = { kind = "http", method = "PO\r\nST", url = "http://127.0.0.1:9/", headers = { "X-Ok" = "a\r\nX-Injected: 1", "Bad Name" = "v" } } },
  { name = "fine", action = { kind = "http", method = "PURGE", url = "http://127.0.0.1:9/", headers = { "X-Id" = "{{incident.id}}" } } },
]
"#;
        let found = errors(text);
        for expected in [
            ("targets[0].probes[0].method", "not an HTTP method"),
            ("targets[0].remedies[0].action.method", "not an HTTP method"),
            ("targets[0].remedies[0].action.headers.X-Ok", "CR, LF"),
            (
                "targets[0].remedies[0].action.headers.Bad Name",
                "not a header name",
            ),
        ] {
            assert!(has(&found, expected), "missing {expected:?} in {found:#?}");
        }
        assert!(
            !found.iter().any(|e| e.contains("remedies[1]")),
            "{found:#?}"
        );
    }

    #[test]
    fn references_that_cannot_work_are_reported() {
        let text = r#"
[server]
listen = "0.0.0.0:7400"
[[targets]]
name = "web"
probes = [{ kind = "tcp", address = "localhost", interval = "1s", timeout = "2s" }]
remedies = [
  { name = "restart", action = { kind = "restart" } },
  { name = "restart", action = { kind = "failover" } },
  { name = "notify", action = { kind = "http", url = "http://127.0.0.1:9/{{target.nam}}" } },
  { name = "odd", when = { fingerprint = "(" }, action = { kind = "wait", duration = "1s" } },
]
[[targets]]
name = "web"
"#;
        let found = errors(text);
        for expected in [
            ("server.listen", "configure [auth] keys"),
            (
                "targets[0].probes[0].timeout",
                "2s is more than the interval 1s",
            ),
            ("targets[0].probes[0].address", "not host:port"),
            ("targets[0].remedies[0].action", "supervised"),
            ("targets[0].remedies[1].name", "used by an earlier remedy"),
            ("targets[0].remedies[1].action", "two endpoints"),
            ("targets[0].remedies[2].action.url", "unknown placeholder"),
            (
                "targets[0].remedies[3].when.fingerprint",
                "regex parse error",
            ),
            ("targets[1].name", "used by an earlier target"),
        ] {
            assert!(has(&found, expected), "missing {expected:?} in {found:#?}");
        }
    }

    #[test]
    fn environment_names_are_checked() {
        let errors = errors(
            r#"
[[targets]]
name = "web"
supervise = { command = ["web"], env = { "A-B" = "1" }, pass_env = ["OK_NAME", "1BAD"] }
probes = [{ kind = "exec", command = ["true"], env = { MEDIC_TARGET = "x" } }]
[[targets.remedies]]
name = "fix"
action = { kind = "exec", command = ["true"], pass_env = ["DB_URL", "X=Y"] }
"#,
        );
        for expected in [
            ("targets[0].supervise.env.A-B", "not a variable name"),
            ("targets[0].supervise.pass_env[1]", "not a variable name"),
            ("targets[0].probes[0].env.MEDIC_TARGET", "incident's facts"),
            (
                "targets[0].remedies[0].action.pass_env[1]",
                "not a variable name",
            ),
        ] {
            assert!(has(&errors, expected), "{expected:?} in {errors:#?}");
        }
        assert_eq!(errors.len(), 4, "{errors:#?}");
    }

    #[test]
    fn ci_webhooks_name_what_is_wrong() {
        let text = r#"
[webhooks]
github = { secret_env = "S", api_url = "api.github.com", max_reruns = 50, api_user_env = "U" }
gitlab = { token_env = "T", api_url = "http://gitlab.internal", api_token_env = "GL" }
jenkins = { user_env = "U", password_env = "P", api_user_env = "JU" }
"#;
        let found = errors(text);
        for expected in [
            ("webhooks.github.api_url", "not an http:// or https:// URL"),
            ("webhooks.github.max_reruns", "more than 10"),
            ("webhooks.github.api_user_env", "only Jenkins"),
            ("webhooks.jenkins", "api_user_env and api_token_env"),
        ] {
            assert!(has(&found, expected), "missing {expected:?} in {found:#?}");
        }
        assert!(
            !found.iter().any(|e| e.starts_with("webhooks.gitlab")),
            "{found:#?}"
        );
        let unknown = errors("[webhooks]\ngithub = { secret_env = \"S\", api_tokn_env = \"X\" }\n");
        assert!(
            unknown.iter().any(|e| e.contains("api_tokn_env")),
            "{unknown:#?}"
        );
    }
}
