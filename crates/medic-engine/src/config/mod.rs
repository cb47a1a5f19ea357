//! `medic.toml`: the schema ([`Config`]), parsing with `MEDIC_*` overrides
//! ([`parse`]), and validation with errors located by key path.

mod duration;
mod http_shape;
mod json_path;
mod load;
mod reference;
mod schema;
mod secrets;
mod validate;

pub use duration::{DurationError, HumanDuration};
pub use json_path::{JsonPath, json_equals};
pub use load::{ConfigError, ConfigErrors, parse};
pub use reference::reference_markdown;
pub use schema::{
    Action, AlertmanagerWebhook, ApiKey, Auth, CiWebhook, ClientTls, Cluster, Config,
    DEFAULT_MAX_RERUNS, DiagnosisRule, DiagnosisRules, EscalateAction, EscalationFormat,
    ExecAction, ExecProbe, FailoverAction, Health, HttpAction, HttpProbe, JsonCondition,
    Kubernetes, KubernetesAction, KubernetesProbe, KubernetesVerb, Llm, LlmProvider, LogWatch,
    Maintenance, Mode, OnFlapping, Policy, Probe, ProcessProbe, Remedy, RestartAction, Risk, Scope,
    Server, Storage, Supervise, SystemdAction, SystemdProbe, SystemdVerb, Target, TcpProbe, Tls,
    WaitAction, WebhookSecret, Webhooks, When, effective_tls,
};
pub use schema::{DEFAULT_PROBE_TIMEOUT, ENDPOINT_PLACEHOLDER, Failback, Log, LogFormat};
pub use validate::validate;
