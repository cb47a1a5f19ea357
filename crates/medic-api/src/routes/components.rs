//! Targets: list, register at run time, inspect, stats, reset, remove.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Extension, Json as Reply};
use medic_agent::ComponentSpec;
use serde_json::json;

use medic_engine::config::{Action, Scope};

use crate::ApiState;
use crate::auth::{Principal, require};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};

pub(super) async fn list(State(state): State<ApiState>) -> impl IntoResponse {
    Reply(json!({ "components": state.agent.components() }))
}

pub(super) async fn register(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    Json(spec): Json<ComponentSpec>,
) -> ApiResult<impl IntoResponse> {
    check_reach(&spec, &principal)?;
    let name = spec.name.clone();
    let view = state.agent.register(spec).await?;
    tracing::info!(component = %name, by = %principal.name, "component registered");
    Ok((StatusCode::CREATED, Reply(json!(view))))
}

pub(super) async fn show(
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> ApiResult<impl IntoResponse> {
    Ok(Reply(json!(state.agent.component(&name)?)))
}

pub(super) async fn remove(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    Path(name): Path<String>,
) -> ApiResult<impl IntoResponse> {
    state.agent.unregister(&name).await?;
    tracing::info!(component = %name, by = %principal.name, "component removed");
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn stats(
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let snapshot = state.agent.component_stats(&name)?;
    let target_state = state.agent.component(&name).ok().map(|view| view.state);
    Ok(Reply(json!({
        "name": name,
        "state": target_state,
        "status": snapshot.status,
        "error_rate": snapshot.error_rate,
        "calls": snapshot.calls,
        "errors": snapshot.errors,
        "latency": snapshot.latency,
        "last_error": snapshot.last_error,
    })))
}

pub(super) async fn reset(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    Path(name): Path<String>,
) -> ApiResult<impl IntoResponse> {
    state.agent.reset_component(&name)?;
    tracing::info!(component = %name, by = %principal.name, "component metrics reset");
    Ok(Reply(json!({ "name": name, "reset": true })))
}

/// A registration may only reach as far as its key does: commands on the
/// host need the admin scope, and nothing registered through the API may
/// read the agent's environment (a `*_env` field would hand its secrets to
/// whoever chose the webhook).
fn check_reach(spec: &ComponentSpec, principal: &Principal) -> ApiResult<()> {
    let runs_commands = spec
        .remedies
        .iter()
        .any(|r| matches!(r.action, Action::Exec(_) | Action::Restart(_)));
    if runs_commands {
        require(principal, Scope::Admin)?;
    }
    let remedies = serde_json::to_value(&spec.remedies).unwrap_or_default();
    if let Some(key) = env_key(&remedies) {
        return Err(ApiError::new(
            "invalid_body",
            format!(
                "remedies: {key} is not allowed here: components registered through the API cannot read the agent's environment"
            ),
        ));
    }
    Ok(())
}

/// The first `*_env` key set anywhere in `value`.
fn env_key(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Object(fields) => fields.iter().find_map(|(key, v)| {
            if key.ends_with("_env") && !v.is_null() {
                Some(key.clone())
            } else {
                env_key(v)
            }
        }),
        serde_json::Value::Array(items) => items.iter().find_map(env_key),
        _ => None,
    }
}
