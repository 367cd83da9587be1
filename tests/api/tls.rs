//! HTTPS (issue 14, item 1): rustls with certificates made at test time, RSA
//! and ECDSA; HTTP/2 by ALPN and HTTP/1.1; TLS 1.2 and 1.3 only; a plain HTTP
//! request to the TLS port answered cleanly; SIGHUP reloads the pair on the
//! real binary without dropping connections, and refuses a bad one; plain
//! HTTP on a non-loopback address warns loudly.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::helpers::*;
use crate::tls_client::{KeyKind, TestCert, certificate, connect, write_pair};

fn socket(address: &str) -> SocketAddr {
    address
        .rsplit("://")
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("not an address: {address}"))
}

async fn tls_app(cert: &TestCert) -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let (cert_file, key_file) = write_pair(dir.path(), cert);
    let app = app()
        .config(move |c| {
            c.tls_cert_file = Some(cert_file);
            c.tls_key_file = Some(key_file);
        })
        .spawn()
        .await;
    (app, dir)
}

#[tokio::test]
async fn https_negotiates_http2_by_alpn_and_serves_http11_with_rsa_and_ecdsa_keys() {
    for (kind, serial) in [
        (KeyKind::EcdsaSec1, 0x1001),
        (KeyKind::EcdsaPkcs8, 0x1002),
        (KeyKind::RsaPkcs1, 0x1003),
        (KeyKind::RsaPkcs8, 0x1004),
    ] {
        let cert = certificate(kind, serial);
        let (app, _dir) = tls_app(&cert).await;
        let addr = socket(&app.address);

        let mut h2 = connect(addr, &["h2", "http/1.1"], &[&cert]).await.unwrap();
        assert_eq!(h2.alpn.as_deref(), Some("h2"), "{kind:?}");
        assert_eq!(h2.serial, cert.serial);
        let health = h2.get("/health", None).await;
        assert_eq!(health.status, 200, "{kind:?}: {}", health.text);
        assert_eq!(health.version, hyper::Version::HTTP_2);
        // A real authenticated read and a write, over HTTP/2.
        let created = h2
            .send(
                "POST",
                "/v4/VaultSection",
                Some(&app.admin_key),
                Some(serde_json::json!({"Name": format!("over h2 {kind:?}")})),
            )
            .await
            .unwrap();
        assert_eq!(created.status, 201, "{}", created.text);
        let listed = h2.get("/v4/VaultSection", Some(&app.admin_key)).await;
        assert!(listed.text.contains(&format!("over h2 {kind:?}")));
        // HTTPS responses tell browsers to stay on HTTPS.
        assert_eq!(
            listed.headers["strict-transport-security"],
            "max-age=31536000"
        );
        // The OAuth issuer is this HTTPS server, not an http:// one.
        let metadata = h2
            .get("/.well-known/oauth-authorization-server", None)
            .await
            .json();
        let issuer = metadata["issuer"].as_str().unwrap();
        assert!(issuer.starts_with("https://"), "{issuer}");
        assert_eq!(metadata["token_endpoint"], format!("{issuer}/oauth2/token"));
        // Our error shape over HTTP/2 too.
        let refused = h2.get("/v4/VaultSection", Some("coffre_nope")).await;
        assert_eq!(refused.status, 401);
        assert_eq!(refused.json()["Messages"][0]["Code"], "Unauthorized");

        // HTTP/1.1 when the client offers only it, or no ALPN at all; keep-alive.
        for offer in [&["http/1.1"][..], &[][..]] {
            let mut h1 = connect(addr, offer, &[&cert]).await.unwrap();
            assert_ne!(h1.alpn.as_deref(), Some("h2"));
            for _ in 0..3 {
                let r = h1.get("/health", None).await;
                assert_eq!(r.status, 200);
                assert_eq!(r.version, hyper::Version::HTTP_11);
            }
        }
    }
}

/// OpenSSL as the client, held to one protocol version.
fn handshake_with_only(addr: SocketAddr, version: openssl::ssl::SslVersion) -> Result<(), String> {
    use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
    let mut builder = SslConnector::builder(SslMethod::tls()).unwrap();
    builder.set_verify(SslVerifyMode::NONE);
    // Level 0 lets this client offer TLS 1.0/1.1 at all: the refusal must
    // come from the server.
    builder.set_security_level(0);
    builder.set_cipher_list("DEFAULT:@SECLEVEL=0").unwrap();
    builder.set_min_proto_version(Some(version)).unwrap();
    builder.set_max_proto_version(Some(version)).unwrap();
    let tcp = std::net::TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    builder
        .build()
        .connect("localhost", tcp)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn only_tls_1_2_and_1_3_are_spoken() {
    use openssl::ssl::SslVersion;
    let cert = certificate(KeyKind::EcdsaPkcs8, 0x2001);
    let (app, _dir) = tls_app(&cert).await;
    let addr = socket(&app.address);
    let outcomes = tokio::task::spawn_blocking(move || {
        [
            SslVersion::TLS1,
            SslVersion::TLS1_1,
            SslVersion::TLS1_2,
            SslVersion::TLS1_3,
        ]
        .map(|v| handshake_with_only(addr, v))
    })
    .await
    .unwrap();
    assert!(outcomes[0].is_err(), "TLS 1.0 accepted");
    assert!(outcomes[1].is_err(), "TLS 1.1 accepted");
    assert!(outcomes[2].is_ok(), "TLS 1.2 refused: {:?}", outcomes[2]);
    assert!(outcomes[3].is_ok(), "TLS 1.3 refused: {:?}", outcomes[3]);
}

#[tokio::test]
async fn plain_http_to_the_tls_port_fails_cleanly_and_the_server_keeps_serving() {
    let cert = certificate(KeyKind::EcdsaPkcs8, 0x3001);
    let (app, _dir) = tls_app(&cert).await;
    let addr = socket(&app.address);

    // An HTTP client that forgot the s: a 400 in our shape, then the connection ends.
    let res = read(
        app.client
            .get(format!("http://{addr}/health"))
            .send()
            .await
            .unwrap(),
    )
    .await
    .expect(400);
    assert_eq!(res.code(), "HttpsRequired");
    assert!(res.message().contains("https://"), "{}", res.message());
    assert!(res.headers.contains_key("x-request-id"));

    // Bytes that are neither TLS nor HTTP: the connection is closed, promptly.
    let closed = tokio::time::timeout(Duration::from_secs(15), async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(&[0u8, 1, 2, 3, 0xff, 0x16]).await.unwrap();
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await
    })
    .await;
    assert!(closed.is_ok(), "the server hung on a non-TLS connection");

    // Meanwhile and afterwards, HTTPS clients are served.
    let mut h2 = connect(addr, &["h2"], &[&cert]).await.unwrap();
    assert_eq!(h2.get("/health", None).await.status, 200);
}

/// `coffre serve` on a new data dir in `dir`, serving `cert`; also returns
/// the certificate and key files (to replace them).
fn serve_tls(dir: &Path, cert: &TestCert) -> (Command, PathBuf, PathBuf) {
    let (cert_file, key_file) = write_pair(&dir.join("tls"), cert);
    let mut cmd = coffre();
    cmd.arg("--data-dir")
        .arg(dir.join("data"))
        .args(["--listen", "127.0.0.1:0", "serve"])
        .env("COFFRE_TLS_CERT_FILE", &cert_file)
        .env("COFFRE_TLS_KEY_FILE", &key_file);
    (cmd, cert_file, key_file)
}

fn wait_for_log(server: &ServerProcess, needle: &str, after: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let log = server.stderr();
        if log.len() > after && log[after..].contains(needle) {
            return log[after..].to_string();
        }
        assert!(
            Instant::now() < deadline,
            "no {needle:?} in the log:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Replaces a file the way renewal tools do: write aside, rename over.
fn replace(path: &std::path::Path, text: &str) {
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[tokio::test]
async fn sighup_reloads_the_certificate_without_dropping_connections_and_refuses_a_bad_pair() {
    let first = certificate(KeyKind::EcdsaPkcs8, 0xA1);
    let second = certificate(KeyKind::RsaPkcs1, 0xB2);
    let stray = certificate(KeyKind::EcdsaPkcs8, 0xC3);
    let trusted = [&first, &second, &stray];
    let dir = tempfile::tempdir().unwrap();
    let (cmd, cert_file, key_file) = serve_tls(dir.path(), &first);
    let mut server = ServerProcess::start(cmd);
    assert!(server.address.starts_with("https://"), "{}", server.address);
    let addr = socket(&server.address);

    // Connections opened before the renewal, one of each protocol.
    let mut old_h2 = connect(addr, &["h2"], &trusted).await.unwrap();
    let mut old_h1 = connect(addr, &["http/1.1"], &trusted).await.unwrap();
    assert_eq!(old_h2.serial, "A1");
    assert_eq!(old_h1.get("/health", None).await.status, 200);

    // Renewal: new files, then SIGHUP.
    replace(&cert_file, &second.cert_pem);
    replace(&key_file, &second.key_pem);
    let mark = server.stderr().len();
    signal(&server.child, "HUP");
    let log = wait_for_log(&server, "TLS certificate reloaded", mark);
    assert!(log.contains("serial B2"), "{log}");

    let mut fresh = connect(addr, &["h2"], &trusted).await.unwrap();
    assert_eq!(fresh.serial, "B2", "new handshakes get the new certificate");
    assert_eq!(fresh.get("/health", None).await.status, 200);
    // The connections opened before carry on.
    assert_eq!(old_h2.get("/health", None).await.status, 200);
    assert_eq!(old_h1.get("/health", None).await.status, 200);
    assert_eq!(old_h2.serial, "A1");

    // A key that does not go with the certificate: refused, the old pair kept.
    replace(&cert_file, &stray.cert_pem);
    let mark = server.stderr().len();
    signal(&server.child, "HUP");
    let log = wait_for_log(&server, "new TLS certificate was refused", mark);
    assert!(
        log.contains("serial B2"),
        "names what is still served: {log}"
    );
    let mut after = connect(addr, &["h2"], &trusted).await.unwrap();
    assert_eq!(after.serial, "B2");
    assert_eq!(after.get("/health", None).await.status, 200);

    // Garbage, or a missing file: refused too.
    replace(&cert_file, "not a certificate\n");
    let mark = server.stderr().len();
    signal(&server.child, "HUP");
    wait_for_log(&server, "new TLS certificate was refused", mark);
    std::fs::remove_file(&key_file).unwrap();
    let mark = server.stderr().len();
    signal(&server.child, "HUP");
    wait_for_log(&server, "new TLS certificate was refused", mark);
    let mut still = connect(addr, &["http/1.1"], &trusted).await.unwrap();
    assert_eq!(still.serial, "B2");
    assert_eq!(still.get("/health", None).await.status, 200);
    assert_eq!(old_h2.get("/health", None).await.status, 200);

    // Stopped off this test's runtime thread, once its connections are
    // dropped, so that they close meanwhile (a graceful stop waits for them).
    drop((old_h2, old_h1, fresh, after, still));
    let (code, log) = tokio::task::spawn_blocking(move || (server.terminate(), server.stderr()))
        .await
        .unwrap();
    assert_eq!(code, 0);
    assert!(!log.contains("PRIVATE KEY"), "key material in the log");
}

#[test]
fn plain_http_on_a_non_loopback_address_warns_loudly_and_tls_or_loopback_do_not() {
    let warning = "coffre serves PLAIN HTTP";
    let serve = |listen: &str, tls: Option<&TestCert>| {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = coffre();
        cmd.arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(["--listen", listen, "serve"]);
        if let Some(cert) = tls {
            let (c, k) = write_pair(&dir.path().join("tls"), cert);
            cmd.env("COFFRE_TLS_CERT_FILE", c)
                .env("COFFRE_TLS_KEY_FILE", k);
        }
        let mut server = ServerProcess::start(cmd);
        assert_eq!(server.terminate(), 0);
        server.stderr()
    };
    let log = serve("0.0.0.0:0", None);
    assert!(log.contains(warning) && log.contains("WARN"), "{log}");
    let cert = certificate(KeyKind::EcdsaPkcs8, 0x4001);
    assert!(!serve("0.0.0.0:0", Some(&cert)).contains(warning));
    assert!(!serve("127.0.0.1:0", None).contains(warning));
}

#[test]
fn a_missing_or_unusable_certificate_is_a_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    let good = certificate(KeyKind::EcdsaPkcs8, 0x5001);
    let other = certificate(KeyKind::EcdsaPkcs8, 0x5002);
    let (cert_file, key_file) = write_pair(&dir.path().join("tls"), &good);
    let serve = |envs: &[(&str, &std::path::Path)]| {
        let mut cmd = coffre();
        cmd.arg("--data-dir").arg(dir.path().join("data")).args([
            "--listen",
            "127.0.0.1:0",
            "serve",
        ]);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        run(&mut cmd)
    };
    let out = serve(&[("COFFRE_TLS_CERT_FILE", &cert_file)]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("go together"), "{}", out.stderr);

    let missing = dir.path().join("nope.pem");
    let out = serve(&[
        ("COFFRE_TLS_CERT_FILE", &missing),
        ("COFFRE_TLS_KEY_FILE", &key_file),
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("nope.pem"), "{}", out.stderr);

    let other_key = dir.path().join("other.key");
    std::fs::write(&other_key, &other.key_pem).unwrap();
    let out = serve(&[
        ("COFFRE_TLS_CERT_FILE", &cert_file),
        ("COFFRE_TLS_KEY_FILE", &other_key),
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("does not go with"), "{}", out.stderr);
    assert!(!out.stderr.contains("PRIVATE KEY"), "{}", out.stderr);
}

#[tokio::test]
async fn what_any_client_may_send_in_a_handshake_does_not_fill_the_log() {
    let cert = certificate(KeyKind::EcdsaPkcs8, 0x6001);
    let dir = tempfile::tempdir().unwrap();
    let (cmd, _, _) = serve_tls(dir.path(), &cert);
    let mut server = ServerProcess::start(cmd);
    let addr = socket(&server.address);
    let before = server.stderr().lines().count();
    // OpenSSL sends the IP address it connects to as SNI, which TLS forbids
    // and rustls warns about; and a client that hangs up mid-handshake.
    tokio::task::spawn_blocking(move || {
        use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
        for _ in 0..20 {
            let mut b = SslConnector::builder(SslMethod::tls()).unwrap();
            b.set_verify(SslVerifyMode::NONE);
            let tcp = std::net::TcpStream::connect(addr).unwrap();
            let mut config = b.build().configure().unwrap();
            // As wrk and h2load do (rust-openssl itself leaves IPs out of SNI).
            config.set_hostname("127.0.0.1").unwrap();
            config.connect("127.0.0.1", tcp).unwrap();
            let mut half = std::net::TcpStream::connect(addr).unwrap();
            std::io::Write::write_all(&mut half, &[0x16, 0x03, 0x01, 0x00, 0x40]).unwrap();
        }
    })
    .await
    .unwrap();
    let mut h2 = connect(addr, &["h2"], &[&cert]).await.unwrap();
    assert_eq!(h2.get("/health", None).await.status, 200);
    drop(h2);
    let log = tokio::task::spawn_blocking(move || {
        server.terminate();
        server.stderr()
    })
    .await
    .unwrap();
    let loud: Vec<&str> = log
        .lines()
        .skip(before)
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR ") || l.contains("rustls"))
        .collect();
    assert!(loud.is_empty(), "{loud:#?}");
}
