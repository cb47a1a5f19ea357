//! TLS failures in words an operator acts on, stable enough for fingerprints.

use std::error::Error;

use rustls::{AlertDescription, CertificateError};

/// The TLS cause of `error`, if there is one, as a short sentence:
/// `TLS: certificate expired`, `TLS: certificate not valid for this name`,
/// `TLS: certificate signed by an unknown authority`, `TLS: the server
/// requires a client certificate`… `None` when TLS is not why it failed.
pub fn describe_tls_error(error: &(dyn Error + 'static)) -> Option<String> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(tls) = error.downcast_ref::<rustls::Error>() {
            return Some(format!("TLS: {}", words(tls)));
        }
        // An io::Error's `source()` skips the error it wraps (hyper and
        // tokio-rustls wrap rustls's in one, sometimes two): look inside.
        current = match error.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn Error + 'static))
                .or_else(|| error.source()),
            None => error.source(),
        };
    }
    None
}

fn words(error: &rustls::Error) -> String {
    match error {
        rustls::Error::InvalidCertificate(certificate) => match certificate {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "certificate expired".into()
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "certificate not valid yet".into()
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                "certificate not valid for this name".into()
            }
            CertificateError::UnknownIssuer => "certificate signed by an unknown authority".into(),
            CertificateError::Revoked => "certificate revoked".into(),
            other => format!("invalid certificate ({other:?})"),
        },
        rustls::Error::AlertReceived(
            AlertDescription::CertificateRequired | AlertDescription::HandshakeFailure,
        ) => "the server requires a client certificate (or refused the one sent)".into(),
        rustls::Error::AlertReceived(AlertDescription::BadCertificate)
        | rustls::Error::AlertReceived(AlertDescription::UnknownCA) => {
            "the server refused the client certificate".into()
        }
        other => other.to_string(),
    }
}
