//! `medic.toml`: the schema ([`Config`]), parsing with `MEDIC_*` overrides
//! ([`parse`]), and validation with errors located by key path.

mod duration;
mod load;
mod schema;
mod validate;

pub use duration::{DurationError, HumanDuration};
pub use load::{ConfigError, ConfigErrors, parse};
pub use schema::{
    Action, ApiKey, Auth, Config, EscalationFormat, Health, Llm, LlmProvider, LogWatch, Mode,
    Policy, Probe, Remedy, Risk, Scope, Server, Storage, Supervise, Target, WebhookSecret,
    Webhooks, When,
};
pub use validate::validate;
