//! How each webhook intake proves who sent it, each in its sender's own way:
//! Alertmanager a bearer token or basic auth (it cannot sign), GitHub an
//! HMAC of the body (`X-Hub-Signature-256`), GitLab a shared token
//! (`X-Gitlab-Token`), Jenkins basic auth, medic's own senders
//! `X-Medic-Signature`. Secrets come from the environment; only their hashes
//! (or the HMAC key) are kept, and every comparison is constant-time.
//!
//! An intake with no credentials configured takes an API key with the write
//! scope instead (none at all when the API is open, on loopback).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::http::HeaderMap;
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use medic_engine::config::{Scope, Webhooks};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::auth::{Keys, decode_hex, require, sha256};
use crate::error::ApiError;
use crate::serve::ServeError;
use crate::signature::Verifier;

/// One way a sender proves itself.
enum Credential {
    /// `Authorization: Bearer TOKEN`, by the token's hash.
    Bearer([u8; 32]),
    /// `Authorization: Basic …`, by the hash of the whole header value.
    Basic([u8; 32]),
    /// `X-Hub-Signature-256: sha256=HEX(HMAC-SHA256(secret, body))`.
    HubSignature(Vec<u8>),
    /// `X-Gitlab-Token: TOKEN`, by the token's hash.
    GitlabToken([u8; 32]),
    /// `X-Medic-Signature`, with its replay cache.
    MedicSignature(Arc<Verifier>),
}

/// Every intake's accepted credentials (any one of them will do).
pub(crate) struct WebhookAuth {
    by_source: BTreeMap<&'static str, Vec<Credential>>,
}

impl WebhookAuth {
    /// Reads the secrets `[webhooks]` names from `env`; a named variable
    /// that is unset or empty fails the start, naming the key.
    pub(crate) fn load(
        config: &Webhooks,
        env: &BTreeMap<String, String>,
        medic_signature: Option<Arc<Verifier>>,
    ) -> Result<Self, ServeError> {
        let secret = |key: String, var: &String| {
            env.get(var)
                .filter(|v| !v.is_empty())
                .cloned()
                .ok_or_else(|| {
                    ServeError::Config(format!("{key}: environment variable {var} is not set"))
                })
        };
        let basic =
            |key: &str, user: &Option<String>, password: &Option<String>| match (user, password) {
                (None, None) => Ok(None),
                (Some(user_var), Some(password_var)) => {
                    let user = secret(format!("webhooks.{key}.user_env"), user_var)?;
                    let password = secret(format!("webhooks.{key}.password_env"), password_var)?;
                    Ok(Some(Credential::Basic(sha256(
                        basic_header(&user, &password).as_bytes(),
                    ))))
                }
                _ => Err(ServeError::Config(format!(
                    "webhooks.{key}: set both user_env and password_env, or neither"
                ))),
            };
        let token = |key: &str, var: &Option<String>| {
            var.as_ref()
                .map(|var| secret(format!("webhooks.{key}.token_env"), var))
                .transpose()
        };
        let mut by_source: BTreeMap<&'static str, Vec<Credential>> = BTreeMap::new();
        if let Some(am) = &config.alertmanager {
            let entry = by_source.entry("alertmanager").or_default();
            if let Some(token) = token("alertmanager", &am.token_env)? {
                entry.push(Credential::Bearer(sha256(token.as_bytes())));
            }
            entry.extend(basic("alertmanager", &am.user_env, &am.password_env)?);
        }
        if let Some(github) = &config.github
            && let Some(var) = &github.secret_env
        {
            let key = secret("webhooks.github.secret_env".into(), var)?;
            by_source
                .entry("github")
                .or_default()
                .push(Credential::HubSignature(key.into_bytes()));
        }
        if let Some(gitlab) = &config.gitlab
            && let Some(token) = token("gitlab", &gitlab.token_env)?
        {
            by_source
                .entry("gitlab")
                .or_default()
                .push(Credential::GitlabToken(sha256(token.as_bytes())));
        }
        if let Some(jenkins) = &config.jenkins {
            by_source.entry("jenkins").or_default().extend(basic(
                "jenkins",
                &jenkins.user_env,
                &jenkins.password_env,
            )?);
        }
        if let Some(verifier) = medic_signature {
            for source in ["generic", "pipeline"] {
                by_source
                    .entry(source)
                    .or_default()
                    .push(Credential::MedicSignature(verifier.clone()));
            }
        }
        by_source.retain(|_, credentials| !credentials.is_empty());
        Ok(Self { by_source })
    }

    /// Checks a delivery to `source`; returns who sent it, for the audit trail.
    pub(crate) fn check(
        &self,
        source: &str,
        headers: &HeaderMap,
        body: &[u8],
        keys: &Keys,
    ) -> Result<Option<String>, ApiError> {
        let Some(credentials) = self.by_source.get(source) else {
            let principal = keys.authenticate(headers)?;
            require(&principal, Scope::Write)?;
            return Ok(None);
        };
        let mut last_error = None;
        for credential in credentials {
            match credential.check(headers, body) {
                Ok(claim) => return Ok(claim),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.unwrap_or_else(|| ApiError::new("unauthorized", "no credentials")))
    }
}

impl Credential {
    /// Checks the credential; for a signature that must be accepted only
    /// once, returns the key to claim in the store.
    fn check(&self, headers: &HeaderMap, body: &[u8]) -> Result<Option<String>, ApiError> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let unauthorized = |why: &str| ApiError::new("unauthorized", why.to_string());
        match self {
            Credential::Bearer(expected) => {
                let presented = header("authorization")
                    .and_then(|v| v.strip_prefix("Bearer ").or(v.strip_prefix("bearer ")))
                    .ok_or_else(|| unauthorized("send Authorization: Bearer TOKEN"))?;
                same_hash(expected, presented.trim()).map(|()| None)
            }
            Credential::Basic(expected) => {
                let presented = header("authorization")
                    .filter(|v| v.len() > 6 && v[..6].eq_ignore_ascii_case("basic "))
                    .ok_or_else(|| unauthorized("send Authorization: Basic credentials"))?;
                same_hash(expected, &format!("Basic {}", presented[6..].trim())).map(|()| None)
            }
            Credential::GitlabToken(expected) => {
                let presented =
                    header("x-gitlab-token").ok_or_else(|| unauthorized("send X-Gitlab-Token"))?;
                same_hash(expected, presented).map(|()| None)
            }
            Credential::HubSignature(secret) => {
                let presented = header("x-hub-signature-256").ok_or_else(|| {
                    ApiError::new("invalid_signature", "send X-Hub-Signature-256")
                })?;
                // GitHub's signature has no timestamp: a replay is recognised
                // by the event's identity inside the signed body instead.
                verify_hub_signature(secret, presented, body).map(|()| None)
            }
            Credential::MedicSignature(verifier) => verifier
                .verify(
                    header("x-medic-signature").unwrap_or_default(),
                    body,
                    chrono::Utc::now().timestamp(),
                )
                .map(Some),
        }
    }
}

fn same_hash(expected: &[u8; 32], presented: &str) -> Result<(), ApiError> {
    if bool::from(expected.ct_eq(&sha256(presented.as_bytes()))) {
        Ok(())
    } else {
        Err(ApiError::new(
            "invalid_key",
            "the webhook's credentials are not valid",
        ))
    }
}

/// The `Authorization` value a sender with these credentials sends.
pub(crate) fn basic_header(user: &str, password: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}

/// GitHub's scheme: `sha256=` and the hex HMAC-SHA256 of the raw body.
pub fn hub_signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(body);
    format!("sha256={}", crate::auth::hex(&mac.finalize().into_bytes()))
}

fn verify_hub_signature(secret: &[u8], presented: &str, body: &[u8]) -> Result<(), ApiError> {
    let bad = |why: &str| ApiError::new("invalid_signature", format!("X-Hub-Signature-256: {why}"));
    let hex = presented
        .trim()
        .strip_prefix("sha256=")
        .ok_or_else(|| bad("expected sha256=HEX"))?;
    let presented = decode_hex(hex).ok_or_else(|| bad("not hex"))?;
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(body);
    mac.verify_slice(&presented)
        .map_err(|_| bad("does not match the body"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GitHub's documented test vector
    /// (docs: "Validating webhook deliveries").
    #[test]
    fn github_test_vector() {
        let secret = b"It's a Secret to Everybody";
        let body = b"Hello, World!";
        let expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(hub_signature(secret, body), expected);
        assert!(verify_hub_signature(secret, expected, body).is_ok());
        assert!(verify_hub_signature(secret, expected, b"Hello, World?").is_err());
        assert!(verify_hub_signature(b"another secret", expected, body).is_err());
        assert!(verify_hub_signature(secret, "sha1=abc", body).is_err());
        assert!(verify_hub_signature(secret, "sha256=zz", body).is_err());
    }

    #[test]
    fn basic_header_is_rfc_7617() {
        // RFC 7617 §2's example.
        assert_eq!(
            basic_header("Aladdin", "open sesame"),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
    }
}
