//! HTTPS: the certificate and key coffre serves (PEM files, RSA or ECDSA),
//! the rustls configuration (TLS 1.2 and 1.3 only, ring as the crypto
//! provider, ALPN `h2` then `http/1.1`), and reloading the pair on SIGHUP.
//!
//! The server config is built once with `Certificates` as its certificate
//! resolver; a reload swaps the `CertifiedKey` the resolver hands out, so new
//! handshakes get the new certificate while open connections carry on with
//! the one they negotiated. A pair that does not load (unreadable, not PEM,
//! a key that does not match the certificate) is refused and the old pair kept.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;

/// What a loaded certificate is, for the log and for tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateSummary {
    /// Upper-case hex, as `openssl x509 -serial` prints it.
    pub serial: String,
    pub subject: String,
    /// RFC 3339.
    pub not_after: String,
    /// Unix seconds.
    pub not_after_unix: i64,
}

impl fmt::Display for CertificateSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "serial {}, subject {}, valid until {}",
            self.serial, self.subject, self.not_after
        )
    }
}

struct Loaded {
    key: Arc<CertifiedKey>,
    summary: CertificateSummary,
}

/// The certificate and key in use, reloadable from their files.
pub struct Certificates {
    cert_file: PathBuf,
    key_file: PathBuf,
    provider: Arc<CryptoProvider>,
    current: RwLock<Loaded>,
}

impl fmt::Debug for Certificates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificates")
            .field("cert_file", &self.cert_file)
            .field("key_file", &self.key_file)
            .field("current", &self.summary())
            .finish_non_exhaustive()
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.read().key.clone())
    }
}

impl Certificates {
    /// Loads the pair, or says what is wrong with it.
    pub fn load(cert_file: &Path, key_file: &Path) -> Result<Arc<Certificates>, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let loaded = load_pair(cert_file, key_file, &provider)?;
        warn_if_key_readable_by_others(key_file);
        Ok(Arc::new(Certificates {
            cert_file: cert_file.to_path_buf(),
            key_file: key_file.to_path_buf(),
            provider,
            current: RwLock::new(loaded),
        }))
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Loaded> {
        self.current.read().unwrap_or_else(|p| p.into_inner())
    }

    pub fn summary(&self) -> CertificateSummary {
        self.read().summary.clone()
    }

    /// Reads both files again; on success new handshakes use the new pair,
    /// on failure nothing changes.
    pub fn reload(&self) -> Result<CertificateSummary, String> {
        let loaded = load_pair(&self.cert_file, &self.key_file, &self.provider)?;
        let summary = loaded.summary.clone();
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = loaded;
        Ok(summary)
    }

    /// The acceptor for every TLS connection: TLS 1.2 and 1.3 only, HTTP/2
    /// and HTTP/1.1 offered by ALPN, certificates from `self`.
    pub fn acceptor(self: &Arc<Self>) -> Result<TlsAcceptor, String> {
        let mut config = rustls::ServerConfig::builder_with_provider(self.provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| format!("TLS configuration: {e}"))?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

fn load_pair(
    cert_file: &Path,
    key_file: &Path,
    provider: &CryptoProvider,
) -> Result<Loaded, String> {
    let chain = CertificateDer::pem_file_iter(cert_file)
        .map_err(|e| format!("cannot read tls_cert_file {}: {e}", cert_file.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            format!(
                "tls_cert_file {} is not a PEM certificate chain: {e}",
                cert_file.display()
            )
        })?;
    let Some(leaf) = chain.first() else {
        return Err(format!(
            "tls_cert_file {} holds no certificate (expected -----BEGIN CERTIFICATE-----)",
            cert_file.display()
        ));
    };
    let summary = summarize(leaf).map_err(|e| {
        format!(
            "tls_cert_file {}: the first certificate does not parse: {e}",
            cert_file.display()
        )
    })?;
    let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| {
        format!(
            "tls_key_file {} holds no usable PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC): {e}",
            key_file.display()
        )
    })?;
    let key = CertifiedKey::from_der(chain, key, provider).map_err(|e| {
        format!(
            "tls_key_file {} does not go with tls_cert_file {}: {e}",
            key_file.display(),
            cert_file.display()
        )
    })?;
    Ok(Loaded {
        key: Arc::new(key),
        summary,
    })
}

fn summarize(der: &CertificateDer<'_>) -> Result<CertificateSummary, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).map_err(|e| e.to_string())?;
    let not_after = cert.validity().not_after.timestamp();
    Ok(CertificateSummary {
        serial: cert.serial.to_str_radix(16).to_uppercase(),
        subject: cert.subject().to_string(),
        not_after: crate::time::rfc3339(not_after.saturating_mul(1000)),
        not_after_unix: not_after,
    })
}

/// The key file must not be open to every user of the machine (a group,
/// such as the one coffre runs as, is a common and fine way to share it).
fn warn_if_key_readable_by_others(key_file: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(key_file)
        && meta.permissions().mode() & 0o007 != 0
    {
        log::warn!(
            "tls_key_file {} can be read by any user of this machine (mode {:o}); chmod o-rwx it",
            key_file.display(),
            meta.permissions().mode() & 0o777
        );
    }
}
