//! The route table: every endpoint once, with the scope it needs. The
//! router and the OpenAPI document are both built from it.

mod approvals;
mod components;
mod events;
mod incidents;
mod maintenance;
mod operations;
mod recovery;
mod webhooks;

use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use medic_engine::config::Scope;

use crate::ApiState;
use crate::auth::{Principal, require};
use crate::error::ApiError;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (liveness, the dashboard's static files, the OpenAPI document).
    Public,
    /// A key with this scope.
    Key(Scope),
    /// A key with the write scope, or a valid `X-Medic-Signature`.
    KeyOrSignature,
    /// The webhook sender's own credentials (`[webhooks]`), checked by the
    /// handler on the body; a key with the write scope when none are set.
    Webhook(&'static str),
}

/// One documented route.
#[derive(Debug, Clone, Copy)]
pub struct RouteDoc {
    /// `GET`, `POST` or `DELETE`.
    pub method: &'static str,
    /// The path, with `{param}` segments.
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// What it does.
    pub summary: &'static str,
    /// The request body's schema name in the OpenAPI document, if any.
    pub body: Option<&'static str>,
}

impl RouteDoc {
    /// The scope a key needs here (`None` for public routes).
    pub fn scope_name(&self) -> Option<&'static str> {
        match self.access {
            Access::Public => None,
            Access::Key(scope) => Some(crate::auth::scope_name(scope)),
            Access::KeyOrSignature => Some("write"),
            // Depends on `[webhooks]`: its own credentials, or a write key.
            Access::Webhook(_) => None,
        }
    }
}

macro_rules! route_table {
    ($( $method:ident $path:literal, $access:expr, $body:expr, $summary:literal => $handler:expr; )+) => {
        /// Every route of the API, in documentation order.
        pub const ROUTES: &[RouteDoc] = &[
            $( RouteDoc {
                method: stringify!($method),
                path: $path,
                access: $access,
                summary: $summary,
                body: $body,
            }, )+
        ];

        fn api_routes(state: &ApiState) -> Router<ApiState> {
            let mut router = Router::new();
            $(
                router = router.route(
                    $path,
                    route_method!($method, $handler).route_layer(middleware::from_fn_with_state(
                        (state.clone(), $access),
                        guard,
                    )),
                );
            )+
            router
        }
    };
}

macro_rules! route_method {
    (GET, $handler:expr) => {
        get($handler)
    };
    (POST, $handler:expr) => {
        post($handler)
    };
    (DELETE, $handler:expr) => {
        delete($handler)
    };
}

use Access::{Key, KeyOrSignature, Public, Webhook};
const READ: Access = Key(Scope::Read);
const WRITE: Access = Key(Scope::Write);
const ADMIN: Access = Key(Scope::Admin);

route_table! {
    GET "/health", Public, None, "the agent's own liveness" => operations::liveness;
    GET "/ready", Public, None, "readiness: 200 when the store answers within 2 s, else 503 store_unavailable with the reason" => operations::readiness;
    GET "/api/v1/health", READ, None, "system health over every component" => operations::system_health;
    GET "/api/v1/components", READ, None, "every target, with state, error rate and latency" => components::list;
    POST "/api/v1/components", WRITE, Some("ComponentSpec"), "register a target at run time" => components::register;
    GET "/api/v1/components/{name}", READ, None, "one target" => components::show;
    DELETE "/api/v1/components/{name}", WRITE, None, "stop watching a target registered through the API" => components::remove;
    GET "/api/v1/components/{name}/stats", READ, None, "a target's error rate, latency percentiles and status" => components::stats;
    POST "/api/v1/components/{name}/reset", WRITE, None, "forget a target's error window and latency history" => components::reset;
    GET "/api/v1/incidents", READ, None, "incidents, newest first (status, target, limit, cursor)" => incidents::list;
    GET "/api/v1/incidents/{id}", READ, None, "one incident with its diagnosis, timeline, actions and dependents (the incidents it caused through depends_on)" => incidents::show;
    POST "/api/v1/incidents/{id}/ack", WRITE, None, "acknowledge an incident" => incidents::ack;
    POST "/api/v1/incidents/{id}/resolve", WRITE, None, "resolve an incident by hand" => incidents::resolve;
    GET "/api/v1/approvals", READ, None, "approvals (status=pending by default, or all)" => approvals::list;
    POST "/api/v1/approvals/{id}/approve", ADMIN, None, "approve a pending action: it runs at once" => approvals::approve;
    POST "/api/v1/approvals/{id}/reject", ADMIN, None, "reject a pending action: the ladder moves on" => approvals::reject;
    GET "/api/v1/recovery/stats", READ, None, "recovery statistics overall, by action and by component" => recovery::stats;
    GET "/api/v1/recovery/recent", READ, None, "the most recent recoveries" => recovery::recent;
    GET "/api/v1/circuit-breakers", READ, None, "breakers on remedies" => operations::breakers;
    POST "/api/v1/circuit-breakers/{name}/reset", ADMIN, None, "close a breaker" => operations::reset_breaker;
    POST "/api/v1/monitoring/start", ADMIN, None, "resume probing, on every agent on the store" => operations::start_monitoring;
    POST "/api/v1/monitoring/stop", ADMIN, None, "pause probing, on every agent on the store (kept there: a restart does not end it)" => operations::stop_monitoring;
    GET "/api/v1/monitoring/status", READ, None, "whether probing runs" => operations::monitoring_status;
    GET "/api/v1/maintenance", READ, None, "maintenance windows in force, then those to come, with the targets each covers" => maintenance::list;
    POST "/api/v1/maintenance", WRITE, Some("MaintenanceRequest"), "open a maintenance window: covered targets are probed but get no incident and no remedy until it ends (kept in the store, for every agent)" => maintenance::open;
    DELETE "/api/v1/maintenance/{id}", WRITE, None, "end a window opened through the API now; a covered target still down gets its incident at once" => maintenance::end;
    POST "/api/v1/events", KeyOrSignature, Some("AppEvent"), "an application reports an error or a success" => events::report;
    GET "/api/v1/events/stream", READ, None, "server-sent events of every change, live" => events::stream;
    GET "/api/v1/learning", READ, None, "the fix catalog: per fingerprint and remedy, attempts, successes, mean time, posterior of success (mean, 95 % interval)" => recovery::learning;
    POST "/webhooks/alertmanager", Webhook("alertmanager"), Some("AlertmanagerNotification"), "Alertmanager's webhook (payload version 4): firing alerts open or join incidents, resolved ones verify and close" => webhooks::alertmanager::receive;
    POST "/webhooks/generic", Webhook("generic"), Some("GenericReport"), "any tool reports a failure; answers {status, incident_id, diagnosis, plan, execution}" => webhooks::generic::receive;
    POST "/webhooks/pipeline", Webhook("pipeline"), Some("PipelineFailure"), "a failed pipeline step, classified by the pipeline failure catalog; medic run --report-to posts here" => webhooks::pipeline::receive;
    POST "/webhooks/github", Webhook("github"), Some("GithubWorkflowEvent"), "GitHub Actions' workflow_job and workflow_run events: a failed job's log is classified, then the job is re-run (transient) or escalated" => webhooks::github::receive;
    POST "/webhooks/gitlab", Webhook("gitlab"), Some("GitlabHook"), "GitLab's Job Hook and Pipeline Hook: a failed job's trace is classified, then the job is retried (transient) or escalated" => webhooks::gitlab::receive;
    POST "/webhooks/jenkins", Webhook("jenkins"), Some("JenkinsNotification"), "the Jenkins Notification plugin: a FINALIZED FAILURE build's console is classified, then the job is rebuilt (transient) or escalated" => webhooks::jenkins::receive;
    GET "/api/v1/openapi.json", Public, None, "this API's OpenAPI document" => operations::openapi;
    GET "/metrics", READ, None, "Prometheus text exposition" => operations::metrics;
    GET "/", Public, None, "the dashboard" => crate::dashboard::index;
    GET "/assets/{file}", Public, None, "the dashboard's script and style" => crate::dashboard::asset;
}

/// The router with its middleware: body limit, timeouts, JSON 404/405,
/// secrets out of answers.
pub(crate) fn router(state: ApiState, max_body_bytes: usize) -> axum::Router {
    api_routes(&state)
        .fallback(|| async { ApiError::new("not_found", "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new("method_not_allowed", "this route does not take that method")
        })
        .layer(middleware::from_fn_with_state(state.clone(), time_limit))
        .layer(middleware::map_response(crate::redact::redact_answer))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(state)
}

/// Authenticates, checks the scope, applies the caller's rate limit, and
/// hands the handler the [`Principal`] for its audit trail.
async fn guard(
    State((state, access)): State<(ApiState, Access)>,
    mut request: Request,
    next: Next,
) -> Response {
    if state.keys.is_open()
        && let Err(error) = same_machine_only(&request)
    {
        return error.into_response();
    }
    if let Webhook(_) = access {
        return webhook_guard(&state, request, next).await;
    }
    let needed = match access {
        Public => None,
        Key(scope) => Some(scope),
        // The handler checks the signature against the body it reads.
        KeyOrSignature if request.headers().contains_key("x-medic-signature") => None,
        KeyOrSignature => Some(Scope::Write),
        // The handler checks the sender's credentials against the body.
        Webhook(_) => None,
    };
    let principal = match needed.map(|scope| authorize(&state, &request, scope)) {
        None => None,
        Some(Ok(principal)) => Some(principal),
        Some(Err(error)) => {
            // Guessing keys costs a token from the caller's address each time.
            let address = format!("failed:{}", client_address(&request));
            if let Err(seconds) = state.limiter.take(&address, Instant::now()) {
                return ApiError::new("rate_limited", "too many failed attempts")
                    .with_retry_after(seconds)
                    .into_response();
            }
            return error.into_response();
        }
    };
    if let Some(principal) = principal {
        let caller = if state.keys.is_open() {
            client_address(&request)
        } else {
            principal.name.clone()
        };
        if let Err(seconds) = state.limiter.take(&caller, Instant::now()) {
            return ApiError::new("rate_limited", format!("too many requests from {caller:?}"))
                .with_retry_after(seconds)
                .into_response();
        }
        request.extensions_mut().insert(principal);
    }
    next.run(request).await
}

/// Webhook handlers check their senders' credentials on the body; what the
/// guard adds is the cost of guessing them: each 401 takes a token from the
/// caller's address, and an address out of tokens is refused before its
/// credentials are looked at, like failed API keys.
async fn webhook_guard(state: &ApiState, request: Request, next: Next) -> Response {
    let failed = format!("failed:{}", client_address(&request));
    if let Some(seconds) = state.limiter.exhausted(&failed, Instant::now()) {
        return ApiError::new("rate_limited", "too many failed attempts")
            .with_retry_after(seconds)
            .into_response();
    }
    let response = next.run(request).await;
    if response.status() == axum::http::StatusCode::UNAUTHORIZED {
        // Refused already; the token only makes the next guesses wait.
        let _ = state.limiter.take(&failed, Instant::now());
    }
    response
}

fn authorize(state: &ApiState, request: &Request, scope: Scope) -> Result<Principal, ApiError> {
    let principal = state.keys.authenticate(request.headers())?;
    require(&principal, scope)?;
    Ok(principal)
}

/// Without keys the API trusts whoever can reach loopback, so it must not
/// be reachable through a browser on another site: a loopback `Host` only
/// (a DNS-rebinding name is refused) and, for changes, no foreign `Origin`.
fn same_machine_only(request: &Request) -> Result<(), ApiError> {
    let header = |name| {
        request
            .headers()
            .get(name)
            .and_then(|v: &axum::http::HeaderValue| v.to_str().ok())
    };
    let host = header(axum::http::header::HOST);
    if let Some(host) = host
        && !is_loopback_host(host)
    {
        return Err(ApiError::new(
            "forbidden",
            format!(
                "Host {host:?} is not a loopback name; configure [auth] keys to serve other names"
            ),
        ));
    }
    let changes = request.method() != axum::http::Method::GET;
    if let Some(origin) = header(axum::http::header::ORIGIN)
        && changes
    {
        let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
        if Some(origin_host) != host {
            return Err(ApiError::new(
                "forbidden",
                format!("requests from {origin:?} may not change anything here"),
            ));
        }
    }
    Ok(())
}

fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn client_address(request: &Request) -> String {
    request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip().to_string())
        .unwrap_or_else(|| "local".into())
}

/// Answers 503 `timeout` when a handler takes longer than the configured
/// limit. The event stream answers at once and streams after, so it is not cut.
async fn time_limit(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    match tokio::time::timeout(state.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(%method, "request timed out");
            ApiError::new("timeout", "the request took too long").into_response()
        }
    }
}
