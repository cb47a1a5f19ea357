//! One short wording for the IO failures every network probe meets, so the
//! same failure reads the same way (and fingerprints the same) whichever
//! probe saw it.

use std::error::Error;
use std::io;

/// `connection refused`, `connection reset`, … or the error's own text.
pub(crate) fn describe_io_error(error: &io::Error) -> String {
    let short = match error.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused",
        io::ErrorKind::ConnectionReset => "connection reset",
        io::ErrorKind::ConnectionAborted => "connection aborted",
        io::ErrorKind::TimedOut => "timed out",
        io::ErrorKind::HostUnreachable => "host unreachable",
        io::ErrorKind::NetworkUnreachable => "network unreachable",
        io::ErrorKind::AddrNotAvailable => "address not available",
        io::ErrorKind::UnexpectedEof => "connection closed early",
        _ => return error.to_string(),
    };
    short.to_string()
}

/// The innermost [`io::Error`] in an error's source chain, if any: libraries
/// such as reqwest wrap the socket error that says what really happened.
pub(crate) fn find_io_error<'a>(error: &'a (dyn Error + 'static)) -> Option<&'a io::Error> {
    let mut found = None;
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(io_error) = error.downcast_ref::<io::Error>() {
            found = Some(io_error);
        }
        current = error.source();
    }
    found
}

/// The last (most specific) message in an error's source chain.
pub(crate) fn root_cause(error: &(dyn Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}
