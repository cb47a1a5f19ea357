//! `Content-Type` for JSON bodies, strictly: the media type is exactly
//! `application/json` (any case), with at most one parameter,
//! `charset=utf-8` (any case, quoted or not). `application/jsonx`,
//! `text/plain`, `application/vnd.x+json` and a missing header are 415:
//! a body is only read as JSON when its sender says it is JSON.
//!
//! Every sender medic takes JSON from sends this: Alertmanager
//! `application/json`, GitHub `application/json` when the webhook's
//! "Content type" is set so (its other choice, form-encoded, is refused
//! with a message saying which to pick), GitLab `application/json`, the
//! Jenkins Notification plugin `application/json;charset=UTF-8`, medic's
//! own senders `application/json`.

use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;

use crate::error::ApiError;

/// Whether `headers` declare a JSON body, by the rule above.
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mut parts = value.split(';');
    let media_type = parts.next().unwrap_or_default().trim();
    if !media_type.eq_ignore_ascii_case("application/json") {
        return false;
    }
    parts.all(|parameter| {
        let Some((name, value)) = parameter.split_once('=') else {
            return parameter.trim().is_empty();
        };
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        name.trim().eq_ignore_ascii_case("charset") && value.eq_ignore_ascii_case("utf-8")
    })
}

/// 415 `unsupported_media_type` unless the body is declared JSON; `hint`
/// says how the sender is set up to send it.
pub(crate) fn require_json(headers: &HeaderMap, hint: &str) -> Result<(), ApiError> {
    if is_json(headers) {
        return Ok(());
    }
    let sent = headers
        .get(CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let sent = sent.map_or_else(|| "no Content-Type".to_string(), |v| format!("{v:?}"));
    Err(ApiError::new(
        "unsupported_media_type",
        format!("send the body with Content-Type: application/json (got {sent}){hint}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, value.parse().expect("header value"));
        headers
    }

    #[test]
    fn only_application_json_with_an_optional_utf8_charset_is_json() {
        for good in [
            "application/json",
            "Application/JSON",
            "application/json; charset=utf-8",
            "application/json;charset=UTF-8",
            "application/json; charset=\"utf-8\"",
            "application/json;",
        ] {
            assert!(is_json(&with(good)), "{good}");
        }
        for bad in [
            "application/jsonx",
            "application/json-seq",
            "text/plain",
            "text/json",
            "application/vnd.api+json",
            "application/x-www-form-urlencoded",
            "application/json; charset=latin-1",
            "application/json; boundary=x",
            "application/json; charset=utf-8; x=y",
            "",
            "json",
        ] {
            assert!(!is_json(&with(bad)), "{bad}");
        }
        assert!(!is_json(&HeaderMap::new()), "missing");
    }

    #[test]
    fn the_refusal_names_what_was_sent() {
        let error = require_json(&with("text/plain"), "").expect_err("refused");
        assert_eq!(error.code(), "unsupported_media_type");
        assert!(format!("{error:?}").contains("text/plain"), "{error:?}");
    }
}
