#![allow(dead_code)] // a shared toolbox: not every test uses every helper
//! HTTPS from the tests' side: certificates made at test time (rcgen signs;
//! RSA keys come from OpenSSL, since ring cannot generate them), and a client
//! over rustls that tells which protocol ALPN chose and which certificate the
//! server showed, on a connection the test holds (to prove it survives a
//! certificate reload).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// P-256, key file in SEC1 (`BEGIN EC PRIVATE KEY`).
    EcdsaSec1,
    /// P-256, key file in PKCS#8.
    EcdsaPkcs8,
    /// RSA 2048, key file in PKCS#1 (`BEGIN RSA PRIVATE KEY`).
    RsaPkcs1,
    /// RSA 2048, key file in PKCS#8.
    RsaPkcs8,
}

/// A self-signed certificate for `localhost` and 127.0.0.1.
pub struct TestCert {
    pub cert_pem: String,
    /// The key file as written to disk, in the format of its `KeyKind`.
    pub key_pem: String,
    pub der: CertificateDer<'static>,
    /// Upper-case hex, as the server logs it.
    pub serial: String,
}

pub fn certificate(kind: KeyKind, serial: u64) -> TestCert {
    use openssl::ec::{EcGroup, EcKey};
    use openssl::nid::Nid;
    use openssl::pkey::PKey;
    use openssl::rsa::Rsa;

    let (pkcs8, key_pem) = match kind {
        KeyKind::EcdsaSec1 | KeyKind::EcdsaPkcs8 => {
            let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
            let ec = EcKey::generate(&group).unwrap();
            let sec1 = String::from_utf8(ec.private_key_to_pem().unwrap()).unwrap();
            let pkcs8 = PKey::from_ec_key(ec)
                .unwrap()
                .private_key_to_pem_pkcs8()
                .unwrap();
            let pkcs8 = String::from_utf8(pkcs8).unwrap();
            let file = if kind == KeyKind::EcdsaSec1 {
                sec1
            } else {
                pkcs8.clone()
            };
            (pkcs8, file)
        }
        KeyKind::RsaPkcs1 | KeyKind::RsaPkcs8 => {
            let rsa = Rsa::generate(2048).unwrap();
            let pkcs1 = String::from_utf8(rsa.private_key_to_pem().unwrap()).unwrap();
            let pkcs8 = PKey::from_rsa(rsa)
                .unwrap()
                .private_key_to_pem_pkcs8()
                .unwrap();
            let pkcs8 = String::from_utf8(pkcs8).unwrap();
            let file = if kind == KeyKind::RsaPkcs1 {
                pkcs1
            } else {
                pkcs8.clone()
            };
            (pkcs8, file)
        }
    };
    let key = rcgen::KeyPair::from_pem(&pkcs8).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params
        .subject_alt_names
        .push(rcgen::SanType::IpAddress([127, 0, 0, 1].into()));
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "coffre test");
    params.serial_number = Some(rcgen::SerialNumber::from(serial));
    let cert = params.self_signed(&key).unwrap();
    TestCert {
        cert_pem: cert.pem(),
        key_pem,
        der: cert.der().clone(),
        serial: format!("{serial:X}"),
    }
}

/// Writes `cert.pem` and `key.pem` (0600) into `dir`; returns their paths.
pub fn write_pair(dir: &Path, c: &TestCert) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, &c.cert_pem).unwrap();
    std::fs::write(&key, &c.key_pem).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    (cert, key)
}

enum Sender {
    H1(hyper::client::conn::http1::SendRequest<Full<Bytes>>),
    H2(hyper::client::conn::http2::SendRequest<Full<Bytes>>),
}

/// One HTTPS connection.
pub struct Https {
    /// The protocol ALPN chose (`h2`, `http/1.1`), if any.
    pub alpn: Option<String>,
    /// The serial of the certificate the server presented.
    pub serial: String,
    authority: String,
    sender: Sender,
}

/// A response, read whole.
pub struct Reply {
    pub status: u16,
    pub version: hyper::Version,
    pub headers: hyper::HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.text).unwrap_or(serde_json::Value::Null)
    }
}

/// Connects to `addr` as `localhost`, offering `alpn`, trusting `roots`.
pub async fn connect(
    addr: SocketAddr,
    alpn: &[&str],
    roots: &[&TestCert],
) -> Result<Https, String> {
    let mut store = rustls::RootCertStore::empty();
    for r in roots {
        store.add(r.der.clone()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(store)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let tls = TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|e| e.to_string())?;
    let (_, session) = tls.get_ref();
    let alpn = session
        .alpn_protocol()
        .map(|p| String::from_utf8_lossy(p).into_owned());
    let leaf = session.peer_certificates().unwrap()[0].clone();
    let (_, parsed) = x509_parser::parse_x509_certificate(leaf.as_ref()).unwrap();
    let serial = parsed.serial.to_str_radix(16).to_uppercase();
    let io = TokioIo::new(tls);
    let sender = if alpn.as_deref() == Some("h2") {
        let (sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        Sender::H2(sender)
    } else {
        let (sender, conn) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        Sender::H1(sender)
    };
    Ok(Https {
        alpn,
        serial,
        authority: format!("localhost:{}", addr.port()),
        sender,
    })
}

impl Https {
    /// Sends one request on this connection (never a new one).
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> Result<Reply, String> {
        self.send_with(method, path, key, body, &[]).await
    }

    /// `send`, with more headers (a cookie, an Origin).
    pub async fn send_with(
        &mut self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<serde_json::Value>,
        headers: &[(&str, &str)],
    ) -> Result<Reply, String> {
        let h2 = matches!(self.sender, Sender::H2(_));
        let uri = if h2 {
            format!("https://{}{path}", self.authority)
        } else {
            path.to_string()
        };
        let mut req = hyper::Request::builder().method(method).uri(uri);
        if !h2 {
            req = req.header("host", &self.authority);
        }
        if let Some(key) = key {
            req = req.header("authorization", format!("Bearer {key}"));
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let bytes = match body {
            Some(b) => {
                req = req.header("content-type", "application/json");
                Bytes::from(serde_json::to_vec(&b).unwrap())
            }
            None => Bytes::new(),
        };
        let req = req.body(Full::new(bytes)).unwrap();
        let res = match &mut self.sender {
            Sender::H1(s) => {
                s.ready().await.map_err(|e| e.to_string())?;
                s.send_request(req).await
            }
            Sender::H2(s) => {
                s.ready().await.map_err(|e| e.to_string())?;
                s.send_request(req).await
            }
        }
        .map_err(|e| e.to_string())?;
        let status = res.status().as_u16();
        let version = res.version();
        let headers = res.headers().clone();
        let body = res
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok(Reply {
            status,
            version,
            headers,
            text: String::from_utf8_lossy(&body).into_owned(),
        })
    }

    pub async fn get(&mut self, path: &str, key: Option<&str>) -> Reply {
        self.send("GET", path, key, None).await.unwrap()
    }
}
