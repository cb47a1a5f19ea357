//! The Kubernetes API server, as medic's Kubernetes probe and actions reach
//! it: credentials (the pod's service account, or a kubeconfig), TLS
//! through the one client builder, JSON requests, and errors that say what
//! to fix (403: which RBAC rule is missing).

use std::path::{Path, PathBuf};
use std::time::Duration;

use medic_engine::config::{ClientTls, Kubernetes};
use serde::Deserialize;

use crate::builder;

/// Where a pod's service account lives.
const SERVICE_ACCOUNT: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// Why a call to the API server failed.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// The credentials or the kubeconfig cannot be used.
    #[error("kubernetes: {0}")]
    Config(String),
    /// The API server could not be reached.
    #[error("kubernetes API server: {0}")]
    Unreachable(String),
    /// It answered with an error status.
    #[error("kubernetes API server answered {status} {reason}: {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// Kubernetes' own reason (`Forbidden`, `Conflict`, `NotFound`…).
        reason: String,
        /// Its message, with a hint for 401 and 403.
        message: String,
    },
}

impl KubeError {
    /// Whether the server refused a write on a stale `resourceVersion`.
    pub fn is_conflict(&self) -> bool {
        matches!(self, KubeError::Refused { status: 409, .. })
    }
}

/// How requests prove who they are.
#[derive(Debug, Clone)]
enum Credential {
    /// A bearer token, as written.
    Token(String),
    /// A bearer token read from this file at every call (service account
    /// tokens rotate).
    TokenFile(PathBuf),
    /// A client certificate (in the TLS settings), or nothing.
    None,
}

/// One API server, ready to call.
#[derive(Debug, Clone)]
pub struct KubeApi {
    server: String,
    credential: Credential,
    client: reqwest::Client,
    /// The namespace of calls that name none.
    pub namespace: String,
}

/// The parts of a kubeconfig medic reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct KubeConfig {
    #[serde(default)]
    clusters: Vec<Named<Cluster>>,
    #[serde(default)]
    users: Vec<Named<User>>,
    #[serde(default)]
    contexts: Vec<Named<Context>>,
    current_context: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Named<T> {
    name: String,
    #[serde(alias = "cluster", alias = "user", alias = "context")]
    item: Option<T>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Cluster {
    server: String,
    certificate_authority: Option<String>,
    certificate_authority_data: Option<String>,
    #[serde(default)]
    insecure_skip_tls_verify: bool,
    tls_server_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct User {
    token: Option<String>,
    token_file: Option<String>,
    client_certificate: Option<String>,
    client_key: Option<String>,
    client_certificate_data: Option<String>,
    client_key_data: Option<String>,
    exec: Option<serde_json::Value>,
    auth_provider: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct Context {
    cluster: String,
    user: Option<String>,
    namespace: Option<String>,
}

impl KubeApi {
    /// The API server `settings` lead to: the kubeconfig it names; else,
    /// in a pod, the service account; else `$KUBECONFIG` or
    /// `~/.kube/config`.
    pub fn connect(settings: &Kubernetes) -> Result<Self, KubeError> {
        let in_pod = std::env::var("KUBERNETES_SERVICE_HOST").is_ok()
            && Path::new(SERVICE_ACCOUNT).join("token").exists();
        match &settings.kubeconfig {
            Some(path) => Self::from_kubeconfig(Path::new(path), settings),
            None if in_pod => Self::in_cluster(settings),
            None => {
                let path = std::env::var_os("KUBECONFIG")
                    .map(PathBuf::from)
                    .or_else(|| {
                        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".kube/config"))
                    })
                    .ok_or_else(|| {
                        KubeError::Config(
                            "no [kubernetes] kubeconfig, not in a pod, and no $KUBECONFIG or $HOME"
                                .into(),
                        )
                    })?;
                Self::from_kubeconfig(&path, settings)
            }
        }
    }

    fn in_cluster(settings: &Kubernetes) -> Result<Self, KubeError> {
        let host = std::env::var("KUBERNETES_SERVICE_HOST").unwrap_or_default();
        let port = std::env::var("KUBERNETES_SERVICE_PORT").unwrap_or_else(|_| "443".into());
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host
        };
        let namespace = settings.namespace.clone().unwrap_or_else(|| {
            std::fs::read_to_string(Path::new(SERVICE_ACCOUNT).join("namespace"))
                .map(|n| n.trim().to_string())
                .unwrap_or_else(|_| "default".into())
        });
        let tls = ClientTls {
            ca_file: Some(format!("{SERVICE_ACCOUNT}/ca.crt")),
            ..Default::default()
        };
        Ok(Self {
            server: format!("https://{host}:{port}"),
            credential: Credential::TokenFile(Path::new(SERVICE_ACCOUNT).join("token")),
            client: client(&tls)?,
            namespace,
        })
    }

    /// From a kubeconfig file (YAML, or JSON).
    pub fn from_kubeconfig(path: &Path, settings: &Kubernetes) -> Result<Self, KubeError> {
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| KubeError::Config(format!("kubeconfig {shown}: {e}")))?;
        let config: KubeConfig = yaml_serde::from_str(&text)
            .map_err(|e| KubeError::Config(format!("kubeconfig {shown}: {e}")))?;
        let context_name = settings
            .context
            .clone()
            .or(config.current_context.clone())
            .ok_or_else(|| {
                KubeError::Config(format!(
                    "kubeconfig {shown}: no current-context, and no [kubernetes] context"
                ))
            })?;
        let find = |what: &str, name: &str| {
            KubeError::Config(format!("kubeconfig {shown}: no {what} named {name:?}"))
        };
        let context = config
            .contexts
            .iter()
            .find(|c| c.name == context_name)
            .and_then(|c| c.item.as_ref())
            .ok_or_else(|| find("context", &context_name))?;
        let cluster = config
            .clusters
            .iter()
            .find(|c| c.name == context.cluster)
            .and_then(|c| c.item.as_ref())
            .ok_or_else(|| find("cluster", &context.cluster))?;
        let user = match &context.user {
            None => None,
            Some(name) => Some(
                config
                    .users
                    .iter()
                    .find(|u| &u.name == name)
                    .map(|u| u.item.as_ref())
                    .ok_or_else(|| find("user", name))?,
            ),
        }
        .flatten();
        let relative = |file: &str| {
            let file = Path::new(file);
            if file.is_absolute() {
                file.to_path_buf()
            } else {
                path.parent().unwrap_or(Path::new(".")).join(file)
            }
        };
        let mut tls = ClientTls {
            server_name: cluster.tls_server_name.clone(),
            insecure: cluster.insecure_skip_tls_verify,
            ..Default::default()
        };
        if let Some(file) = &cluster.certificate_authority {
            tls.ca_file = Some(relative(file).display().to_string());
        } else if let Some(data) = &cluster.certificate_authority_data {
            tls.ca_file = Some(write_ca(data)?.display().to_string());
        }
        let mut credential = Credential::None;
        if let Some(user) = user {
            if user.exec.is_some() || user.auth_provider.is_some() {
                return Err(KubeError::Config(format!(
                    "kubeconfig {shown}: user {:?} gets its credentials from an exec plugin or auth provider, \
                     which medic does not run; give it a token (kubectl create token SERVICE_ACCOUNT) or a token file",
                    context.user.as_deref().unwrap_or_default()
                )));
            }
            if user.client_certificate_data.is_some() || user.client_key_data.is_some() {
                return Err(KubeError::Config(format!(
                    "kubeconfig {shown}: client-certificate-data/client-key-data are not read (a key medic would \
                     have to write to disk): use client-certificate and client-key files"
                )));
            }
            tls.client_cert = user
                .client_certificate
                .as_deref()
                .map(|f| relative(f).display().to_string());
            tls.client_key = user
                .client_key
                .as_deref()
                .map(|f| relative(f).display().to_string());
            credential = match (&user.token, &user.token_file) {
                (Some(token), _) => Credential::Token(token.clone()),
                (None, Some(file)) => Credential::TokenFile(relative(file)),
                (None, None) => Credential::None,
            };
        }
        let namespace = settings
            .namespace
            .clone()
            .or_else(|| context.namespace.clone())
            .unwrap_or_else(|| "default".into());
        Ok(Self {
            server: cluster.server.trim_end_matches('/').to_string(),
            credential,
            client: client(&tls)?,
            namespace,
        })
    }

    /// `GET path`, the JSON answer.
    pub async fn get(&self, path: &str, timeout: Duration) -> Result<serde_json::Value, KubeError> {
        self.call(reqwest::Method::GET, path, None, timeout).await
    }

    /// The pods a Deployment (as read from the API) selects by its
    /// `matchLabels`.
    pub async fn pods_of(
        &self,
        namespace: &str,
        deployment: &serde_json::Value,
        timeout: Duration,
    ) -> Result<serde_json::Value, KubeError> {
        let selector = selector_of(deployment);
        let path = format!(
            "/api/v1/namespaces/{namespace}/pods?labelSelector={}",
            encode(&selector)
        );
        self.get(&path, timeout).await
    }

    /// `PATCH path` with `body` as `content_type` (a merge or strategic
    /// merge patch).
    pub async fn patch(
        &self,
        path: &str,
        content_type: &str,
        body: &serde_json::Value,
        timeout: Duration,
    ) -> Result<serde_json::Value, KubeError> {
        self.call(
            reqwest::Method::PATCH,
            path,
            Some((content_type, body)),
            timeout,
        )
        .await
    }

    /// `DELETE path`.
    pub async fn delete(
        &self,
        path: &str,
        timeout: Duration,
    ) -> Result<serde_json::Value, KubeError> {
        self.call(reqwest::Method::DELETE, path, None, timeout)
            .await
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<(&str, &serde_json::Value)>,
        timeout: Duration,
    ) -> Result<serde_json::Value, KubeError> {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.server))
            .header("accept", "application/json")
            .timeout(timeout);
        if let Some(token) = self.token()? {
            request = request.bearer_auth(token);
        }
        if let Some((content_type, body)) = body {
            request = request
                .header("content-type", content_type)
                .body(body.to_string());
        }
        let response = request.send().await.map_err(|e| {
            let why = crate::describe_tls_error(&e).unwrap_or_else(|| e.to_string());
            KubeError::Unreachable(format!("{method} {path}: {why}"))
        })?;
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .map_err(|e| KubeError::Unreachable(format!("{method} {path}: {e}")))?;
        let json: serde_json::Value =
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        if (200..300).contains(&status) {
            return Ok(json);
        }
        let reason = json["reason"].as_str().unwrap_or("error").to_string();
        let mut message = json["message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| text.chars().take(200).collect());
        match status {
            401 => message.push_str(" (the token or certificate was not accepted)"),
            403 => message.push_str(&format!(
                " (RBAC: medic's account needs `{}` on this resource; see deploy/kubernetes/rbac.yaml)",
                verb_of(&method)
            )),
            _ => {}
        }
        Err(KubeError::Refused {
            status,
            reason,
            message,
        })
    }

    fn token(&self) -> Result<Option<String>, KubeError> {
        match &self.credential {
            Credential::Token(token) => Ok(Some(token.clone())),
            Credential::TokenFile(file) => std::fs::read_to_string(file)
                .map(|token| Some(token.trim().to_string()))
                .map_err(|e| KubeError::Config(format!("token file {}: {e}", file.display()))),
            Credential::None => Ok(None),
        }
    }
}

/// `matchLabels` as a label selector: `app=shop,tier=web`.
fn selector_of(deployment: &serde_json::Value) -> String {
    deployment["spec"]["selector"]["matchLabels"]
        .as_object()
        .map(|labels| {
            labels
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The RBAC verb of an HTTP method, for the 403 hint.
fn verb_of(method: &reqwest::Method) -> &'static str {
    match *method {
        reqwest::Method::GET => "get/list",
        reqwest::Method::PATCH => "patch",
        reqwest::Method::DELETE => "delete",
        _ => "create",
    }
}

fn client(tls: &ClientTls) -> Result<reqwest::Client, KubeError> {
    builder(tls)
        .map_err(|e| KubeError::Config(e.to_string()))?
        .no_proxy()
        .connect_timeout(Duration::from_secs(5))
        .user_agent(concat!("medic/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| KubeError::Config(e.to_string()))
}

/// A kubeconfig's inline CA (public, not a secret) as a file the TLS
/// settings can name.
fn write_ca(data: &str) -> Result<PathBuf, KubeError> {
    use base64::Engine as _;
    let pem = base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map_err(|e| KubeError::Config(format!("certificate-authority-data: {e}")))?;
    let dir = std::env::temp_dir().join(format!("medic-kubernetes-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| KubeError::Config(format!("{}: {e}", dir.display())))?;
    let file = dir.join(format!("ca-{:016x}.pem", fnv(&pem)));
    std::fs::write(&file, pem)
        .map_err(|e| KubeError::Config(format!("{}: {e}", file.display())))?;
    Ok(file)
}

/// A stable name for the same CA data.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kubeconfig(dir: &Path, user: &str) -> PathBuf {
        let path = dir.join("config");
        std::fs::write(
            &path,
            format!(
                "apiVersion: v1\nkind: Config\ncurrent-context: ops\nclusters:\n- name: lab\n  cluster:\n    server: https://127.0.0.1:6443/\n    certificate-authority: ca.pem\ncontexts:\n- name: ops\n  context:\n    cluster: lab\n    user: medic\n    namespace: shop\nusers:\n- name: medic\n  user:\n{user}"
            ),
        )
        .expect("kubeconfig");
        path
    }

    fn temp() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "medic-kubeconfig-{}-{}",
            std::process::id(),
            fnv(format!("{:?}", std::thread::current().id()).as_bytes())
        ));
        std::fs::create_dir_all(&dir).expect("dir");
        dir
    }

    #[test]
    fn a_kubeconfig_gives_the_server_the_namespace_and_the_token() {
        let dir = temp();
        let path = kubeconfig(&dir, "    token: abc.def\n");
        // The CA file is relative to the kubeconfig; it need not be valid
        // for the settings to be read, but it must exist to build a client.
        std::fs::write(dir.join("ca.pem"), "").expect("ca");
        let api = KubeApi::from_kubeconfig(&path, &Kubernetes::default());
        let error = api
            .expect_err("an empty CA file is not a certificate")
            .to_string();
        assert!(error.contains("ca.pem"), "{error}");
    }

    #[test]
    fn the_selector_comes_from_match_labels() {
        let deployment = serde_json::json!({"spec": {"selector": {"matchLabels": {"app": "shop", "tier": "web"}}}});
        assert_eq!(selector_of(&deployment), "app=shop,tier=web");
        assert_eq!(encode("app=shop,tier=web"), "app%3Dshop%2Ctier%3Dweb");
    }

    #[test]
    fn exec_plugins_are_refused_with_what_to_do_instead() {
        let dir = temp();
        let path = kubeconfig(
            &dir,
            "    exec:\n      command: aws\n      apiVersion: client.authentication.k8s.io/v1\n",
        );
        let error = KubeApi::from_kubeconfig(&path, &Kubernetes::default())
            .expect_err("refused")
            .to_string();
        assert!(
            error.contains("exec plugin") && error.contains("kubectl create token"),
            "{error}"
        );
    }

    #[test]
    fn a_missing_context_is_named() {
        let dir = temp();
        let path = kubeconfig(&dir, "    token: t\n");
        let settings = Kubernetes {
            context: Some("prod".into()),
            ..Default::default()
        };
        let error = KubeApi::from_kubeconfig(&path, &settings)
            .expect_err("no such context")
            .to_string();
        assert!(error.contains("no context named \"prod\""), "{error}");
    }
}
