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
        let found = error.downcast_ref::<rustls::Error>().or_else(|| {
            error
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(tls) = found {
            return Some(format!("TLS: {}", words(tls)));
        }
        current = error.source();
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
