//! The open-file limit: raised to its hard ceiling at start, and the
//! connection cap derived from it, so connections cannot use up the file
//! descriptors the store, log files and probes need.

/// File descriptors kept back for everything that is not a client connection.
pub(crate) const RESERVE: u64 = 256;

/// The connection cap when the config names none.
pub(crate) const DEFAULT_MAX: u64 = 4096;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the soft limit
/// now in force, if it could be read.
pub(crate) fn raise_file_limit() -> Option<u64> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    if soft < hard {
        match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            Ok(()) => return Some(hard),
            Err(e) => tracing::warn!(soft, hard, error = %e, "cannot raise the open-file limit"),
        }
    }
    Some(soft)
}

/// `configured`, or min(4096, the file limit minus the reserve).
pub(crate) fn max_connections(configured: Option<u32>, file_limit: Option<u64>) -> usize {
    let cap = match configured {
        Some(cap) => u64::from(cap),
        None => file_limit.map_or(DEFAULT_MAX, |limit| {
            DEFAULT_MAX.min(limit.saturating_sub(RESERVE))
        }),
    };
    usize::try_from(cap.max(2)).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_cap_leaves_a_reserve_under_the_file_limit() {
        assert_eq!(max_connections(None, Some(1024)), 768);
        assert_eq!(max_connections(None, Some(1_048_576)), 4096);
        assert_eq!(max_connections(None, None), 4096);
        assert_eq!(max_connections(None, Some(100)), 2);
        assert_eq!(max_connections(Some(50), Some(1024)), 50);
    }
}
