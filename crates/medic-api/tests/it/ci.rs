//! The CI/CD webhooks end to end: GitHub, GitLab and Jenkins deliveries
//! through the router, and a stand-in server speaking each platform's
//! documented API (logs, re-runs, credentials), which records every call.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Request, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::harness::{Api, GITHUB_SECRET, GITLAB_TOKEN, OPS, assert_error, env};

const GH_API_TOKEN: &str = "gh-api-token-0123";
const GL_API_TOKEN: &str = "gl-api-token-0123";
const JENKINS_API_USER: &str = "medic";
const JENKINS_API_TOKEN: &str = "jenkins-api-token";

const NETWORK_LOG: &str = "Run actions/checkout@v4\nfatal: unable to access 'https://github.com/octo-org/octo-repo/': Could not resolve host: github.com\n##[error]Process completed with exit code 128.\n";
const COMPILE_LOG: &str = "Compiling app v0.1.0\nerror[E0425]: cannot find value `x` in this scope\n --> src/main.rs:2:5\nerror: could not compile `app`\n";
const TEST_LOG: &str =
    "running 3 tests\ntest result: FAILED. 1 passed; 2 failed; 0 ignored\nBuild step failed\n";

/// One call the stand-in received.
#[derive(Debug, Clone)]
struct Call {
    method: String,
    path: String,
    /// Whether it carried the platform's documented credentials and headers.
    authorized: bool,
}

#[derive(Default)]
struct Recorded {
    calls: Vec<Call>,
    /// Log text by request path.
    logs: BTreeMap<String, String>,
    /// What the escalation webhook received.
    pages: Vec<Value>,
}

#[derive(Clone, Default)]
struct StandIn {
    recorded: Arc<Mutex<Recorded>>,
}

impl StandIn {
    fn lock(&self) -> std::sync::MutexGuard<'_, Recorded> {
        self.recorded.lock().expect("stand-in lock")
    }

    fn set_log(&self, path: &str, text: &str) {
        self.lock().logs.insert(path.to_string(), text.to_string());
    }

    fn posts(&self, path: &str) -> usize {
        self.lock()
            .calls
            .iter()
            .filter(|c| c.method == "POST" && c.path == path)
            .count()
    }

    fn all_authorized(&self) -> bool {
        self.lock().calls.iter().all(|c| c.authorized)
    }

    fn pages(&self) -> Vec<Value> {
        self.lock().pages.clone()
    }

    fn record(&self, method: &str, uri: &Uri, authorized: bool) {
        self.lock().calls.push(Call {
            method: method.into(),
            path: uri.path().to_string(),
            authorized,
        });
    }

    fn log(&self, uri: &Uri) -> Response {
        match self.lock().logs.get(uri.path()) {
            Some(text) => text.clone().into_response(),
            None => StatusCode::NOT_FOUND.into_response(),
        }
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn github_authorized(headers: &HeaderMap) -> bool {
    header(headers, "authorization") == format!("Bearer {GH_API_TOKEN}")
        && header(headers, "x-github-api-version") == "2022-11-28"
        && !header(headers, "user-agent").is_empty()
}

fn gitlab_authorized(headers: &HeaderMap) -> bool {
    header(headers, "private-token") == GL_API_TOKEN
}

fn jenkins_authorized(headers: &HeaderMap) -> bool {
    use base64::Engine as _;
    let expected = base64::engine::general_purpose::STANDARD
        .encode(format!("{JENKINS_API_USER}:{JENKINS_API_TOKEN}"));
    header(headers, "authorization") == format!("Basic {expected}")
}

/// GitHub: `GET …/jobs/{id}/logs` answers 302 to the log's storage URL.
async fn github_logs(
    State(s): State<StandIn>,
    Path((owner, repo, job)): Path<(String, String, u64)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let ok =
        github_authorized(&headers) && header(&headers, "accept") == "application/vnd.github+json";
    s.record("GET", &uri, ok);
    if !ok {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    Redirect::to(&format!("/storage/{owner}/{repo}/{job}.txt")).into_response()
}

/// The redirect's target: no credentials needed (a signed URL in reality).
async fn github_storage(State(s): State<StandIn>, uri: Uri) -> Response {
    s.record("GET", &uri, true);
    s.log(&uri)
}

async fn github_run_jobs(
    State(s): State<StandIn>,
    Path((_, _, run, _)): Path<(String, String, u64, u32)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let ok = github_authorized(&headers);
    s.record("GET", &uri, ok);
    if !ok {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    axum::Json(json!({"total_count": 2, "jobs": [
        {"id": run * 10 + 1, "run_id": run, "name": "fetch", "status": "completed", "conclusion": "failure"},
        {"id": run * 10 + 2, "run_id": run, "name": "lint", "status": "completed", "conclusion": "success"},
    ]}))
    .into_response()
}

/// GitHub's re-run endpoints answer 201 with an empty body.
async fn github_rerun(State(s): State<StandIn>, uri: Uri, headers: HeaderMap) -> Response {
    let ok = github_authorized(&headers);
    s.record("POST", &uri, ok);
    if ok {
        StatusCode::CREATED.into_response()
    } else {
        StatusCode::UNAUTHORIZED.into_response()
    }
}

async fn gitlab_trace(State(s): State<StandIn>, uri: Uri, headers: HeaderMap) -> Response {
    let ok = gitlab_authorized(&headers);
    s.record("GET", &uri, ok);
    if !ok {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    s.log(&uri)
}

/// GitLab's retry answers 201 with the new job.
async fn gitlab_retry(
    State(s): State<StandIn>,
    Path((_, job)): Path<(u64, u64)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let ok = gitlab_authorized(&headers);
    s.record("POST", &uri, ok);
    if !ok {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    (
        StatusCode::CREATED,
        axum::Json(json!({"id": job + 1000, "status": "pending", "name": "test"})),
    )
        .into_response()
}

async fn jenkins_console(State(s): State<StandIn>, uri: Uri, headers: HeaderMap) -> Response {
    let ok = jenkins_authorized(&headers);
    s.record("GET", &uri, ok);
    if !ok {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    s.log(&uri)
}

/// Jenkins queues the build: 201 with the queue item in `Location`.
async fn jenkins_build(State(s): State<StandIn>, uri: Uri, headers: HeaderMap) -> Response {
    let ok = jenkins_authorized(&headers);
    s.record("POST", &uri, ok);
    if !ok {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    (StatusCode::CREATED, [("location", "/queue/item/7/")]).into_response()
}

async fn page(State(s): State<StandIn>, axum::Json(body): axum::Json<Value>) -> StatusCode {
    s.lock().pages.push(body);
    StatusCode::OK
}

/// Starts the stand-in on loopback; its address.
async fn stand_in() -> (StandIn, String) {
    let state = StandIn::default();
    let app = Router::new()
        .route(
            "/repos/{owner}/{repo}/actions/jobs/{job}/logs",
            get(github_logs),
        )
        .route("/storage/{owner}/{repo}/{file}", get(github_storage))
        .route(
            "/repos/{owner}/{repo}/actions/runs/{run}/attempts/{attempt}/jobs",
            get(github_run_jobs),
        )
        .route(
            "/repos/{owner}/{repo}/actions/jobs/{job}/rerun",
            post(github_rerun),
        )
        .route(
            "/repos/{owner}/{repo}/actions/runs/{run}/rerun-failed-jobs",
            post(github_rerun),
        )
        .route(
            "/api/v4/projects/{project}/jobs/{job}/trace",
            get(gitlab_trace),
        )
        .route(
            "/api/v4/projects/{project}/jobs/{job}/retry",
            post(gitlab_retry),
        )
        .route("/job/{job}/{number}/consoleText", get(jenkins_console))
        .route("/job/{job}/build", post(jenkins_build))
        .route("/page", post(page))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (state, address)
}

/// A config whose CI APIs are the stand-in at `address`.
async fn api(address: &str) -> Api {
    api_with(address, "").await
}

/// The same, with `github_extra` (`, key = value`) in `[webhooks] github`.
async fn api_with(address: &str, github_extra: &str) -> Api {
    let text = format!(
        r#"
[server]
listen = "127.0.0.1:0"

[auth]
keys = [{{ name = "ops", key_env = "T_OPS", scopes = ["read", "write", "admin"] }}]

[webhooks]
github = {{ secret_env = "T_GITHUB", api_url = "http://{address}", api_token_env = "T_GH_API"{github_extra} }}
gitlab = {{ token_env = "T_GITLAB", api_url = "http://{address}/", api_token_env = "T_GL_API" }}
jenkins = {{ user_env = "T_JENKINS_USER", password_env = "T_JENKINS_PASSWORD", api_user_env = "T_J_USER", api_token_env = "T_J_TOKEN", max_reruns = 1 }}

[[targets]]
name = "octo-repo"

[[targets.remedies]]
name = "page"
action = {{ kind = "escalate", webhook = "http://{address}/page" }}

[[targets]]
name = "app"

[[targets.remedies]]
name = "page"
action = {{ kind = "escalate", webhook = "http://{address}/page" }}
"#
    );
    let mut env = env();
    env.insert("T_GH_API".into(), GH_API_TOKEN.into());
    env.insert("T_GL_API".into(), GL_API_TOKEN.into());
    env.insert("T_J_USER".into(), JENKINS_API_USER.into());
    env.insert("T_J_TOKEN".into(), JENKINS_API_TOKEN.into());
    Api::from_config_and_env(&text, env).await
}

fn github(event: &str, delivery: &str, body: &Value, secret: &str) -> Request<Body> {
    let body = body.to_string();
    Request::builder()
        .method("POST")
        .uri("/webhooks/github")
        .header("content-type", "application/json")
        .header("x-github-event", event)
        .header("x-github-delivery", delivery)
        .header(
            "x-hub-signature-256",
            medic_api::hub_signature(secret.as_bytes(), body.as_bytes()),
        )
        .body(Body::from(body))
        .expect("request")
}

/// A `workflow_job` event as GitHub documents it (trimmed).
fn workflow_job(action: &str, job_id: u64, attempt: u32, conclusion: Option<&str>) -> Value {
    json!({
        "action": action,
        "workflow_job": {
            "id": job_id, "run_id": 5000, "run_attempt": attempt,
            "workflow_name": "CI", "head_branch": "main", "name": "build",
            "status": if action == "completed" { "completed" } else { "in_progress" },
            "conclusion": conclusion,
            "html_url": format!("https://github.com/octo-org/octo-repo/actions/runs/5000/job/{job_id}"),
            "steps": [],
        },
        "repository": {"id": 1296269, "name": "octo-repo", "full_name": "octo-org/octo-repo"},
        "sender": {"login": "octocat"},
    })
}

fn gitlab(event: &str, token: &str, body: &str) -> Request<Body> {
    Request::builder()
        .method("POST")
        .uri("/webhooks/gitlab")
        .header("content-type", "application/json")
        .header("x-gitlab-event", event)
        .header("x-gitlab-token", token)
        .body(Body::from(body.to_string()))
        .expect("request")
}

fn gitlab_job(job_id: u64, status: &str) -> Value {
    json!({
        "object_kind": "build", "ref": "main", "tag": false,
        "build_id": job_id, "build_name": "test", "build_stage": "test",
        "build_status": status, "build_allow_failure": false,
        "build_failure_reason": "script_failure",
        "pipeline_id": 900, "project_id": 42, "project_name": "Group / App",
        "project": {"id": 42, "name": "App", "path_with_namespace": "group/app",
            "web_url": "http://gitlab.example.com/group/app"},
        "retries_count": 0,
    })
}

fn jenkins(auth: (&str, &str), body: &Value) -> Request<Body> {
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", auth.0, auth.1));
    Request::builder()
        .method("POST")
        .uri("/webhooks/jenkins")
        .header("content-type", "application/json")
        .header("authorization", format!("Basic {basic}"))
        .body(Body::from(body.to_string()))
        .expect("request")
}

fn jenkins_build_notice(address: &str, number: u64, phase: &str, status: &str) -> Value {
    json!({
        "name": "app", "display_name": "app", "url": "job/app/",
        "build": {
            "full_url": format!("http://{address}/job/app/{number}/"),
            "number": number, "queue_id": 3, "phase": phase, "status": status,
            "url": format!("job/app/{number}/"),
            "scm": {"url": "https://example.com/app.git", "branch": "origin/main", "commit": "c0ffee"},
        },
    })
}

/// Waits until `ready` holds.
async fn eventually(what: &str, ready: impl Fn() -> bool) {
    for _ in 0..200 {
        if ready() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("never happened: {what}");
}

/// The one incident of `target`, once `ready` holds for it (with its details).
async fn incident(api: &Api, target: &str, ready: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..200 {
        let (_, list) = api
            .get(&format!("/api/v1/incidents?target={target}"), OPS)
            .await;
        if let Some(id) = list["incidents"][0]["id"].as_i64() {
            let (_, one) = api.get(&format!("/api/v1/incidents/{id}"), OPS).await;
            if ready(&one) {
                return one;
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the incident of {target} never got ready");
}

fn status(incident: &Value) -> &str {
    incident["incident"]["status"]
        .as_str()
        .or(incident["status"].as_str())
        .unwrap_or_default()
}

#[tokio::test]
async fn github_transient_failures_are_rerun_within_the_budget_and_replays_are_not() {
    let (stand_in, address) = stand_in().await;
    let api = api(&address).await;
    for job in [101, 102, 103] {
        stand_in.set_log(
            &format!("/storage/octo-org/octo-repo/{job}.txt"),
            NETWORK_LOG,
        );
    }
    let failed = workflow_job("completed", 101, 1, Some("failure"));
    let (code, reply, _) = api
        .call(github("workflow_job", "d-1", &failed, GITHUB_SECRET))
        .await;
    assert_eq!(code, 202, "{reply}");
    assert_eq!(reply["accepted"], 1, "{reply}");
    let rerun_101 = "/repos/octo-org/octo-repo/actions/jobs/101/rerun";
    eventually("the first re-run", || stand_in.posts(rerun_101) == 1).await;

    // GitHub's "Redeliver" keeps X-GitHub-Delivery: recognised, not acted on.
    let (code, reply, _) = api
        .call(github("workflow_job", "d-1", &failed, GITHUB_SECRET))
        .await;
    assert_eq!(code, 202, "{reply}");
    assert_eq!(reply["accepted"], 0, "{reply}");
    assert_eq!(reply["duplicates"], 1, "{reply}");
    // A captured delivery replayed with a fresh X-GitHub-Delivery, which the
    // signature does not cover: the signed body names the same job attempt.
    let (code, reply, _) = api
        .call(github("workflow_job", "d-forged", &failed, GITHUB_SECRET))
        .await;
    assert_eq!(code, 202, "{reply}");
    assert_eq!(reply["accepted"], 0, "{reply}");
    assert_eq!(reply["duplicates"], 1, "{reply}");
    assert_eq!(stand_in.posts(rerun_101), 1, "no second re-run");

    let one = incident(&api, "octo-repo", |i| status(i) == "verifying").await;
    assert!(one.to_string().contains("Could not resolve host"), "{one}");

    // The re-run fails the same way, twice: the second re-run, then escalation.
    let again = workflow_job("completed", 102, 2, Some("failure"));
    let (code, _, _) = api
        .call(github("workflow_job", "d-2", &again, GITHUB_SECRET))
        .await;
    assert_eq!(code, 202);
    let rerun_102 = "/repos/octo-org/octo-repo/actions/jobs/102/rerun";
    eventually("the second re-run", || stand_in.posts(rerun_102) == 1).await;
    incident(&api, "octo-repo", |i| {
        status(i) == "verifying" && i.to_string().matches("re-run 2 of 2").count() > 0
    })
    .await;
    let third = workflow_job("completed", 103, 3, Some("failure"));
    let (code, _, _) = api
        .call(github("workflow_job", "d-3", &third, GITHUB_SECRET))
        .await;
    assert_eq!(code, 202);
    let escalated = incident(&api, "octo-repo", |i| status(i) == "escalated").await;
    assert!(
        escalated.to_string().contains("max_reruns = 2"),
        "{escalated}"
    );
    eventually("the page", || !stand_in.pages().is_empty()).await;
    assert_eq!(
        stand_in.posts("/repos/octo-org/octo-repo/actions/jobs/103/rerun"),
        0
    );
    assert_eq!(stand_in.posts(rerun_101), 1);
    assert!(stand_in.all_authorized());
}

#[tokio::test]
async fn github_compile_errors_are_escalated_with_their_evidence_never_rerun() {
    let (stand_in, address) = stand_in().await;
    let api = api(&address).await;
    stand_in.set_log("/storage/octo-org/octo-repo/201.txt", COMPILE_LOG);
    let failed = workflow_job("completed", 201, 1, Some("failure"));
    let (code, reply, _) = api
        .call(github("workflow_job", "d-201", &failed, GITHUB_SECRET))
        .await;
    assert_eq!(code, 202, "{reply}");
    let escalated = incident(&api, "octo-repo", |i| status(i) == "escalated").await;
    let evidence = escalated["diagnosis"]["evidence"].to_string();
    assert!(evidence.contains("error[E0425]"), "{escalated}");
    eventually("the page", || !stand_in.pages().is_empty()).await;
    let page = &stand_in.pages()[0];
    assert!(page.to_string().contains("error[E0425]"), "{page}");
    assert!(page.to_string().contains("deterministic"), "{page}");
    assert_eq!(
        stand_in.posts("/repos/octo-org/octo-repo/actions/jobs/201/rerun"),
        0
    );
    assert!(stand_in.all_authorized());
}

#[tokio::test]
async fn github_refuses_bad_signatures_and_ignores_what_it_need_not_heal() {
    let (_stand_in, address) = stand_in().await;
    let api = api(&address).await;
    let failed = workflow_job("completed", 301, 1, Some("failure"));
    let (code, reply, _) = api
        .call(github("workflow_job", "d-301", &failed, "another secret"))
        .await;
    assert_error(code, &reply, 401, "invalid_signature");
    let mut unsigned = github("workflow_job", "d-301", &failed, GITHUB_SECRET);
    unsigned.headers_mut().remove("x-hub-signature-256");
    let (code, reply, _) = api.call(unsigned).await;
    assert_error(code, &reply, 401, "invalid_signature");

    let ping = json!({"zen": "Design for failure.", "hook_id": 1});
    let (code, reply, _) = api.call(github("ping", "d-p", &ping, GITHUB_SECRET)).await;
    assert_eq!(code, 200, "{reply}");
    assert_eq!(reply["ignored"], "ping");
    for (action, conclusion) in [
        ("in_progress", None),
        ("queued", None),
        ("completed", Some("cancelled")),
        ("completed", Some("skipped")),
    ] {
        let body = workflow_job(action, 302, 1, conclusion);
        let (code, reply, _) = api
            .call(github("workflow_job", "d-302", &body, GITHUB_SECRET))
            .await;
        assert_eq!(code, 200, "{action} {conclusion:?}: {reply}");
        assert!(reply["ignored"].is_string(), "{reply}");
    }
    let push = json!({"ref": "refs/heads/main"});
    let (code, reply, _) = api
        .call(github("push", "d-push", &push, GITHUB_SECRET))
        .await;
    assert_eq!(code, 200, "{reply}");
    assert!(reply["ignored"].is_string(), "{reply}");
}

#[tokio::test]
async fn github_a_passing_rerun_resolves_the_incident() {
    let (stand_in, address) = stand_in().await;
    let api = api(&address).await;
    stand_in.set_log("/storage/octo-org/octo-repo/401.txt", NETWORK_LOG);
    let failed = workflow_job("completed", 401, 1, Some("failure"));
    api.call(github("workflow_job", "d-401", &failed, GITHUB_SECRET))
        .await;
    incident(&api, "octo-repo", |i| status(i) == "verifying").await;
    let passed = workflow_job("completed", 402, 2, Some("success"));
    let (code, reply, _) = api
        .call(github("workflow_job", "d-402", &passed, GITHUB_SECRET))
        .await;
    assert_eq!(code, 200, "{reply}");
    incident(&api, "octo-repo", |i| status(i) == "resolved").await;
}

/// Issue 14: a re-run whose result never comes back does not leave the
/// incident verifying for ever.
#[tokio::test]
async fn a_rerun_that_never_reports_back_is_escalated_after_verify_timeout() {
    let (stand_in, address) = stand_in().await;
    let api = api_with(&address, r#", verify_timeout = "1s""#).await;
    stand_in.set_log("/storage/octo-org/octo-repo/401.txt", NETWORK_LOG);
    let failed = workflow_job("completed", 401, 1, Some("failure"));
    api.call(github("workflow_job", "d-401", &failed, GITHUB_SECRET))
        .await;
    incident(&api, "octo-repo", |i| status(i) == "verifying").await;
    let escalated = incident(&api, "octo-repo", |i| status(i) == "escalated").await;
    assert!(
        escalated.to_string().contains("verify_timeout"),
        "{escalated:#}"
    );
}

#[tokio::test]
async fn github_a_failed_run_reruns_its_failed_jobs() {
    let (stand_in, address) = stand_in().await;
    let api = api(&address).await;
    // The run's failed job is 7001 (the stand-in lists run * 10 + 1).
    stand_in.set_log("/storage/octo-org/octo-repo/7001.txt", NETWORK_LOG);
    let run = json!({
        "action": "completed",
        "workflow_run": {"id": 700, "name": "CI", "run_attempt": 1, "status": "completed",
            "conclusion": "failure", "html_url": "https://github.com/octo-org/octo-repo/actions/runs/700"},
        "repository": {"full_name": "octo-org/octo-repo"},
    });
    let (code, reply, _) = api
        .call(github("workflow_run", "d-700", &run, GITHUB_SECRET))
        .await;
    assert_eq!(code, 202, "{reply}");
    let rerun = "/repos/octo-org/octo-repo/actions/runs/700/rerun-failed-jobs";
    eventually("rerun-failed-jobs", || stand_in.posts(rerun) == 1).await;
    assert!(stand_in.all_authorized());
}

#[tokio::test]
async fn gitlab_retries_transient_jobs_once_across_both_hooks() {
    let (stand_in, address) = stand_in().await;
    let api = api(&address).await;
    stand_in.set_log("/api/v4/projects/42/jobs/501/trace", NETWORK_LOG);
    let job = gitlab_job(501, "failed").to_string();
    let (code, reply, _) = api.call(gitlab("Job Hook", GITLAB_TOKEN, &job)).await;
    assert_eq!(code, 202, "{reply}");
    let retry = "/api/v4/projects/42/jobs/501/retry";
    eventually("the retry", || stand_in.posts(retry) == 1).await;
    // The Pipeline Hook reports the same failed job: one job, one action.
    let pipeline = json!({
        "object_kind": "pipeline",
        "object_attributes": {"id": 900, "status": "failed", "ref": "main"},
        "project": {"id": 42, "path_with_namespace": "group/app", "web_url": "http://gitlab.example.com/group/app"},
        "builds": [
            {"id": 501, "stage": "test", "name": "test", "status": "failed", "allow_failure": false},
            {"id": 502, "stage": "lint", "name": "lint", "status": "failed", "allow_failure": true},
            {"id": 503, "stage": "build", "name": "build", "status": "success", "allow_failure": false},
        ],
    })
    .to_string();
    let (code, reply, _) = api
        .call(gitlab("Pipeline Hook", GITLAB_TOKEN, &pipeline))
        .await;
    assert_eq!(code, 202, "{reply}");
    assert_eq!(reply["accepted"], 0, "{reply}");
    assert_eq!(reply["duplicates"], 1, "{reply}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(stand_in.posts(retry), 1);
    assert!(stand_in.all_authorized());
    // group/app belongs to the configured target named like its last segment.
    let open = incident(&api, "app", |i| status(i) == "verifying").await;
    assert!(open.to_string().contains("group/app"), "{open}");
}

#[tokio::test]
async fn gitlab_never_gets_a_4xx_for_a_well_formed_event() {
    let (stand_in, address) = stand_in().await;
    let api = api(&address).await;
    let job = gitlab_job(601, "failed").to_string();
    let (code, reply, _) = api.call(gitlab("Job Hook", "wrong-token", &job)).await;
    assert_error(code, &reply, 401, "invalid_key");
    for body in [
        json!({"object_kind": "push", "ref": "refs/heads/main"}),
        json!({"object_kind": "build", "build_id": "not a number"}),
        json!({"something": "else"}),
        json!([1, 2, 3]),
        gitlab_job(602, "running"),
    ] {
        let (code, reply, _) = api
            .call(gitlab("Job Hook", GITLAB_TOKEN, &body.to_string()))
            .await;
        assert_eq!(code, 200, "{body}: {reply}");
        assert!(reply["ignored"].is_string(), "{reply}");
    }
    let (code, reply, _) = api
        .call(gitlab("Job Hook", GITLAB_TOKEN, "{not json"))
        .await;
    assert_error(code, &reply, 400, "invalid_json");
    assert!(stand_in.lock().calls.is_empty());
}

#[tokio::test]
async fn gitlab_deterministic_failures_escalate_without_retry() {
    let (stand_in, address) = stand_in().await;
    let api = api(&address).await;
    stand_in.set_log("/api/v4/projects/42/jobs/701/trace", TEST_LOG);
    let job = gitlab_job(701, "failed").to_string();
    let (code, _, _) = api.call(gitlab("Job Hook", GITLAB_TOKEN, &job)).await;
    assert_eq!(code, 202);
    let escalated = incident(&api, "app", |i| status(i) == "escalated").await;
    eventually("the page", || !stand_in.pages().is_empty()).await;
    assert!(
        escalated["diagnosis"]["evidence"]
            .to_string()
            .contains("test result: FAILED"),
        "{escalated}"
    );
    assert_eq!(stand_in.posts("/api/v4/projects/42/jobs/701/retry"), 0);
}

#[tokio::test]
async fn jenkins_rebuilds_transient_failures_up_to_its_budget() {
    let (stand_in, address) = stand_in().await;
    let api = api(&address).await;
    let user = ("jenkins", "jenkins-password");
    stand_in.set_log("/job/app/18/consoleText", NETWORK_LOG);
    stand_in.set_log("/job/app/19/consoleText", NETWORK_LOG);

    let (code, reply, _) = api
        .call(jenkins(
            ("jenkins", "wrong"),
            &jenkins_build_notice(&address, 18, "FINALIZED", "FAILURE"),
        ))
        .await;
    assert_error(code, &reply, 401, "invalid_key");
    let started = jenkins_build_notice(&address, 18, "STARTED", "");
    let (code, reply, _) = api.call(jenkins(user, &started)).await;
    assert_eq!(code, 200, "{reply}");
    assert!(reply["ignored"].is_string(), "{reply}");

    let failed = jenkins_build_notice(&address, 18, "FINALIZED", "FAILURE");
    let (code, reply, _) = api.call(jenkins(user, &failed)).await;
    assert_eq!(code, 202, "{reply}");
    eventually("the rebuild", || stand_in.posts("/job/app/build") == 1).await;
    let (code, reply, _) = api.call(jenkins(user, &failed)).await;
    assert_eq!(code, 202, "{reply}");
    assert_eq!(reply["duplicates"], 1, "{reply}");
    incident(&api, "app", |i| status(i) == "verifying").await;

    // The rebuild fails too: max_reruns = 1 is spent, so a human is paged.
    let again = jenkins_build_notice(&address, 19, "FINALIZED", "FAILURE");
    let (code, _, _) = api.call(jenkins(user, &again)).await;
    assert_eq!(code, 202);
    incident(&api, "app", |i| status(i) == "escalated").await;
    eventually("the page", || !stand_in.pages().is_empty()).await;
    assert_eq!(stand_in.posts("/job/app/build"), 1);
    assert!(stand_in.all_authorized());
}

#[path = "../../../medic-client/tests/support/tls.rs"]
mod pki;

#[tokio::test]
async fn an_https_api_with_an_untrusted_certificate_fails_with_a_clear_note() {
    // A loopback https "GitHub" whose certificate comes from a CA medic
    // was not told about: the job's incident escalates, saying why.
    let stranger = pki::TestCa::new("not trusted by medic");
    let leaf = stranger.issue("localhost", &["localhost"], -1, 30);
    let https = pki::https_server(pki::server_config(&leaf, None), |_| (200, "{}".into())).await;
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n[webhooks]\ngithub = {{ secret_env = \"T_GITHUB\", api_url = \"{}\" }}\n",
        https.url("")
    );
    let api = Api::from_config_and_env(&text, env()).await;
    let failed = workflow_job("completed", 801, 1, Some("failure"));
    let (code, _, _) = api
        .call(github("workflow_job", "d-801", &failed, GITHUB_SECRET))
        .await;
    assert_eq!(code, 202);
    let escalated = incident(&api, "alerts", |i| status(i) == "escalated").await;
    assert!(
        escalated
            .to_string()
            .contains("TLS: certificate signed by an unknown authority"),
        "{escalated}"
    );
    assert!(
        https.recorded().is_empty(),
        "no request crossed the refused handshake"
    );
}
