//! The flow file (TOML) → a validated [`Flow`]: parse into plain structs
//! that refuse unknown keys, then build, checking what each kind of step
//! needs. Every error names its key path, one line.
//!
//! ```toml
//! name = "orders-tax"
//! escalate = "http://127.0.0.1:9000/page"     # optional: POSTed when a step escalates
//! [vars]                                      # {{vars.NAME}}; `--set NAME=VALUE` overrides
//! shop = "http://127.0.0.1:8000"
//! [[steps]]
//! name = "orders"
//! kind = "http"                               # http | command | validate
//! urls = ["{{vars.shop}}/orders"]             # tried in order: failover
//! retry = { attempts = 5, initial = "200ms", max = "2s" }
//! on_failure = "escalate"                     # or "fail" (the default)
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use medic_engine::config::HumanDuration;
use medic_resilience::backoff::{Backoff, Jitter};
use serde::Deserialize;
use serde_json::Value;

use super::values::{Reference, placeholders};

/// Per-request timeout of an http step, unless the step says otherwise.
const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a command step may run, unless the step says otherwise.
const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(300);
/// At most this many attempts per URL or command: a flow is not a daemon.
const MAX_ATTEMPTS: u32 = 100;
/// Programs that would read a value as script text: no placeholder may reach them.
const SHELLS: &[&str] = &[
    "sh", "bash", "dash", "zsh", "ksh", "ash", "fish", "csh", "tcsh",
];

/// A validated flow.
#[derive(Debug, Clone)]
pub(crate) struct Flow {
    pub name: String,
    /// Defaults merged with `--set` overrides.
    pub vars: BTreeMap<String, String>,
    pub escalate: Option<String>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub name: String,
    pub action: Action,
    pub retry: RetryPolicy,
    pub on_failure: OnFailure,
}

#[derive(Debug, Clone)]
pub(crate) enum Action {
    Http(HttpStep),
    Command(CommandStep),
    Validate(Vec<Check>),
}

#[cfg(test)]
impl Action {
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Action::Http(_) => "http",
            Action::Command(_) => "command",
            Action::Validate(_) => "validate",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct HttpStep {
    /// URL templates, in failover order.
    pub urls: Vec<String>,
    pub method: reqwest::Method,
    /// A JSON template, sent as the request body.
    pub body: Option<Value>,
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub(crate) struct CommandStep {
    /// Argv templates: each element stays one argument.
    pub argv: Vec<String>,
    pub timeout: Duration,
}

/// One expectation about one value of the state.
#[derive(Debug, Clone)]
pub(crate) struct Check {
    pub path: Reference,
    pub expect: Vec<Expectation>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expectation {
    /// Equal to this JSON value (a template; numbers compare as numbers).
    Equals(Value),
    /// A number at least this (a number or one placeholder).
    Min(Value),
    /// A number at most this.
    Max(Value),
    /// Present (true) or absent (false).
    Exists(bool),
    /// An array, string or object of exactly this length.
    Length(u64),
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryPolicy {
    /// Attempts per URL (http) or in all (command), the first included.
    pub attempts: u32,
    pub backoff: Backoff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum OnFailure {
    /// The run ends as `failed`.
    Fail,
    /// The run ends as `escalated`, and the flow's `escalate` webhook is told.
    Escalate,
}

/// A flow file problem: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FlowError {
    pub path: String,
    pub message: String,
}

impl FlowError {
    fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FlowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFlow {
    name: String,
    #[serde(default)]
    vars: BTreeMap<String, String>,
    escalate: Option<String>,
    #[serde(default)]
    steps: Vec<RawStep>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Http,
    Command,
    Validate,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    name: String,
    kind: Kind,
    urls: Option<Vec<String>>,
    method: Option<String>,
    body: Option<toml::Value>,
    command: Option<Vec<String>>,
    timeout: Option<HumanDuration>,
    checks: Option<Vec<RawCheck>>,
    retry: Option<RawRetry>,
    on_failure: Option<OnFailure>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetry {
    attempts: u32,
    initial: Option<HumanDuration>,
    max: Option<HumanDuration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    path: String,
    equals: Option<toml::Value>,
    min: Option<toml::Value>,
    max: Option<toml::Value>,
    exists: Option<bool>,
    length: Option<u64>,
}

/// Parses and validates a flow; `overrides` are `--set NAME=VALUE` pairs
/// (each must name a declared variable). Returns the first problem.
pub(crate) fn parse(text: &str, overrides: &BTreeMap<String, String>) -> Result<Flow, FlowError> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        FlowError::new(location(text, e.span()), e.message().trim().to_string())
    })?;
    let raw: RawFlow =
        serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
            let path = e.path().to_string();
            let message = e
                .inner()
                .message()
                .lines()
                .next()
                .unwrap_or_default()
                .to_string();
            FlowError::new(if path == "." { String::new() } else { path }, message)
        })?;
    build(raw, overrides)
}

fn location(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    let Some(span) = span else {
        return String::new();
    };
    let before = &text[..span.start.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    format!("line {line}, column {column}")
}

fn is_name(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn build(raw: RawFlow, overrides: &BTreeMap<String, String>) -> Result<Flow, FlowError> {
    if raw.name.trim().is_empty() {
        return Err(FlowError::new("name", "must not be empty"));
    }
    let mut vars = raw.vars;
    for name in vars.keys() {
        if !is_name(name) {
            return Err(FlowError::new(
                format!("vars.{name}"),
                "a variable name may hold only letters, digits, `_` and `-`",
            ));
        }
    }
    for (name, value) in overrides {
        let Some(slot) = vars.get_mut(name) else {
            let declared: Vec<&str> = vars.keys().map(String::as_str).collect();
            return Err(FlowError::new(
                format!("--set {name}"),
                format!(
                    "the flow declares no variable `{name}` (declared: {})",
                    if declared.is_empty() {
                        "none".to_string()
                    } else {
                        declared.join(", ")
                    }
                ),
            ));
        };
        value.clone_into(slot);
    }
    if let Some(url) = &raw.escalate
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return Err(FlowError::new(
            "escalate",
            "must be an http:// or https:// URL",
        ));
    }
    if raw.steps.is_empty() {
        return Err(FlowError::new(
            "steps",
            "a flow needs at least one [[steps]]",
        ));
    }
    let mut earlier = BTreeSet::new();
    let mut steps = Vec::with_capacity(raw.steps.len());
    for (index, raw_step) in raw.steps.into_iter().enumerate() {
        let at = format!("steps[{index}]");
        let known = Known {
            steps: &earlier,
            vars: &vars,
        };
        let step = build_step(&at, raw_step, &known)?;
        if !earlier.insert(step.name.clone()) {
            return Err(FlowError::new(
                format!("{at}.name"),
                format!("another step is already named `{}`", step.name),
            ));
        }
        steps.push(step);
    }
    Ok(Flow {
        name: raw.name,
        vars,
        escalate: raw.escalate,
        steps,
    })
}

/// What a placeholder may name at one step: the steps before it and the variables.
struct Known<'a> {
    steps: &'a BTreeSet<String>,
    vars: &'a BTreeMap<String, String>,
}

impl Known<'_> {
    fn check(&self, at: &str, reference: &Reference) -> Result<(), FlowError> {
        let known = match reference {
            Reference::Step { name, .. } => self.steps.contains(name),
            Reference::Var(name) => self.vars.contains_key(name),
        };
        if known {
            return Ok(());
        }
        let why = match reference {
            Reference::Step { name, .. } => format!("no step `{name}` runs before this one"),
            Reference::Var(name) => format!("[vars] declares no `{name}`"),
        };
        Err(FlowError::new(at, format!("`{reference}`: {why}")))
    }

    fn check_template(&self, at: &str, template: &str) -> Result<Vec<Reference>, FlowError> {
        let references = placeholders(template).map_err(|e| FlowError::new(at, e))?;
        for reference in &references {
            self.check(at, reference)?;
        }
        Ok(references)
    }

    /// Checks every string inside a JSON template.
    fn check_json(&self, at: &str, value: &Value) -> Result<(), FlowError> {
        match value {
            Value::String(text) => self.check_template(at, text).map(drop),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .try_for_each(|(i, item)| self.check_json(&format!("{at}[{i}]"), item)),
            Value::Object(map) => map
                .iter()
                .try_for_each(|(key, item)| self.check_json(&format!("{at}.{key}"), item)),
            _ => Ok(()),
        }
    }
}

fn toml_to_json(at: &str, value: toml::Value) -> Result<Value, FlowError> {
    serde_json::to_value(value).map_err(|e| FlowError::new(at, format!("not a JSON value: {e}")))
}

/// Refuses keys that belong to another kind of step.
fn refuse_foreign_keys(at: &str, raw: &RawStep) -> Result<(), FlowError> {
    let given = [
        ("urls", raw.urls.is_some(), Kind::Http),
        ("method", raw.method.is_some(), Kind::Http),
        ("body", raw.body.is_some(), Kind::Http),
        ("command", raw.command.is_some(), Kind::Command),
        ("checks", raw.checks.is_some(), Kind::Validate),
    ];
    for (key, present, owner) in given {
        if present && owner != raw.kind {
            return Err(FlowError::new(
                format!("{at}.{key}"),
                format!("not a key of a {} step", kind_name(raw.kind)),
            ));
        }
    }
    if raw.kind == Kind::Validate {
        for (key, present) in [
            ("retry", raw.retry.is_some()),
            ("timeout", raw.timeout.is_some()),
        ] {
            if present {
                return Err(FlowError::new(
                    format!("{at}.{key}"),
                    "a validate step checks the state once; it has no retry or timeout",
                ));
            }
        }
    }
    Ok(())
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Http => "http",
        Kind::Command => "command",
        Kind::Validate => "validate",
    }
}

fn build_step(at: &str, raw: RawStep, known: &Known<'_>) -> Result<Step, FlowError> {
    if !is_name(&raw.name) {
        return Err(FlowError::new(
            format!("{at}.name"),
            "a step name may hold only letters, digits, `_` and `-` (it is used in steps.NAME.KEY)",
        ));
    }
    refuse_foreign_keys(at, &raw)?;
    let default_attempts = if raw.kind == Kind::Http { 3 } else { 1 };
    let retry = build_retry(at, raw.retry, default_attempts)?;
    let timeout = raw.timeout.map(HumanDuration::get);
    if timeout == Some(Duration::ZERO) {
        return Err(FlowError::new(
            format!("{at}.timeout"),
            "must be more than 0",
        ));
    }
    let action = match raw.kind {
        Kind::Http => Action::Http(build_http(
            at, raw.urls, raw.method, raw.body, timeout, known,
        )?),
        Kind::Command => Action::Command(build_command(at, raw.command, timeout, known)?),
        Kind::Validate => Action::Validate(build_checks(at, raw.checks, known)?),
    };
    Ok(Step {
        name: raw.name,
        action,
        retry,
        on_failure: raw.on_failure.unwrap_or(OnFailure::Fail),
    })
}

fn build_retry(
    at: &str,
    raw: Option<RawRetry>,
    default_attempts: u32,
) -> Result<RetryPolicy, FlowError> {
    let (attempts, initial, max) = match raw {
        Some(raw) => (
            raw.attempts,
            raw.initial
                .map_or(Duration::from_millis(200), HumanDuration::get),
            raw.max.map_or(Duration::from_secs(5), HumanDuration::get),
        ),
        None => (
            default_attempts,
            Duration::from_millis(200),
            Duration::from_secs(5),
        ),
    };
    if !(1..=MAX_ATTEMPTS).contains(&attempts) {
        return Err(FlowError::new(
            format!("{at}.retry.attempts"),
            format!("must be between 1 and {MAX_ATTEMPTS} (the first attempt counts)"),
        ));
    }
    let backoff = Backoff::try_new(initial, max.max(initial), 2.0, Jitter::Equal)
        .map_err(|e| FlowError::new(format!("{at}.retry"), e.to_string()))?;
    if max < initial {
        return Err(FlowError::new(
            format!("{at}.retry.max"),
            "must be at least `initial`",
        ));
    }
    Ok(RetryPolicy { attempts, backoff })
}

fn build_http(
    at: &str,
    urls: Option<Vec<String>>,
    method: Option<String>,
    body: Option<toml::Value>,
    timeout: Option<Duration>,
    known: &Known<'_>,
) -> Result<HttpStep, FlowError> {
    let urls = urls.unwrap_or_default();
    if urls.is_empty() {
        return Err(FlowError::new(
            format!("{at}.urls"),
            "an http step needs at least one URL (more are tried in order when one fails)",
        ));
    }
    for (i, url) in urls.iter().enumerate() {
        let key = format!("{at}.urls[{i}]");
        known.check_template(&key, url)?;
        // The scheme must be literal, or come from a variable (a base URL).
        if !(url.starts_with("http://") || url.starts_with("https://") || url.starts_with("{{")) {
            return Err(FlowError::new(key, "must be an http:// or https:// URL"));
        }
    }
    let method = match method.as_deref().map(str::to_ascii_uppercase).as_deref() {
        None | Some("GET") => reqwest::Method::GET,
        Some("POST") => reqwest::Method::POST,
        Some("PUT") => reqwest::Method::PUT,
        Some("PATCH") => reqwest::Method::PATCH,
        Some("DELETE") => reqwest::Method::DELETE,
        Some(other) => {
            return Err(FlowError::new(
                format!("{at}.method"),
                format!("unknown method {other:?}; expected GET, POST, PUT, PATCH or DELETE"),
            ));
        }
    };
    let body = body
        .map(|body| {
            let key = format!("{at}.body");
            let json = toml_to_json(&key, body)?;
            known.check_json(&key, &json)?;
            Ok(json)
        })
        .transpose()?;
    Ok(HttpStep {
        urls,
        method,
        body,
        timeout: timeout.unwrap_or(DEFAULT_HTTP_TIMEOUT),
    })
}

fn build_command(
    at: &str,
    command: Option<Vec<String>>,
    timeout: Option<Duration>,
    known: &Known<'_>,
) -> Result<CommandStep, FlowError> {
    let key = format!("{at}.command");
    let argv = command.unwrap_or_default();
    if argv.first().is_none_or(|program| program.trim().is_empty()) {
        return Err(FlowError::new(
            key,
            "a command step needs an argv, e.g. [\"make\", \"report\"]",
        ));
    }
    let mut shell = None;
    for (i, element) in argv.iter().enumerate() {
        let references = known.check_template(&format!("{key}[{i}]"), element)?;
        let program = element.rsplit('/').next().unwrap_or(element);
        if SHELLS.contains(&program) {
            shell = shell.or(Some(program.to_string()));
        }
        if let (Some(shell), false) = (&shell, references.is_empty()) {
            return Err(FlowError::new(
                format!("{key}[{i}]"),
                format!(
                    "placeholders may not reach a shell ({shell}): run a program and pass the value as its argument"
                ),
            ));
        }
    }
    medic_engine::safety::check_command_template(&argv)
        .map_err(|refusal| FlowError::new(key, refusal.to_string()))?;
    Ok(CommandStep {
        argv,
        timeout: timeout.unwrap_or(DEFAULT_COMMAND_TIMEOUT),
    })
}

fn build_checks(
    at: &str,
    checks: Option<Vec<RawCheck>>,
    known: &Known<'_>,
) -> Result<Vec<Check>, FlowError> {
    let checks = checks.unwrap_or_default();
    if checks.is_empty() {
        return Err(FlowError::new(
            format!("{at}.checks"),
            "a validate step needs at least one check, e.g. { path = \"steps.tax.total_cents\", min = 0 }",
        ));
    }
    checks
        .into_iter()
        .enumerate()
        .map(|(i, raw)| {
            let at = format!("{at}.checks[{i}]");
            let path =
                Reference::parse(&raw.path).map_err(|e| FlowError::new(format!("{at}.path"), e))?;
            known.check(&format!("{at}.path"), &path)?;
            let mut expect = Vec::new();
            if let Some(value) = raw.equals {
                let json = toml_to_json(&format!("{at}.equals"), value)?;
                known.check_json(&format!("{at}.equals"), &json)?;
                expect.push(Expectation::Equals(json));
            }
            for (key, bound, make) in [
                ("min", raw.min, Expectation::Min as fn(Value) -> Expectation),
                ("max", raw.max, Expectation::Max),
            ] {
                if let Some(value) = bound {
                    let key = format!("{at}.{key}");
                    let json = toml_to_json(&key, value)?;
                    let whole_placeholder = json.as_str().is_some_and(|text| {
                        placeholders(text).is_ok_and(|refs| refs.len() == 1)
                            && text.trim().starts_with("{{")
                            && text.trim().ends_with("}}")
                    });
                    if !json.is_number() && !whole_placeholder {
                        return Err(FlowError::new(
                            key,
                            "must be a number or one {{placeholder}}",
                        ));
                    }
                    known.check_json(&key, &json)?;
                    expect.push(make(json));
                }
            }
            if let Some(exists) = raw.exists {
                expect.push(Expectation::Exists(exists));
            }
            if let Some(length) = raw.length {
                expect.push(Expectation::Length(length));
            }
            if expect.is_empty() {
                return Err(FlowError::new(
                    at,
                    "a check needs an expectation: equals, min, max, exists or length",
                ));
            }
            Ok(Check { path, expect })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "orders-tax"
[vars]
shop = "http://127.0.0.1:8000"
[[steps]]
name = "orders"
kind = "http"
urls = ["{{vars.shop}}/orders?busy=2"]
retry = { attempts = 5, initial = "100ms", max = "2s" }
[[steps]]
name = "tax"
kind = "http"
method = "post"
urls = ["http://127.0.0.1:9/tax", "{{vars.shop}}/tax"]
body = { orders = "{{steps.orders.orders}}" }
on_failure = "escalate"
[[steps]]
name = "report"
kind = "command"
command = ["echo", "total={{steps.tax.total_cents}}"]
[[steps]]
name = "totals"
kind = "validate"
checks = [
  { path = "steps.tax.count", equals = "{{steps.orders.count}}" },
  { path = "steps.tax.total_cents", min = "{{steps.tax.subtotal_cents}}", max = 1000000 },
  { path = "steps.orders.orders", length = 3, exists = true },
]
"#;

    fn error_of(text: &str) -> String {
        parse(text, &BTreeMap::new())
            .expect_err("refused")
            .to_string()
    }

    #[test]
    fn a_good_flow_builds_with_defaults_and_overrides() {
        let overrides = BTreeMap::from([("shop".to_string(), "http://127.0.0.1:4321".to_string())]);
        let flow = parse(GOOD, &overrides).expect("valid");
        assert_eq!(flow.name, "orders-tax");
        assert_eq!(flow.vars["shop"], "http://127.0.0.1:4321");
        let kinds: Vec<&str> = flow.steps.iter().map(|s| s.action.kind()).collect();
        assert_eq!(kinds, ["http", "http", "command", "validate"]);
        assert_eq!(flow.steps[0].retry.attempts, 5);
        assert_eq!(flow.steps[1].retry.attempts, 3, "http default");
        assert_eq!(
            flow.steps[2].retry.attempts, 1,
            "commands run once by default"
        );
        assert_eq!(flow.steps[1].on_failure, OnFailure::Escalate);
        let Action::Http(tax) = &flow.steps[1].action else {
            panic!("http")
        };
        assert_eq!(tax.method, reqwest::Method::POST);
        assert_eq!(tax.urls.len(), 2);
        let Action::Validate(checks) = &flow.steps[3].action else {
            panic!("validate")
        };
        assert_eq!(checks[1].expect.len(), 2);
        assert_eq!(
            checks[2].expect,
            [Expectation::Exists(true), Expectation::Length(3)]
        );
    }

    #[test]
    fn errors_name_the_key_in_one_line() {
        let cases = [
            (
                GOOD.replace("kind = \"command\"", "kind = \"shell\""),
                "steps[2].kind: unknown variant `shell`",
            ),
            (
                GOOD.replace("retry = {", "retries = 2\nretry = {"),
                "steps[0].retries: unknown field `retries`",
            ),
            (
                GOOD.replace("method = \"post\"", "method = \"post\"\ncommand = [\"x\"]"),
                "steps[1].command: not a key of a http step",
            ),
            (
                GOOD.replace("{{steps.orders.orders}}", "{{steps.totals.orders}}"),
                "steps[1].body.orders: `steps.totals.orders`: no step `totals` runs before this one",
            ),
            (
                GOOD.replace("{{vars.shop}}/orders", "{{vars.shoop}}/orders"),
                "steps[0].urls[0]: `vars.shoop`: [vars] declares no `shoop`",
            ),
            (
                GOOD.replace("attempts = 5", "attempts = 0"),
                "steps[0].retry.attempts: must be between 1 and 100",
            ),
            (
                GOOD.replace("name = \"tax\"", "name = \"orders\""),
                "steps[1].name: another step is already named `orders`",
            ),
            (
                GOOD.replace("length = 3, exists = true", "lenght = 3"),
                "steps[3].checks[2].lenght: unknown field `lenght`",
            ),
            (
                GOOD.replace("max = 1000000", "max = \"lots\""),
                "steps[3].checks[1].max: must be a number or one {{placeholder}}",
            ),
            (
                GOOD.replace("[\"echo\", ", "[\"rm\", \"-rf\", \"/\", "),
                "steps[2].command: refused by the destructive-command guard",
            ),
            (
                GOOD.replace("[\"echo\", ", "[\"sh\", \"-c\", "),
                "steps[2].command[2]: placeholders may not reach a shell (sh)",
            ),
            (GOOD.replace("[vars]", "[vars\n"), "line 3, column"),
            (
                "name = \"x\"\n".to_string(),
                "steps: a flow needs at least one [[steps]]",
            ),
        ];
        for (text, expected) in cases {
            let error = error_of(&text);
            assert!(
                error.starts_with(expected),
                "{error:?} should start with {expected:?}"
            );
            assert_eq!(error.lines().count(), 1, "{error}");
        }
    }

    #[test]
    fn set_must_name_a_declared_variable() {
        let overrides = BTreeMap::from([("shpo".to_string(), "x".to_string())]);
        let error = parse(GOOD, &overrides).expect_err("refused").to_string();
        assert_eq!(
            error,
            "--set shpo: the flow declares no variable `shpo` (declared: shop)"
        );
    }
}
