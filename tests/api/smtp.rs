#![allow(dead_code)]
//! A real SMTP server on loopback for the mail tests: `smtp_server.py`
//! (aiosmtpd) in a process of its own, reporting what it receives as JSON
//! lines. The Python used is `COFFRE_TEST_PYTHON` (then aiosmtpd must be
//! there: CI sets it), else the project's `.venv` (made by `.ci/run`), else
//! `python3`; when none can import aiosmtpd the mail tests say so and skip.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/smtp_server.py");

fn imports_aiosmtpd(python: &Path) -> bool {
    Command::new(python)
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The Python that runs the server, or None (after saying why) to skip.
pub fn python() -> Option<&'static Path> {
    static FOUND: OnceLock<Option<PathBuf>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            if let Some(p) = std::env::var_os("COFFRE_TEST_PYTHON") {
                let p = PathBuf::from(p);
                assert!(
                    imports_aiosmtpd(&p),
                    "COFFRE_TEST_PYTHON={} cannot import aiosmtpd: pip install aiosmtpd into it",
                    p.display()
                );
                return Some(p);
            }
            let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
            for candidate in [venv, PathBuf::from("python3")] {
                if imports_aiosmtpd(&candidate) {
                    return Some(candidate);
                }
            }
            // Straight to stderr, past the test harness's capture, once.
            let _ = writeln!(
                std::io::stderr(),
                "note: SMTP delivery tests SKIPPED: no Python with aiosmtpd (tried \
                 COFFRE_TEST_PYTHON, .venv, python3). `.ci/run` installs it into .venv; or \
                 `pip install aiosmtpd` and set COFFRE_TEST_PYTHON."
            );
            None
        })
        .as_deref()
}

/// Skips the calling test when no SMTP server can be run.
#[macro_export]
macro_rules! require_smtp {
    () => {
        if $crate::smtp::python().is_none() {
            return;
        }
    };
}

#[derive(Default, Clone)]
pub struct Options {
    pub port: Option<u16>,
    /// Certificate and key (PEM files) for STARTTLS, or implicit TLS.
    pub tls: Option<(PathBuf, PathBuf)>,
    pub implicit_tls: bool,
    pub require_starttls: bool,
    pub auth: Option<(String, String)>,
    pub brief: bool,
}

pub struct SmtpServer {
    child: Child,
    pub port: u16,
    events: Arc<Mutex<Vec<Value>>>,
    arrived: Arc<tokio::sync::Notify>,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SmtpServer {
    pub fn start(options: &Options) -> SmtpServer {
        let python = python().expect("require_smtp!() first");
        let mut cmd = Command::new(python);
        cmd.arg(SCRIPT);
        if let Some(port) = options.port {
            cmd.args(["--port", &port.to_string()]);
        }
        if let Some((cert, key)) = &options.tls {
            cmd.arg("--tls-cert").arg(cert).arg("--tls-key").arg(key);
        }
        if options.implicit_tls {
            cmd.arg("--implicit-tls");
        }
        if options.require_starttls {
            cmd.arg("--require-starttls");
        }
        if let Some((user, password)) = &options.auth {
            cmd.args(["--user", user, "--password", password]);
        }
        if options.brief {
            cmd.arg("--brief");
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first: Value = match lines.next() {
            Some(Ok(line)) => serde_json::from_str(&line).unwrap(),
            other => {
                let status = child.wait();
                panic!("smtp_server.py did not start: {other:?}, {status:?}")
            }
        };
        let port = first["port"].as_u64().unwrap() as u16;
        let events = Arc::new(Mutex::new(Vec::new()));
        let arrived = Arc::new(tokio::sync::Notify::new());
        let (sink, bell) = (events.clone(), arrived.clone());
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if let Ok(event) = serde_json::from_str::<Value>(&line) {
                    sink.lock().unwrap().push(event);
                    bell.notify_one();
                }
            }
        });
        SmtpServer {
            child,
            port,
            events,
            arrived,
        }
    }

    pub fn plain() -> SmtpServer {
        SmtpServer::start(&Options::default())
    }

    /// Events of this kind received so far ("message", "auth").
    pub fn events(&self, kind: &str) -> Vec<Value> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e["event"] == kind)
            .cloned()
            .collect()
    }

    pub fn messages(&self) -> Vec<Value> {
        self.events("message")
    }

    /// Waits (at most 20 s) until `n` messages have arrived; returns them all.
    pub async fn wait_for_messages(&self, n: usize) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.messages();
            if got.len() >= n {
                return got;
            }
            let woke = tokio::time::timeout_at(deadline, self.arrived.notified()).await;
            assert!(
                woke.is_ok(),
                "timed out waiting for {n} message(s); got {}",
                got.len()
            );
        }
    }

    /// Stops the server (its port is free again once this returns).
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn url(&self, scheme: &str) -> String {
        format!("{scheme}://127.0.0.1:{}", self.port)
    }
}

/// A header of a received message, as Python's email package decoded it.
pub fn header(message: &Value, name: &str) -> Vec<String> {
    message["headers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h[0].as_str().unwrap().eq_ignore_ascii_case(name))
        .map(|h| h[1].as_str().unwrap().to_string())
        .collect()
}

/// The raw bytes of a received message.
pub fn raw(message: &Value) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(message["data"].as_str().unwrap())
        .unwrap()
}

/// A private CA and a server certificate it signed for 127.0.0.1, made now,
/// as PEM files: (dir, ca.pem, server.pem, server.key).
pub struct TestPki {
    pub dir: TempDir,
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

pub fn test_pki() -> TestPki {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "coffre test CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "smtp.test");
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    TestPki {
        ca: write("ca.pem", ca.pem()),
        cert: write("server.pem", cert.pem()),
        key: write("server.key", key.serialize_pem()),
        dir,
    }
}
