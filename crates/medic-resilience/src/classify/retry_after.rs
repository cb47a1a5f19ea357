//! The `Retry-After` header (RFC 9110 §10.2.3): seconds, or an HTTP date.

use std::time::{Duration, SystemTime};

/// Parses a `Retry-After` value into how long to wait from `now`.
///
/// Accepts delta-seconds (`"120"`) and HTTP dates in all three forms
/// `httpdate` understands: IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the
/// obsolete RFC 850 form and asctime. Surrounding whitespace is ignored.
///
/// - a date in the past (or `now`) gives `Duration::ZERO`: retry immediately;
/// - a number too large for `u64` saturates to `u64::MAX` seconds instead of
///   failing, so clamp the result to your own maximum wait before sleeping;
/// - anything else (empty, negative, fractional, `+5`, garbage) gives `None`.
///
/// ```
/// use medic_resilience::classify::parse_retry_after;
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// let now = UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
/// assert_eq!(parse_retry_after(" 120 ", now), Some(Duration::from_secs(120)));
/// assert_eq!(
///     parse_retry_after("Sun, 06 Nov 1994 08:50:37 GMT", now),
///     Some(Duration::from_secs(60))
/// );
/// assert_eq!(parse_retry_after("Sat, 05 Nov 1994 08:49:37 GMT", now), Some(Duration::ZERO));
/// assert_eq!(parse_retry_after("soon", now), None);
/// ```
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(saturating_parse_seconds(value)));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Parses a non-empty run of ASCII digits, saturating instead of overflowing.
fn saturating_parse_seconds(digits: &str) -> u64 {
    digits.bytes().fold(0u64, |seconds, digit| {
        seconds
            .saturating_mul(10)
            .saturating_add(u64::from(digit - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::UNIX_EPOCH;

    /// Sun, 06 Nov 1994 08:49:37 GMT, the example date of RFC 9110.
    fn rfc_example_now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(784_111_777)
    }

    #[test]
    fn delta_seconds_and_every_date_form_parse() {
        let now = rfc_example_now();
        let cases: &[(&str, Option<u64>)] = &[
            ("0", Some(0)),
            ("120", Some(120)),
            ("  7\t", Some(7)),
            ("007", Some(7)),
            // IMF-fixdate, RFC 850 and asctime for the same instant + 1 hour
            ("Sun, 06 Nov 1994 09:49:37 GMT", Some(3600)),
            ("Sunday, 06-Nov-94 09:49:37 GMT", Some(3600)),
            ("Sun Nov  6 09:49:37 1994", Some(3600)),
            // exactly now and in the past
            ("Sun, 06 Nov 1994 08:49:37 GMT", Some(0)),
            ("Thu, 01 Jan 1970 00:00:00 GMT", Some(0)),
        ];
        for (value, expected) in cases {
            assert_eq!(
                parse_retry_after(value, now),
                expected.map(Duration::from_secs),
                "value: {value:?}"
            );
        }
    }

    #[test]
    fn garbage_gives_none() {
        let now = rfc_example_now();
        for value in [
            "",
            "   ",
            "-5",
            "+5",
            "1.5",
            "12s",
            "soon",
            "Sun, 06 Nov 1994 25:00:00 GMT",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "６０",
            "Sun, 06 Nov 1994 08:49:37 GMT extra",
        ] {
            assert_eq!(parse_retry_after(value, now), None, "value: {value:?}");
        }
    }

    #[test]
    fn huge_numbers_saturate_instead_of_overflowing() {
        let now = rfc_example_now();
        assert_eq!(
            parse_retry_after("18446744073709551615", now),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(
            parse_retry_after(&"9".repeat(400), now),
            Some(Duration::from_secs(u64::MAX))
        );
    }

    #[test]
    fn a_date_produced_by_httpdate_round_trips() {
        let now = rfc_example_now();
        let later = now + Duration::from_secs(90);
        let header = httpdate::fmt_http_date(later);
        assert_eq!(
            parse_retry_after(&header, now),
            Some(Duration::from_secs(90))
        );
    }

    #[test]
    fn a_real_httpdate_parse_error_is_what_garbage_hits() {
        let parse_error = httpdate::parse_http_date("not a date").expect_err("garbage");
        assert_eq!(
            parse_error.to_string(),
            "string contains no or an invalid date"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn never_panics(value in any::<String>(), now_secs in any::<u32>()) {
            let now = UNIX_EPOCH + Duration::from_secs(u64::from(now_secs));
            let _ = parse_retry_after(&value, now);
        }

        #[test]
        fn any_delta_seconds_parses_exactly(seconds in any::<u64>()) {
            let now = rfc_example_now();
            prop_assert_eq!(
                parse_retry_after(&seconds.to_string(), now),
                Some(Duration::from_secs(seconds))
            );
        }
    }
}
