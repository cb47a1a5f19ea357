//! The one fact `cert_expires_within` needs from a certificate: its
//! `notAfter`. A few lines of DER walking instead of an X.509 library: the
//! path to the field is fixed by RFC 5280 and the chain was already verified
//! by rustls (or deliberately not, with `insecure`).

use chrono::{DateTime, NaiveDate, Utc};

/// One DER element at the start of `input`: (tag, contents, what follows).
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let length = rest[..count]
            .iter()
            .fold(0usize, |acc, &byte| (acc << 8) | usize::from(byte));
        (length, &rest[count..])
    };
    if rest.len() < length {
        return None;
    }
    Some((tag, &rest[..length], &rest[length..]))
}

const SEQUENCE: u8 = 0x30;
const EXPLICIT_VERSION: u8 = 0xa0;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// When the DER certificate `der` expires (`tbsCertificate.validity.notAfter`);
/// `None` when it is not a certificate this can read.
pub fn not_after(der: &[u8]) -> Option<DateTime<Utc>> {
    let (SEQUENCE, certificate, _) = element(der)? else {
        return None;
    };
    let (SEQUENCE, tbs, _) = element(certificate)? else {
        return None;
    };
    let mut rest = tbs;
    if let (EXPLICIT_VERSION, _, after) = element(rest)? {
        rest = after;
    }
    // serialNumber, signature, issuer
    for _ in 0..3 {
        rest = element(rest)?.2;
    }
    let (SEQUENCE, validity, _) = element(rest)? else {
        return None;
    };
    let (_, _, after_not_before) = element(validity)?;
    let (tag, time, _) = element(after_not_before)?;
    parse_time(tag, std::str::from_utf8(time).ok()?)
}

/// `YYMMDDHHMMSSZ` (UTCTime, years 1950–2049) or `YYYYMMDDHHMMSSZ`.
fn parse_time(tag: u8, text: &str) -> Option<DateTime<Utc>> {
    let digits = text.strip_suffix('Z')?;
    let (year, rest) = match tag {
        UTC_TIME if digits.len() == 12 => {
            let yy: i32 = digits[..2].parse().ok()?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, &digits[2..])
        }
        GENERALIZED_TIME if digits.len() == 14 => (digits[..4].parse().ok()?, &digits[4..]),
        _ => return None,
    };
    let number = |range: std::ops::Range<usize>| rest.get(range)?.parse::<u32>().ok();
    NaiveDate::from_ymd_opt(year, number(0..2)?, number(2..4)?)?
        .and_hms_opt(number(4..6)?, number(6..8)?, number(8..10)?)
        .map(|time| time.and_utc())
}

/// When the certificate the server presented for `response` expires; `None`
/// for plain http (or a client built without [`crate::builder`]).
pub fn peer_certificate_expiry(response: &reqwest::Response) -> Option<DateTime<Utc>> {
    let info = response.extensions().get::<reqwest::tls::TlsInfo>()?;
    not_after(info.peer_certificate()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_time_forms_parse() {
        let utc = parse_time(UTC_TIME, "491231235959Z").expect("utc time");
        assert_eq!(utc.to_rfc3339(), "2049-12-31T23:59:59+00:00");
        let old = parse_time(UTC_TIME, "700101000000Z").expect("1970");
        assert_eq!(old.timestamp(), 0);
        let general = parse_time(GENERALIZED_TIME, "20510102030405Z").expect("generalized");
        assert_eq!(general.to_rfc3339(), "2051-01-02T03:04:05+00:00");
        assert_eq!(parse_time(UTC_TIME, "4912312359Z"), None);
        assert_eq!(not_after(b"\x30\x03\x02\x01"), None);
    }
}
