//! Issue 13: two `medic serve` replicas on one PostgreSQL. The target's
//! remedy takes 2.5 s and a page is the next rung: exactly one replica runs
//! the fix, nobody is paged, and when the owner is `kill -9`ed in the middle
//! of the fix, the other takes the target over, waits the orphaned fix out
//! instead of running it again, and resolves the incident.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use crate::chaos::Chaos;
use crate::support::{PgSchema, Served, TempDir, Webhook, poll};

/// The start every replica config shares: loopback, the store, a short lease.
fn cluster(store: &str) -> String {
    format!(
        "\n[server]\nlisten = \"127.0.0.1:0\"\n[storage]\nurl = \"{store}\"\n[cluster]\nlease = \"1500ms\""
    )
}

/// The replicas' shared config: the fix is a script that takes 2.5 s, then
/// ends the chaos; a page follows it on the ladder.
fn config(dir: &TempDir, store: &str, shop: &str, hook: &str) -> std::path::PathBuf {
    let fix = dir.0.join("fix.py");
    std::fs::write(
        &fix,
        format!(
            "#!/usr/bin/env python3\nimport time, urllib.request\ntime.sleep(2.5)\n\
             urllib.request.urlopen(urllib.request.Request('http://{shop}/chaos/resolve', method='POST'))\n\
             print('resolved')\n"
        ),
    )
    .expect("fix script");
    std::fs::set_permissions(&fix, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = dir.0.join("medic.toml");
    std::fs::write(
        &path,
        format!(
            r#"{cluster}
[policy]
cooldown = "0s"
[[targets]]
name = "shop"
probes = [{{ kind = "http", url = "http://{shop}/health", interval = "300ms", timeout = "250ms" }}]
health = {{ verify_window = "8s" }}
[[targets.remedies]]
name = "slow-fix"
action = {{ kind = "exec", command = ["{fix}"], timeout = "5s" }}
[[targets.remedies]]
name = "page"
action = {{ kind = "escalate", webhook = "{hook}" }}
"#,
            cluster = cluster(store),
            fix = fix.display(),
        ),
    )
    .expect("config");
    path
}

/// The replica that owns `target`, by its `/api/v1/health`.
fn owner<'a>(replicas: &'a [&'a Served], target: &str) -> Option<&'a Served> {
    let owning: Vec<&Served> = replicas
        .iter()
        .copied()
        .filter(|r| {
            r.get_json("/api/v1/health")["replica"]["owns"]
                .as_array()
                .is_some_and(|owns| owns.iter().any(|t| t == target))
        })
        .collect();
    (owning.len() == 1).then(|| owning[0])
}

/// Probe runs started on `served` so far (`medic_probe_runs_total`, on
/// time or late).
fn probe_runs(served: &Served) -> f64 {
    let (status, text) = crate::support::request(&served.address, "GET", "/metrics", "");
    assert_eq!(status, 200, "{text}");
    text.lines()
        .filter(|line| {
            line.starts_with("medic_probe_runs_total{")
                && (line.contains("\"on_time\"") || line.contains("\"late\""))
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn incidents(served: &Served) -> Vec<serde_json::Value> {
    served.get_json("/api/v1/incidents")["incidents"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn one_replica_heals_and_a_takeover_never_runs_the_fix_twice() {
    let Some(schema) = PgSchema::create("replicas") else {
        return;
    };
    let dir = TempDir::new("replicas");
    let shop = Chaos::start("replicas-shop");
    let hook = Webhook::start();
    let store = schema.url(&schema.base);
    let config = config(&dir, &store, &shop.address, &hook.url);
    let first = Served::start(&config, &[]);
    let second = Served::start(&config, &[]);
    let both = [&first, &second];
    poll(Duration::from_secs(15), || owner(&both, "shop")).expect("exactly one replica owns shop");
    for replica in both {
        assert_eq!(
            replica.get_json("/api/v1/health")["replica"]["shared"],
            true
        );
    }
    // Only the owner probes: the other leaves shop's probe idle, says so,
    // and shows its state as unknown rather than a stale verdict. (A lease
    // first, so both replicas have seen each other and the share settled.)
    std::thread::sleep(Duration::from_millis(1500));
    let watching = owner(&both, "shop").expect("an owner");
    let idle = if watching.address == first.address {
        &second
    } else {
        &first
    };
    let runs_before = (probe_runs(watching), probe_runs(idle));
    std::thread::sleep(Duration::from_millis(1500));
    assert!(probe_runs(watching) > runs_before.0, "the owner probes");
    assert_eq!(probe_runs(idle), runs_before.1, "the other does not");
    let shown = idle.get_json("/api/v1/components/shop");
    assert_eq!(shown["watched_here"], false, "{shown:#}");
    assert_eq!(shown["state"], "unknown", "{shown:#}");
    let shown = watching.get_json("/api/v1/components/shop");
    assert_eq!(shown["watched_here"], true, "{shown:#}");

    // One outage: one fix, by one replica; no page.
    let (status, body) = shop.request("POST", "/chaos/trigger?mode=error");
    assert_eq!(status, 202, "{body}");
    first.wait_for("/api/v1/incidents", Duration::from_secs(30), |json| {
        json["incidents"][0]["status"] == "resolved"
    });
    let listed = incidents(&first);
    assert_eq!(listed.len(), 1, "one incident for one outage: {listed:#?}");
    let id = listed[0]["id"].as_i64().expect("id");
    let detail = first.get_json(&format!("/api/v1/incidents/{id}"));
    let actions = detail["actions"].as_array().expect("actions");
    assert_eq!(actions.len(), 1, "the fix ran once: {detail:#}");
    assert_eq!(actions[0]["remedy"], "slow-fix", "{detail:#}");
    assert_eq!(actions[0]["verified"], true, "{detail:#}");

    // Another outage; the owner dies while its fix runs.
    let owning = owner(&both, "shop").expect("an owner");
    let owning_address = owning.address.clone();
    let (status, body) = shop.request("POST", "/chaos/trigger?mode=error");
    assert_eq!(status, 202, "{body}");
    let running = poll(Duration::from_secs(20), || {
        let listed = incidents(&first);
        let open = listed.iter().find(|i| i["id"].as_i64() != Some(id))?;
        let next = open["id"].as_i64()?;
        let detail = first.get_json(&format!("/api/v1/incidents/{next}"));
        (detail["actions"][0]["state"] == "running").then_some(next)
    })
    .expect("the second fix starts");
    let (killed, survivor) = if owning_address == first.address {
        (first, second)
    } else {
        (second, first)
    };
    killed.kill_hard();
    let resolved = survivor.wait_for(
        &format!("/api/v1/incidents/{running}"),
        Duration::from_secs(30),
        |json| json["incident"]["status"] == "resolved" || json["status"] == "resolved",
    );
    let actions = resolved["actions"].as_array().expect("actions");
    assert_eq!(
        actions.len(),
        1,
        "the orphaned fix was waited out, not run again: {resolved:#}"
    );
    assert_eq!(actions[0]["remedy"], "slow-fix", "{resolved:#}");
    assert_eq!(
        actions[0]["state"], "unknown",
        "its outcome died with its replica: {resolved:#}"
    );
    let survivors = [&survivor];
    assert!(
        owner(&survivors, "shop").is_some(),
        "the survivor owns shop"
    );
    assert!(
        hook.bodies.lock().expect("lock").is_empty(),
        "nobody was paged"
    );
}

#[test]
fn check_warns_of_a_host_bound_target_without_a_node() {
    let dir = TempDir::new("replicas-check");
    let path = dir.0.join("medic.toml");
    std::fs::write(
        &path,
        r#"
[storage]
url = "postgres://medic@db.internal/medic"
[cluster]
node = "web-1"
[[targets]]
name = "worker"
supervise = { command = ["/usr/local/bin/worker"] }
[[targets]]
name = "pinned"
node = "web-1"
supervise = { command = ["/usr/local/bin/worker"] }
[[targets]]
name = "api"
probes = [{ kind = "http", url = "http://api.internal/health" }]
"#,
    )
    .expect("config");
    let out = crate::medic(
        &[
            "check",
            "--offline",
            "--config",
            path.to_str().expect("utf-8"),
        ],
        &[],
        None,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains(
            "cluster: replicas on this store share the targets by leases (lease 5s, node web-1)"
        ),
        "{stdout}"
    );
    let warnings: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("WARNING target"))
        .collect();
    assert_eq!(warnings.len(), 1, "{stdout}");
    assert!(
        warnings[0].contains("target worker is bound to one host"),
        "{stdout}"
    );
}

#[test]
fn an_alert_sent_to_the_other_replica_is_handed_to_the_owner_and_acted_on_once() {
    let Some(schema) = PgSchema::create("handoff") else {
        return;
    };
    let dir = TempDir::new("replicas-handoff");
    let fixes = Webhook::start();
    let path = dir.0.join("medic.toml");
    std::fs::write(
        &path,
        format!(
            r#"{cluster}
[webhooks]
alertmanager = {{ token_env = "MEDIC_AM_TOKEN", target_labels = ["service"] }}
[[targets]]
name = "payments"
[[targets.remedies]]
name = "reconnect"
action = {{ kind = "http", url = "{fix}" }}
"#,
            cluster = cluster(&schema.url(&schema.base)),
            fix = fixes.url,
        ),
    )
    .expect("config");
    let env = [("MEDIC_AM_TOKEN", "am-token-handoff-0123")];
    let first = crate::planted::Agent::start(&path, &env);
    let second = crate::planted::Agent::start(&path, &env);
    let both = [&first.served, &second.served];
    let owning = poll(Duration::from_secs(15), || owner(&both, "payments"))
        .expect("exactly one replica owns payments")
        .address
        .clone();
    let other = if first.served.address == owning {
        &second
    } else {
        &first
    };

    let body = crate::child_env::alert(
        serde_json::json!({"alertname": "PaymentsDown", "service": "payments"}),
        serde_json::json!({"summary": "payments: connect to db:5432: connection refused"}),
    );
    let (status, answer) = other.call(
        "POST",
        "/webhooks/alertmanager",
        &[("Authorization", "Bearer am-token-handoff-0123")],
        &body,
    );
    assert_eq!(status, 200, "{answer}");
    poll(Duration::from_secs(20), || {
        (!fixes.bodies.lock().expect("lock").is_empty()).then_some(())
    })
    .unwrap_or_else(|| panic!("the owner never acted; its log:\n{}", first.stderr()));
    // Both replicas had every chance to act; one did, once.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(fixes.bodies.lock().expect("lock").len(), 1, "one fix");
    let listed = incidents(&first.served);
    assert_eq!(listed.len(), 1, "one incident: {listed:#?}");

    // Its resolution, also sent to the replica that does not own the
    // target, ends the outage where the alert went: the incident resolves.
    let resolved = body
        .replace("\"status\":\"firing\"", "\"status\":\"resolved\"")
        .replace("0001-01-01T00:00:00Z", "2026-12-05T10:05:00Z");
    assert!(resolved.contains("\"resolved\""), "{resolved}");
    let (status, answer) = other.call(
        "POST",
        "/webhooks/alertmanager",
        &[("Authorization", "Bearer am-token-handoff-0123")],
        &resolved,
    );
    assert_eq!(status, 200, "{answer}");
    let closed = poll(Duration::from_secs(20), || {
        let listed = incidents(&first.served);
        (listed[0]["status"] == "resolved").then_some(())
    });
    assert!(
        closed.is_some(),
        "the owner heard the resolution: {:#?}",
        incidents(&first.served)
    );
}

#[test]
fn an_approval_given_through_the_other_replica_lets_the_owner_act_at_once() {
    let Some(schema) = PgSchema::create("approval") else {
        return;
    };
    let dir = TempDir::new("replicas-approval");
    let shop = Chaos::start("replicas-approval-shop");
    let path = dir.0.join("medic.toml");
    std::fs::write(
        &path,
        format!(
            r#"{cluster}
[auth]
keys = [{{ name = "ops", key_env = "MEDIC_OPS_KEY", scopes = ["read", "write", "admin"] }}]
[[targets]]
name = "shop"
probes = [{{ kind = "http", url = "http://{shop}/health", interval = "300ms", timeout = "250ms" }}]
[[targets.remedies]]
name = "resolve"
risk = "high"
action = {{ kind = "http", url = "http://{shop}/chaos/resolve" }}
"#,
            cluster = cluster(&schema.url(&schema.base)),
            shop = shop.address,
        ),
    )
    .expect("config");
    let env = [("MEDIC_OPS_KEY", "ops-key-approval-0123456789")];
    let key = [("Authorization", "Bearer ops-key-approval-0123456789")];
    let first = crate::planted::Agent::start(&path, &env);
    let second = crate::planted::Agent::start(&path, &env);
    let json = |agent: &crate::planted::Agent, path: &str| {
        let (status, body) = agent.call("GET", path, &key, "");
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str::<serde_json::Value>(&body).expect("JSON")
    };
    let owns = |agent: &crate::planted::Agent| {
        json(agent, "/api/v1/health")["replica"]["owns"]
            .as_array()
            .is_some_and(|owns| owns.iter().any(|t| t == "shop"))
    };
    let other = poll(Duration::from_secs(15), || {
        match (owns(&first), owns(&second)) {
            (true, false) => Some(&second),
            (false, true) => Some(&first),
            _ => None,
        }
    })
    .expect("exactly one replica owns shop");

    let (status, body) = shop.request("POST", "/chaos/trigger?mode=error");
    assert_eq!(status, 202, "{body}");
    let approval = poll(Duration::from_secs(20), || {
        json(other, "/api/v1/approvals")["approvals"][0]["id"].as_i64()
    })
    .expect("the owner asks for approval");
    let (status, body) = other.call(
        "POST",
        &format!("/api/v1/approvals/{approval}/approve"),
        &key,
        "",
    );
    assert_eq!(status, 200, "{body}");
    // The owner hears of it through the store and runs the fix at once,
    // not when its wait (15 minutes by default) times out.
    let resolved = poll(Duration::from_secs(15), || {
        let listed = json(other, "/api/v1/incidents");
        (listed["incidents"][0]["status"] == "resolved").then_some(listed)
    });
    assert!(
        resolved.is_some(),
        "the approved fix ran; owner log:\n{}\n{}",
        first.stderr(),
        second.stderr()
    );
}

/// A monitoring pause is kept in the store: given through the replica that
/// does not probe the target, it stops the owner's probes too; a resume
/// through the owner starts the other again.
#[test]
fn a_monitoring_pause_through_one_replica_holds_on_every_replica() {
    let Some(schema) = PgSchema::create("replicas_pause") else {
        return;
    };
    let dir = TempDir::new("replicas-pause");
    let shop = Chaos::start("replicas-pause-shop");
    let hook = Webhook::start();
    let config = config(&dir, &schema.url(&schema.base), &shop.address, &hook.url);
    let first = Served::start(&config, &[]);
    let second = Served::start(&config, &[]);
    let both = [&first, &second];
    // A lease, so both have seen each other and the share settled.
    std::thread::sleep(Duration::from_millis(1500));
    let watching = poll(Duration::from_secs(15), || owner(&both, "shop")).expect("an owner");
    let other = if watching.address == first.address {
        &second
    } else {
        &first
    };
    let running = |served: &Served| served.get_json("/api/v1/monitoring/status")["running"].clone();

    let (status, body) =
        crate::support::request(&other.address, "POST", "/api/v1/monitoring/stop", "");
    assert_eq!(status, 200, "{body}");
    poll(Duration::from_secs(5), || {
        (running(watching) == false).then_some(())
    })
    .expect("the owner pauses within a lease round");
    let paused_at = probe_runs(watching);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        probe_runs(watching),
        paused_at,
        "the owner's probes stopped"
    );

    let (status, body) =
        crate::support::request(&watching.address, "POST", "/api/v1/monitoring/start", "");
    assert_eq!(status, 200, "{body}");
    poll(Duration::from_secs(5), || {
        (running(other) == true).then_some(())
    })
    .expect("the other resumes within a lease round");
    poll(Duration::from_secs(5), || {
        (probe_runs(watching) > paused_at).then_some(())
    })
    .expect("the owner probes again");
}
