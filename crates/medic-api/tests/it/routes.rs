//! The route table against the router, the OpenAPI document and PRODUCT.md.

use medic_api::ROUTES;
use tower::ServiceExt;

use crate::harness::{Api, OPS, request};

/// PRODUCT.md's API table (`/webhooks/pipeline` and `/webhooks/generic` are still to come).
const PRODUCT_ROUTES: &[(&str, &str)] = &[
    ("GET", "/health"),
    ("GET", "/api/v1/health"),
    ("GET", "/api/v1/components"),
    ("POST", "/api/v1/components"),
    ("GET", "/api/v1/components/{name}"),
    ("DELETE", "/api/v1/components/{name}"),
    ("GET", "/api/v1/components/{name}/stats"),
    ("POST", "/api/v1/components/{name}/reset"),
    ("GET", "/api/v1/incidents"),
    ("GET", "/api/v1/incidents/{id}"),
    ("POST", "/api/v1/incidents/{id}/ack"),
    ("POST", "/api/v1/incidents/{id}/resolve"),
    ("GET", "/api/v1/approvals"),
    ("POST", "/api/v1/approvals/{id}/approve"),
    ("POST", "/api/v1/approvals/{id}/reject"),
    ("GET", "/api/v1/recovery/stats"),
    ("GET", "/api/v1/recovery/recent"),
    ("GET", "/api/v1/circuit-breakers"),
    ("POST", "/api/v1/circuit-breakers/{name}/reset"),
    ("POST", "/api/v1/monitoring/start"),
    ("POST", "/api/v1/monitoring/stop"),
    ("GET", "/api/v1/monitoring/status"),
    ("POST", "/api/v1/events"),
    ("GET", "/api/v1/events/stream"),
    ("GET", "/api/v1/learning"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/metrics"),
    ("GET", "/"),
    ("POST", "/webhooks/alertmanager"),
    ("POST", "/webhooks/github"),
    ("POST", "/webhooks/gitlab"),
    ("POST", "/webhooks/jenkins"),
];

#[test]
fn every_product_route_is_in_the_table() {
    for (method, path) in PRODUCT_ROUTES {
        assert!(
            ROUTES
                .iter()
                .any(|r| r.method == *method && r.path == *path),
            "{method} {path} is in PRODUCT.md but not served"
        );
    }
}

#[tokio::test]
async fn every_route_in_the_table_is_routed() {
    let api = Api::start().await;
    for route in ROUTES {
        let path = route
            .path
            .replace("{name}", "db")
            .replace("{id}", "1")
            .replace("{file}", "app.js");
        let json = (route.method == "POST").then_some("{}");
        if path.ends_with("/stream") {
            // Endless by design: the status line is the proof.
            let response = api
                .router
                .clone()
                .oneshot(request("GET", &path, Some(OPS), None))
                .await
                .expect("stream");
            assert!(response.status().is_success());
            continue;
        }
        let (status, body, _) = api
            .call(request(route.method, &path, Some(OPS), json))
            .await;
        let unrouted = body["error"]["message"] == "no such route"
            || body["error"]["code"] == "method_not_allowed";
        assert!(!unrouted, "{} {path}: {status} {body}", route.method);
        assert!(
            status.as_u16() < 500,
            "{} {path}: {status} {body}",
            route.method
        );
    }
}

#[tokio::test]
async fn the_openapi_document_lists_every_route_and_error_code() {
    let api = Api::start().await;
    let (status, doc) = api.get("/api/v1/openapi.json", "").await;
    assert!(status.is_success());
    assert_eq!(doc["openapi"], "3.1.0");
    for route in ROUTES {
        let operation = &doc["paths"][route.path][route.method.to_ascii_lowercase()];
        assert!(
            operation["summary"].is_string(),
            "{} {} missing",
            route.method,
            route.path
        );
        if let Some(body) = route.body {
            assert!(
                doc["components"]["schemas"][body].is_object(),
                "schema {body}"
            );
        }
    }
    let codes = doc["x-medic-error-codes"].as_array().expect("codes");
    assert_eq!(codes.len(), medic_api::ERROR_CODES.len());
    let documented: usize = doc["paths"]
        .as_object()
        .expect("paths")
        .values()
        .map(|ops| ops.as_object().expect("ops").len())
        .sum();
    assert_eq!(
        documented,
        ROUTES.len(),
        "the document has no extra operations"
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_error_model() {
    let api = Api::start().await;
    let (status, body) = api.get("/api/v1/nope", OPS).await;
    crate::harness::assert_error(status, &body, 404, "not_found");
    let (status, body, _) = api
        .call(request("DELETE", "/api/v1/incidents", Some(OPS), None))
        .await;
    crate::harness::assert_error(status, &body, 405, "method_not_allowed");
}
