//! Who may call what: API keys with scopes, and the signed-webhook scheme.
//!
//! Keys come from the config: `key_env` (the key itself, read from the
//! environment at start) or `key_sha256` (its hex SHA-256, for keys kept
//! elsewhere). Only hashes are kept in memory; a presented key is hashed and
//! compared with every configured hash in constant time, so neither timing
//! nor an early exit tells how close a guess was.

use std::collections::BTreeMap;

use axum::http::HeaderMap;
use medic_engine::config::{Auth, Scope};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;

/// Who is calling: the key's name, or `anonymous` when no keys are configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The key's name (goes into the audit trail).
    pub name: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
}

struct Key {
    name: String,
    sha256: [u8; 32],
    scopes: Vec<Scope>,
}

/// The configured API keys.
pub struct Keys {
    keys: Vec<Key>,
}

/// Why the keys could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("auth.keys[{index}]: {message}")]
pub struct KeyError {
    index: usize,
    message: String,
}

impl Keys {
    /// Resolves the config's keys; `env` supplies `key_env` values.
    pub fn load(auth: &Auth, env: &BTreeMap<String, String>) -> Result<Keys, KeyError> {
        let mut keys = Vec::new();
        for (index, key) in auth.keys.iter().enumerate() {
            let fail = |message: String| KeyError { index, message };
            let sha256 = match (&key.key_env, &key.key_sha256) {
                (Some(var), _) => {
                    let secret = env
                        .get(var)
                        .filter(|v| !v.is_empty())
                        .ok_or_else(|| fail(format!("environment variable {var} is not set")))?;
                    if secret.len() < 16 {
                        return Err(fail(format!(
                            "the key in {var} is shorter than 16 characters"
                        )));
                    }
                    sha256(secret.as_bytes())
                }
                (None, Some(hex)) => decode_hex32(hex)
                    .ok_or_else(|| fail("key_sha256 must be 64 hex digits".into()))?,
                (None, None) => return Err(fail("set key_env or key_sha256".into())),
            };
            keys.push(Key {
                name: key.name.clone(),
                sha256,
                scopes: key.scopes.clone(),
            });
        }
        Ok(Keys { keys })
    }

    /// No keys: the API is open (allowed only on loopback addresses).
    pub fn is_open(&self) -> bool {
        self.keys.is_empty()
    }

    /// The caller, from `Authorization: Bearer KEY` or `X-API-Key: KEY`.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, ApiError> {
        if self.is_open() {
            return Ok(Principal {
                name: "anonymous".into(),
                scopes: vec![Scope::Read, Scope::Write, Scope::Admin],
            });
        }
        let presented = presented_key(headers).ok_or_else(|| {
            ApiError::new(
                "unauthorized",
                "send an API key: Authorization: Bearer KEY or X-API-Key: KEY",
            )
        })?;
        let hash = sha256(presented.as_bytes());
        // Every key is compared, match or not.
        let mut found: Option<&Key> = None;
        for key in &self.keys {
            if bool::from(key.sha256.ct_eq(&hash)) {
                found = Some(key);
            }
        }
        found
            .map(|key| Principal {
                name: key.name.clone(),
                scopes: key.scopes.clone(),
            })
            .ok_or_else(|| ApiError::new("invalid_key", "the API key is not valid"))
    }
}

/// Refuses a principal without `scope`.
pub fn require(principal: &Principal, scope: Scope) -> Result<(), ApiError> {
    if principal.scopes.contains(&scope) {
        Ok(())
    } else {
        Err(ApiError::new(
            "forbidden",
            format!(
                "key {:?} lacks the {} scope",
                principal.name,
                scope_name(scope)
            ),
        ))
    }
}

/// The scope's name as written in the config.
pub fn scope_name(scope: Scope) -> &'static str {
    match scope {
        Scope::Read => "read",
        Scope::Write => "write",
        Scope::Admin => "admin",
    }
}

fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(value) = headers.get("x-api-key") {
        return value.to_str().ok().map(str::trim).filter(|k| !k.is_empty());
    }
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, key) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| key.trim())
        .filter(|k| !k.is_empty())
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// 64 hex digits → 32 bytes.
pub fn decode_hex32(text: &str) -> Option<[u8; 32]> {
    let bytes = decode_hex(text)?;
    bytes.try_into().ok()
}

/// Hex digits (either case) → bytes; `None` on odd length or a non-hex digit.
pub fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| {
            let digit = |c: u8| (c as char).to_digit(16);
            Some((digit(pair[0])? * 16 + digit(pair[1])?) as u8)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use medic_engine::config::ApiKey;

    fn keys() -> Keys {
        let auth = Auth {
            keys: vec![
                ApiKey {
                    name: "ops".into(),
                    key_env: Some("OPS".into()),
                    key_sha256: None,
                    scopes: vec![Scope::Read, Scope::Write],
                },
                ApiKey {
                    name: "ci".into(),
                    key_env: None,
                    key_sha256: Some(hex(&sha256(b"ci-key-0123456789"))),
                    scopes: vec![Scope::Read],
                },
            ],
        };
        let env = BTreeMap::from([("OPS".to_string(), "ops-key-0123456789".to_string())]);
        Keys::load(&auth, &env).expect("keys")
    }

    fn headers(name: &str, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            axum::http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
            value.parse().expect("value"),
        );
        headers
    }

    #[test]
    fn both_headers_and_both_key_sources_work() {
        let keys = keys();
        let ops = keys
            .authenticate(&headers("authorization", "Bearer ops-key-0123456789"))
            .expect("bearer");
        assert_eq!(ops.name, "ops");
        let ci = keys
            .authenticate(&headers("x-api-key", "ci-key-0123456789"))
            .expect("x-api-key");
        assert_eq!(ci.name, "ci");
        assert!(require(&ci, Scope::Write).is_err());
        assert!(require(&ops, Scope::Write).is_ok());
    }

    #[test]
    fn missing_and_wrong_keys_have_their_own_codes() {
        let keys = keys();
        let missing = keys.authenticate(&HeaderMap::new()).expect_err("missing");
        assert_eq!(missing.code(), "unauthorized");
        let wrong = keys
            .authenticate(&headers("x-api-key", "ops-key-0123456780"))
            .expect_err("wrong");
        assert_eq!(wrong.code(), "invalid_key");
        let basic = keys
            .authenticate(&headers("authorization", "Basic b3BzOm9wcw=="))
            .expect_err("basic");
        assert_eq!(basic.code(), "unauthorized");
    }

    #[test]
    fn unset_or_short_keys_refuse_to_load() {
        let auth = Auth {
            keys: vec![ApiKey {
                name: "ops".into(),
                key_env: Some("NOPE".into()),
                key_sha256: None,
                scopes: vec![Scope::Read],
            }],
        };
        let error = Keys::load(&auth, &BTreeMap::new()).err().expect("unset");
        assert!(error.to_string().contains("NOPE"), "{error}");
        let short = BTreeMap::from([("NOPE".to_string(), "short".to_string())]);
        assert!(Keys::load(&auth, &short).is_err());
    }

    #[test]
    fn hex_round_trips_and_rejects_junk() {
        let digest = sha256(b"x");
        assert_eq!(decode_hex32(&hex(&digest)), Some(digest));
        assert_eq!(decode_hex32(&hex(&digest).to_uppercase()), Some(digest));
        assert_eq!(decode_hex("abc"), None);
        assert_eq!(decode_hex("zz"), None);
        assert_eq!(decode_hex32("00"), None);
    }
}
