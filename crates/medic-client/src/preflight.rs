//! What `medic check` and `medic serve` both verify before anything starts:
//! every TLS setting that a client will be built from can be built (its
//! files exist and hold what they should). The engine's validation cannot
//! read files; this is the IO half of the same verdict.

use medic_engine::config::{Action, ClientTls, Config, LlmProvider, Probe, effective_tls};

use crate::tls::rustls_config;

/// The outcome: errors make the config unusable; warnings are shown by
/// `check` and logged by `serve` (each `insecure` endpoint).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Preflight {
    /// `key.path: reason`, in file order.
    pub errors: Vec<String>,
    /// `key.path: what is weakened`.
    pub warnings: Vec<String>,
}

/// Builds every TLS client configuration `config` asks for.
pub fn preflight(config: &Config) -> Preflight {
    let mut out = Preflight::default();
    let global = &config.tls;
    let mut check = |path: String, own: Option<&ClientTls>, url: &str| {
        let effective = effective_tls(own, global);
        if let Err(error) = rustls_config(&effective) {
            out.errors.push(format!("{path}: {error}"));
        }
        if effective.insecure {
            out.warnings.push(format!(
                "{path}: tls.insecure = true: the certificate of {url} is NOT verified"
            ));
        }
    };
    check("tls".into(), None, "every endpoint");
    if config.llm.provider != LlmProvider::None && config.llm.tls.is_some() {
        check("llm.tls".into(), config.llm.tls.as_ref(), &config.llm.url);
    }
    let hooks = &config.webhooks;
    for (name, hook) in [
        ("github", &hooks.github),
        ("gitlab", &hooks.gitlab),
        ("jenkins", &hooks.jenkins),
    ] {
        if let Some(hook) = hook
            && hook.tls.is_some()
        {
            let url = hook.api_url.as_deref().unwrap_or("the platform's API");
            check(format!("webhooks.{name}.tls"), hook.tls.as_ref(), url);
        }
    }
    for (i, target) in config.targets.iter().enumerate() {
        for (j, probe) in target.probes.iter().enumerate() {
            if let Probe::Http(http) = probe
                && http.tls.is_some()
            {
                let path = format!("targets[{i}].probes[{j}].tls");
                check(path, http.tls.as_ref(), &http.url);
            }
        }
        for (j, remedy) in target.remedies.iter().enumerate() {
            let (own, url) = match &remedy.action {
                Action::Http(http) => (http.tls.as_ref(), http.url.as_str()),
                Action::Escalate(escalate) => (escalate.tls.as_ref(), escalate.webhook.as_str()),
                _ => continue,
            };
            if own.is_some() {
                check(format!("targets[{i}].remedies[{j}].action.tls"), own, url);
            }
        }
    }
    // Kubernetes probes and actions need credentials serve can read: the
    // service account or a kubeconfig, read now as serve reads it.
    let uses_kubernetes = config.targets.iter().any(|target| {
        target
            .probes
            .iter()
            .any(|p| matches!(p, Probe::Kubernetes(_)))
            || (target.remedies.iter()).any(|r| matches!(r.action, Action::Kubernetes(_)))
    });
    if uses_kubernetes && let Err(error) = crate::KubeApi::connect(&config.kubernetes) {
        out.errors.push(error.to_string());
    }
    out
}
