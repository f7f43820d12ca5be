//! TLS for PostgreSQL sessions, with rustls (no system OpenSSL).
//!
//! The URL's `sslmode` decides, as libpq does: `disable` never asks,
//! `prefer` asks and falls back to plain when the server says no, `require`
//! insists but does not check the certificate (unless `sslrootcert` is
//! given: then, as in libpq, it is checked against that CA), `verify-ca`
//! checks that the certificate chains to the CA, `verify-full` also checks
//! that it names the host. Without `sslrootcert`, verifying modes use
//! `~/.postgresql/root.crt` as libpq does, and fail clearly when it is absent.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferry_core::{DbUrl, Error, ErrorKind, Result, TlsMode};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// The driver's TLS mode and a connector that checks what the URL asks.
pub fn connector(url: &DbUrl) -> Result<(SslMode, MakeRustlsConnect)> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut mode = url.tls_mode();
    let root = url.tls_root_cert();
    if mode == TlsMode::Require && root.is_some() {
        mode = TlsMode::VerifyCa;
    }
    let ssl_mode = match mode {
        TlsMode::Disable => SslMode::Disable,
        TlsMode::Prefer => SslMode::Prefer,
        _ => SslMode::Require,
    };
    let verifier: Arc<dyn ServerCertVerifier> = if mode.verifies() {
        let path = root.or_else(default_root).ok_or_else(|| {
            config_error(
                url,
                format!(
                    "sslmode={} needs the CA certificate: add sslrootcert=/path/to/ca.pem",
                    if mode == TlsMode::VerifyCa {
                        "verify-ca"
                    } else {
                        "verify-full"
                    }
                ),
            )
        })?;
        let roots = load_roots(url, &path)?;
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| config_error(url, format!("CA file {}: {e}", path.display())))?;
        Arc::new(Verifier {
            webpki: Some(webpki),
            check_name: mode == TlsMode::VerifyFull,
            provider: provider.clone(),
        })
    } else {
        Arc::new(Verifier {
            webpki: None,
            check_name: false,
            provider: provider.clone(),
        })
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| config_error(url, e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok((ssl_mode, MakeRustlsConnect::new(config)))
}

/// libpq's default CA file, when present.
fn default_root() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")?;
    let p = Path::new(&home).join(".postgresql/root.crt");
    p.exists().then_some(p)
}

fn load_roots(url: &DbUrl, path: &Path) -> Result<RootCertStore> {
    let pem = std::fs::read(path)
        .map_err(|e| config_error(url, format!("cannot read CA file {}: {e}", path.display())))?;
    let mut roots = RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        let cert =
            cert.map_err(|e| config_error(url, format!("CA file {}: {e}", path.display())))?;
        roots
            .add(cert)
            .map_err(|e| config_error(url, format!("CA file {}: {e}", path.display())))?;
    }
    if roots.is_empty() {
        return Err(config_error(
            url,
            format!("CA file {} holds no PEM certificate", path.display()),
        ));
    }
    Ok(roots)
}

fn config_error(url: &DbUrl, reason: String) -> Error {
    Error::Connect {
        url: url.to_string(),
        kind: ErrorKind::Definite,
        source: reason.into(),
    }
}

/// Whether a connection error came from the TLS layer (a certificate the
/// CA does not vouch for, a name mismatch): retrying cannot help.
pub fn is_tls_failure(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
            {
                return true;
            }
        }
        cur = err.source();
    }
    false
}

/// Checks the chain against the CA (when verifying) and the host name (when
/// `check_name`); handshake signatures are always checked.
#[derive(Debug)]
struct Verifier {
    webpki: Option<Arc<WebPkiServerVerifier>>,
    check_name: bool,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let Some(webpki) = &self.webpki else {
            return Ok(ServerCertVerified::assertion());
        };
        match webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
