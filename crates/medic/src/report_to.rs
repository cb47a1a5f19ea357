//! `medic run --report-to URL`: a step that failed for good is sent to an
//! agent's `POST /webhooks/pipeline`, where it becomes an incident (diagnosed,
//! remedied or escalated like any other). The body is the pipeline webhook's
//! shape plus `report`, the whole `--report json` report.
//!
//! The job's identity comes from the CI system's own variables when present
//! (GitHub Actions, GitLab CI, Jenkins), else from the command. Credentials
//! come from the environment: `MEDIC_WEBHOOK_SECRET` signs the body
//! (`X-Medic-Signature`), else `MEDIC_API_KEY` is sent as a bearer key.

use std::time::Duration;

use serde_json::{Value, json};

/// How long the agent may take to answer before the step's result stands alone.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Lines of the failed attempt's output sent as its error message, and
/// their bytes at most (the agent takes up to 64 KiB).
const MESSAGE_LINES: usize = 60;
const MESSAGE_BYTES: usize = 60 * 1024;

/// medic's own credentials for `--report-to`: the step it runs never sees them.
pub(crate) const SECRET_VARIABLES: &[&str] = &["MEDIC_WEBHOOK_SECRET", "MEDIC_API_KEY"];

/// The first of `names` set (and not empty) in the environment.
fn first_env(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
}

/// The pipeline webhook's body for a failed step.
pub(crate) fn body(command: &[String], tail: &str, hosts: Vec<String>, report: Value) -> Value {
    let program = command
        .first()
        .map(|p| p.rsplit('/').next().unwrap_or(p).to_string())
        .unwrap_or_default();
    let source = if std::env::var("GITHUB_ACTIONS").is_ok() {
        "github-actions"
    } else if std::env::var("GITLAB_CI").is_ok() {
        "gitlab-ci"
    } else if std::env::var("JENKINS_URL").is_ok() {
        "jenkins"
    } else {
        "medic-run"
    };
    let job_name =
        first_env(&["MEDIC_JOB_NAME", "GITHUB_JOB", "CI_JOB_NAME", "JOB_NAME"]).unwrap_or(program);
    // A re-run keeps GitHub's run id and GitLab's pipeline id: the attempt
    // and the job make each failure its own report.
    let build_number = match (
        first_env(&["GITHUB_RUN_ID", "CI_PIPELINE_ID", "BUILD_NUMBER"]),
        first_env(&["GITHUB_RUN_ATTEMPT", "CI_JOB_ID"]),
    ) {
        (Some(run), Some(attempt)) => format!("{run}.{attempt}"),
        (Some(run), None) => run,
        // Outside CI each run is its own build.
        (None, _) => format!("local-{}", chrono::Utc::now().timestamp_millis()),
    };
    let stage = first_env(&["CI_JOB_STAGE", "STAGE_NAME"]).unwrap_or_default();
    let lines: Vec<&str> = tail.lines().collect();
    let mut message = lines[lines.len().saturating_sub(MESSAGE_LINES)..].join("\n");
    if message.len() > MESSAGE_BYTES {
        // The newest output matters most: keep the end, cut on a character.
        let mut start = message.len() - MESSAGE_BYTES;
        while !message.is_char_boundary(start) {
            start += 1;
        }
        message.drain(..start);
    }
    json!({
        "source": source,
        "job_name": job_name,
        "build_number": build_number,
        "stage": stage,
        "error_message": if message.trim().is_empty() { "the step failed without output".to_string() } else { message },
        "target_hosts": hosts,
        "report": report,
    })
}

/// `url` with any `user:password@` left out, for messages.
pub(crate) fn shown(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority
                .rsplit_once('@')
                .map_or(authority, |(_, host)| host);
            format!("{scheme}://{host}{path}")
        }
        None => url.to_string(),
    }
}

/// Whether `url`'s host is this machine.
fn is_loopback(url: &str) -> bool {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return false;
    };
    let host = parsed.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Posts `body` to `url`; the agent's answer, or why it could not be sent.
pub(crate) fn send(url: &str, body: &Value) -> Result<Value, String> {
    let text = body.to_string();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the HTTP client: {e}"))?;
    runtime.block_on(async {
        let client = medic_client::builder(&medic_client::ClientTls::default())
            .map_err(|e| format!("tls: {e}"))?
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| e.to_string())?;
        let mut request = client.post(url).header("content-type", "application/json");
        if let Some(secret) = first_env(&["MEDIC_WEBHOOK_SECRET"]) {
            let now = chrono::Utc::now().timestamp();
            let signature =
                medic_api::hex(&medic_api::sign(secret.as_bytes(), now, text.as_bytes()));
            request = request.header("x-medic-signature", format!("t={now},v1={signature}"));
        } else if let Some(key) = first_env(&["MEDIC_API_KEY"]) {
            if !(is_loopback(url) || url.starts_with("https://")) {
                return Err(
                    "MEDIC_API_KEY is not sent over plain http beyond this machine; \
                     sign with MEDIC_WEBHOOK_SECRET instead"
                        .into(),
                );
            }
            request = request.bearer_auth(key);
        }
        let response = request
            .body(text)
            .send()
            .await
            .map_err(|e| format!("{}: {}", shown(url), e.without_url()))?;
        let status = response.status();
        let answer = response
            .text()
            .await
            .map_err(|e| format!("{}: {}", shown(url), e.without_url()))?;
        if !status.is_success() {
            return Err(format!("{} answered {status}: {answer}", shown(url)));
        }
        Ok(serde_json::from_str(&answer).unwrap_or(Value::String(answer)))
    })
}
