//! Per-key rate limiting: a token bucket per caller (`rate` per second,
//! `burst` at once). A refused request learns when a token will be there.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Buckets by caller.
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    /// `rate` requests per second on average, `burst` at once; rate 0 = no limit.
    pub fn new(rate: u32, burst: u32) -> Self {
        Self {
            rate: f64::from(rate),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `caller`'s bucket is empty at `now` (seconds to wait), without
    /// taking a token.
    pub fn exhausted(&self, caller: &str, now: Instant) -> Option<u64> {
        if self.rate <= 0.0 {
            return None;
        }
        let buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = buckets.get(caller)?;
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        let tokens = (bucket.tokens + elapsed * self.rate).min(self.burst);
        (tokens < 1.0).then(|| ((1.0 - tokens) / self.rate).ceil().max(1.0) as u64)
    }

    /// Takes a token for `caller` at `now`; `Err(seconds)` to wait when empty.
    pub fn take(&self, caller: &str, now: Instant) -> Result<(), u64> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > 10_000 {
            // Callers are keys or addresses; forget idle full buckets.
            let (rate, burst) = (self.rate, self.burst);
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate < burst
            });
        }
        let bucket = buckets.entry(caller.to_string()).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - bucket.tokens) / self.rate).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn burst_then_rate() {
        let limiter = RateLimiter::new(2, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.take("ops", t0), Ok(()));
        }
        assert_eq!(limiter.take("ops", t0), Err(1));
        // Others have their own bucket.
        assert_eq!(limiter.take("ci", t0), Ok(()));
        // Half a second buys one request at 2/s.
        assert_eq!(limiter.take("ops", t0 + Duration::from_millis(500)), Ok(()));
        assert!(
            limiter
                .take("ops", t0 + Duration::from_millis(500))
                .is_err()
        );
    }

    #[test]
    fn zero_rate_means_no_limit() {
        let limiter = RateLimiter::new(0, 1);
        let t0 = Instant::now();
        for _ in 0..1000 {
            assert_eq!(limiter.take("ops", t0), Ok(()));
        }
    }
}
