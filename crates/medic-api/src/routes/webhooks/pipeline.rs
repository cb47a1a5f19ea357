//! `POST /webhooks/pipeline`: a CI system or a script reports a failed
//! pipeline step: `{source, job_name, build_number, stage, error_message,
//! target_hosts}`. The error is classified with the pipeline failure catalog
//! (transient, fixable or deterministic, and why), then handled like an alert
//! on the target named `job_name` (else the `alerts` pseudo-target, for a
//! human). `medic run --report-to` sends its reports here.

use std::sync::OnceLock;

use axum::Json as Reply;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use medic_agent::AlertNotice;
use medic_engine::pipeline::Catalog;
use serde_json::json;

use crate::ApiState;
use crate::error::{ApiError, ApiResult};
use crate::extract::Body;

const SOURCE: &str = "pipeline";

#[derive(Debug, serde::Deserialize)]
struct StepFailure {
    source: String,
    job_name: String,
    build_number: BuildNumber,
    #[serde(default)]
    stage: String,
    error_message: String,
    #[serde(default)]
    target_hosts: Vec<String>,
}

/// Jenkins numbers builds, GitHub Actions names runs: either is accepted.
#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
enum BuildNumber {
    Number(u64),
    Text(String),
}

impl std::fmt::Display for BuildNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildNumber::Number(n) => write!(f, "{n}"),
            BuildNumber::Text(t) => f.write_str(t),
        }
    }
}

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    // The built-in catalog is data compiled in and checked by its own tests.
    CATALOG.get_or_init(|| Catalog::built_in().expect("the built-in catalog is valid"))
}

pub(in crate::routes) async fn receive(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<impl IntoResponse> {
    let failure: StepFailure = super::accept(&state, SOURCE, &headers, &body, check).await?;
    let class = catalog().classify(None, &failure.error_message);
    let kind = class.kind.map_or("unknown", |k| k.as_str());
    let step = format!(
        "{} {}#{}{}",
        failure.source,
        failure.job_name,
        failure.build_number,
        if failure.stage.is_empty() {
            String::new()
        } else {
            format!(" stage {}", failure.stage)
        }
    );
    let first_line = failure.error_message.lines().next().unwrap_or_default();
    let mut labels = std::collections::BTreeMap::from([
        ("job".to_string(), failure.job_name.clone()),
        ("source".to_string(), failure.source.clone()),
        ("failure_kind".to_string(), kind.to_string()),
    ]);
    if !failure.target_hosts.is_empty() {
        labels.insert("hosts".into(), failure.target_hosts.join(","));
    }
    // A JSON array: no two different steps make the same key.
    let key = json!([
        failure.source,
        failure.job_name,
        failure.build_number.to_string(),
        failure.stage
    ])
    .to_string();
    let notice = AlertNotice {
        sender: SOURCE.to_string(),
        fingerprint: key.clone(),
        firing: true,
        labels,
        annotations: std::collections::BTreeMap::new(),
        summary: Some(format!("{step} failed ({kind}): {first_line}")),
        evidence: failure.error_message.lines().map(str::to_string).collect(),
        // A failed step is never resolved by a later message: its incident
        // is the whole story.
        resolvable: false,
    };
    let target = state
        .agent
        .alert_target(&notice.labels, &["job".to_string()]);
    let mut reply = super::act(&state, SOURCE, key, &body, target, notice).await?;
    reply["classification"] = json!({
        "kind": kind,
        "entry": class.entry,
        "category": class.category,
        "evidence": class.evidence,
        "retry_advised": kind == "transient",
    });
    Ok((StatusCode::OK, Reply(reply)))
}

fn check(failure: StepFailure) -> Result<StepFailure, ApiError> {
    let bad = |what: &str| Err(ApiError::new("invalid_body", what.to_string()));
    for (name, value) in [("source", &failure.source), ("job_name", &failure.job_name)] {
        if value.trim().is_empty() {
            return bad(&format!("{name}: must not be empty"));
        }
        if value.len() > 200 {
            return bad(&format!("{name}: longer than 200 bytes"));
        }
    }
    if failure.stage.len() > 200 {
        return bad("stage: longer than 200 bytes");
    }
    if let BuildNumber::Text(text) = &failure.build_number
        && text.len() > 200
    {
        return bad("build_number: longer than 200 bytes");
    }
    if failure.error_message.trim().is_empty() {
        return bad("error_message: must not be empty");
    }
    if failure.error_message.len() > 64 * 1024 {
        return bad("error_message: longer than 64 KiB");
    }
    if failure.target_hosts.len() > 1000 {
        return bad("target_hosts: more than 1000 hosts");
    }
    Ok(failure)
}
