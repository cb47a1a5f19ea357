//! The generic signed-webhook scheme: `X-Medic-Signature: t=UNIX,v1=HEX`,
//! where HEX is HMAC-SHA256(secret, "t.body"). A signature is accepted
//! within 5 minutes of its timestamp (older ones are stale), and once: the
//! caller claims it in the store (`replay.rs`), so a replay inside that
//! window is refused even after a restart or by another replica.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::auth::decode_hex;
use crate::error::ApiError;

/// How far a signature's timestamp may be from now, either way.
pub const TOLERANCE_SECS: u64 = 300;

/// A parsed `X-Medic-Signature` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    /// `t`: unix seconds.
    pub timestamp: i64,
    /// Every `v1` value (several allow key rotation).
    pub signatures: Vec<Vec<u8>>,
}

/// Parses `t=1700000000,v1=ab12…[,v1=…]`; unknown fields are ignored.
pub fn parse_header(value: &str) -> Result<SignatureHeader, ApiError> {
    let bad = |why: &str| ApiError::new("invalid_signature", format!("X-Medic-Signature: {why}"));
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in value.split(',') {
        let Some((key, val)) = part.trim().split_once('=') else {
            return Err(bad("expected t=UNIX,v1=HEX"));
        };
        match key {
            "t" => {
                timestamp = Some(
                    val.parse::<i64>()
                        .map_err(|_| bad("t is not a unix time in seconds"))?,
                );
            }
            "v1" => signatures.push(decode_hex(val).ok_or_else(|| bad("v1 is not hex"))?),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or_else(|| bad("no t="))?;
    if signatures.is_empty() {
        return Err(bad("no v1="));
    }
    Ok(SignatureHeader {
        timestamp,
        signatures,
    })
}

/// HMAC-SHA256(secret, "t.body"), as bytes.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length; an empty result would simply not match.
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret) else {
        return Vec::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// Checks signatures; the replay check is the store's (`replay.rs`).
pub struct Verifier {
    secret: Vec<u8>,
}

impl Verifier {
    /// A verifier for `secret`.
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        Self {
            secret: secret.into(),
        }
    }

    /// Checks `header` for `body` at `now` (unix seconds); returns the key
    /// the caller claims so the signature is accepted only once.
    pub fn verify(&self, header: &str, body: &[u8], now: i64) -> Result<String, ApiError> {
        let parsed = parse_header(header)?;
        let skew = now.abs_diff(parsed.timestamp);
        if skew > TOLERANCE_SECS {
            return Err(ApiError::new(
                "stale_signature",
                format!(
                    "the signature's timestamp is {skew} s away from now; the limit is {TOLERANCE_SECS} s"
                ),
            ));
        }
        let expected = sign(&self.secret, parsed.timestamp, body);
        let matched = parsed.signatures.iter().fold(false, |any, candidate| {
            any | bool::from(candidate.ct_eq(&expected))
        });
        if !matched {
            return Err(ApiError::new(
                "invalid_signature",
                "the signature does not match the body",
            ));
        }
        Ok(format!("medic-signature:{}", crate::auth::hex(&expected)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::hex;

    const NOW: i64 = 1_764_115_200;

    fn header(secret: &[u8], t: i64, body: &[u8]) -> String {
        format!("t={t},v1={}", hex(&sign(secret, t, body)))
    }

    #[test]
    fn a_good_signature_gives_one_claim_key_per_signature() {
        let verifier = Verifier::new("s3cret");
        let body = br#"{"component":"pay","outcome":"error"}"#;
        let h = header(b"s3cret", NOW, body);
        let first = verifier.verify(&h, body, NOW + 10).expect("fresh");
        let again = verifier
            .verify(&h, body, NOW + 11)
            .expect("the store refuses it");
        assert_eq!(first, again, "a replay claims the same key");
        let other = verifier
            .verify(&header(b"s3cret", NOW + 1, body), body, NOW + 11)
            .expect("fresh");
        assert_ne!(first, other);
    }

    #[test]
    fn wrong_secret_body_or_time_is_refused() {
        let verifier = Verifier::new("s3cret");
        let body = b"{}";
        let cases = [
            (header(b"other", NOW, body), NOW, "invalid_signature"),
            (header(b"s3cret", NOW, b"{ }"), NOW, "invalid_signature"),
            (header(b"s3cret", NOW - 301, body), NOW, "stale_signature"),
            (header(b"s3cret", NOW + 301, body), NOW, "stale_signature"),
            ("t=abc,v1=00".to_string(), NOW, "invalid_signature"),
            (format!("t={},v1=00", i64::MIN), NOW, "stale_signature"),
            (format!("t={},v1=00", i64::MAX), NOW, "stale_signature"),
            ("v1=00".to_string(), NOW, "invalid_signature"),
            (format!("t={NOW}"), NOW, "invalid_signature"),
            (format!("t={NOW},v1=xyz"), NOW, "invalid_signature"),
            (String::new(), NOW, "invalid_signature"),
        ];
        for (h, now, code) in cases {
            let error = verifier.verify(&h, body, now).expect_err(&h);
            assert_eq!(error.code(), code, "{h}");
        }
    }

    #[test]
    fn rotation_accepts_any_listed_signature() {
        let verifier = Verifier::new("new");
        let body = b"{}";
        let h = format!(
            "t={NOW},v1={},v1={}",
            hex(&sign(b"old", NOW, body)),
            hex(&sign(b"new", NOW, body))
        );
        verifier.verify(&h, body, NOW).expect("one matches");
    }

    proptest::proptest! {
        #[test]
        fn header_parsing_never_panics(value in ".{0,200}") {
            let _ = parse_header(&value);
        }

        #[test]
        fn verify_never_panics(value in "[tv1=,0-9a-f]{0,120}", body in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let _ = Verifier::new("k").verify(&value, &body, NOW);
        }
    }
}
