//! The scheduler's arithmetic, kept pure so it can be tested without time:
//! where a probe's first run falls, and where its next one does.

use std::time::Duration;

use tokio::time::Instant;

/// Where in its interval a probe first runs: a stable hash of the target and
/// the probe's index, mapped into `[0, interval)`. Probes of many targets at
/// the same interval thus spread over the interval instead of firing
/// together, and a probe keeps its slot across restarts.
pub fn spread_offset(target: &str, probe_index: usize, interval: Duration) -> Duration {
    let interval_nanos = interval.as_nanos();
    if interval_nanos == 0 {
        return Duration::ZERO;
    }
    let hash = u128::from(stable_hash(target, probe_index));
    let offset = hash % interval_nanos;
    Duration::from_nanos(u64::try_from(offset).unwrap_or(u64::MAX))
}

/// FNV-1a over the target and index, then a SplitMix64 finaliser so that
/// similar names (`svc-1`, `svc-2`) land far apart. Written out rather than
/// `DefaultHasher` because that one's output may change between Rust releases.
fn stable_hash(target: &str, probe_index: usize) -> u64 {
    const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
    let index = u64::try_from(probe_index).unwrap_or(u64::MAX);
    let bytes = target.bytes().chain([0xff]).chain(index.to_le_bytes());
    let mut hash = FNV_OFFSET;
    for byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    hash = (hash ^ (hash >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    hash = (hash ^ (hash >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    hash ^ (hash >> 31)
}

/// The schedule after a run that was due at `due` started at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Step {
    /// When the next run is due.
    pub(crate) next_due: Instant,
    /// Runs skipped because the scheduler fell more than an interval behind.
    pub(crate) missed: u64,
}

/// The next due instant counts from the previous *due* instant, not from
/// `now`, so lateness never accumulates into drift. A schedule that fell a
/// whole interval or more behind skips the runs it missed (counting them)
/// instead of firing them back to back.
pub(crate) fn step(due: Instant, interval: Duration, now: Instant) -> Step {
    let next_due = due + interval;
    if next_due > now {
        return Step {
            next_due,
            missed: 0,
        };
    }
    let behind = now.saturating_duration_since(due);
    let missed = behind.as_nanos() / interval.as_nanos().max(1);
    Step {
        next_due: due + times(interval, missed + 1),
        missed: u64::try_from(missed).unwrap_or(u64::MAX),
    }
}

/// The first instant of the grid `anchor + k·interval` (k ≥ 0) at or after
/// `now`: where a probe goes back to after a pause or after fast mode, so it
/// keeps its place in the spread.
pub(crate) fn grid_point_at_or_after(anchor: Instant, interval: Duration, now: Instant) -> Instant {
    if anchor >= now {
        return anchor;
    }
    let elapsed = now.saturating_duration_since(anchor).as_nanos();
    let interval_nanos = interval.as_nanos().max(1);
    let intervals = elapsed.div_ceil(interval_nanos);
    anchor + times(interval, intervals)
}

fn times(interval: Duration, count: u128) -> Duration {
    let nanos = interval.as_nanos().saturating_mul(count);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn offsets_stay_inside_the_interval_and_are_stable() {
        for index in 0..1000 {
            let offset = spread_offset("payments", index, SECOND);
            assert!(offset < SECOND);
            assert_eq!(offset, spread_offset("payments", index, SECOND));
        }
        assert_eq!(spread_offset("x", 0, Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn ten_thousand_probes_spread_over_the_interval() {
        // 100 slots of 10 ms: an even spread puts 100 probes in each.
        let mut slots = [0u32; 100];
        for target in 0..10_000 {
            let offset = spread_offset(&format!("svc-{target}"), 0, SECOND);
            slots[(offset.as_millis() / 10) as usize] += 1;
        }
        let busiest = slots.iter().copied().max().unwrap_or(0);
        let quietest = slots.iter().copied().min().unwrap_or(0);
        assert!(busiest <= 150, "busiest 10 ms slot has {busiest} probes");
        assert!(quietest >= 50, "quietest 10 ms slot has {quietest} probes");
    }

    #[test]
    fn next_due_counts_from_the_previous_due_instant() {
        let due = Instant::now();
        let late = due + Duration::from_millis(300);
        assert_eq!(
            step(due, SECOND, late),
            Step {
                next_due: due + SECOND,
                missed: 0
            }
        );
    }

    #[test]
    fn falling_behind_skips_and_counts_the_missed_runs() {
        let due = Instant::now();
        let now = due + Duration::from_millis(3_500);
        assert_eq!(
            step(due, SECOND, now),
            Step {
                next_due: due + 4 * SECOND,
                missed: 3
            }
        );
    }

    #[test]
    fn grid_points_keep_the_phase() {
        let anchor = Instant::now();
        let now = anchor + Duration::from_millis(2_300);
        assert_eq!(
            grid_point_at_or_after(anchor, SECOND, now),
            anchor + 3 * SECOND
        );
        assert_eq!(grid_point_at_or_after(anchor, SECOND, anchor), anchor);
        let early = anchor - Duration::from_millis(10);
        assert_eq!(grid_point_at_or_after(anchor, SECOND, early), anchor);
    }
}
