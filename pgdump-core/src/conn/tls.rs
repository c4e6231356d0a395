//! TLS with rustls (ring provider) following libpq's `sslmode` semantics.
//!
//! | sslmode       | encryption        | certificate check                                   |
//! |---------------|-------------------|-----------------------------------------------------|
//! | disable       | never             | -                                                   |
//! | allow/prefer  | if possible       | chain, only if the root certificate file exists     |
//! | require       | always            | chain, only if the root certificate file exists     |
//! | verify-ca     | always            | chain against `sslrootcert` (must exist)            |
//! | verify-full   | always            | chain and host name                                 |
//!
//! `sslrootcert=system` uses the operating system's trust store. Unix-socket
//! connections never use TLS (as libpq). A client certificate
//! (`sslcert`/`sslkey`) is sent when its file exists.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::{CoreError, Result};

use super::config::{RootCert, SslMode, TlsSettings};

/// How the server certificate is checked.
enum Check {
    /// Encrypt only.
    Nothing,
    /// Chain of trust, any host name.
    Chain(Arc<RootCertStore>),
    /// Chain of trust and host name.
    Full(Arc<RootCertStore>),
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn load_root_file(path: &Path) -> Result<RootCertStore> {
    let bad = |e: String| {
        CoreError::Config(format!(
            "could not read root certificate file \"{}\": {e}",
            path.display()
        ))
    };
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(e.to_string()))? {
        let cert = cert.map_err(|e| bad(e.to_string()))?;
        roots.add(cert).map_err(|e| bad(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(bad("no certificates found".into()));
    }
    Ok(roots)
}

fn load_system_roots() -> Result<RootCertStore> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        let errs: Vec<String> = found.errors.iter().map(ToString::to_string).collect();
        return Err(CoreError::Config(format!(
            "could not load the system's trusted root certificates (sslrootcert=system){}",
            if errs.is_empty() {
                String::new()
            } else {
                format!(": {}", errs.join("; "))
            }
        )));
    }
    Ok(roots)
}

fn check_for(tls: &TlsSettings) -> Result<Check> {
    let verify = matches!(tls.mode, SslMode::VerifyCa | SslMode::VerifyFull);
    let roots = match &tls.root_cert {
        Some(RootCert::System) => Some(load_system_roots()?),
        Some(RootCert::File(p)) if p.is_file() => Some(load_root_file(p)?),
        Some(RootCert::File(p)) if verify => {
            return Err(CoreError::Config(format!(
                "root certificate file \"{}\" does not exist; either provide the file, use the \
                 system's trusted roots with sslrootcert=system, or change sslmode to disable \
                 server certificate verification",
                p.display()
            )))
        }
        None if verify => {
            return Err(CoreError::Config(
                "could not get the home directory to locate the root certificate file; either \
                 provide the file with sslrootcert, use the system's trusted roots with \
                 sslrootcert=system, or change sslmode to disable server certificate verification"
                    .into(),
            ))
        }
        _ => None,
    };
    Ok(match (roots, tls.mode) {
        (Some(r), SslMode::VerifyFull) => Check::Full(Arc::new(r)),
        // libpq: with a root certificate file, require (and prefer/allow) check the chain.
        (Some(r), _) => Check::Chain(Arc::new(r)),
        (None, _) => Check::Nothing,
    })
}

/// Loads the client certificate and key if the certificate file exists.
fn client_identity(
    tls: &TlsSettings,
) -> Result<Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>> {
    let Some(cert_path) = tls.client_cert.as_deref().filter(|p| p.is_file()) else {
        return Ok(None);
    };
    let certs = CertificateDer::pem_file_iter(cert_path)
        .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| {
            CoreError::Config(format!(
                "could not read certificate file \"{}\": {e}",
                cert_path.display()
            ))
        })?;
    if certs.is_empty() {
        return Err(CoreError::Config(format!(
            "no certificate in certificate file \"{}\"",
            cert_path.display()
        )));
    }
    let key_path = tls
        .client_key
        .as_deref()
        .filter(|p| p.is_file())
        .ok_or_else(|| {
            CoreError::Config(format!(
                "certificate present, but not private key file \"{}\"",
                tls.client_key
                    .as_deref()
                    .map_or_else(|| "(none)".into(), |p| p.display().to_string())
            ))
        })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(key_path).map_err(|e| {
            CoreError::Config(format!(
                "could not read private key file \"{}\": {e}",
                key_path.display()
            ))
        })?;
        // libpq: 0600 or less if owned by the user, 0640 or less if owned by root.
        let bad = if m.uid() == 0 {
            m.mode() & 0o037 != 0
        } else {
            m.mode() & 0o077 != 0
        };
        if bad {
            return Err(CoreError::Config(format!(
                "private key file \"{}\" has group or world access; file must have permissions \
                 u=rw (0600) or less if owned by the current user, or permissions u=rw,g=r (0640) \
                 or less if owned by root",
                key_path.display()
            )));
        }
    }
    let key = PrivateKeyDer::from_pem_file(key_path).map_err(|e| {
        CoreError::Config(format!(
            "could not load private key file \"{}\": {e}",
            key_path.display()
        ))
    })?;
    Ok(Some((certs, key)))
}

/// Builds the rustls client configuration for `tls` (which must not be `disable`).
pub(crate) fn client_config(tls: &TlsSettings) -> Result<Arc<ClientConfig>> {
    let provider = provider();
    let algs = provider.signature_verification_algorithms;
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| CoreError::Config(format!("TLS setup: {e}")))?;
    let builder = match check_for(tls)? {
        Check::Full(roots) => builder.with_root_certificates(roots),
        Check::Chain(roots) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(ChainOnly { roots, algs })),
        Check::Nothing => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoCheck { algs })),
    };
    let mut config = match client_identity(tls)? {
        Some((certs, key)) => builder.with_client_auth_cert(certs, key).map_err(|e| {
            CoreError::Config(format!("client certificate and key do not fit: {e}"))
        })?,
        None => builder.with_no_client_auth(),
    };
    // PostgreSQL 17+ checks the ALPN protocol (mandatory with direct TLS);
    // older servers ignore it.
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok(Arc::new(config))
}

/// Accepts any certificate, but still checks the handshake signatures (so the
/// peer proves it holds the key of the certificate it sent).
#[derive(Debug)]
struct NoCheck {
    algs: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for NoCheck {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// Verifies the chain of trust but not the host name (`verify-ca`).
#[derive(Debug)]
pub(crate) struct ChainOnly {
    pub(crate) roots: Arc<RootCertStore>,
    pub(crate) algs: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let cert = ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_cert_signed_by_trust_anchor(
            &cert,
            &self.roots,
            intermediates,
            now,
            self.algs.all,
        )?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// Whether a tokio-postgres error is a failed TLS handshake (a rustls error in
/// its source chain).
pub(crate) fn is_tls_failure(e: &tokio_postgres::Error) -> bool {
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = src {
        if s.is::<rustls::Error>() {
            return true;
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if io.get_ref().is_some_and(|i| i.is::<rustls::Error>()) {
                return true;
            }
        }
        src = s.source();
    }
    false
}
