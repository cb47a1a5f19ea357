//! The bad-input corpus (`tests/corpus/`) and property tests: whatever the
//! body, query or path, the answer is a 2xx or a 4xx in the error model —
//! never a 5xx, never a panic.

use std::path::PathBuf;

use axum::body::Body;
use axum::http::Request;
use proptest::prelude::*;

use crate::harness::{Api, OPS, request};

/// Endpoints that take a JSON body.
const BODY_ROUTES: &[&str] = &["/api/v1/components", "/api/v1/events"];

pub fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("corpus dir")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .map(|path| {
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read(&path).expect("read corpus file"))
        })
        .collect();
    files.sort();
    assert!(
        files.len() >= 30,
        "the corpus went missing: {}",
        files.len()
    );
    files
}

fn post_bytes(path: &str, body: Vec<u8>) -> Request<Body> {
    Request::builder()
        .method("POST")
        .uri(path)
        .header("x-api-key", OPS)
        .header("content-type", "application/json")
        .body(Body::from(body))
        .expect("request")
}

#[tokio::test]
async fn every_corpus_body_gets_a_clear_4xx() {
    let api = Api::start().await;
    for (name, bytes) in corpus() {
        for path in BODY_ROUTES {
            let (status, body, _) = api.call(post_bytes(path, bytes.clone())).await;
            let shown: String = body.to_string().chars().take(300).collect();
            assert!(
                status.is_client_error(),
                "{name} → {path}: {status} {shown}"
            );
            let code = body["error"]["code"].as_str().unwrap_or_default();
            assert!(
                medic_api::ERROR_CODES
                    .iter()
                    .any(|(c, s, _)| *c == code && *s == status.as_u16()),
                "{name} → {path}: {status} {shown}"
            );
        }
    }
}

#[tokio::test]
async fn bad_paths_and_queries_get_a_clear_400() {
    let api = Api::start().await;
    let cases = [
        "/api/v1/incidents/abc",
        "/api/v1/incidents/99999999999999999999999",
        "/api/v1/incidents/1.5",
        "/api/v1/incidents?limit=-1",
        "/api/v1/incidents?limit=99999999999",
        "/api/v1/incidents?limit=ten",
        "/api/v1/incidents?status=sleeping",
        "/api/v1/incidents?cursor=abc",
        "/api/v1/incidents?surprise=1",
        "/api/v1/approvals?status=maybe",
        "/api/v1/recovery/recent?count=-3",
        "/api/v1/recovery/stats?component=a&x=1",
        "/api/v1/approvals/abc/approve",
    ];
    for path in cases {
        let method = if path.ends_with("approve") {
            "POST"
        } else {
            "GET"
        };
        let (status, body, _) = api.call(request(method, path, Some(OPS), None)).await;
        assert_eq!(status.as_u16(), 400, "{path}: {body}");
        let code = body["error"]["code"].as_str().unwrap_or_default();
        assert!(
            code == "invalid_query" || code == "invalid_path",
            "{path}: {body}"
        );
    }
    let (status, body, _) = api
        .call(
            Request::builder()
                .method("POST")
                .uri("/api/v1/events")
                .header("x-api-key", OPS)
                .header("content-type", "text/plain")
                .body(Body::from(r#"{"component":"a","outcome":"error"}"#))
                .expect("request"),
        )
        .await;
    crate::harness::assert_error(status, &body, 415, "unsupported_media_type");
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bodies_never_get_a_5xx(bytes in proptest::collection::vec(any::<u8>(), 0..256), json_like in "[{}\\[\\]\":,a-z0-9 .eE+-]{0,64}") {
        let rt = runtime();
        rt.block_on(async {
            let api = Api::start().await;
            for body in [bytes.clone(), json_like.clone().into_bytes()] {
                for path in BODY_ROUTES {
                    let (status, reply, _) = api.call(post_bytes(path, body.clone())).await;
                    prop_assert!(status.as_u16() < 500, "{path}: {status} {reply}");
                }
            }
            Ok(())
        })?;
    }

    #[test]
    fn arbitrary_queries_never_get_a_5xx(query in "[a-z_=&%0-9.-]{0,48}", segment in "[a-zA-Z0-9%._-]{1,24}") {
        let rt = runtime();
        rt.block_on(async {
            let api = Api::start().await;
            for path in [
                format!("/api/v1/incidents?{query}"),
                format!("/api/v1/approvals?{query}"),
                format!("/api/v1/recovery/recent?{query}"),
                format!("/api/v1/incidents/{segment}"),
                format!("/api/v1/components/{segment}/stats"),
            ] {
                let (status, reply, _) = api.call(request("GET", &path, Some(OPS), None)).await;
                prop_assert!(status.as_u16() < 500, "{path}: {status} {reply}");
            }
            Ok(())
        })?;
    }
}
