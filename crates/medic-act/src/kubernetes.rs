//! The `kubernetes` action, through the API server as `kubectl` would:
//!
//! - `rollout-restart`: a strategic merge patch of the pod template's
//!   `kubectl.kubernetes.io/restartedAt` annotation; the Deployment
//!   replaces its pods batch by batch.
//! - `scale`: reads the `scale` subresource, then a merge patch of
//!   `spec.replicas` carrying the `resourceVersion` read, so a concurrent
//!   change is a 409 and is read again (once), never overwritten. The new
//!   count stays within `min..=max`.
//! - `delete-pod`: deletes the Deployment's pods that are not ready.
//!
//! With `dry_run`, every write carries `dryRun=All`: the API server checks
//! it (RBAC, admission) and changes nothing.

use std::time::Duration;

use medic_client::{KubeApi, KubeError};
use medic_engine::config::{KubernetesAction, KubernetesVerb};
use serde_json::{Value, json};

use crate::outcome::ActionOutcome;

const STRATEGIC: &str = "application/strategic-merge-patch+json";
const MERGE: &str = "application/merge-patch+json";

pub(crate) async fn run(action: &KubernetesAction, api: &KubeApi, dry_run: bool) -> ActionOutcome {
    let namespace = action
        .namespace
        .clone()
        .unwrap_or_else(|| api.namespace.clone());
    let deployment = format!(
        "/apis/apps/v1/namespaces/{namespace}/deployments/{}",
        action.deployment
    );
    let timeout = action.timeout.get();
    let dry = if dry_run { "?dryRun=All" } else { "" };
    let said = match action.verb {
        KubernetesVerb::RolloutRestart => rollout_restart(api, &deployment, dry, timeout).await,
        KubernetesVerb::Scale => scale(api, action, &deployment, dry, timeout).await,
        KubernetesVerb::DeletePod => delete_pods(api, &namespace, &deployment, dry, timeout).await,
    };
    match said {
        Ok(text) if dry_run => ActionOutcome::succeeded()
            .with_output(format!("dry run (dryRun=All, nothing changed): {text}")),
        Ok(text) => ActionOutcome::succeeded().with_output(text),
        Err(error) => ActionOutcome::failed(error.to_string()),
    }
}

async fn rollout_restart(
    api: &KubeApi,
    deployment: &str,
    dry: &str,
    timeout: Duration,
) -> Result<String, KubeError> {
    let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let patch = json!({"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": at
    }}}}});
    api.patch(&format!("{deployment}{dry}"), STRATEGIC, &patch, timeout)
        .await?;
    Ok(format!("rollout restart of {deployment} at {at}"))
}

async fn scale(
    api: &KubeApi,
    action: &KubernetesAction,
    deployment: &str,
    dry: &str,
    timeout: Duration,
) -> Result<String, KubeError> {
    let path = format!("{deployment}/scale");
    let max = action.max.unwrap_or(action.min);
    // A concurrent change (an autoscaler, a human) makes the write a 409:
    // read again and decide again, once.
    let mut tries = 0;
    loop {
        tries += 1;
        let current = api.get(&path, timeout).await?;
        let replicas = current["spec"]["replicas"].as_i64().unwrap_or(0);
        let version = current["metadata"]["resourceVersion"].clone();
        let wanted = (replicas + i64::from(action.by)).clamp(i64::from(action.min), i64::from(max));
        if wanted == replicas {
            return Ok(format!(
                "{deployment} stays at {replicas} replicas (bounds {}..={max})",
                action.min
            ));
        }
        let patch = json!({"metadata": {"resourceVersion": version}, "spec": {"replicas": wanted}});
        match api
            .patch(&format!("{path}{dry}"), MERGE, &patch, timeout)
            .await
        {
            Ok(_) => {
                return Ok(format!(
                    "{deployment} scaled from {replicas} to {wanted} replicas"
                ));
            }
            Err(error) if error.is_conflict() && tries < 2 => continue,
            Err(error) => return Err(error),
        }
    }
}

async fn delete_pods(
    api: &KubeApi,
    namespace: &str,
    deployment: &str,
    dry: &str,
    timeout: Duration,
) -> Result<String, KubeError> {
    let found = api.get(deployment, timeout).await?;
    let pods = api.pods_of(namespace, &found, timeout).await?;
    let not_ready: Vec<String> = pods["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|pod| !is_ready(pod))
        .filter_map(|pod| pod["metadata"]["name"].as_str().map(str::to_string))
        .collect();
    if not_ready.is_empty() {
        return Ok(format!("every pod of {deployment} is ready: none deleted"));
    }
    for name in &not_ready {
        api.delete(
            &format!("/api/v1/namespaces/{namespace}/pods/{name}{dry}"),
            timeout,
        )
        .await?;
    }
    Ok(format!(
        "deleted pods that were not ready: {}",
        not_ready.join(", ")
    ))
}

/// Whether a pod's `Ready` condition is true.
fn is_ready(pod: &Value) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}
