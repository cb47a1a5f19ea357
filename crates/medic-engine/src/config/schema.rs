//! The `medic.toml` schema. The doc comments are the user documentation of
//! each key; unknown keys are errors everywhere (`deny_unknown_fields`).

use std::collections::BTreeMap;
use std::time::Duration;

use medic_model::{Category, Severity};

use super::duration::HumanDuration;

/// Deserialises an enum tagged by `kind` through the variant's own struct, so
/// that errors keep their key path (serde's derived tagged enums lose it) and
/// unknown kinds list the known ones.
macro_rules! tagged_enum {
    ($enum:ident, $what:literal, { $($kind:literal => $variant:ident($inner:ty)),+ $(,)? }) => {
        impl<'de> serde::Deserialize<'de> for $enum {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                use serde::de::Error as _;
                let mut table = toml::Table::deserialize(deserializer)?;
                let kind = match table.remove("kind") {
                    Some(toml::Value::String(kind)) => kind,
                    Some(_) => return Err(D::Error::custom("kind: expected a string")),
                    None => {
                        return Err(D::Error::custom(concat!(
                            "missing field `kind` (a ", $what, " kind: ", $($kind, " "),+, ")"
                        )))
                    }
                };
                let fields = toml::Value::Table(table);
                match kind.as_str() {
                    $($kind => serde_path_to_error::deserialize::<_, $inner>(fields)
                        .map($enum::$variant)
                        .map_err(|e| D::Error::custom(super::load::located(&e))),)+
                    other => Err(D::Error::custom(format!(
                        "unknown {} kind {other:?}; expected one of: {}",
                        $what,
                        [$($kind),+].join(", ")
                    ))),
                }
            }
        }
    };
}

fn secs(n: u64) -> HumanDuration {
    HumanDuration::new(Duration::from_secs(n))
}

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The HTTP server.
    pub server: Server,
    /// Where incidents, actions and outcomes are kept.
    pub storage: Storage,
    /// Replicas sharing one PostgreSQL store.
    pub cluster: Cluster,
    /// API keys.
    pub auth: Auth,
    /// How each webhook intake authenticates.
    pub webhooks: Webhooks,
    /// The optional local language model.
    pub llm: Llm,
    /// What medic may do on its own.
    pub policy: Policy,
    /// Extra diagnosis rules, checked before the built-in catalog.
    pub diagnosis: DiagnosisRules,
    /// How `medic serve` logs.
    pub log: Log,
    /// Outbound TLS: how medic's own requests (probes, remedies,
    /// escalations, CI and LLM APIs) trust servers and prove who they are.
    pub tls: ClientTls,
    /// What medic watches and heals.
    pub targets: Vec<Target>,
    /// Planned maintenance windows.
    pub maintenance: Vec<Maintenance>,
    /// How to reach a Kubernetes API server.
    pub kubernetes: Kubernetes,
}

/// `[[maintenance]]`: a planned window. Its targets are still probed and
/// their state shown, but no incident opens and no remedy runs for them
/// while it lasts; an incident already open waits. When it ends, a target
/// still unhealthy gets its incident at once. Give either `schedule` with
/// `duration` (recurring) or `start` with `end` (once). Windows opened
/// through the API (`POST /api/v1/maintenance`, `medic maintenance start`)
/// work the same way; overlapping windows add up.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Maintenance {
    /// Its name, shown on the dashboard, the live feed and timelines.
    pub name: String,
    /// The targets it covers, by name.
    #[serde(default)]
    pub targets: Vec<String>,
    /// The targets it covers, by label: a target whose labels hold every
    /// pair (besides those named in `targets`).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// When a recurring window starts: a five-field cron expression
    /// (minute hour day-of-month month day-of-week), e.g. `"0 2 * * SUN"`.
    pub schedule: Option<String>,
    /// How long each recurring window lasts.
    pub duration: Option<HumanDuration>,
    /// The IANA time zone `schedule` is read in, e.g. `"Europe/Berlin"`
    /// (default UTC).
    pub timezone: Option<String>,
    /// A one-off window's start, RFC 3339 in quotes: `"2026-12-24T02:00:00Z"`.
    pub start: Option<String>,
    /// A one-off window's end, RFC 3339 in quotes.
    pub end: Option<String>,
}

/// `[log]`: lines go to stderr; `MEDIC_LOG` sets the level (`info`, `medic_agent=debug`).
#[derive(Debug, Clone, PartialEq, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Log {
    /// `text` (default; coloured only on a terminal) or `json` (one object a
    /// line, for log shippers); `--log-format` overrides it.
    pub format: LogFormat,
}

/// A log line's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// For people.
    #[default]
    Text,
    /// One JSON object a line.
    Json,
}

/// `[diagnosis]`: patterns of your own, checked in order before the built-in ones.
#[derive(Debug, Clone, PartialEq, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiagnosisRules {
    /// `[[diagnosis.rules]]`
    pub rules: Vec<DiagnosisRule>,
}

/// One rule: lines matching `pattern` (a case-insensitive regex) mean `category`.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct DiagnosisRule {
    /// A name shown in diagnoses.
    pub name: String,
    /// The regex.
    pub pattern: String,
    /// The category it means.
    pub category: Category,
    /// The severity, if not the category's default.
    pub severity: Option<Severity>,
}

/// `[server]`
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Server {
    /// Address to listen on (default `127.0.0.1:7400`). A non-loopback address needs `[auth] keys`.
    pub listen: String,
    /// Largest request body accepted, in bytes (default 1 MiB); larger → 413.
    pub max_body_bytes: u64,
    /// Requests per second each API key (or, without keys, each client
    /// address) may make on average (default 200; 0 turns the limit off).
    pub rate_limit: u32,
    /// Requests a key may make at once before the rate applies (default 400).
    pub rate_burst: u32,
    /// Longest time a request may take before it is answered 503 (default 30s;
    /// the event stream is exempt).
    pub request_timeout: HumanDuration,
    /// Longest time a new connection may take to send its first request's
    /// headers, TLS handshake included (default 10s); slower connections
    /// are closed. Later requests on a kept-alive connection fall under
    /// `idle_timeout`.
    pub header_timeout: HumanDuration,
    /// Longest time a kept-alive connection may sit with no request in
    /// flight before it is closed (default 60s). The event stream is a
    /// request in flight for as long as it is open, so it is exempt.
    pub idle_timeout: HumanDuration,
    /// Most client connections served at once (default: 4096, or the file
    /// limit minus a reserve of 256 for the store, logs and probes when that
    /// is lower). At the cap, the oldest connection that is idle or still
    /// waiting for its headers is closed to make room, so a flood of idle
    /// connections cannot lock out real clients.
    pub max_connections: Option<u32>,
    /// Serve HTTPS with these PEM files instead of plain HTTP (inbound; the
    /// outbound settings are the top-level `[tls]`).
    pub tls: Option<Tls>,
    /// The address people reach this medic's dashboard at, e.g.
    /// `https://medic.example.com` (pages link to the incident there).
    pub public_url: Option<String>,
}

/// Outbound TLS, as `[tls]` (for every client) or as `tls = { … }` on one
/// probe, http remedy, escalation, `[llm]` or CI platform. Servers are
/// trusted by the system's roots plus `ca_file`; a key given on an endpoint
/// replaces the same key of `[tls]` for that endpoint.
#[derive(Debug, Clone, PartialEq, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientTls {
    /// Extra CA certificates (PEM) trusted beside the system's roots, e.g.
    /// the private CA of internal services.
    pub ca_file: Option<String>,
    /// Client certificate chain (PEM) for servers that require one (mTLS).
    pub client_cert: Option<String>,
    /// The client certificate's private key (PEM).
    pub client_key: Option<String>,
    /// Verify the server's certificate for this name instead of the URL's
    /// host (e.g. a URL with an IP address). Endpoints only.
    pub server_name: Option<String>,
    /// Accept any server certificate: no protection against an attacker in
    /// the middle. Endpoints only (refused in `[tls]`); logged at start and
    /// shown by `medic check`.
    pub insecure: bool,
    /// Not a key: `cert` and `key` belong to the inbound `[server.tls]`;
    /// kept only to say so.
    #[serde(skip_serializing)]
    pub cert: Option<toml::Value>,
    /// Not a key: see `cert`.
    #[serde(skip_serializing)]
    pub key: Option<toml::Value>,
}

impl ClientTls {
    /// These settings over `global`: each key given here wins, the others
    /// come from `[tls]`.
    pub fn over(&self, global: &ClientTls) -> ClientTls {
        ClientTls {
            ca_file: self.ca_file.clone().or_else(|| global.ca_file.clone()),
            client_cert: self
                .client_cert
                .clone()
                .or_else(|| global.client_cert.clone()),
            client_key: self
                .client_key
                .clone()
                .or_else(|| global.client_key.clone()),
            server_name: self
                .server_name
                .clone()
                .or_else(|| global.server_name.clone()),
            insecure: self.insecure || global.insecure,
            cert: None,
            key: None,
        }
    }

    /// Whether nothing is set (the system's roots alone).
    pub fn is_default(&self) -> bool {
        self.ca_file.is_none()
            && self.client_cert.is_none()
            && self.client_key.is_none()
            && self.server_name.is_none()
            && !self.insecure
    }
}

/// The effective outbound TLS of an endpoint with `own` settings under `global`.
pub fn effective_tls(own: Option<&ClientTls>, global: &ClientTls) -> ClientTls {
    match own {
        Some(own) => own.over(global),
        None => global.over(&ClientTls::default()),
    }
}

/// `[server.tls]`: PEM certificate chain and private key.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    /// Certificate chain file (PEM).
    pub cert: String,
    /// Private key file (PEM, PKCS#8 or RSA or SEC1).
    pub key: String,
}

impl Default for Server {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:7400".into(),
            max_body_bytes: 1024 * 1024,
            rate_limit: 200,
            rate_burst: 400,
            request_timeout: HumanDuration::new(std::time::Duration::from_secs(30)),
            header_timeout: HumanDuration::new(std::time::Duration::from_secs(10)),
            idle_timeout: HumanDuration::new(std::time::Duration::from_secs(60)),
            max_connections: None,
            tls: None,
            public_url: None,
        }
    }
}

/// `[storage]`
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Storage {
    /// `sqlite://medic.db` (default) or `postgres://user@host:5432/db`;
    /// behind PgBouncer in transaction pooling mode, add
    /// `?pool_mode=transaction`.
    pub url: String,
}

impl Default for Storage {
    fn default() -> Self {
        Self {
            url: "sqlite://medic.db".into(),
        }
    }
}

/// `[cluster]`: with a PostgreSQL store, any number of `medic serve`
/// replicas share the targets. Each target is owned by one replica at a
/// time, through a lease kept in the store; only the owner opens its
/// incidents and acts. SQLite is single-node and ignores this section.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Cluster {
    /// How long a claim on a target lasts unless renewed (default 5s); it is
    /// renewed every third of that. A replica that dies is replaced within
    /// about this long.
    pub lease: HumanDuration,
    /// This replica's node name (default: the host's name). A target with
    /// `node` set is owned only by replicas on that node.
    pub node: Option<String>,
}

impl Default for Cluster {
    fn default() -> Self {
        Self {
            lease: secs(5),
            node: None,
        }
    }
}

/// `[auth]`
#[derive(Debug, Clone, PartialEq, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Auth {
    /// The API keys.
    pub keys: Vec<ApiKey>,
}

/// An API scope.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Deserialize, serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Read anything.
    Read,
    /// Acknowledge, resolve, register components, report events.
    Write,
    /// Approve actions, reset breakers, start and stop monitoring.
    Admin,
}

/// One API key: its secret comes from an environment variable or is stored hashed.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKey {
    /// Who holds it (shown in the audit log).
    pub name: String,
    /// Environment variable holding the key.
    pub key_env: Option<String>,
    /// Hex SHA-256 of the key, for keys not kept in the environment.
    pub key_sha256: Option<String>,
    /// What it may do.
    pub scopes: Vec<Scope>,
}

/// `[webhooks]`: each intake's credentials, by environment variable name.
#[derive(Debug, Clone, PartialEq, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Webhooks {
    /// Alertmanager: credentials and how alerts find their target.
    pub alertmanager: Option<AlertmanagerWebhook>,
    /// GitHub Actions: the `X-Hub-Signature-256` secret and the API.
    pub github: Option<CiWebhook>,
    /// GitLab CI: the `X-Gitlab-Token` and the API.
    pub gitlab: Option<CiWebhook>,
    /// Jenkins: the notification plugin's basic auth and the API.
    pub jenkins: Option<CiWebhook>,
    /// HMAC secret for `X-Medic-Signature`.
    pub generic: Option<WebhookSecret>,
}

/// `[webhooks.alertmanager]`. Alertmanager does not sign: it sends a bearer
/// token or basic-auth credentials from its `http_config`.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertmanagerWebhook {
    /// Environment variable with the `Authorization: Bearer` token.
    pub token_env: Option<String>,
    /// Environment variable with the basic-auth user.
    pub user_env: Option<String>,
    /// Environment variable with the basic-auth password.
    pub password_env: Option<String>,
    /// Labels whose value names the alert's target, tried in order; an alert
    /// whose labels name no target goes to the `alerts` pseudo-target.
    pub target_labels: Vec<String>,
}

impl Default for AlertmanagerWebhook {
    fn default() -> Self {
        Self {
            token_env: None,
            user_env: None,
            password_env: None,
            target_labels: ["target", "service", "job"].map(String::from).to_vec(),
        }
    }
}

/// Where a webhook's secret lives.
#[derive(Debug, Clone, PartialEq, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookSecret {
    /// Environment variable with a bearer or shared token.
    pub token_env: Option<String>,
    /// Environment variable with an HMAC secret.
    pub secret_env: Option<String>,
    /// Environment variable with a basic-auth user.
    pub user_env: Option<String>,
    /// Environment variable with a basic-auth password.
    pub password_env: Option<String>,
}

/// The re-runs a CI webhook allows per pipeline run unless told otherwise.
pub const DEFAULT_MAX_RERUNS: u32 = 2;

/// `[webhooks.github]`, `[webhooks.gitlab]`, `[webhooks.jenkins]`: how the
/// platform proves its deliveries, and how medic reaches its API to read a
/// failed job's log and re-run it.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CiWebhook {
    /// Environment variable with the shared token (GitLab's `X-Gitlab-Token`).
    pub token_env: Option<String>,
    /// Environment variable with the HMAC secret (GitHub's `X-Hub-Signature-256`).
    pub secret_env: Option<String>,
    /// Environment variable with the basic-auth user (Jenkins).
    pub user_env: Option<String>,
    /// Environment variable with the basic-auth password (Jenkins).
    pub password_env: Option<String>,
    /// The platform's API base URL, for self-hosted instances. Defaults:
    /// `https://api.github.com`, `https://gitlab.com`; Jenkins uses the job
    /// URL its notification carries unless this is set.
    pub api_url: Option<String>,
    /// Environment variable with the API token (GitHub: a token with
    /// `actions:write`; GitLab: a `PRIVATE-TOKEN` with `api`; Jenkins: the
    /// API token of `api_user_env`).
    pub api_token_env: Option<String>,
    /// Environment variable with the Jenkins API user.
    pub api_user_env: Option<String>,
    /// Re-runs of a transient failure per pipeline run, at most.
    pub max_reruns: u32,
    /// How long a re-run's incident waits for the job to pass (a success
    /// event) before it is escalated (default 2h).
    pub verify_timeout: HumanDuration,
    /// Outbound TLS for the platform's API (over `[tls]`).
    pub tls: Option<ClientTls>,
}

impl Default for CiWebhook {
    fn default() -> Self {
        Self {
            token_env: None,
            secret_env: None,
            user_env: None,
            password_env: None,
            api_url: None,
            api_token_env: None,
            api_user_env: None,
            max_reruns: DEFAULT_MAX_RERUNS,
            verify_timeout: secs(2 * 3600),
            tls: None,
        }
    }
}

/// `[llm]`
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Llm {
    /// `none` (default), `ollama` or `openai` (any OpenAI-compatible server).
    pub provider: LlmProvider,
    /// The server's base URL.
    pub url: String,
    /// The model name.
    pub model: String,
    /// How long to wait before rules decide alone.
    pub timeout: HumanDuration,
    /// An environment variable holding an API key, sent as
    /// `Authorization: Bearer …` (hosted OpenAI-compatible servers).
    pub api_key_env: Option<String>,
    /// How many of the target's last log lines the prompt carries (redacted).
    pub max_log_lines: usize,
    /// Outbound TLS for an `https://` model server (over `[tls]`).
    pub tls: Option<ClientTls>,
}

impl Default for Llm {
    fn default() -> Self {
        Self {
            provider: LlmProvider::None,
            url: "http://127.0.0.1:11434".into(),
            model: String::new(),
            timeout: secs(5),
            api_key_env: None,
            max_log_lines: 30,
            tls: None,
        }
    }
}

/// Which language-model API to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LlmProvider {
    /// No model: rules and history only.
    #[default]
    None,
    /// Ollama's `/api/chat`.
    Ollama,
    /// An OpenAI-compatible `/v1/chat/completions`.
    Openai,
}

/// `[policy]`: the safety policy every remedy passes through.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// `auto` runs remedies, `dry-run` only records them, `approve` waits for a human.
    pub mode: Mode,
    /// Diagnoses less confident than this need approval (default 0.5).
    pub min_confidence: f64,
    /// The bar for diagnoses whose category rests on text from outside (log
    /// lines, alerts, CI logs, reports) rather than on medic's own probes
    /// and exits; the higher of the two applies (default 0.7). On unseen
    /// text a broad word is often wrong (see `medic eval`'s acting table).
    pub min_confidence_from_text: f64,
    /// Actions per hour across all targets (default 30).
    pub max_actions_per_hour: u32,
    /// Actions per hour for any one target (default 10).
    pub max_actions_per_hour_per_target: u32,
    /// Quiet time after an action on a target before the next one, across
    /// its incidents: a remedy due sooner is deferred (it runs when the
    /// cooldown ends, if still needed; the timeline says so). Pages are
    /// exempt (default 30s).
    pub cooldown: HumanDuration,
    /// An approval nobody answers expires after this, and the incident escalates (default 15m).
    pub approval_timeout: HumanDuration,
    /// A resolved incident whose failure (same target and fingerprint) comes
    /// back within this window was not fixed: the remedy credited with it
    /// gets that success counted as a failure (default 10m; `0s` turns it
    /// off; at most 24h).
    pub reopen_window: HumanDuration,
    /// A target that flaps (more than `health.flap_limit` changes within
    /// `health.flap_window`): `heal` (default) keeps fixing it within the
    /// budgets, the cooldown doubling with every change past the limit, and
    /// tells a human once ("recurring"), not again until it has been quiet;
    /// `pause` stops its automation until it is quiet.
    pub on_flapping: OnFlapping,
    /// The storm brake: disruptive remedies (see `disruptive`) are held
    /// while fewer than this share of a target's group is healthy, e.g.
    /// `"50%"`: when many fail at once the cause is elsewhere, and
    /// restarting the survivors makes it worse. Off by default.
    pub min_healthy: Option<String>,
    /// The label whose value makes a group for `min_healthy` (targets
    /// without it form one group of their own); without it, all targets
    /// are one group.
    pub min_healthy_by: Option<String>,
}

impl Policy {
    /// The confidence a diagnosis on these `grounds` needs to act without
    /// approval.
    ///
    /// ```
    /// use medic_engine::config::Policy;
    /// use medic_model::Grounds;
    /// let policy = Policy::default();
    /// assert_eq!(policy.min_confidence_for(Grounds::Observed), 0.5);
    /// assert_eq!(policy.min_confidence_for(Grounds::Text), 0.7);
    /// ```
    pub fn min_confidence_for(&self, grounds: medic_model::Grounds) -> f64 {
        match grounds {
            medic_model::Grounds::Observed => self.min_confidence,
            medic_model::Grounds::Text => self.min_confidence.max(self.min_confidence_from_text),
        }
    }

    /// `min_healthy` as a fraction, if set and well formed.
    pub fn min_healthy_fraction(&self) -> Option<f64> {
        parse_percent(self.min_healthy.as_deref()?).ok()
    }
}

/// `"50%"` → 0.5; the error says what is wrong.
pub fn parse_percent(text: &str) -> Result<f64, String> {
    let number = text
        .trim()
        .strip_suffix('%')
        .ok_or_else(|| format!("{text:?}: write a percentage like \"50%\""))?;
    match number.trim().parse::<f64>() {
        Ok(n) if (0.0..=100.0).contains(&n) => Ok(n / 100.0),
        _ => Err(format!("{text:?}: a percentage from 0% to 100%")),
    }
}

/// What a flapping target gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnFlapping {
    /// Keep healing, within bounds; tell a human once.
    #[default]
    Heal,
    /// Pause automation until it is quiet; tell a human.
    Pause,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            mode: Mode::Auto,
            min_confidence: 0.5,
            min_confidence_from_text: 0.7,
            max_actions_per_hour: 30,
            max_actions_per_hour_per_target: 10,
            cooldown: secs(30),
            approval_timeout: secs(900),
            reopen_window: secs(600),
            on_flapping: OnFlapping::Heal,
            min_healthy: None,
            min_healthy_by: None,
        }
    }
}

/// The policy mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Run remedies within the policy.
    #[default]
    Auto,
    /// Record what would run; execute nothing.
    DryRun,
    /// Every action waits for approval.
    Approve,
}

/// Whether a target returns to its primary endpoint by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Failback {
    /// Stay where a failover went until a human (or another failover) moves it.
    #[default]
    Manual,
    /// Back to the primary once it has been healthy for `failback_after`.
    Auto,
}

fn default_failback_after() -> HumanDuration {
    secs(30)
}

/// What stands for the target's active endpoint in probes and actions.
pub const ENDPOINT_PLACEHOLDER: &str = "{{target.endpoint}}";

/// `[[targets]]`: one thing medic watches and heals.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Unique name (letters, digits, `-`, `_`, `.`).
    pub name: String,
    /// Free labels, matched by remedies' `when.labels`.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Health checks.
    #[serde(default)]
    pub probes: Vec<Probe>,
    /// Log files feeding diagnosis.
    #[serde(default)]
    pub logs: Vec<LogWatch>,
    /// Health thresholds.
    #[serde(default)]
    pub health: Health,
    /// A process medic starts and owns.
    pub supervise: Option<Supervise>,
    /// The endpoints (`host:port`, or a URL's base) a `failover` action
    /// switches between, the primary first. Probes and actions reach the
    /// active one through `{{target.endpoint}}`; which one is active is
    /// kept in the store.
    #[serde(default)]
    pub endpoints: Vec<String>,
    /// `auto`: go back to the primary endpoint once it has been healthy for
    /// `failback_after`; `manual` (default): stay on the endpoint a
    /// failover chose.
    #[serde(default)]
    pub failback: Failback,
    /// How long the primary must be healthy before an automatic failback
    /// (default 30s).
    #[serde(default = "default_failback_after")]
    pub failback_after: HumanDuration,
    /// With replicas (`[cluster]`), the node whose replicas alone may own
    /// this target: set it for targets bound to one host (supervised
    /// processes, exec and process probes, log files, exec remedies).
    pub node: Option<String>,
    /// Targets this one needs (`["db", "cache"]`). While one of them is
    /// down, this target's failure is its victim: its incident is linked
    /// to the dependency's (`caused_by`) and runs no remedy; it resolves
    /// when this target recovers. Still failing `health.verify_window`
    /// after its dependencies recovered, it gets its own ladder. Cycles
    /// are refused.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// The remedy ladder, tried in order.
    #[serde(default)]
    pub remedies: Vec<Remedy>,
}

/// A probe: how to tell whether a target is healthy. Every kind also takes
/// `interval` (default 10s) and `timeout` (default 5s, or the interval when
/// that is shorter).
// Configuration is read once and kept; an http probe's size (its TLS and
// JSON settings) costs nothing where probes run.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Probe {
    /// An HTTP request.
    Http(HttpProbe),
    /// A TCP connection.
    Tcp(TcpProbe),
    /// A command; exit code 0 is healthy.
    Exec(ExecProbe),
    /// A process by pidfile; a zombie counts as dead.
    Process(ProcessProbe),
    /// A systemd unit's state, from `systemctl show`.
    Systemd(SystemdProbe),
    /// A Kubernetes Deployment's state, from the API server.
    Kubernetes(KubernetesProbe),
}

tagged_enum!(Probe, "probe", {
    "http" => Http(HttpProbe),
    "tcp" => Tcp(TcpProbe),
    "exec" => Exec(ExecProbe),
    "process" => Process(ProcessProbe),
    "systemd" => Systemd(SystemdProbe),
    "kubernetes" => Kubernetes(KubernetesProbe),
});

/// An HTTP request.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpProbe {
    /// The URL.
    pub url: String,
    /// The method (default GET).
    #[serde(default = "default_get")]
    pub method: String,
    /// Statuses that count as healthy (default 200–299).
    #[serde(default)]
    pub expect_status: Vec<u16>,
    /// Text the body must contain.
    pub body_contains: Option<String>,
    /// A regex the body must match.
    pub body_regex: Option<String>,
    /// Slower answers count as failures.
    pub max_latency: Option<HumanDuration>,
    /// `https://` only: fail when the server's certificate expires within
    /// this long (e.g. `"14d"`), naming the expiry date, so it is renewed
    /// before clients start refusing it.
    pub cert_expires_within: Option<HumanDuration>,
    /// Conditions on a JSON body, all of which must hold:
    /// `json = [{ path = "$.status", equals = "ok" }]`.
    #[serde(default)]
    pub json: Vec<JsonCondition>,
    /// Outbound TLS for this probe (over `[tls]`).
    pub tls: Option<ClientTls>,
    /// How often.
    #[serde(default = "default_interval")]
    pub interval: HumanDuration,
    /// How long one check may take (default 5s, or the interval when shorter).
    #[serde(default = "default_timeout")]
    pub timeout: HumanDuration,
}

/// One condition on a JSON answer. `path` is `$` followed by `.key`,
/// `["key"]` or `[index]` steps (`$.checks[0].state`); with `equals` the
/// value there must equal it (a string, number or boolean), without it the
/// value must only exist.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct JsonCondition {
    /// Where in the body, from `$` (the whole document).
    pub path: String,
    /// The value expected there.
    pub equals: Option<toml::Value>,
}

/// A TCP connection.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct TcpProbe {
    /// `host:port`.
    pub address: String,
    /// How often.
    #[serde(default = "default_interval")]
    pub interval: HumanDuration,
    /// How long one check may take (default 5s, or the interval when shorter).
    #[serde(default = "default_timeout")]
    pub timeout: HumanDuration,
}

/// A command; exit code 0 is healthy.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExecProbe {
    /// The argv (never a shell string).
    pub command: Vec<String>,
    /// How often.
    #[serde(default = "default_interval")]
    pub interval: HumanDuration,
    /// How long one check may take (default 5s, or the interval when shorter).
    #[serde(default = "default_timeout")]
    pub timeout: HumanDuration,
    /// Variables set for the command. It starts from an empty environment
    /// plus `PATH`, `HOME`, `LANG`, `LC_*`, `TZ` and `USER`.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Names of the agent's own variables passed to the command.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pass_env: Vec<String>,
}

/// A process by pidfile; a zombie counts as dead.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessProbe {
    /// The pidfile.
    pub pidfile: String,
    /// How often.
    #[serde(default = "default_interval")]
    pub interval: HumanDuration,
    /// How long one check may take (default 5s, or the interval when shorter).
    #[serde(default = "default_timeout")]
    pub timeout: HumanDuration,
}

/// A systemd unit's state, from `systemctl show`: healthy while the unit is
/// loaded and `active`. A failed unit's `Result` (`exit-code`, `core-dump`,
/// `oom-kill`, `start-limit-hit`, …) and systemd's own restart count are the
/// evidence.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct SystemdProbe {
    /// The unit, e.g. `nginx.service`.
    pub unit: String,
    /// How often.
    #[serde(default = "default_interval")]
    pub interval: HumanDuration,
    /// How long one check may take (default 5s, or the interval when shorter).
    #[serde(default = "default_timeout")]
    pub timeout: HumanDuration,
}

/// A Kubernetes Deployment, read from the API server (`[kubernetes]` says
/// how to reach it): healthy while as many replicas are available and
/// updated as it asks for. Otherwise the message names what its pods say:
/// `CrashLoopBackOff`, `ImagePullBackOff`, `OOMKilled`,
/// `CreateContainerConfigError`, `Evicted`, unschedulable
/// (`FailedScheduling`), which the diagnosis reads.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesProbe {
    /// The Deployment's name.
    pub deployment: String,
    /// Its namespace (default: `[kubernetes] namespace`).
    pub namespace: Option<String>,
    /// How often.
    #[serde(default = "default_interval")]
    pub interval: HumanDuration,
    /// How long one check may take (default 5s, or the interval when shorter).
    #[serde(default = "default_timeout")]
    pub timeout: HumanDuration,
}

fn default_interval() -> HumanDuration {
    secs(10)
}

/// A probe's timeout when none is written and the interval is longer.
pub const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_secs(5);

fn default_timeout() -> HumanDuration {
    HumanDuration::new(DEFAULT_PROBE_TIMEOUT)
}

impl Target {
    /// Whether its work can only be done on one host: a supervised process,
    /// exec, process or systemd probes, log files, or exec, restart or
    /// systemd remedies. With replicas it should name its `node`.
    pub fn is_host_bound(&self) -> bool {
        self.supervise.is_some()
            || !self.logs.is_empty()
            || self
                .probes
                .iter()
                .any(|p| matches!(p, Probe::Exec(_) | Probe::Process(_) | Probe::Systemd(_)))
            || self.remedies.iter().any(|r| {
                matches!(
                    r.action,
                    Action::Exec(_) | Action::Restart(_) | Action::Systemd(_)
                )
            })
    }
}

impl Probe {
    /// The kind's name, as written in the config.
    pub fn kind(&self) -> &'static str {
        match self {
            Probe::Http(_) => "http",
            Probe::Tcp(_) => "tcp",
            Probe::Exec(_) => "exec",
            Probe::Process(_) => "process",
            Probe::Systemd(_) => "systemd",
            Probe::Kubernetes(_) => "kubernetes",
        }
    }

    /// How often it runs.
    pub fn interval(&self) -> HumanDuration {
        match self {
            Probe::Http(p) => p.interval,
            Probe::Tcp(p) => p.interval,
            Probe::Exec(p) => p.interval,
            Probe::Process(p) => p.interval,
            Probe::Systemd(p) => p.interval,
            Probe::Kubernetes(p) => p.interval,
        }
    }

    /// How long one check may take.
    pub fn timeout(&self) -> HumanDuration {
        match self {
            Probe::Http(p) => p.timeout,
            Probe::Tcp(p) => p.timeout,
            Probe::Exec(p) => p.timeout,
            Probe::Process(p) => p.timeout,
            Probe::Systemd(p) => p.timeout,
            Probe::Kubernetes(p) => p.timeout,
        }
    }

    /// Whether its `url` or `address` follows the target's active endpoint.
    pub fn uses_endpoint(&self) -> bool {
        match self {
            Probe::Http(p) => p.url.contains(ENDPOINT_PLACEHOLDER),
            Probe::Tcp(p) => p.address.contains(ENDPOINT_PLACEHOLDER),
            Probe::Exec(_) | Probe::Process(_) | Probe::Systemd(_) | Probe::Kubernetes(_) => false,
        }
    }

    /// The probe aimed at `endpoint`: `{{target.endpoint}}` in its `url` or
    /// `address` replaced (the endpoints are the operator's own config).
    ///
    /// ```
    /// use medic_engine::config::Probe;
    /// let probe: Probe = toml::from_str(r#"kind = "http"
    /// url = "http://{{target.endpoint}}/health""#).unwrap();
    /// assert!(probe.uses_endpoint());
    /// assert_eq!(probe.at_endpoint("10.0.0.2:80").describe(), "GET http://10.0.0.2:80/health");
    /// ```
    pub fn at_endpoint(&self, endpoint: &str) -> Probe {
        let mut probe = self.clone();
        match &mut probe {
            Probe::Http(p) => p.url = p.url.replace(ENDPOINT_PLACEHOLDER, endpoint),
            Probe::Tcp(p) => p.address = p.address.replace(ENDPOINT_PLACEHOLDER, endpoint),
            Probe::Exec(_) | Probe::Process(_) | Probe::Systemd(_) | Probe::Kubernetes(_) => {}
        }
        probe
    }

    /// What it checks, in a few words (`GET http://…`, `tcp 127.0.0.1:6379`).
    pub fn describe(&self) -> String {
        match self {
            Probe::Http(p) => format!("{} {}", p.method, p.url),
            Probe::Tcp(p) => format!("tcp {}", p.address),
            Probe::Exec(p) => format!("exec {:?}", p.command),
            Probe::Process(p) => format!("process {}", p.pidfile),
            Probe::Systemd(p) => format!("systemd {}", p.unit),
            Probe::Kubernetes(p) => format!(
                "kubernetes deployment {}{}",
                p.namespace
                    .as_deref()
                    .map(|n| format!("{n}/"))
                    .unwrap_or_default(),
                p.deployment
            ),
        }
    }
}

fn default_get() -> String {
    "GET".into()
}

/// A log file to tail.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogWatch {
    /// The file.
    pub path: String,
    /// Lines kept for diagnosis (default 50).
    #[serde(default = "default_tail_lines")]
    pub tail_lines: u32,
    /// Regexes of lines that mean trouble: `threshold` matches within
    /// `window` open an incident, whatever the probes say.
    #[serde(default)]
    pub patterns: Vec<String>,
    /// Matching lines within `window` that open an incident (default 2).
    #[serde(default = "default_log_threshold")]
    pub threshold: u32,
    /// The window for `threshold` (default 30s).
    #[serde(default = "default_log_window")]
    pub window: HumanDuration,
}

fn default_tail_lines() -> u32 {
    50
}

fn default_log_threshold() -> u32 {
    2
}

fn default_log_window() -> HumanDuration {
    secs(30)
}

/// `health = { … }`: when a target counts as down or up again.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Health {
    /// Failed probes in a row that make the target unhealthy (default 2).
    pub failure_threshold: u32,
    /// Passing probes in a row that make it healthy again (default 2).
    pub success_threshold: u32,
    /// Probe interval while suspect or verifying (default 100ms).
    pub confirm_interval: HumanDuration,
    /// How long a remedy has to show effect (default 30s).
    pub verify_window: HumanDuration,
    /// The longest probe interval while the target stays down with nothing
    /// to confirm (its incident waits: escalated, failed, awaiting approval,
    /// dry-run): the interval doubles after every probe up to this (default
    /// 60s; never below the probe's own interval).
    pub down_interval: HumanDuration,
    /// Healthy ↔ unhealthy changes allowed within `flap_window` before the
    /// target counts as flapping: automation pauses and a human is told (default 6).
    pub flap_limit: u32,
    /// The window for `flap_limit` (default 10m).
    pub flap_window: HumanDuration,
}

impl Default for Health {
    fn default() -> Self {
        Self {
            failure_threshold: 2,
            success_threshold: 2,
            confirm_interval: HumanDuration::new(Duration::from_millis(100)),
            verify_window: secs(30),
            down_interval: secs(60),
            flap_limit: 6,
            flap_window: secs(600),
        }
    }
}

/// `supervise = { … }`: a process medic starts, owns and restarts.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Supervise {
    /// The argv.
    pub command: Vec<String>,
    /// Working directory.
    pub cwd: Option<String>,
    /// Variables set for the process. It starts from an empty environment
    /// plus `PATH`, `HOME`, `LANG`, `LC_*`, `TZ` and `USER`: a service that
    /// needs more of the agent's environment names it in `pass_env`.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Names of the agent's own variables passed to the process.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pass_env: Vec<String>,
    /// Starts allowed within `start_window` before escalating (default 5).
    #[serde(default = "default_start_limit")]
    pub start_limit: u32,
    /// The window for `start_limit` (default 1m).
    #[serde(default = "default_start_window")]
    pub start_window: HumanDuration,
}

fn default_start_limit() -> u32 {
    5
}

fn default_start_window() -> HumanDuration {
    secs(60)
}

/// `[[targets.remedies]]`: one rung of the ladder.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Remedy {
    /// Unique within the target.
    pub name: String,
    /// When it applies (default: always).
    #[serde(default)]
    pub when: When,
    /// What it does.
    pub action: Action,
    /// `low` (default), `medium` or `high`; high always needs approval.
    #[serde(default)]
    pub risk: Risk,
    /// Whether it takes capacity away while it runs, so the storm brake
    /// (`policy.min_healthy`) may hold it. Default by kind: `restart`,
    /// `failover` and `systemd` restarts are disruptive.
    pub disruptive: Option<bool>,
}

impl Remedy {
    /// Whether the storm brake applies to it: as written, else by kind.
    pub fn is_disruptive(&self) -> bool {
        self.disruptive.unwrap_or(match &self.action {
            Action::Restart(_) | Action::Failover(_) => true,
            Action::Systemd(systemd) => systemd.verb != SystemdVerb::Reload,
            Action::Kubernetes(kubernetes) => {
                kubernetes.verb == KubernetesVerb::DeletePod
                    || (kubernetes.verb == KubernetesVerb::Scale && kubernetes.by < 0)
            }
            _ => false,
        })
    }
}

/// Conditions on the diagnosis; every given condition must hold.
#[derive(Debug, Clone, PartialEq, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct When {
    /// Any of these categories.
    pub category: Vec<Category>,
    /// Any of these severities.
    pub severity: Vec<Severity>,
    /// A regex on the failure's fingerprint.
    pub fingerprint: Option<String>,
    /// Labels the target must carry.
    pub labels: BTreeMap<String, String>,
}

/// How risky a remedy is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Default,
    serde::Deserialize,
    serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    /// Safe to run unattended.
    #[default]
    Low,
    /// Runs unattended within budgets.
    Medium,
    /// Always needs approval.
    High,
}

/// What a remedy does.
// Read once from the configuration, like `Probe`.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Action {
    /// An HTTP request.
    Http(HttpAction),
    /// A command: argv, never a shell string; placeholders fill single arguments.
    Exec(ExecAction),
    /// Restart the supervised process.
    Restart(RestartAction),
    /// Switch to the next of the target's `endpoints`.
    Failover(FailoverAction),
    /// Tell a human: a webhook in the chosen shape.
    Escalate(EscalateAction),
    /// Wait, e.g. for a dependency to come back by itself.
    Wait(WaitAction),
    /// A systemd unit: restart, reload, or clear its failed state and start it.
    Systemd(SystemdAction),
    /// A Kubernetes Deployment: restart its pods, scale it, or delete its
    /// pods that are not ready.
    Kubernetes(KubernetesAction),
}

tagged_enum!(Action, "action", {
    "http" => Http(HttpAction),
    "exec" => Exec(ExecAction),
    "restart" => Restart(RestartAction),
    "failover" => Failover(FailoverAction),
    "escalate" => Escalate(EscalateAction),
    "wait" => Wait(WaitAction),
    "systemd" => Systemd(SystemdAction),
    "kubernetes" => Kubernetes(KubernetesAction),
});

/// A change to a Kubernetes Deployment through the API server, as
/// `kubectl rollout restart`, `kubectl scale` or `kubectl delete pod` would
/// make it. Under `policy.mode = "dry-run"` it is sent with `dryRun=All`:
/// the API server checks it (RBAC, admission) and changes nothing.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesAction {
    /// What to do.
    pub verb: KubernetesVerb,
    /// The Deployment's name.
    pub deployment: String,
    /// Its namespace (default: `[kubernetes] namespace`).
    pub namespace: Option<String>,
    /// `scale`: how many replicas to add (negative: remove), default 1.
    #[serde(default = "default_scale_by")]
    pub by: i32,
    /// `scale`: never fewer replicas than this (default 1; 0 is refused:
    /// scaling to zero takes the service away).
    #[serde(default = "default_scale_min")]
    pub min: u32,
    /// `scale`: never more replicas than this (required for `scale`).
    pub max: Option<u32>,
    /// How long each API call may take (default 10s).
    #[serde(default = "default_kubernetes_timeout")]
    pub timeout: HumanDuration,
}

fn default_scale_by() -> i32 {
    1
}

fn default_scale_min() -> u32 {
    1
}

fn default_kubernetes_timeout() -> HumanDuration {
    secs(10)
}

/// What a Kubernetes action does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub enum KubernetesVerb {
    /// Restart every pod, one batch at a time (the Deployment's rollout).
    #[serde(rename = "rollout-restart")]
    RolloutRestart,
    /// Change the replica count by `by`, within `min..=max`.
    #[serde(rename = "scale")]
    Scale,
    /// Delete the Deployment's pods that are not ready; its ReplicaSet
    /// starts new ones.
    #[serde(rename = "delete-pod")]
    DeletePod,
}

/// `[kubernetes]`: how medic reaches the API server. In a pod it uses the
/// service account (token re-read at every call, as it rotates); elsewhere
/// a kubeconfig. The RBAC it needs is in `deploy/kubernetes/rbac.yaml`.
#[derive(Debug, Clone, PartialEq, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Kubernetes {
    /// A kubeconfig file (default: the service account in a pod, else
    /// `$KUBECONFIG`, else `~/.kube/config`). Tokens, token files and
    /// client certificate files are supported; `exec` credential plugins
    /// are not.
    pub kubeconfig: Option<String>,
    /// The kubeconfig's context (default: its `current-context`).
    pub context: Option<String>,
    /// The namespace of probes and actions that name none (default: the
    /// pod's own, or the context's, or `default`).
    pub namespace: Option<String>,
}

/// An HTTP request.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpAction {
    /// The method (default POST).
    #[serde(default = "default_post")]
    pub method: String,
    /// The URL; may use `{{…}}` placeholders (URL-encoded).
    pub url: String,
    /// Headers; values may use placeholders.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The body; may use placeholders (JSON-escaped).
    pub body: Option<String>,
    /// Statuses that count as success (default 200–299).
    #[serde(default)]
    pub expect_status: Vec<u16>,
    /// How long to wait (default 10s).
    #[serde(default = "default_action_timeout")]
    pub timeout: HumanDuration,
    /// Outbound TLS for this request (over `[tls]`).
    pub tls: Option<ClientTls>,
}

/// A command: argv, never a shell string; placeholders fill single arguments.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExecAction {
    /// The argv.
    pub command: Vec<String>,
    /// How long it may run (default 10s).
    #[serde(default = "default_action_timeout")]
    pub timeout: HumanDuration,
    /// Variables set for the command. It starts from an empty environment
    /// plus `PATH`, `HOME`, `LANG`, `LC_*`, `TZ` and `USER`, and the
    /// incident's facts (`MEDIC_TARGET`, `MEDIC_ROOT_CAUSE`, …).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Names of the agent's own variables passed to the command.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pass_env: Vec<String>,
    /// Working directory.
    pub cwd: Option<String>,
}

/// Restart the supervised process.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct RestartAction {}

/// A systemd unit, through `systemctl` (run with the agent's rights, in a
/// clean environment, like any command).
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct SystemdAction {
    /// What to do.
    pub verb: SystemdVerb,
    /// The unit, e.g. `nginx.service`.
    pub unit: String,
    /// How long each `systemctl` call may take (default 30s: a stop may wait
    /// out the unit's own stop timeout).
    #[serde(default = "default_systemd_timeout")]
    pub timeout: HumanDuration,
}

fn default_systemd_timeout() -> HumanDuration {
    secs(30)
}

/// A systemd action's verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub enum SystemdVerb {
    /// `systemctl restart`.
    #[serde(rename = "restart")]
    Restart,
    /// `systemctl reload`.
    #[serde(rename = "reload")]
    Reload,
    /// `systemctl reset-failed` then `systemctl start`: what a unit that hit
    /// its start limit needs (a plain restart is refused until then).
    #[serde(rename = "reset-failed+start")]
    ResetFailedStart,
}

impl SystemdVerb {
    /// The `systemctl` verbs it runs, in order.
    pub fn commands(self) -> &'static [&'static str] {
        match self {
            SystemdVerb::Restart => &["restart"],
            SystemdVerb::Reload => &["reload"],
            SystemdVerb::ResetFailedStart => &["reset-failed", "start"],
        }
    }
}

/// Switch to the next of the target's `endpoints`.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct FailoverAction {}

/// Tell a human: a webhook in the chosen shape.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct EscalateAction {
    /// The webhook URL.
    pub webhook: String,
    /// `generic` (default), `pagerduty` (Events v2) or `slack`.
    #[serde(default)]
    pub format: EscalationFormat,
    /// For PagerDuty: the environment variable holding the routing key.
    pub routing_key_env: Option<String>,
    /// Outbound TLS for the webhook (over `[tls]`).
    pub tls: Option<ClientTls>,
}

/// Wait, e.g. for a dependency to come back by itself.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct WaitAction {
    /// How long.
    pub duration: HumanDuration,
}

fn default_post() -> String {
    "POST".into()
}

fn default_action_timeout() -> HumanDuration {
    secs(10)
}

impl Action {
    /// The kind's name, as written in the config.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Http(_) => "http",
            Action::Exec(_) => "exec",
            Action::Restart(_) => "restart",
            Action::Failover(_) => "failover",
            Action::Escalate(_) => "escalate",
            Action::Wait(_) => "wait",
            Action::Systemd(_) => "systemd",
            Action::Kubernetes(_) => "kubernetes",
        }
    }

    /// The longest one run of it can take. An action left in flight by an
    /// agent that stopped is waited out this long (from its start) before
    /// the target's health decides what it did: never run twice, never raced.
    pub fn longest_run(&self) -> Duration {
        /// A restart (the process's stop grace and start), a failover or a
        /// page: bounded by their executors' own timeouts, all shorter.
        const OTHERS: Duration = Duration::from_secs(30);
        match self {
            Action::Http(http) => http.timeout.get(),
            Action::Exec(exec) => exec.timeout.get(),
            Action::Wait(wait) => wait.duration.get(),
            Action::Systemd(systemd) => {
                systemd.timeout.get() * systemd.verb.commands().len() as u32
            }
            // A scale may read and write twice (a lost race).
            Action::Kubernetes(kubernetes) => kubernetes.timeout.get() * 4,
            Action::Restart(_) | Action::Failover(_) | Action::Escalate(_) => OTHERS,
        }
    }
}

/// The body shape of an escalation webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EscalationFormat {
    /// medic's own JSON.
    #[default]
    Generic,
    /// PagerDuty Events API v2.
    Pagerduty,
    /// A Slack incoming webhook.
    Slack,
}
