//! TLS to the PostgreSQL server, with rustls (the *ring* provider): the
//! `sslmode` of `database_url` as libpq reads it — `disable`, `prefer` (the
//! default: TLS if the server offers it), `require` (encrypted, nothing
//! verified), `verify-ca` (the chain up to the CA file), `verify-full` (the
//! chain and the host name) — and the connector the driver takes. The
//! driver itself only knows disable/prefer/require: the verification is ours.

use std::fmt;
use std::future::Future;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::Digest;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub fn parse(text: &str) -> Result<SslMode, String> {
        Ok(match text {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => {
                return Err(format!(
                    "database_url has sslmode={text}: give disable, prefer, require, verify-ca \
                     or verify-full"
                ));
            }
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// What the driver is told: it negotiates, we verify.
    pub fn for_driver(self) -> postgres::config::SslMode {
        match self {
            SslMode::Disable => postgres::config::SslMode::Disable,
            SslMode::Prefer => postgres::config::SslMode::Prefer,
            _ => postgres::config::SslMode::Require,
        }
    }
}

/// Where the trusted CAs come from (`verify-ca`, `verify-full`).
pub enum Roots<'a> {
    /// A PEM file of one or more CA certificates.
    File(&'a Path),
    /// `sslrootcert=system`: the public web roots bundled with coffre.
    System,
}

/// The connector for `mode` (none for `disable`). Reads the CA file now,
/// so a missing or unreadable one is a configuration error at start.
pub fn connector(mode: SslMode, roots: Option<Roots<'_>>) -> Result<Option<MakeRustls>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = match (mode, roots) {
        (SslMode::Disable, _) => return Ok(None),
        (SslMode::Prefer, _) | (SslMode::Require, None) => None,
        (SslMode::VerifyCa | SslMode::VerifyFull, None) => {
            return Err(format!(
                "database_url has sslmode={}, which checks the server's certificate against a \
                 CA: set database_ca_file (COFFRE_DATABASE_CA_FILE) to the PEM file of the CA \
                 that signed it, or add sslrootcert=system for the public web CAs",
                mode.as_str()
            ));
        }
        // As libpq: `require` with a CA given checks the chain.
        (_, Some(roots)) => Some(web_pki(roots, &provider)?),
    };
    let verifier = Arc::new(Verifier {
        provider: provider.clone(),
        chain,
        check_name: mode == SslMode::VerifyFull,
    });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS to PostgreSQL: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    // PostgreSQL 17 checks it on direct TLS; older servers ignore it.
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok(Some(MakeRustls {
        config: Arc::new(config),
    }))
}

fn web_pki(
    roots: Roots<'_>,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>, String> {
    let mut store = RootCertStore::empty();
    match roots {
        Roots::System => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Roots::File(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("cannot read database_ca_file {}: {e}", path.display()))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| {
                    format!(
                        "database_ca_file {} is not a PEM file of CA certificates: {e}",
                        path.display()
                    )
                })?;
            let (added, _) = store.add_parsable_certificates(certs);
            if added == 0 {
                return Err(format!(
                    "database_ca_file {} holds no usable CA certificate (expected \
                     -----BEGIN CERTIFICATE-----)",
                    path.display()
                ));
            }
        }
    }
    WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider.clone())
        .build()
        .map_err(|e| format!("TLS to PostgreSQL: {e}"))
}

/// What is checked of the server's certificate. The handshake's own
/// signatures are checked in every mode.
#[derive(Debug)]
struct Verifier {
    provider: Arc<CryptoProvider>,
    /// The chain to the trusted CAs; none for `prefer` and `require`
    /// (encrypted, the certificate taken as it comes).
    chain: Option<Arc<WebPkiServerVerifier>>,
    /// `verify-full`: the certificate must name the host.
    check_name: bool,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
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
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
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
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
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

/// A handshake the server's certificate failed: a configuration problem
/// (wrong CA, wrong host name), told apart from an unreachable server.
#[derive(Debug)]
pub struct CertificateRefused(pub String);

impl fmt::Display for CertificateRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CertificateRefused {}

fn explain(host: &str, e: io::Error) -> Box<dyn std::error::Error + Send + Sync> {
    let Some(rustls::Error::InvalidCertificate(cert)) = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        return Box::new(e);
    };
    let why = match cert {
        CertificateError::UnknownIssuer | CertificateError::BadSignature => {
            "it is not signed by a CA in database_ca_file (or sslrootcert)".to_string()
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            format!(
                "it does not name the host {host:?} (sslmode=verify-full checks the host name: \
                 connect by a name the certificate holds, or use sslmode=verify-ca)"
            )
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            "it has expired".to_string()
        }
        other => format!("{other:?}"),
    };
    Box::new(CertificateRefused(format!(
        "the PostgreSQL server's TLS certificate was refused: {why}"
    )))
}

/// The driver's `MakeTlsConnect` over tokio-rustls.
#[derive(Clone)]
pub struct MakeRustls {
    config: Arc<rustls::ClientConfig>,
}

impl<S> MakeTlsConnect<S> for MakeRustls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnect;
    type Error = io::Error;

    fn make_tls_connect(&mut self, host: &str) -> Result<RustlsConnect, io::Error> {
        Ok(RustlsConnect {
            config: self.config.clone(),
            host: host.to_string(),
        })
    }
}

pub struct RustlsConnect {
    config: Arc<rustls::ClientConfig>,
    host: String,
}

type Handshake<S> = Pin<
    Box<
        dyn Future<Output = Result<RustlsStream<S>, Box<dyn std::error::Error + Send + Sync>>>
            + Send,
    >,
>;

impl<S> TlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = Box<dyn std::error::Error + Send + Sync>;
    type Future = Handshake<S>;

    // Called only once the server has agreed to TLS (never on a Unix
    // socket), so a host that is no TLS name fails here, not before.
    fn connect(self, stream: S) -> Handshake<S> {
        Box::pin(async move {
            let name = ServerName::try_from(self.host.clone())
                .map_err(|_| format!("{:?} is not a host name TLS can check", self.host))?;
            let connector = tokio_rustls::TlsConnector::from(self.config);
            match connector.connect(name, stream).await {
                Ok(tls) => Ok(RustlsStream(tls)),
                Err(e) => Err(explain(&self.host, e)),
            }
        })
    }
}

pub struct RustlsStream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for RustlsStream<S> {
    /// `tls-server-end-point` (RFC 5929): the server certificate's hash, so
    /// SCRAM-SHA-256-PLUS binds the password exchange to this TLS session.
    fn channel_binding(&self) -> ChannelBinding {
        let Some(cert) = self
            .0
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|c| c.first())
        else {
            return ChannelBinding::none();
        };
        match end_point_hash(cert) {
            Some(hash) => ChannelBinding::tls_server_end_point(hash),
            None => ChannelBinding::none(),
        }
    }
}

/// The hash RFC 5929 names for the certificate's signature algorithm (MD5
/// and SHA-1 become SHA-256); none for algorithms without one (Ed25519).
fn end_point_hash(cert: &CertificateDer<'_>) -> Option<Vec<u8>> {
    use x509_parser::oid_registry as oid;
    let (_, parsed) = x509_parser::parse_x509_certificate(cert).ok()?;
    let alg = &parsed.signature_algorithm.algorithm;
    let is = |candidates: &[&oid::Oid<'static>]| candidates.contains(&alg);
    if is(&[
        &oid::OID_PKCS1_SHA1WITHRSA,
        &oid::OID_PKCS1_SHA256WITHRSA,
        &oid::OID_SIG_ECDSA_WITH_SHA256,
    ]) {
        Some(sha2::Sha256::digest(cert).to_vec())
    } else if is(&[
        &oid::OID_PKCS1_SHA384WITHRSA,
        &oid::OID_SIG_ECDSA_WITH_SHA384,
    ]) {
        Some(sha2::Sha384::digest(cert).to_vec())
    } else if is(&[
        &oid::OID_PKCS1_SHA512WITHRSA,
        &oid::OID_SIG_ECDSA_WITH_SHA512,
    ]) {
        Some(sha2::Sha512::digest(cert).to_vec())
    } else {
        None
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
