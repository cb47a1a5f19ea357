//! A retry budget: retries are paid for by earlier successes.
//!
//! Without a budget, every client retrying three times turns an outage into
//! four times the load. Each success earns `ratio` of a token, each retry costs
//! one, and the balance is capped, so in steady state retries stay below
//! `ratio` of successful calls while a small reserve still covers blips.

use std::sync::atomic::{AtomicI64, Ordering};

use crate::error::{ConfigError, check_ratio};

/// One token, in the milli-token units the balance is kept in.
const TOKEN: i64 = 1_000;

/// A shared, lock-free retry budget.
///
/// ```
/// use medic_resilience::retry::RetryBudget;
/// let budget = RetryBudget::try_new(0.2, 1)?;   // 20 % of successes, 1 retry in reserve
/// assert!(budget.try_spend());                   // the reserve
/// assert!(!budget.try_spend());                  // empty
/// for _ in 0..5 { budget.deposit(); }             // 5 successes earn one retry
/// assert!(budget.try_spend());
/// # Ok::<(), medic_resilience::ConfigError>(())
/// ```
#[derive(Debug)]
pub struct RetryBudget {
    balance: AtomicI64,
    earned_per_success: i64,
    cap: i64,
}

impl RetryBudget {
    /// `ratio` in `(0, 1]` is the share of successes that may be retried;
    /// `reserve` retries are available from the start and bound the balance.
    pub fn try_new(ratio: f64, reserve: u32) -> Result<Self, ConfigError> {
        check_ratio("retry_ratio", ratio)?;
        if ratio == 0.0 {
            return Err(ConfigError::new("retry_ratio", "must be greater than zero"));
        }
        let cap = i64::from(reserve.max(1)) * TOKEN;
        Ok(Self {
            balance: AtomicI64::new(i64::from(reserve) * TOKEN),
            earned_per_success: ((ratio * TOKEN as f64).round() as i64).max(1),
            cap,
        })
    }

    /// Credits one successful call.
    #[inline]
    pub fn deposit(&self) {
        // Load first: a full budget (the common case) then costs no write.
        if self.balance.load(Ordering::Relaxed) < self.cap {
            let before = self
                .balance
                .fetch_add(self.earned_per_success, Ordering::Relaxed);
            if before + self.earned_per_success > self.cap {
                // Clamp the overshoot of racing deposits back to the cap.
                self.balance.fetch_min(self.cap, Ordering::Relaxed);
            }
        }
    }

    /// Takes one retry from the budget; `false` means do not retry.
    pub fn try_spend(&self) -> bool {
        self.balance
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |b| {
                (b >= TOKEN).then_some(b - TOKEN)
            })
            .is_ok()
    }

    /// Whole retries currently available.
    pub fn available(&self) -> u64 {
        (self.balance.load(Ordering::Relaxed).max(0) / TOKEN) as u64
    }
}

impl Default for RetryBudget {
    /// Retries at most 20 % of successes, with 10 in reserve.
    fn default() -> Self {
        Self {
            balance: AtomicI64::new(10 * TOKEN),
            earned_per_success: TOKEN / 5,
            cap: 10 * TOKEN,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_ratios_outside_the_unit_interval() {
        for bad in [0.0, -0.1, 1.5, f64::NAN] {
            assert_eq!(
                RetryBudget::try_new(bad, 5).expect_err("bad").field,
                "retry_ratio"
            );
        }
    }

    #[test]
    fn steady_state_retries_stay_below_the_ratio() {
        let budget = RetryBudget::try_new(0.2, 10).expect("valid");
        let reserve = std::iter::from_fn(|| budget.try_spend().then_some(())).count();
        assert_eq!(reserve, 10);
        let mut retries = 0;
        for _ in 0..10_000 {
            budget.deposit();
            while budget.try_spend() {
                retries += 1;
            }
        }
        // 20 % of 10 000 successes.
        assert_eq!(retries, 2_000);
    }

    #[test]
    fn balance_never_exceeds_the_cap_under_concurrency() {
        let budget = std::sync::Arc::new(RetryBudget::try_new(0.5, 3).expect("valid"));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let b = budget.clone();
                std::thread::spawn(move || (0..10_000).for_each(|_| b.deposit()))
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        assert_eq!(budget.available(), 3);
    }
}
