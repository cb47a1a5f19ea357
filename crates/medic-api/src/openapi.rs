//! The OpenAPI 3.1 document, generated from the route table ([`ROUTES`]) and
//! the error table ([`ERROR_CODES`]); request bodies are described here,
//! next to nothing else, and a test posts each example to the router.

use serde_json::{Value, json};

use crate::auth::scope_name;
use crate::error::ERROR_CODES;
use crate::routes::{Access, ROUTES};

/// The document served at `/api/v1/openapi.json`.
pub fn document() -> Value {
    let mut paths = serde_json::Map::new();
    for route in ROUTES {
        let method = route.method.to_ascii_lowercase();
        let mut operation = json!({
            "summary": route.summary,
            "responses": {
                "2XX": {"description": "success (JSON unless stated)"},
                "4XX": {"$ref": "#/components/responses/Error"},
            },
        });
        let parameters: Vec<Value> = path_parameters(route.path)
            .map(|name| {
                let schema = if name == "id" {
                    json!({"type": "integer", "format": "int64"})
                } else {
                    json!({"type": "string"})
                };
                json!({"name": name, "in": "path", "required": true, "schema": schema})
            })
            .collect();
        if !parameters.is_empty() {
            operation["parameters"] = json!(parameters);
        }
        match route.access {
            Access::Public => operation["security"] = json!([]),
            Access::Key(scope) => {
                operation["x-medic-scope"] = json!(scope_name(scope));
            }
            Access::KeyOrSignature => {
                operation["x-medic-scope"] = json!("write");
                operation["security"] = json!([{"bearer": []}, {"apiKey": []}, {"signature": []}]);
            }
            Access::Webhook(source) => {
                operation["x-medic-webhook"] = json!(source);
                operation["description"] = json!(format!(
                    "Authenticated with [webhooks] {source}'s own credentials when set, else an API key with the write scope."
                ));
            }
        }
        if let Some(body) = route.body {
            operation["requestBody"] = json!({
                "required": true,
                "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{body}")}}},
            });
        }
        let entry = paths
            .entry(route.path.to_string())
            .or_insert_with(|| json!({}));
        entry[method] = operation;
    }
    let codes: Vec<Value> = ERROR_CODES
        .iter()
        .map(|(code, status, meaning)| json!({"code": code, "status": status, "meaning": meaning}))
        .collect();
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "medic",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "medic's HTTP API. Errors are {\"error\":{\"code\",\"message\"}}; x-medic-error-codes lists every code.",
        },
        "x-medic-error-codes": codes,
        "security": [{"bearer": []}, {"apiKey": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "signature": {"type": "apiKey", "in": "header", "name": "X-Medic-Signature",
                    "description": "t=UNIX,v1=HEX(HMAC-SHA256(secret, \"t.body\")); 5 minutes tolerance; each signature once"},
            },
            "responses": {
                "Error": {
                    "description": "an error",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                },
            },
            "schemas": schemas(),
        },
    })
}

fn path_parameters(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
}

fn schemas() -> Value {
    let duration = json!({"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$", "examples": ["5s"]});
    json!({
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {"error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "enum": ERROR_CODES.iter().map(|(c, _, _)| *c).collect::<Vec<_>>()},
                    "message": {"type": "string"},
                    "details": {"type": "array"},
                },
            }},
        },
        "ComponentSpec": {
            "type": "object",
            "required": ["name"],
            "additionalProperties": false,
            "properties": {
                "name": {"type": "string"},
                "health_url": {"type": "string", "format": "uri"},
                "webhook_url": {"type": "string", "format": "uri"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
                "remedies": {"type": "array", "items": {"type": "object", "description": "a [[targets.remedies]] table of the config file, as JSON"}},
                "interval": duration,
                "timeout": duration,
                "health": {"type": "object", "description": "health thresholds, as in the config file"},
            },
        },
        "AlertmanagerNotification": {
            "type": "object",
            "required": ["version", "alerts"],
            "properties": {
                "version": {"const": "4"},
                "receiver": {"type": "string"},
                "status": {"type": "string", "enum": ["firing", "resolved"]},
                "groupKey": {"type": "string"},
                "truncatedAlerts": {"type": "integer", "minimum": 0},
                "alerts": {"type": "array", "items": {
                    "type": "object",
                    "required": ["status", "labels", "startsAt"],
                    "properties": {
                        "status": {"type": "string", "enum": ["firing", "resolved"]},
                        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
                        "startsAt": {"type": "string", "format": "date-time"},
                        "endsAt": {"type": "string", "format": "date-time"},
                        "generatorURL": {"type": "string"},
                        "fingerprint": {"type": "string"},
                    },
                }},
            },
        },
        "GenericReport": {
            "type": "object",
            "required": ["data"],
            "properties": {
                "id": {"type": "string", "description": "the sender's identity of the report: the same id twice is one report"},
                "data": {
                    "type": "object",
                    "required": ["message"],
                    "properties": {
                        "message": {"type": "string", "maxLength": 4096},
                        "target": {"type": "string"},
                        "severity": {"type": "string"},
                        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                        "logs": {"type": "array", "items": {"type": "string"}},
                        "status": {"type": "string", "enum": ["firing", "resolved"], "default": "firing"},
                    },
                },
            },
        },
        "PipelineFailure": {
            "type": "object",
            "required": ["source", "job_name", "build_number", "error_message"],
            "properties": {
                "source": {"type": "string"},
                "job_name": {"type": "string"},
                "build_number": {"oneOf": [{"type": "integer", "minimum": 0}, {"type": "string"}]},
                "stage": {"type": "string"},
                "error_message": {"type": "string"},
                "target_hosts": {"type": "array", "items": {"type": "string"}},
            },
        },
        "GithubWorkflowEvent": {
            "type": "object",
            "description": "GitHub's workflow_job or workflow_run event (X-GitHub-Event names which; X-GitHub-Delivery identifies the delivery). Send it as application/json.",
            "required": ["action", "repository"],
            "properties": {
                "action": {"type": "string", "examples": ["completed"]},
                "repository": {"type": "object", "required": ["full_name"], "properties": {"full_name": {"type": "string"}}},
                "workflow_job": {"type": "object", "required": ["id", "run_id", "name"], "properties": {
                    "id": {"type": "integer"}, "run_id": {"type": "integer"}, "run_attempt": {"type": "integer"},
                    "name": {"type": "string"}, "status": {"type": "string"},
                    "conclusion": {"type": ["string", "null"], "examples": ["failure", "timed_out", "success"]},
                    "html_url": {"type": "string"},
                }},
                "workflow_run": {"type": "object", "required": ["id"], "properties": {
                    "id": {"type": "integer"}, "run_attempt": {"type": "integer"}, "name": {"type": "string"},
                    "conclusion": {"type": ["string", "null"]}, "html_url": {"type": "string"},
                }},
            },
        },
        "GitlabHook": {
            "type": "object",
            "description": "GitLab's Job Hook (object_kind build) or Pipeline Hook (object_kind pipeline). An event medic cannot read is answered 200 {\"ignored\": why}, never 4xx.",
            "required": ["object_kind"],
            "properties": {
                "object_kind": {"type": "string", "enum": ["build", "pipeline"]},
                "build_id": {"type": "integer"}, "build_name": {"type": "string"},
                "build_status": {"type": "string", "examples": ["failed", "success"]},
                "build_allow_failure": {"type": "boolean"},
                "pipeline_id": {"type": "integer"}, "project_id": {"type": "integer"},
                "project": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "path_with_namespace": {"type": "string"}, "web_url": {"type": "string"},
                }},
                "object_attributes": {"type": "object", "properties": {"id": {"type": "integer"}, "status": {"type": "string"}}},
                "builds": {"type": "array", "items": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "name": {"type": "string"}, "status": {"type": "string"}, "allow_failure": {"type": "boolean"},
                }}},
            },
        },
        "JenkinsNotification": {
            "type": "object",
            "description": "The Jenkins Notification plugin's JSON; only phase FINALIZED is judged.",
            "required": ["name", "url", "build"],
            "properties": {
                "name": {"type": "string"},
                "url": {"type": "string", "examples": ["job/app/"]},
                "build": {"type": "object", "required": ["number", "phase"], "properties": {
                    "number": {"type": "integer"},
                    "phase": {"type": "string", "enum": ["QUEUED", "STARTED", "COMPLETED", "FINALIZED"]},
                    "status": {"type": "string", "examples": ["FAILURE", "SUCCESS", "UNSTABLE", "ABORTED"]},
                    "url": {"type": "string", "examples": ["job/app/18/"]},
                    "full_url": {"type": "string", "format": "uri"},
                }},
            },
        },
        "MaintenanceRequest": {
            "type": "object",
            "description": "A maintenance window: give `targets` and/or `labels`, and `ends_at` or `duration`. It lasts at most 7 days.",
            "additionalProperties": false,
            "properties": {
                "name": {"type": "string", "maxLength": 200},
                "targets": {"type": "array", "items": {"type": "string"}},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "starts_at": {"type": "string", "format": "date-time", "description": "default: now"},
                "ends_at": {"type": "string", "format": "date-time"},
                "duration": {"type": "string", "examples": ["30m", "2h"]},
            },
        },
        "AppEvent": {
            "type": "object",
            "required": ["component", "outcome"],
            "additionalProperties": false,
            "properties": {
                "component": {"type": "string"},
                "operation": {"type": "string"},
                "outcome": {"type": "string", "enum": ["success", "error"]},
                "error": {"type": "string"},
                "latency_ms": {"type": "number", "minimum": 0},
            },
        },
    })
}
