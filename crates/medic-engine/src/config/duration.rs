//! Durations as people write them: `500ms`, `2s`, `5m`, `1h30m`.

use std::fmt;
use std::time::Duration;

/// A duration parsed from text like `250ms`, `2s`, `1m30s`, `1h`.
///
/// Units: `ms`, `s`, `m`, `h`, `d`; parts add up; no unit, negative numbers,
/// fractions and empty text are errors. Serialises back to the same form.
///
/// ```
/// use medic_engine::config::HumanDuration;
/// use std::time::Duration;
/// assert_eq!("1m30s".parse::<HumanDuration>()?.get(), Duration::from_secs(90));
/// assert_eq!("250ms".parse::<HumanDuration>()?.to_string(), "250ms");
/// assert!("5".parse::<HumanDuration>().is_err());
/// # Ok::<(), medic_engine::config::DurationError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct HumanDuration(Duration);

/// Text that is not a duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {text:?}: {reason} (write it like 500ms, 2s, 5m or 1h30m)")]
pub struct DurationError {
    text: String,
    reason: &'static str,
}

impl HumanDuration {
    /// Wraps a duration.
    pub const fn new(duration: Duration) -> Self {
        Self(duration)
    }

    /// The duration.
    pub const fn get(self) -> Duration {
        self.0
    }
}

impl From<Duration> for HumanDuration {
    fn from(d: Duration) -> Self {
        Self(d)
    }
}

impl std::str::FromStr for HumanDuration {
    type Err = DurationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = |reason| DurationError {
            text: text.to_string(),
            reason,
        };
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(fail("it is empty"));
        }
        let mut total = Duration::ZERO;
        let mut rest = trimmed;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(fail("expected a whole number"));
            }
            let (number, after) = rest.split_at(digits);
            let unit_len = after.bytes().take_while(u8::is_ascii_alphabetic).count();
            if unit_len == 0 {
                return Err(fail("a number needs a unit (ms, s, m, h, d)"));
            }
            let (unit, after_unit) = after.split_at(unit_len);
            let value: u64 = number
                .parse()
                .map_err(|_| fail("the number is too large"))?;
            let unit_nanos: u64 = match unit {
                "ms" => 1_000_000,
                "s" => 1_000_000_000,
                "m" => 60_000_000_000,
                "h" => 3_600_000_000_000,
                "d" => 86_400_000_000_000,
                _ => return Err(fail("unknown unit (use ms, s, m, h or d)")),
            };
            let nanos = value
                .checked_mul(unit_nanos)
                .ok_or_else(|| fail("the duration is too large"))?;
            total = total
                .checked_add(Duration::from_nanos(nanos))
                .ok_or_else(|| fail("the duration is too large"))?;
            rest = after_unit;
        }
        Ok(Self(total))
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if ms == 0 {
            return f.write_str("0s");
        }
        let units = [
            (86_400_000, "d"),
            (3_600_000, "h"),
            (60_000, "m"),
            (1_000, "s"),
            (1, "ms"),
        ];
        let mut rest = ms;
        for (size, unit) in units {
            if rest >= size {
                write!(f, "{}{unit}", rest / size)?;
                rest %= size;
            }
        }
        Ok(())
    }
}

impl serde::Serialize for HumanDuration {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for HumanDuration {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_each_unit_and_sums() {
        let cases = [
            ("500ms", Duration::from_millis(500)),
            ("2s", Duration::from_secs(2)),
            ("5m", Duration::from_secs(300)),
            ("1h", Duration::from_secs(3600)),
            ("1d", Duration::from_secs(86_400)),
            ("1h30m", Duration::from_secs(5400)),
            (" 1s500ms ", Duration::from_millis(1500)),
            ("0s", Duration::ZERO),
        ];
        for (text, expected) in cases {
            assert_eq!(
                text.parse::<HumanDuration>().map(HumanDuration::get),
                Ok(expected),
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_what_is_not_a_duration() {
        for text in [
            "",
            "5",
            "ms",
            "1.5s",
            "-1s",
            "1w",
            "1s 2s",
            "99999999999999999999s",
            "1 s",
        ] {
            assert!(
                text.parse::<HumanDuration>().is_err(),
                "{text:?} should be refused"
            );
        }
    }

    proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,20}") {
            let _ = text.parse::<HumanDuration>();
        }

        #[test]
        fn display_round_trips(ms in 0u64..10_000_000_000) {
            let d = HumanDuration::new(Duration::from_millis(ms));
            prop_assert_eq!(d.to_string().parse::<HumanDuration>(), Ok(d));
        }
    }
}
