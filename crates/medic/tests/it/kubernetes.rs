//! Issue 16: Kubernetes probes and actions through the real binary. No API
//! server can run on the test machines, so a stand-in speaks the documented
//! shapes over TLS with a CA made in the test: Deployments and their
//! `scale` subresource (merge patch, `resourceVersion` conflicts answered
//! 409), the strategic merge patch of a rollout restart, pods by label
//! selector, pod deletion, `dryRun=All`, bearer tokens (401) and RBAC
//! refusals (403). medic reaches it through a kubeconfig.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Served, TempDir, poll, serve_config};
use crate::tls::pki::{HttpsServer, Recorded, TestCa, https_server, server_config};

const TOKEN: &str = "medic-test-token";

/// One Deployment as the stand-in keeps it.
#[derive(Debug, Clone)]
struct Deployment {
    replicas: u64,
    available: u64,
    version: u64,
    /// What its unready pods say.
    trouble: Value,
    restarted_at: Option<String>,
}

#[derive(Default)]
struct Cluster {
    deployments: BTreeMap<(String, String), Deployment>,
    /// Namespaces where writes are forbidden (RBAC).
    locked: Vec<String>,
    /// The next scale write of this Deployment loses a race (409) once.
    race_once: Option<String>,
    deleted: Vec<String>,
}

fn status(code: u16, reason: &str, message: &str) -> (u16, String) {
    let body = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
        "reason": reason, "message": message, "code": code});
    (code, body.to_string())
}

fn header<'a>(request: &'a Recorded, name: &str) -> &'a str {
    request
        .headers
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

impl Cluster {
    fn answer(&mut self, request: &Recorded) -> (u16, String) {
        if header(request, "authorization") != format!("Bearer {TOKEN}") {
            return status(401, "Unauthorized", "Unauthorized");
        }
        let (path, query) = request.path.split_once('?').unwrap_or((&request.path, ""));
        let dry = query.split('&').any(|p| p == "dryRun=All");
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        // Every path served is namespaced: match on what follows the namespace.
        let (ns, rest) = match parts.as_slice() {
            ["apis", "apps", "v1", "namespaces", ns, rest @ ..]
            | ["api", "v1", "namespaces", ns, rest @ ..] => (*ns, rest),
            _ => {
                return status(
                    404,
                    "NotFound",
                    "the server could not find the requested resource",
                );
            }
        };
        match (request.method.as_str(), rest) {
            ("GET", ["deployments", name]) => {
                match self.deployments.get(&(ns.to_string(), name.to_string())) {
                    Some(d) => (200, deployment_json(ns, name, d).to_string()),
                    None => status(
                        404,
                        "NotFound",
                        &format!("deployments.apps \"{name}\" not found"),
                    ),
                }
            }
            ("PATCH", ["deployments", name]) => {
                if self.locked.iter().any(|l| l == ns) {
                    return status(
                        403,
                        "Forbidden",
                        &format!(
                            "deployments.apps \"{name}\" is forbidden: User \"system:serviceaccount:medic:medic\" cannot patch resource \"deployments\" in API group \"apps\" in the namespace \"{ns}\""
                        ),
                    );
                }
                if header(request, "content-type") != "application/strategic-merge-patch+json" {
                    return status(
                        415,
                        "UnsupportedMediaType",
                        "the body of the request was in an unknown format",
                    );
                }
                let at = request.json()["spec"]["template"]["metadata"]["annotations"]
                    ["kubectl.kubernetes.io/restartedAt"]
                    .as_str()
                    .map(str::to_string);
                let Some(d) = self
                    .deployments
                    .get_mut(&(ns.to_string(), name.to_string()))
                else {
                    return status(404, "NotFound", "not found");
                };
                if !dry {
                    // New pods, without the old ones' trouble.
                    d.restarted_at = at;
                    d.available = d.replicas;
                    d.trouble = Value::Null;
                    d.version += 1;
                }
                (200, deployment_json(ns, name, d).to_string())
            }
            ("GET", ["deployments", name, "scale"]) => {
                match self.deployments.get(&(ns.to_string(), name.to_string())) {
                    Some(d) => (200, scale_json(ns, name, d).to_string()),
                    None => status(404, "NotFound", "not found"),
                }
            }
            ("PATCH", ["deployments", name, "scale"]) => {
                if header(request, "content-type") != "application/merge-patch+json" {
                    return status(
                        415,
                        "UnsupportedMediaType",
                        "the body of the request was in an unknown format",
                    );
                }
                let body = request.json();
                let race = self.race_once.as_deref() == Some(*name);
                let Some(d) = self
                    .deployments
                    .get_mut(&(ns.to_string(), name.to_string()))
                else {
                    return status(404, "NotFound", "not found");
                };
                if race {
                    // Someone else scaled it between medic's read and write.
                    self.race_once = None;
                    d.version += 1;
                }
                let sent = body["metadata"]["resourceVersion"].as_str();
                if sent.and_then(|v| v.parse::<u64>().ok()) != Some(d.version) {
                    return status(
                        409,
                        "Conflict",
                        &format!(
                            "Operation cannot be fulfilled on deployments.apps \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
                        ),
                    );
                }
                if !dry {
                    d.replicas = body["spec"]["replicas"].as_u64().unwrap_or(d.replicas);
                    d.available = d.replicas;
                    d.trouble = Value::Null;
                    d.version += 1;
                }
                (200, scale_json(ns, name, d).to_string())
            }
            ("GET", ["pods"]) => {
                let app = query
                    .split('&')
                    .find_map(|p| p.strip_prefix("labelSelector=app%3D"))
                    .unwrap_or_default();
                let pods: Vec<Value> = self
                    .deployments
                    .get(&(ns.to_string(), app.to_string()))
                    .map(|d| pods_json(app, d))
                    .unwrap_or_default();
                (200, json!({"kind": "PodList", "items": pods}).to_string())
            }
            ("DELETE", ["pods", pod]) => {
                if !dry {
                    self.deleted.push(pod.to_string());
                    let app = pod.split('-').next().unwrap_or_default();
                    if let Some(d) = self.deployments.get_mut(&(ns.to_string(), app.to_string())) {
                        d.available = d.replicas;
                        d.trouble = Value::Null;
                    }
                }
                (
                    200,
                    json!({"kind": "Pod", "metadata": {"name": pod}}).to_string(),
                )
            }
            _ => status(
                404,
                "NotFound",
                "the server could not find the requested resource",
            ),
        }
    }
}

fn deployment_json(ns: &str, name: &str, d: &Deployment) -> Value {
    json!({"kind": "Deployment", "apiVersion": "apps/v1",
        "metadata": {"name": name, "namespace": ns, "resourceVersion": d.version.to_string()},
        "spec": {"replicas": d.replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": d.restarted_at}}}},
        "status": {"replicas": d.replicas, "availableReplicas": d.available,
                   "updatedReplicas": d.replicas, "readyReplicas": d.available}})
}

fn scale_json(ns: &str, name: &str, d: &Deployment) -> Value {
    json!({"kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {"name": name, "namespace": ns, "resourceVersion": d.version.to_string()},
        "spec": {"replicas": d.replicas}, "status": {"replicas": d.available}})
}

fn pods_json(app: &str, d: &Deployment) -> Vec<Value> {
    (0..d.replicas)
        .map(|i| {
            let ready = i < d.available;
            let mut pod = json!({"metadata": {"name": format!("{app}-7d9f-{i}"), "labels": {"app": app}},
                "status": {"phase": "Running",
                           "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}],
                           "containerStatuses": [{"name": app, "ready": ready, "state": {"running": {}}}]}});
            if !ready {
                if d.trouble["reason"] == "Evicted" {
                    pod["status"] = d.trouble.clone();
                } else {
                    pod["status"]["containerStatuses"][0] = d.trouble.clone();
                }
            }
            pod
        })
        .collect()
}

/// The stand-in API server and a kubeconfig that reaches it.
struct Stand {
    _server: HttpsServer,
    cluster: Arc<Mutex<Cluster>>,
    kubeconfig: std::path::PathBuf,
    _ca: TestCa,
    _runtime: tokio::runtime::Runtime,
}

impl Stand {
    fn start(dir: &TempDir, cluster: Cluster) -> Self {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let ca = TestCa::new("kubernetes test CA");
        let leaf = ca.issue("apiserver", &["localhost"], -1, 30);
        let cluster = Arc::new(Mutex::new(cluster));
        let shared = cluster.clone();
        let server = runtime.block_on(https_server(server_config(&leaf, None), move |request| {
            shared.lock().expect("cluster").answer(request)
        }));
        let kubeconfig = dir.0.join("kubeconfig");
        std::fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\ncurrent-context: test\n\
                 clusters:\n- name: stand-in\n  cluster:\n    server: {server}\n    certificate-authority: {ca}\n\
                 contexts:\n- name: test\n  context:\n    cluster: stand-in\n    user: medic\n    namespace: store\n\
                 users:\n- name: medic\n  user:\n    token: {TOKEN}\n",
                server = server.url(""),
                ca = ca.ca_file(),
            ),
        )
        .expect("kubeconfig");
        Self {
            _server: server,
            cluster,
            kubeconfig,
            _ca: ca,
            _runtime: runtime,
        }
    }

    fn deployment(&self, ns: &str, name: &str) -> Deployment {
        self.cluster.lock().expect("cluster").deployments[&(ns.to_string(), name.to_string())]
            .clone()
    }
}

fn troubled(replicas: u64, available: u64, trouble: Value) -> Deployment {
    Deployment {
        replicas,
        available,
        version: 7,
        trouble,
        restarted_at: None,
    }
}

fn crash_looping() -> Value {
    json!({"name": "shop", "ready": false,
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container=shop"}},
        "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}})
}

/// The detail of the target's latest incident, once there is one.
fn incident_of(served: &Served, target: &str) -> Option<Value> {
    let listed = served.get_json(&format!("/api/v1/incidents?target={target}"));
    let id = listed["incidents"][0]["id"].as_i64()?;
    Some(served.get_json(&format!("/api/v1/incidents/{id}")))
}

fn config(stand: &Stand, targets: &str) -> String {
    format!(
        "[kubernetes]\nkubeconfig = \"{}\"\n{targets}",
        stand.kubeconfig.display()
    )
}

fn target(name: &str, namespace: &str, remedy: &str) -> String {
    format!(
        r#"
[[targets]]
name = "{name}"
probes = [{{ kind = "kubernetes", deployment = "{name}", namespace = "{namespace}", interval = "500ms", timeout = "400ms" }}]
[[targets.remedies]]
name = "fix"
action = {{ kind = "kubernetes", deployment = "{name}", namespace = "{namespace}", {remedy} }}
"#
    )
}

#[test]
fn a_crash_looping_deployment_is_restarted_scaled_and_refused_as_rbac_says() {
    let dir = TempDir::new("kubernetes");
    let mut cluster = Cluster::default();
    cluster
        .deployments
        .insert(("store".into(), "shop".into()), troubled(2, 2, Value::Null));
    cluster.deployments.insert(
        ("store".into(), "worker".into()),
        troubled(2, 2, Value::Null),
    );
    cluster.deployments.insert(
        ("locked".into(), "ledger".into()),
        troubled(1, 1, Value::Null),
    );
    cluster.locked.push("locked".into());
    cluster.race_once = Some("worker".into());
    let stand = Stand::start(&dir, cluster);
    let targets = [
        target("shop", "store", "verb = \"rollout-restart\""),
        target("worker", "store", "verb = \"scale\", by = 1, max = 3"),
        target("ledger", "locked", "verb = \"rollout-restart\""),
    ]
    .concat();
    let served = Served::start(&serve_config(&dir, &config(&stand, &targets)), &[]);
    served.wait_for("/api/v1/components", Duration::from_secs(15), |json| {
        json["components"]
            .as_array()
            .is_some_and(|all| all.len() == 3 && all.iter().all(|c| c["state"] == "healthy"))
    });

    // Trouble in all three.
    {
        let mut cluster = stand.cluster.lock().expect("cluster");
        let set = |cluster: &mut Cluster, ns: &str, name: &str, available: u64, trouble: Value| {
            let d = cluster
                .deployments
                .get_mut(&(ns.to_string(), name.to_string()))
                .expect("known");
            d.available = available;
            d.trouble = trouble;
        };
        set(&mut cluster, "store", "shop", 0, crash_looping());
        set(
            &mut cluster,
            "store",
            "worker",
            1,
            json!({"phase": "Failed", "reason": "Evicted",
            "message": "The node was low on resource: memory. Container worker was using 1Gi."}),
        );
        set(&mut cluster, "locked", "ledger", 0, crash_looping());
    }

    // The crash loop: diagnosed from the pods' words, restarted, verified.
    let healed = poll(Duration::from_secs(30), || {
        let detail = incident_of(&served, "shop")?;
        (detail["incident"]["status"] == "resolved").then_some(detail)
    })
    .expect("shop healed");
    let shop = stand.deployment("store", "shop");
    assert!(
        shop.restarted_at.is_some(),
        "the pod template was annotated"
    );
    assert_eq!(healed["actions"][0]["remedy"], "fix");
    assert_eq!(healed["actions"][0]["verified"], true, "{healed:#}");
    let evidence = healed["diagnosis"].to_string();
    assert!(
        evidence.contains("CrashLoopBackOff") && evidence.contains("OOMKilled"),
        "{evidence}"
    );
    assert_eq!(
        healed["incident"]["category"], "resource",
        "OOMKilled is a resource problem: {healed:#}"
    );

    // The evicted worker: scaled by one within max, after losing a race once.
    let healed = poll(Duration::from_secs(30), || {
        let detail = incident_of(&served, "worker")?;
        (detail["incident"]["status"] == "resolved").then_some(detail)
    })
    .expect("worker healed");
    assert_eq!(stand.deployment("store", "worker").replicas, 3);
    let said = healed["actions"][0]["output"].to_string();
    assert!(said.contains("scaled from 2 to 3"), "{said}");

    // RBAC: the patch is forbidden, and the action says what is missing.
    let refused = poll(Duration::from_secs(30), || {
        let detail = incident_of(&served, "ledger")?;
        let error = detail["actions"][0]["error"].as_str()?.to_string();
        Some(error)
    })
    .expect("ledger's remedy was refused");
    assert!(
        refused.contains("403") && refused.contains("RBAC"),
        "{refused}"
    );
    assert!(stand.deployment("locked", "ledger").restarted_at.is_none());
}

#[test]
fn dry_run_asks_the_api_server_and_changes_nothing() {
    let dir = TempDir::new("kubernetes-dry");
    let mut cluster = Cluster::default();
    cluster
        .deployments
        .insert(("store".into(), "shop".into()), troubled(2, 2, Value::Null));
    let stand = Stand::start(&dir, cluster);
    let targets = target("shop", "store", "verb = \"delete-pod\"");
    let served = Served::start(
        &serve_config(&dir, &config(&stand, &targets)),
        &[("MEDIC_POLICY_MODE", "dry-run")],
    );
    served.wait_for("/api/v1/components/shop", Duration::from_secs(15), |c| {
        c["state"] == "healthy"
    });
    {
        let mut cluster = stand.cluster.lock().expect("cluster");
        let shop = cluster
            .deployments
            .get_mut(&("store".to_string(), "shop".to_string()))
            .expect("shop");
        shop.available = 1;
        shop.trouble = json!({"name": "shop", "ready": false,
            "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image \"registry.example/shop:v9\""}}});
    }
    let skipped = poll(Duration::from_secs(30), || {
        let detail = incident_of(&served, "shop")?;
        let action = detail["actions"][0].clone();
        (action["state"] == "skipped").then_some(action)
    })
    .expect("the remedy recorded as skipped");
    let said = skipped.to_string();
    assert!(
        said.contains("dry run (dryRun=All, nothing changed)") && said.contains("shop-7d9f-1"),
        "{said}"
    );
    assert!(
        stand.cluster.lock().expect("cluster").deleted.is_empty(),
        "nothing deleted"
    );
}

/// The catalog's fixtures for the failure modes the probe reports: each
/// line is what `medic_probe::kubernetes` writes for a pod in that state
/// (its unit test pins the format), diagnosed by the real binary.
#[test]
fn the_probes_words_for_each_failure_mode_are_diagnosed() {
    let probe_line = |detail: &str| {
        format!("deployment store/shop: 1/2 available, 2/2 updated; pod shop-7d9f-1: {detail}")
    };
    for (detail, category) in [
        (
            "CrashLoopBackOff back-off 40s restarting failed container=shop; last terminated: OOMKilled (exit code 137)",
            "resource",
        ),
        // A crash loop that says no more is for a human: no category guessed.
        (
            "CrashLoopBackOff back-off 5m0s restarting failed container=shop",
            "unknown",
        ),
        (
            r#"ImagePullBackOff Back-off pulling image "registry.example/shop:v9""#,
            "configuration",
        ),
        (
            r#"CreateContainerConfigError secret "db-credentials" not found"#,
            "configuration",
        ),
        ("Evicted: The node was low on resource: memory.", "resource"),
        (
            "FailedScheduling: 0/3 nodes are available: 3 Insufficient memory.",
            "resource",
        ),
    ] {
        let out = crate::medic(&["diagnose", "-"], &[], Some(&probe_line(detail)));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(json["category"], category, "{detail}: {json}");
    }
}
