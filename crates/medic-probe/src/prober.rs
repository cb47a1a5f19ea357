//! From config to runnable checks: [`Prober`] builds a [`ProbeCheck`] for each
//! configured [`Probe`], all http probes sharing one connection pool.

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use medic_client::{ClientTls, Clients};
use medic_engine::config::Probe;
use medic_model::Signal;

use crate::check::{Check, CheckFuture};
use crate::error::ProbeBuildError;
use crate::exec::ExecCheck;
use crate::http::HttpCheck;
use crate::kubernetes::KubernetesCheck;
use crate::process::ProcessCheck;
use crate::systemd::SystemdCheck;
use crate::tcp::TcpCheck;

/// Idle keep-alive connections are closed after this long: longer than any
/// sensible probe interval, so a probe every few seconds reuses its connection.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// Builds checks from the config. Http probes with the same TLS settings
/// share one `reqwest::Client`, so repeated probes of a host reuse pooled
/// keep-alive connections instead of opening one per check. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Prober {
    clients: Clients,
    /// How Kubernetes probes reach the API server, connected at the first
    /// Kubernetes probe built.
    kubernetes: medic_engine::config::Kubernetes,
    kube_api: Arc<OnceLock<Arc<medic_client::KubeApi>>>,
}

/// Every probe client: proxies from the environment are ignored (a health
/// probe must reach the target itself); redirects are followed (up to 10,
/// reqwest's default) and the final answer judged.
fn configure(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    builder
        .no_proxy()
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .user_agent(concat!("medic-probe/", env!("CARGO_PKG_VERSION")))
}

impl Prober {
    /// A prober trusting the system's roots alone (no `[tls]` section).
    pub fn new() -> Result<Self, ProbeBuildError> {
        let prober = Self::with_tls(ClientTls::default());
        // Build the default client now: an unusable TLS stack is an error
        // here, not at the first probe.
        prober.clients.get(None)?;
        Ok(prober)
    }

    /// A prober under the outbound `[tls]` section `global`; each probe's own
    /// `tls = { … }` goes over it.
    pub fn with_tls(global: ClientTls) -> Self {
        Self {
            clients: Clients::new(global, configure),
            kubernetes: Default::default(),
            kube_api: Arc::default(),
        }
    }

    /// The same prober, reaching Kubernetes as `[kubernetes]` says.
    pub fn with_kubernetes(mut self, settings: medic_engine::config::Kubernetes) -> Self {
        self.kubernetes = settings;
        self
    }

    fn kube_api(&self) -> Result<Arc<medic_client::KubeApi>, ProbeBuildError> {
        if let Some(api) = self.kube_api.get() {
            return Ok(api.clone());
        }
        let api = Arc::new(
            medic_client::KubeApi::connect(&self.kubernetes)
                .map_err(|e| ProbeBuildError::Kubernetes(e.to_string()))?,
        );
        Ok(self.kube_api.get_or_init(|| api).clone())
    }

    /// Builds one probe; `name` becomes `SignalSource::Probe { probe }` on its
    /// signals ([`default_probe_name`] gives the usual one).
    pub fn build(
        &self,
        probe: &Probe,
        name: impl Into<String>,
    ) -> Result<ProbeCheck, ProbeBuildError> {
        Ok(match probe {
            Probe::Http(http) => {
                let client = self.clients.get(http.tls.as_ref())?;
                ProbeCheck::Http(HttpCheck::new(http, client, name)?)
            }
            Probe::Tcp(tcp) => ProbeCheck::Tcp(TcpCheck::new(tcp, name)),
            Probe::Exec(exec) => ProbeCheck::Exec(ExecCheck::new(exec, name)?),
            Probe::Process(process) => ProbeCheck::Process(ProcessCheck::new(process, name)),
            Probe::Systemd(systemd) => ProbeCheck::Systemd(SystemdCheck::new(systemd, name)),
            Probe::Kubernetes(kubernetes) => {
                ProbeCheck::Kubernetes(KubernetesCheck::new(kubernetes, self.kube_api()?, name))
            }
        })
    }
}

/// The usual name of a probe in signals: `http`, `tcp:6379`,
/// `exec:pg_isready`, `process:app.pid`, `systemd:nginx.service`.
pub fn default_probe_name(probe: &Probe) -> String {
    let file_name = |path: &str| {
        Path::new(path)
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.to_string())
    };
    match probe {
        Probe::Http(_) => "http".to_string(),
        Probe::Tcp(tcp) => match tcp.address.rsplit_once(':') {
            Some((_host, port)) => format!("tcp:{port}"),
            None => format!("tcp:{}", tcp.address),
        },
        Probe::Exec(exec) => match exec.command.first() {
            Some(program) => format!("exec:{}", file_name(program)),
            None => "exec".to_string(),
        },
        Probe::Process(process) => format!("process:{}", file_name(&process.pidfile)),
        Probe::Systemd(systemd) => format!("systemd:{}", systemd.unit),
        Probe::Kubernetes(kubernetes) => format!("kubernetes:{}", kubernetes.deployment),
    }
}

/// A built probe of any kind.
// Built once per probe and kept by the scheduler: an http check's size is
// not copied where checks run.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum ProbeCheck {
    /// An http probe.
    Http(HttpCheck),
    /// A tcp probe.
    Tcp(TcpCheck),
    /// An exec probe.
    Exec(ExecCheck),
    /// A process probe.
    Process(ProcessCheck),
    /// A systemd probe.
    Systemd(SystemdCheck),
    /// A Kubernetes probe.
    Kubernetes(KubernetesCheck),
}

impl ProbeCheck {
    /// Checks `target` once; never fails, a failure is an unhealthy signal.
    pub async fn check(&self, target: &str) -> Signal {
        match self {
            ProbeCheck::Http(check) => check.check(target).await,
            ProbeCheck::Tcp(check) => check.check(target).await,
            ProbeCheck::Exec(check) => check.check(target).await,
            ProbeCheck::Process(check) => check.check(target).await,
            ProbeCheck::Systemd(check) => check.check(target).await,
            ProbeCheck::Kubernetes(check) => check.check(target).await,
        }
    }
}

macro_rules! impl_check {
    ($($checker:ty),+) => {$(
        impl Check for $checker {
            fn check<'a>(&'a self, target: &'a str) -> CheckFuture<'a> {
                Box::pin(<$checker>::check(self, target))
            }
        }
    )+};
}

impl_check!(
    ProbeCheck,
    HttpCheck,
    TcpCheck,
    ExecCheck,
    ProcessCheck,
    SystemdCheck,
    KubernetesCheck
);

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(toml_text: &str) -> Probe {
        #[derive(serde::Deserialize)]
        struct Wrapper {
            probe: Probe,
        }
        let wrapper: Wrapper = toml::from_str(toml_text).expect("probe parses");
        wrapper.probe
    }

    #[test]
    fn default_names_say_what_is_probed() {
        let cases = [
            (
                r#"probe = { kind = "http", url = "http://127.0.0.1:8000/health" }"#,
                "http",
            ),
            (
                r#"probe = { kind = "tcp", address = "127.0.0.1:6379" }"#,
                "tcp:6379",
            ),
            (
                r#"probe = { kind = "exec", command = ["/usr/bin/pg_isready", "-q"] }"#,
                "exec:pg_isready",
            ),
            (
                r#"probe = { kind = "process", pidfile = "/run/app.pid" }"#,
                "process:app.pid",
            ),
            (
                r#"probe = { kind = "systemd", unit = "nginx.service" }"#,
                "systemd:nginx.service",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(default_probe_name(&probe(text)), expected, "{text}");
        }
    }

    #[test]
    fn other_schemes_and_bad_regexes_are_refused_at_build_time() {
        let prober = Prober::new().expect("client builds");
        let https = probe(r#"probe = { kind = "http", url = "https://example.invalid/" }"#);
        assert!(prober.build(&https, "http").is_ok());
        let ftp = probe(r#"probe = { kind = "http", url = "ftp://example.invalid/" }"#);
        assert!(matches!(
            prober.build(&ftp, "http"),
            Err(ProbeBuildError::UnsupportedScheme { .. })
        ));
        let missing_ca = probe(
            r#"probe = { kind = "http", url = "https://example.invalid/", tls = { ca_file = "/nonexistent/ca.pem" } }"#,
        );
        let error = prober.build(&missing_ca, "http").expect_err("no such file");
        assert!(error.to_string().contains("ca_file"), "{error}");
        let bad_regex =
            probe(r#"probe = { kind = "http", url = "http://127.0.0.1/", body_regex = "(" }"#);
        assert!(matches!(
            prober.build(&bad_regex, "http"),
            Err(ProbeBuildError::InvalidBodyRegex { .. })
        ));
        let empty = probe(r#"probe = { kind = "exec", command = [] }"#);
        assert!(matches!(
            prober.build(&empty, "exec"),
            Err(ProbeBuildError::EmptyCommand)
        ));
    }
}
