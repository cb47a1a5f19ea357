//! Children start from a clean environment: secrets planted in the agent's
//! environment (its API key, webhook secrets, a cloud key it never names)
//! reach no remedy, probe or supervised process, while what the config
//! passes on purpose and the incident's `MEDIC_*` facts do.

use std::time::Duration;

use serde_json::json;

use crate::planted::Agent;
use crate::support::{TempDir, poll};

const WAIT: Duration = Duration::from_secs(30);

/// The agent's secrets, each a value no child may print.
pub const SECRETS: &[(&str, &str)] = &[
    ("MEDIC_OPS_KEY", "ops-key-0123456789abcdef"),
    ("MEDIC_AM_TOKEN", "am-token-Zq7Vx93LmP"),
    ("MEDIC_HOOK_SECRET", "hook-secret-5f4e3d2c1b"),
    (
        "AWS_SECRET_ACCESS_KEY",
        "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY",
    ),
];

/// An Alertmanager notification (payload version 4) with one firing alert.
pub fn alert(labels: serde_json::Value, annotations: serde_json::Value) -> String {
    json!({
        "version": "4",
        "groupKey": "{}:{alertname=\"PaymentsDown\"}",
        "status": "firing",
        "receiver": "medic",
        "alerts": [{
            "status": "firing",
            "labels": labels,
            "annotations": annotations,
            "startsAt": "2026-12-05T10:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
        }],
    })
    .to_string()
}

#[test]
fn children_never_see_the_agents_secrets() {
    let dir = TempDir::new("child-env");
    let d = dir.0.display();
    let config = dir.0.join("medic.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[server]
listen = "127.0.0.1:0"
[storage]
url = "sqlite://{d}/medic.db"
[auth]
keys = [{{ name = "ops", key_env = "MEDIC_OPS_KEY", scopes = ["read", "write", "admin"] }}]
[webhooks]
alertmanager = {{ token_env = "MEDIC_AM_TOKEN", target_labels = ["service"] }}
generic = {{ secret_env = "MEDIC_HOOK_SECRET" }}
[[targets]]
name = "payments"
supervise = {{ command = ["sh", "-c", "env > {d}/supervised.env; exec sleep 600"], env = {{ SERVICE_MODE = "on" }}, pass_env = ["PASSED_ON"] }}
probes = [{{ kind = "exec", command = ["sh", "-c", "env > {d}/probe.env"], interval = "1s", timeout = "1s", env = {{ PROBE_VAR = "probe-value" }} }}]
[[targets.remedies]]
name = "show-env"
action = {{ kind = "exec", command = ["sh", "-c", "env > {d}/remedy.env"], env = {{ REMEDY_VAR = "remedy-value" }} }}
"#
        ),
    )
    .expect("config");
    let mut env = SECRETS.to_vec();
    env.push(("PASSED_ON", "passed-on-value"));
    let agent = Agent::start(&config, &env);

    let body = alert(
        json!({"alertname": "PaymentsDown", "service": "payments", "app.kubernetes.io/name": "pay"}),
        json!({"summary": "payments: connect to db:5432: connection refused"}),
    );
    let (status, answer) = agent.call(
        "POST",
        "/webhooks/alertmanager",
        &[("Authorization", "Bearer am-token-Zq7Vx93LmP")],
        &body,
    );
    assert_eq!(status, 200, "{answer}");

    let read = |name: &str| {
        std::fs::read_to_string(dir.0.join(name))
            .ok()
            .filter(|t| !t.is_empty())
    };
    let remedy = poll(WAIT, || read("remedy.env"))
        .unwrap_or_else(|| panic!("the remedy never ran; agent log:\n{}", agent.stderr()));
    let probe = poll(WAIT, || read("probe.env")).expect("the probe ran");
    let supervised = poll(WAIT, || read("supervised.env")).expect("the service started");

    for (child, text) in [
        ("remedy", &remedy),
        ("probe", &probe),
        ("supervised", &supervised),
    ] {
        for (name, value) in SECRETS {
            assert!(!text.contains(value), "{child} saw {name}:\n{text}");
            assert!(
                !text.contains(&format!("{name}=")),
                "{child} saw {name}:\n{text}"
            );
        }
        assert!(text.contains("PATH="), "{child} has no PATH:\n{text}");
    }
    // What the config passes on purpose arrives.
    assert!(
        supervised.contains("SERVICE_MODE=on") && supervised.contains("PASSED_ON=passed-on-value"),
        "{supervised}"
    );
    assert!(
        probe.contains("PROBE_VAR=probe-value") && !probe.contains("PASSED_ON"),
        "{probe}"
    );
    assert!(remedy.contains("REMEDY_VAR=remedy-value"), "{remedy}");
    // The incident's facts, as data.
    for fact in [
        "MEDIC_TARGET=payments",
        "MEDIC_INCIDENT_ID=",
        "MEDIC_CATEGORY=",
        "MEDIC_SEVERITY=",
        "MEDIC_ROOT_CAUSE=",
        "MEDIC_FINGERPRINT=",
        "MEDIC_REMEDY=show-env",
        "MEDIC_ALERT_ALERTNAME=PaymentsDown",
        "MEDIC_ALERT_SERVICE=payments",
        "MEDIC_ALERT_APP_KUBERNETES_IO_NAME=pay",
        "MEDIC_ALERT_SUMMARY=payments: connect to db:5432: connection refused",
    ] {
        assert!(remedy.contains(fact), "the remedy lacks {fact}:\n{remedy}");
    }
}

#[test]
fn medic_run_keeps_the_callers_environment_but_not_medics_credentials() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_medic"))
        .args(["run", "--", "env"])
        .env("MEDIC_API_KEY", "run-api-key-0123456789")
        .env("MEDIC_WEBHOOK_SECRET", "run-webhook-secret-0123")
        .env("CALLERS_OWN", "kept")
        .output()
        .expect("medic run");
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{printed}");
    assert!(printed.contains("CALLERS_OWN=kept"), "{printed}");
    assert!(
        !printed.contains("run-api-key") && !printed.contains("run-webhook-secret"),
        "{printed}"
    );
}
