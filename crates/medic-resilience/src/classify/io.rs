//! What each `std::io::ErrorKind` means for recovery.
//!
//! The rule of thumb: a kind is retryable when the *same* call can succeed a
//! moment later without anyone changing anything (the peer restarts, the
//! network heals, the lock is released). Kinds that need a different
//! request, a different file, more disk or a human are `Stop`. Where a kind is
//! ambiguous (`AddrNotAvailable` is port exhaustion on connect but a typo on
//! bind) we pick `Stop`, because a wrong retry repeats side effects while a
//! wrong stop only surfaces an error.

use std::io::ErrorKind;

use super::assessment::Assessment;
use super::category::{Category, Severity};
use super::classifier::builtin_assessment;
use super::verdict::{Classify, Verdict};

/// The built-in verdict for an io error kind, or `None` for kinds that say
/// nothing (`Other` and kinds newer than this table), where the message
/// decides instead.
pub(crate) fn assess_io_kind(kind: ErrorKind) -> Option<Assessment> {
    use Category::{Configuration, Network, Permission, Resource, Timeout, Unknown, Validation};
    let retry = |category| Assessment::with_retryable(category, true);
    let stop = |category| Assessment::with_retryable(category, false);
    let assessment = match kind {
        // The peer or the path to it is (for now) gone.
        ErrorKind::ConnectionRefused
        | ErrorKind::ConnectionReset
        | ErrorKind::ConnectionAborted
        | ErrorKind::NotConnected
        | ErrorKind::BrokenPipe
        | ErrorKind::HostUnreachable
        | ErrorKind::NetworkUnreachable
        | ErrorKind::NetworkDown
        // The peer hung up mid-message: the next connection may do better.
        | ErrorKind::UnexpectedEof => retry(Network),
        ErrorKind::TimedOut => retry(Timeout),
        // EAGAIN / EBUSY / ETXTBSY / EDEADLK: someone else holds it right now.
        ErrorKind::WouldBlock
        | ErrorKind::ResourceBusy
        | ErrorKind::ExecutableFileBusy
        | ErrorKind::Deadlock => retry(Resource),
        // EINTR says nothing about what failed, only that a signal arrived.
        ErrorKind::Interrupted => retry(Unknown),
        // Retrying a stale NFS handle hits the same stale handle.
        ErrorKind::StaleNetworkFileHandle => stop(Network),
        // Running out of memory or disk needs someone to free some.
        ErrorKind::OutOfMemory | ErrorKind::StorageFull => {
            stop(Resource).severity(Severity::Critical)
        }
        ErrorKind::QuotaExceeded | ErrorKind::FileTooLarge | ErrorKind::TooManyLinks => {
            stop(Resource)
        }
        ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem => stop(Permission),
        // The address is taken or not ours: a deployment problem, not a blip.
        ErrorKind::AddrInUse | ErrorKind::AddrNotAvailable | ErrorKind::Unsupported => {
            stop(Configuration)
        }
        // The caller asked for something that does not exist or cannot be.
        ErrorKind::NotFound
        | ErrorKind::AlreadyExists
        | ErrorKind::InvalidInput
        | ErrorKind::InvalidData
        | ErrorKind::InvalidFilename
        | ErrorKind::NotADirectory
        | ErrorKind::IsADirectory
        | ErrorKind::DirectoryNotEmpty
        | ErrorKind::NotSeekable
        | ErrorKind::CrossesDevices
        | ErrorKind::ArgumentListTooLong => stop(Validation).severity(Severity::Medium),
        // A writer that accepts zero bytes will keep doing so.
        ErrorKind::WriteZero => stop(Unknown),
        _ => return None,
    };
    Some(assessment)
}

/// `Retry` for transient kinds (refused, reset, timed out, would block, ...),
/// `Stop` for the rest. For `ErrorKind::Other` the message decides, using the
/// same catalog as [`ErrorClassifier`](crate::classify::ErrorClassifier).
///
/// ```
/// use medic_resilience::classify::{Classify, Verdict};
/// use std::io::{Error, ErrorKind};
/// assert_eq!(Error::from(ErrorKind::TimedOut).verdict(), Verdict::Retry);
/// assert_eq!(Error::from(ErrorKind::NotFound).verdict(), Verdict::Stop);
/// assert_eq!(Error::other("connection reset by peer").verdict(), Verdict::Retry);
/// ```
impl Classify for std::io::Error {
    fn verdict(&self) -> Verdict {
        let assessment = assess_io_kind(self.kind()).unwrap_or_else(|| builtin_assessment(self));
        match (assessment.retryable, assessment.retry_after) {
            (false, _) => Verdict::Stop,
            (true, Some(wait)) => Verdict::RetryAfter(wait),
            (true, None) => Verdict::Retry,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Error;

    #[test]
    fn every_mapped_kind_has_the_intended_verdict_and_category() {
        use Category::*;
        let table: &[(ErrorKind, Category, bool)] = &[
            (ErrorKind::ConnectionRefused, Network, true),
            (ErrorKind::ConnectionReset, Network, true),
            (ErrorKind::ConnectionAborted, Network, true),
            (ErrorKind::NotConnected, Network, true),
            (ErrorKind::BrokenPipe, Network, true),
            (ErrorKind::HostUnreachable, Network, true),
            (ErrorKind::NetworkUnreachable, Network, true),
            (ErrorKind::NetworkDown, Network, true),
            (ErrorKind::UnexpectedEof, Network, true),
            (ErrorKind::TimedOut, Timeout, true),
            (ErrorKind::WouldBlock, Resource, true),
            (ErrorKind::ResourceBusy, Resource, true),
            (ErrorKind::ExecutableFileBusy, Resource, true),
            (ErrorKind::Deadlock, Resource, true),
            (ErrorKind::Interrupted, Unknown, true),
            (ErrorKind::StaleNetworkFileHandle, Network, false),
            (ErrorKind::OutOfMemory, Resource, false),
            (ErrorKind::StorageFull, Resource, false),
            (ErrorKind::QuotaExceeded, Resource, false),
            (ErrorKind::FileTooLarge, Resource, false),
            (ErrorKind::TooManyLinks, Resource, false),
            (ErrorKind::PermissionDenied, Permission, false),
            (ErrorKind::ReadOnlyFilesystem, Permission, false),
            (ErrorKind::AddrInUse, Configuration, false),
            (ErrorKind::AddrNotAvailable, Configuration, false),
            (ErrorKind::Unsupported, Configuration, false),
            (ErrorKind::NotFound, Validation, false),
            (ErrorKind::AlreadyExists, Validation, false),
            (ErrorKind::InvalidInput, Validation, false),
            (ErrorKind::InvalidData, Validation, false),
            (ErrorKind::InvalidFilename, Validation, false),
            (ErrorKind::NotADirectory, Validation, false),
            (ErrorKind::IsADirectory, Validation, false),
            (ErrorKind::DirectoryNotEmpty, Validation, false),
            (ErrorKind::NotSeekable, Validation, false),
            (ErrorKind::CrossesDevices, Validation, false),
            (ErrorKind::ArgumentListTooLong, Validation, false),
            (ErrorKind::WriteZero, Unknown, false),
        ];
        for &(kind, category, retryable) in table {
            let assessment = assess_io_kind(kind).expect("mapped kind");
            assert_eq!(assessment.category, category, "{kind:?}");
            assert_eq!(assessment.retryable, retryable, "{kind:?}");
            let expected = if retryable {
                Verdict::Retry
            } else {
                Verdict::Stop
            };
            assert_eq!(Error::from(kind).verdict(), expected, "{kind:?}");
        }
    }

    #[test]
    fn running_out_of_memory_or_disk_is_critical() {
        for kind in [ErrorKind::OutOfMemory, ErrorKind::StorageFull] {
            let assessment = assess_io_kind(kind).expect("mapped kind");
            assert_eq!(assessment.severity, Severity::Critical, "{kind:?}");
        }
    }

    #[test]
    fn other_kind_falls_back_to_the_message() {
        assert_eq!(assess_io_kind(ErrorKind::Other), None);
        let cases = [
            ("connection reset by peer", Verdict::Retry),
            ("deadlock detected", Verdict::Retry),
            ("invalid api key", Verdict::Stop),
            ("something odd happened", Verdict::Stop),
        ];
        for (message, expected) in cases {
            assert_eq!(Error::other(message).verdict(), expected, "{message}");
        }
    }

    #[test]
    fn a_real_refused_connection_is_retried() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let address = listener.local_addr().expect("local addr");
        drop(listener);
        let error = std::net::TcpStream::connect(address).expect_err("nothing listens");
        assert_eq!(error.kind(), ErrorKind::ConnectionRefused);
        assert_eq!(error.verdict(), Verdict::Retry);
    }
}
