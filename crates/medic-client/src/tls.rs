//! From [`ClientTls`] to a rustls `ClientConfig`: roots, client
//! certificate, and the two verifier variations (`server_name`, `insecure`).

use std::sync::{Arc, OnceLock};

use medic_engine::config::ClientTls;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// Why TLS settings cannot be turned into a client.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file is missing, unreadable, or holds nothing usable.
    #[error("{key} {path:?}: {reason}")]
    File {
        /// The setting that names the file (`ca_file`, `client_cert`, `client_key`).
        key: &'static str,
        /// The path as configured.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `server_name` is not a DNS name or IP address.
    #[error("server_name {0:?} is not a DNS name or IP address")]
    ServerName(String),
    /// `client_cert` and `client_key` must come together.
    #[error("set both client_cert and client_key, or neither")]
    HalfClientCertificate,
    /// rustls refused the combination (e.g. a key that does not match the certificate).
    #[error("{0}")]
    Rustls(#[from] rustls::Error),
    /// The verifier could not be built (e.g. no usable root at all).
    #[error("cannot build the certificate verifier: {0}")]
    Verifier(String),
}

/// The ring provider: one crypto library for every TLS connection medic makes.
fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// The system's roots, read once per process (reading them takes tens of
/// milliseconds). Unreadable entries are skipped: one broken file in
/// `/etc/ssl/certs` must not take every https check down.
fn native_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        if found.certs.is_empty() {
            tracing::warn!(
                errors = ?found.errors,
                "no system CA certificates found; https works only with a configured ca_file"
            );
        }
        found.certs
    })
}

fn read_certificates(
    key: &'static str,
    path: &str,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let file_error = |reason: String| TlsError::File {
        key,
        path: path.to_string(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| file_error(e.to_string()))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(format!("not PEM: {e}")))?;
    if certs.is_empty() {
        return Err(file_error("holds no PEM certificate".into()));
    }
    Ok(certs)
}

fn read_key(path: &str) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = std::fs::read(path).map_err(|e| TlsError::File {
        key: "client_key",
        path: path.to_string(),
        reason: e.to_string(),
    })?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| TlsError::File {
        key: "client_key",
        path: path.to_string(),
        reason: format!("no PEM private key (PKCS#8, RSA or SEC1): {e}"),
    })
}

/// The rustls configuration for `tls` (already merged with `[tls]`).
pub fn rustls_config(tls: &ClientTls) -> Result<ClientConfig, TlsError> {
    let provider = provider();
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(native_roots().iter().cloned());
    if let Some(path) = &tls.ca_file {
        let certs = read_certificates("ca_file", path)?;
        let (added, ignored) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(TlsError::File {
                key: "ca_file",
                path: path.clone(),
                reason: format!("none of its {ignored} certificates is a usable CA"),
            });
        }
    }
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| TlsError::Verifier(e.to_string()))?;
    let algorithms = provider.signature_verification_algorithms;
    let verifier: Arc<dyn ServerCertVerifier> = if tls.insecure {
        Arc::new(AcceptAnyCertificate { algorithms })
    } else if let Some(name) = &tls.server_name {
        let name =
            ServerName::try_from(name.clone()).map_err(|_| TlsError::ServerName(name.clone()))?;
        Arc::new(FixedServerName {
            inner: webpki,
            name,
        })
    } else {
        webpki
    };
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match (&tls.client_cert, &tls.client_key) {
        (Some(cert), Some(key)) => builder
            .with_client_auth_cert(read_certificates("client_cert", cert)?, read_key(key)?)?,
        (None, None) => builder.with_no_client_auth(),
        _ => return Err(TlsError::HalfClientCertificate),
    };
    // reqwest here speaks HTTP/1.1 only.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// A `reqwest` builder speaking TLS as `tls` says, with the peer's
/// certificate on every response (for `cert_expires_within`). Add timeouts,
/// user agent and the rest, then `build()`.
pub fn builder(tls: &ClientTls) -> Result<reqwest::ClientBuilder, TlsError> {
    if tls.insecure {
        tracing::warn!(
            server_name = tls.server_name.as_deref(),
            "tls.insecure = true: server certificates are NOT verified for this endpoint"
        );
    }
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(rustls_config(tls)?)
        .tls_info(true))
}

/// Verifies the chain as usual, but for a configured name instead of the
/// URL's host (a URL by IP address, or a name the certificate does not carry).
#[derive(Debug)]
struct FixedServerName {
    inner: Arc<WebPkiServerVerifier>,
    name: ServerName<'static>,
}

impl ServerCertVerifier for FixedServerName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, &self.name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// `insecure = true`: any certificate is accepted. The handshake's
/// signatures are still checked, so the connection is encrypted to whoever
/// holds the certificate's key — it is only not known who that is.
#[derive(Debug)]
struct AcceptAnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
