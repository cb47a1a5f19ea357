//! The `http` action: one request, bounded by its timeout and never retried
//! here (a remedy such as "rotate the credentials" may not be idempotent; the
//! ladder decides what runs next).

use medic_engine::config::{HttpAction, HumanDuration};
use medic_engine::safety::{Escape, Values, render};
use medic_resilience::Error as PolicyError;
use medic_resilience::timeout::Timeout;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Client, Method, Request, Response, StatusCode, Url};

use crate::outcome::{ActionOutcome, error_chain, keep_head};

/// How much of a response body an outcome shows.
pub(crate) const BODY_EXCERPT_BYTES: usize = 1024;

/// Sends the rendered request and judges its status against `expect_status`
/// (empty: any 2xx). The output is the status line and the first KiB of the body.
pub(crate) async fn run(client: &Client, action: &HttpAction, values: &Values) -> ActionOutcome {
    let request = match build_request(client, action, values) {
        Ok(request) => request,
        Err(error) => return ActionOutcome::failed(error),
    };
    let timeout = match Timeout::try_new(action.timeout.get()) {
        Ok(timeout) => timeout,
        Err(error) => return ActionOutcome::failed(error.to_string()),
    };
    let target = format!("{} {}", request.method(), request.url());
    match timeout.call(send_and_read_excerpt(client, request)).await {
        Ok((status, body)) => {
            let output = format!("HTTP {status}\n{body}");
            if status_is_expected(status, &action.expect_status) {
                ActionOutcome::succeeded().with_output(output)
            } else {
                ActionOutcome::failed(format!(
                    "{target}: expected HTTP {}, got {status}",
                    describe_expected(&action.expect_status)
                ))
                .with_output(output)
            }
        }
        Err(PolicyError::Timeout(after)) => ActionOutcome::failed(format!(
            "{target}: timed out after {}",
            HumanDuration::new(after)
        )),
        Err(PolicyError::Inner(error)) => {
            ActionOutcome::failed(format!("{target}: {}", error_chain(&error)))
        }
        Err(other) => ActionOutcome::failed(format!("{target}: {other}")),
    }
}

/// Fills the placeholders where each lands: percent-encoded in the URL, as
/// is in header values (which may not contain line breaks, so no header can
/// be injected), JSON-escaped in the body.
fn build_request(client: &Client, action: &HttpAction, values: &Values) -> Result<Request, String> {
    let method = Method::from_bytes(action.method.trim().to_ascii_uppercase().as_bytes())
        .map_err(|_| format!("invalid HTTP method {:?}", action.method))?;
    let url = render(&action.url, values, Escape::Url)
        .map_err(|error| format!("cannot fill the URL: {error}"))?;
    let url = parse_http_url(&url)?;

    let mut headers = HeaderMap::new();
    for (name, template) in &action.headers {
        let header = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| format!("invalid header name {name:?}"))?;
        let value = render(template, values, Escape::Plain)
            .map_err(|error| format!("cannot fill header {name}: {error}"))?;
        let value = HeaderValue::from_str(&value).map_err(|_| {
            format!("header {name}: the value contains a line break or control character")
        })?;
        headers.insert(header, value);
    }

    let mut builder = client.request(method, url);
    if let Some(template) = &action.body {
        let body = render(template, values, Escape::Json)
            .map_err(|error| format!("cannot fill the body: {error}"))?;
        // Placeholders are JSON-escaped, so the body is JSON unless told otherwise.
        if !headers.contains_key(CONTENT_TYPE) {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        builder = builder.body(body);
    }
    builder
        .headers(headers)
        .build()
        .map_err(|error| error_chain(&error))
}

/// An `http://` or `https://` URL.
pub(crate) fn parse_http_url(url: &str) -> Result<Url, String> {
    let parsed = Url::parse(url).map_err(|error| format!("invalid URL {url:?}: {error}"))?;
    match parsed.scheme() {
        "http" | "https" => Ok(parsed),
        other => Err(format!("{url}: unsupported scheme {other:?}")),
    }
}

async fn send_and_read_excerpt(
    client: &Client,
    request: Request,
) -> Result<(StatusCode, String), reqwest::Error> {
    let mut response = client.execute(request).await?;
    let status = response.status();
    let body = read_excerpt(&mut response, BODY_EXCERPT_BYTES).await?;
    Ok((status, body))
}

/// The first `limit` bytes of the body; the rest is never downloaded.
pub(crate) async fn read_excerpt(
    response: &mut Response,
    limit: usize,
) -> Result<String, reqwest::Error> {
    let mut body = Vec::new();
    while body.len() < limit {
        match response.chunk().await? {
            Some(chunk) => body.extend_from_slice(&chunk),
            None => break,
        }
    }
    let text = String::from_utf8_lossy(&body);
    Ok(keep_head(&text, limit).to_string())
}

fn status_is_expected(status: StatusCode, expected: &[u16]) -> bool {
    if expected.is_empty() {
        status.is_success()
    } else {
        expected.contains(&status.as_u16())
    }
}

fn describe_expected(expected: &[u16]) -> String {
    if expected.is_empty() {
        return "2xx".into();
    }
    let codes: Vec<String> = expected.iter().map(u16::to_string).collect();
    codes.join(" or ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_status_defaults_to_2xx() {
        assert!(status_is_expected(StatusCode::NO_CONTENT, &[]));
        assert!(!status_is_expected(StatusCode::FOUND, &[]));
        assert!(status_is_expected(StatusCode::FOUND, &[302]));
        assert!(!status_is_expected(StatusCode::OK, &[202]));
        assert_eq!(describe_expected(&[200, 202]), "200 or 202");
    }

    #[test]
    fn http_and_https_urls_only() {
        assert!(parse_http_url("http://127.0.0.1:1/x").is_ok());
        assert!(parse_http_url("https://example.invalid/").is_ok());
        assert!(parse_http_url("ftp://x/").is_err());
        assert!(parse_http_url("not a url").is_err());
    }
}
