//! The executor: one entry point for every action kind, behind the
//! per-action circuit breakers.

use std::sync::Arc;
use std::time::Duration;

use medic_client::{ClientTls, Clients};
use medic_engine::config::{Action, EscalateAction, HumanDuration, Risk, Target};
use medic_resilience::ConfigError;
use medic_resilience::breaker::BreakerSnapshot;
use medic_resilience::retry::Retry;
use tokio::time::Instant;

use crate::breakers::{ActionBreakers, BreakerSettings};
use crate::context::ActionContext;
use crate::outcome::ActionOutcome;
use crate::supervise::{SuperviseError, Supervisor};
use crate::{escalate, exec, http, kubernetes, systemd};

/// Runs actions. Cheap to clone: clones share the HTTP client, the active
/// endpoints, the breakers and the supervisor.
///
/// ```
/// use medic_act::{ActionContext, Executor};
/// use medic_engine::config::{Action, Target, WaitAction};
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let executor = Executor::builder().build()?;
/// let target: Target = toml::from_str(r#"name = "payments""#)?;
/// let wait = Action::Wait(WaitAction { duration: "2s".parse()? });
/// let outcome = executor.run(&target, &wait, &ActionContext::default()).await;
/// assert!(outcome.success);
/// assert_eq!(outcome.duration_ms, 2000);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Executor {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    clients: Clients,
    supervisor: Option<Supervisor>,
    breakers: ActionBreakers,
    escalation_retry: Retry,
    restart_settle: Duration,
    public_url: Option<String>,
    /// `[kubernetes]`, connected at the first Kubernetes action.
    kubernetes: medic_engine::config::Kubernetes,
    kube_api: std::sync::OnceLock<Arc<medic_client::KubeApi>>,
}

/// The executor could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ExecutorBuildError {
    /// A setting is invalid; the error names it.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The HTTP client could not be created.
    #[error("cannot create the HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
    /// The outbound `[tls]` settings cannot be used.
    #[error("{0}")]
    Client(#[from] medic_client::ClientError),
}

/// Builds an [`Executor`]; [`ExecutorBuilder::build`] validates every setting.
#[derive(Debug)]
pub struct ExecutorBuilder {
    supervisor: Option<Supervisor>,
    breakers: BreakerSettings,
    escalation_attempts: u32,
    escalation_initial_backoff: Duration,
    escalation_timeout: Duration,
    restart_settle: Duration,
    tls: ClientTls,
    public_url: Option<String>,
    kubernetes: medic_engine::config::Kubernetes,
}

impl Default for ExecutorBuilder {
    fn default() -> Self {
        Self {
            supervisor: None,
            breakers: BreakerSettings::default(),
            escalation_attempts: 3,
            escalation_initial_backoff: Duration::from_millis(200),
            escalation_timeout: Duration::from_secs(10),
            restart_settle: Duration::from_millis(200),
            tls: ClientTls::default(),
            public_url: None,
            kubernetes: Default::default(),
        }
    }
}

/// Every action client: medic's user agent; redirects as reqwest's default.
fn configure(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    builder.user_agent(concat!("medic/", env!("CARGO_PKG_VERSION")))
}

impl ExecutorBuilder {
    /// The supervisor `restart` actions go to (default: none, and `restart` fails).
    pub fn supervisor(mut self, supervisor: Supervisor) -> Self {
        self.supervisor = Some(supervisor);
        self
    }

    /// How the per-(target, remedy) circuit breakers trip and recover.
    pub fn breakers(mut self, settings: BreakerSettings) -> Self {
        self.breakers = settings;
        self
    }

    /// Escalation delivery: attempts including the first (default 3), the
    /// delay before the first retry, doubling with full jitter (default
    /// 200 ms), and each attempt's timeout (default 10 s).
    pub fn escalation_delivery(
        mut self,
        attempts: u32,
        initial_backoff: Duration,
        attempt_timeout: Duration,
    ) -> Self {
        self.escalation_attempts = attempts;
        self.escalation_initial_backoff = initial_backoff;
        self.escalation_timeout = attempt_timeout;
        self
    }

    /// How long a restarted process must stay up for the restart to count as
    /// a success (default 200 ms): a process that dies on its config at once
    /// fails the action instead of passing it.
    pub fn restart_settle(mut self, settle: Duration) -> Self {
        self.restart_settle = settle;
        self
    }

    /// The outbound `[tls]` section; each http action's and escalation's own
    /// `tls = { … }` goes over it (default: the system's roots).
    pub fn tls(mut self, global: ClientTls) -> Self {
        self.tls = global;
        self
    }

    /// `[server] public_url`: escalations link to the incident on the dashboard there.
    pub fn public_url(mut self, public_url: Option<String>) -> Self {
        self.public_url = public_url;
        self
    }

    /// `[kubernetes]`: how Kubernetes actions reach the API server.
    pub fn kubernetes(mut self, settings: medic_engine::config::Kubernetes) -> Self {
        self.kubernetes = settings;
        self
    }

    /// Validates the settings and builds the executor.
    pub fn build(self) -> Result<Executor, ExecutorBuildError> {
        let escalation_retry = Retry::builder()
            .max_attempts(self.escalation_attempts)
            .initial_delay(self.escalation_initial_backoff)
            .max_delay(self.escalation_initial_backoff.saturating_mul(16))
            .attempt_timeout(self.escalation_timeout)
            .build()?;
        let clients = Clients::new(self.tls, configure);
        // The shared client is built now, so a broken `[tls]` is an error
        // at start rather than at the first remedy.
        clients.get(None)?;
        Ok(Executor {
            inner: Arc::new(Inner {
                clients,
                supervisor: self.supervisor,
                breakers: ActionBreakers::new(self.breakers)?,
                escalation_retry,
                restart_settle: self.restart_settle,
                public_url: self.public_url,
                kubernetes: self.kubernetes,
                kube_api: std::sync::OnceLock::new(),
            }),
        })
    }
}

impl Executor {
    /// A builder with the defaults.
    pub fn builder() -> ExecutorBuilder {
        ExecutorBuilder::default()
    }

    /// An executor with the default settings, restarting through `supervisor`.
    ///
    /// # Panics
    ///
    /// When the HTTP client cannot be created (the system's TLS roots
    /// unusable, or out of resources); use [`Executor::builder`] to get that
    /// as an error.
    pub fn new(supervisor: Supervisor) -> Self {
        match Self::builder().supervisor(supervisor).build() {
            Ok(executor) => executor,
            Err(error) => panic!("cannot build the default executor: {error}"),
        }
    }

    /// Runs `action` of `target` for the incident in `ctx`. Never fails and
    /// never panics: whatever happens is in the outcome. Skipped (a failed
    /// outcome, nothing run) while the (target, remedy) breaker is open.
    pub async fn run(
        &self,
        target: &Target,
        action: &Action,
        ctx: &ActionContext,
    ) -> ActionOutcome {
        let started = Instant::now();
        let breaker = self.inner.breakers.get(&target.name, &ctx.remedy);
        let permit = match breaker.as_ref().map(|b| b.try_acquire_owned()) {
            Some(Ok(permit)) => Some(permit),
            Some(Err(rejected)) => {
                let next = if rejected.retry_in == Duration::MAX {
                    "until it is reset".to_string()
                } else {
                    format!("next trial in {}", HumanDuration::new(rejected.retry_in))
                };
                return ActionOutcome::failed(format!(
                    "skipped: remedy {} of {} kept failing and its circuit breaker is open ({next})",
                    ctx.remedy, target.name
                ))
                .with_duration(started.elapsed());
            }
            None => None,
        };
        let outcome = self.dispatch(target, action, ctx).await;
        if let Some(permit) = permit {
            permit.record(!outcome.success);
        }
        let mut outcome = outcome.with_duration(started.elapsed());
        // What a command printed or a server answered is kept and shown.
        if let Some(output) = &mut outcome.output {
            medic_engine::redact::redact_in_place(output);
        }
        if let Some(error) = &mut outcome.error {
            medic_engine::redact::redact_in_place(error);
        }
        tracing::info!(
            target_name = target.name,
            remedy = ctx.remedy,
            kind = action.kind(),
            success = outcome.success,
            duration_ms = outcome.duration_ms,
            error = outcome.error.as_deref().unwrap_or(""),
            "action finished"
        );
        outcome
    }

    async fn dispatch(
        &self,
        target: &Target,
        action: &Action,
        ctx: &ActionContext,
    ) -> ActionOutcome {
        match action {
            Action::Http(http) => match self.inner.clients.get(http.tls.as_ref()) {
                Ok(client) => http::run(&client, http, &ctx.values()).await,
                Err(error) => ActionOutcome::failed(error.to_string()),
            },
            Action::Exec(exec) => {
                // A high-risk remedy ran only after a human approved it: then
                // a command the guard cannot read may run (never a destructive one).
                let approved = target
                    .remedies
                    .iter()
                    .any(|r| r.name == ctx.remedy && r.risk == Risk::High);
                exec::run(exec, &ctx.values(), &ctx.facts(), approved).await
            }
            Action::Restart(_) => self.restart(target).await,
            // It probes the candidates and re-aims the target's probes.
            Action::Failover(_) => ActionOutcome::failed(
                "failover is carried out by the agent, which probes the endpoints",
            ),
            Action::Escalate(escalation) => match self.inner.clients.get(escalation.tls.as_ref()) {
                Ok(client) => {
                    let link = self
                        .inner
                        .public_url
                        .as_deref()
                        .map(|url| escalate::incident_link(url, ctx.incident_id));
                    let retry = &self.inner.escalation_retry;
                    escalate::run(&client, retry, escalation, ctx, link.as_deref()).await
                }
                Err(error) => ActionOutcome::failed(error.to_string()),
            },
            Action::Systemd(systemd) => systemd::run(systemd, &ctx.facts()).await,
            Action::Kubernetes(kubernetes) => match self.kube_api() {
                Ok(api) => kubernetes::run(kubernetes, &api, false).await,
                Err(error) => ActionOutcome::failed(error.to_string()),
            },
            Action::Wait(wait) => {
                tokio::time::sleep(wait.duration.get()).await;
                ActionOutcome::succeeded().with_output(format!("waited {}", wait.duration))
            }
        }
    }

    /// Under `policy.mode = "dry-run"`: what the remedy would do, asked of
    /// whoever would carry it out without changing anything, for the kinds
    /// that can (Kubernetes: `dryRun=All`); `None` for the others.
    pub async fn dry_run(&self, action: &Action) -> Option<ActionOutcome> {
        let Action::Kubernetes(kubernetes) = action else {
            return None;
        };
        Some(match self.kube_api() {
            Ok(api) => kubernetes::run(kubernetes, &api, true).await,
            Err(error) => ActionOutcome::failed(error.to_string()),
        })
    }

    fn kube_api(&self) -> Result<Arc<medic_client::KubeApi>, medic_client::KubeError> {
        if let Some(api) = self.inner.kube_api.get() {
            return Ok(api.clone());
        }
        let api = Arc::new(medic_client::KubeApi::connect(&self.inner.kubernetes)?);
        Ok(self.inner.kube_api.get_or_init(|| api).clone())
    }

    /// Restarts through the supervisor (starting a target it does not run
    /// yet), then checks the new process is still up after the settle time.
    async fn restart(&self, target: &Target) -> ActionOutcome {
        let Some(supervisor) = &self.inner.supervisor else {
            return ActionOutcome::failed("restart needs a supervisor, and none is configured");
        };
        let restarted = match supervisor.restart(&target.name).await {
            Err(SuperviseError::NotStarted(_)) => supervisor.start(target).await,
            other => other,
        };
        let pid = match restarted {
            Ok(pid) => pid,
            Err(error) => return ActionOutcome::failed(error.to_string()),
        };
        tokio::time::sleep(self.inner.restart_settle).await;
        if supervisor.pid(&target.name) == Some(pid) {
            ActionOutcome::succeeded()
                .with_output(format!("restarted {}: pid {pid} is running", target.name))
        } else {
            ActionOutcome::failed(format!(
                "restarted {}, but pid {pid} exited within {}",
                target.name,
                HumanDuration::new(self.inner.restart_settle)
            ))
        }
    }

    /// Takes back a page when its incident resolved: for a PagerDuty
    /// escalation, an Events v2 `resolve` with the trigger's `dedup_key`,
    /// retried like the trigger; `None` for formats with nothing to take back.
    /// Not behind the remedy's breaker: closing an alert must not be skipped.
    pub async fn resolve_page(
        &self,
        escalation: &EscalateAction,
        ctx: &ActionContext,
    ) -> Option<ActionOutcome> {
        let client = match self.inner.clients.get(escalation.tls.as_ref()) {
            Ok(client) => client,
            Err(error) => return Some(ActionOutcome::failed(error.to_string())),
        };
        escalate::resolve(&client, &self.inner.escalation_retry, escalation, ctx).await
    }

    /// Whether `remedy` of `target` would be skipped now because it kept
    /// failing. Turns false once the breaker's open time has passed: the
    /// next run is its trial.
    pub fn is_open(&self, target: &str, remedy: &str) -> bool {
        self.inner.breakers.is_open(target, remedy)
    }

    /// Every action breaker's state (named `target/remedy`), for the API.
    pub fn breakers(&self) -> Vec<BreakerSnapshot> {
        self.inner.breakers.snapshots()
    }

    /// Closes the breaker called `target/remedy`; false if there is none.
    pub fn reset_breaker(&self, name: &str) -> bool {
        self.inner.breakers.reset(name)
    }

    /// The supervisor `restart` actions use, if any.
    pub fn supervisor(&self) -> Option<&Supervisor> {
        self.inner.supervisor.as_ref()
    }
}
