//! The Kubernetes probe: a Deployment's state from the API server. Healthy
//! while as many replicas are available and updated as it asks for; else
//! the message says what its pods say, in Kubernetes' own words
//! (`CrashLoopBackOff`, `ImagePullBackOff`, `OOMKilled`,
//! `CreateContainerConfigError`, `Evicted`, `FailedScheduling`), which the
//! diagnosis rules read.

use std::sync::Arc;
use std::time::Duration;

use medic_client::KubeApi;
use medic_engine::config::KubernetesProbe;
use medic_model::{Signal, SignalSource};
use serde_json::Value;

/// A built Kubernetes probe.
#[derive(Debug, Clone)]
pub struct KubernetesCheck {
    name: String,
    deployment: String,
    namespace: String,
    timeout: Duration,
    api: Arc<KubeApi>,
}

impl KubernetesCheck {
    /// Builds the probe on `api`; `name` becomes the signal's probe name.
    pub fn new(probe: &KubernetesProbe, api: Arc<KubeApi>, name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            deployment: probe.deployment.clone(),
            namespace: probe
                .namespace
                .clone()
                .unwrap_or_else(|| api.namespace.clone()),
            timeout: probe.timeout.get(),
            api,
        }
    }

    /// Reads the Deployment (and, when it is short, its pods) once.
    pub async fn check(&self, target: &str) -> Signal {
        let source = SignalSource::Probe {
            probe: self.name.clone(),
        };
        let path = format!(
            "/apis/apps/v1/namespaces/{}/deployments/{}",
            self.namespace, self.deployment
        );
        let deployment = match self.api.get(&path, self.timeout).await {
            Ok(deployment) => deployment,
            Err(error) => return Signal::unhealthy(target, source, &error.to_string()),
        };
        let wanted = deployment["spec"]["replicas"].as_u64().unwrap_or(1);
        let status = &deployment["status"];
        let count = |field: &str| status[field].as_u64().unwrap_or(0);
        let (available, updated) = (count("availableReplicas"), count("updatedReplicas"));
        if available >= wanted && updated >= wanted {
            return Signal::healthy(target, source);
        }
        let mut message = format!(
            "deployment {}/{}: {available}/{wanted} available, {updated}/{wanted} updated",
            self.namespace, self.deployment
        );
        let problems = match self.pod_problems(&deployment).await {
            Ok(problems) => problems,
            Err(error) => vec![format!("pods not read: {error}")],
        };
        if let Some(first) = problems.first() {
            message.push_str("; ");
            message.push_str(first);
        }
        Signal::unhealthy(target, source, &message).with_evidence(problems)
    }

    /// One line per pod that is not well: its waiting, last terminated or
    /// eviction reason, or why it cannot be scheduled.
    async fn pod_problems(
        &self,
        deployment: &Value,
    ) -> Result<Vec<String>, medic_client::KubeError> {
        let pods = self
            .api
            .pods_of(&self.namespace, deployment, self.timeout)
            .await?;
        Ok(pods["items"].as_array().map_or_else(Vec::new, |pods| {
            pods.iter().filter_map(pod_problem).collect()
        }))
    }
}

/// What is wrong with one pod, in Kubernetes' words, or `None` if it is well.
pub fn pod_problem(pod: &Value) -> Option<String> {
    let name = pod["metadata"]["name"].as_str().unwrap_or("?");
    let status = &pod["status"];
    if status["reason"] == "Evicted" {
        let why = status["message"].as_str().unwrap_or_default();
        return Some(format!("pod {name}: Evicted: {why}"));
    }
    let unschedulable = status["conditions"].as_array().and_then(|conditions| {
        conditions
            .iter()
            .find(|c| c["type"] == "PodScheduled" && c["status"] == "False")
    });
    if let Some(condition) = unschedulable {
        let why = condition["message"].as_str().unwrap_or_default();
        return Some(format!("pod {name}: FailedScheduling: {why}"));
    }
    let containers = status["containerStatuses"].as_array()?;
    let mut said = Vec::new();
    for container in containers {
        if container["ready"] == true {
            continue;
        }
        let state = &container["state"];
        if let Some(reason) = state["waiting"]["reason"].as_str() {
            let why = state["waiting"]["message"].as_str().unwrap_or_default();
            said.push(format!("{reason} {why}").trim().to_string());
        }
        let last = &container["lastState"]["terminated"];
        if let Some(reason) = last["reason"].as_str() {
            let code = last["exitCode"].as_i64().unwrap_or_default();
            said.push(format!("last terminated: {reason} (exit code {code})"));
        }
    }
    (!said.is_empty()).then(|| format!("pod {name}: {}", said.join("; ")))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn pods_say_why_in_kubernetes_words() {
        let crash = json!({"metadata": {"name": "shop-1"}, "status": {"containerStatuses": [{
            "ready": false,
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container"}},
            "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}
        }]}});
        assert_eq!(
            pod_problem(&crash).as_deref(),
            Some(
                "pod shop-1: CrashLoopBackOff back-off 40s restarting failed container; last terminated: OOMKilled (exit code 137)"
            )
        );
        let evicted = json!({"metadata": {"name": "shop-2"}, "status": {"phase": "Failed", "reason": "Evicted",
            "message": "The node was low on resource: memory."}});
        assert_eq!(
            pod_problem(&evicted).as_deref(),
            Some("pod shop-2: Evicted: The node was low on resource: memory.")
        );
        let pending = json!({"metadata": {"name": "shop-3"}, "status": {"phase": "Pending", "conditions": [
            {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
             "message": "0/3 nodes are available: 3 Insufficient memory."}]}});
        assert!(pod_problem(&pending).is_some_and(|p| p.contains("FailedScheduling: 0/3 nodes")));
        let well = json!({"metadata": {"name": "shop-4"}, "status": {"containerStatuses": [{"ready": true, "state": {"running": {}}}]}});
        assert_eq!(pod_problem(&well), None);
        assert_eq!(pod_problem(&json!("not a pod")), None);
    }
}
