//! Talking to the SMTP server: one session (connect, TLS, EHLO, AUTH) carries
//! many messages. What went wrong is said in words fit for `LastError`: the
//! URL's user info never appears, the server's answers to AUTH are reduced to
//! their code, and every other answer is scrubbed of the credentials.
//!
//! coffre opens the TCP connection (and, for `smtps://`, the TLS session)
//! itself and hands it to lettre: lettre 0.11.23 leaves Nagle's algorithm on
//! the sockets it opens, and writes the end of DATA (CRLF . CRLF) on its own
//! after the message, so every message waited for the server's delayed ACK —
//! 40 ms each, 22 messages/s to a loopback server. STARTTLS is lettre's.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine;
use lettre::address::Envelope;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, CertificateStore, TlsParameters,
};
use lettre::transport::smtp::extension::ClientId;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

use crate::config::{Config, ConfigError, StartTls};

use super::url::SmtpUrl;

/// Every SMTP step (connecting, each command, the message) must finish within this.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// `LastError` is kept short.
const MAX_REASON: usize = 400;

/// Why a message was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// A 5xx answer to this message (or a message that can never be sent):
    /// trying again cannot help.
    pub permanent: bool,
    pub reason: String,
}

impl Failure {
    fn transient(reason: impl Into<String>) -> Failure {
        Failure {
            permanent: false,
            reason: reason.into(),
        }
    }

    pub fn permanent(reason: impl Into<String>) -> Failure {
        Failure {
            permanent: true,
            reason: reason.into(),
        }
    }
}

/// The configured sender: where, how, as whom.
pub struct Mailer {
    url: SmtpUrl,
    starttls: StartTls,
    /// For STARTTLS (lettre's).
    tls: TlsParameters,
    /// For `smtps://` (ours); the same trust anchors.
    implicit_tls: TlsConnector,
    server_name: ServerName<'static>,
    credentials: Option<Credentials>,
    from: Mailbox,
    /// The From address's domain: the Message-ID's right-hand side and the EHLO name.
    domain: String,
    /// What must never appear in a `LastError`.
    secrets: Vec<String>,
}

impl Mailer {
    /// None without `smtp_url`; an error naming the option for any mistake.
    pub fn from_config(config: &Config) -> Result<Option<Mailer>, ConfigError> {
        let Some(url) = &config.smtp_url else {
            return Ok(None);
        };
        let fail = |m: String| ConfigError(m);
        let from_text = config.mail_from.as_deref().ok_or_else(|| {
            fail(format!(
                "smtp_url is set but mail_from is not: give the From address of coffre's \
                 e-mails, e.g. mail_from = \"coffre <coffre@example.com>\" (sending through {})",
                url.redacted()
            ))
        })?;
        let from: Mailbox = from_text.parse().map_err(|_| {
            fail(
                "mail_from is not an e-mail address: write coffre@example.com or \
                 \"coffre <coffre@example.com>\""
                    .into(),
            )
        })?;
        let domain = from.email.domain().to_string();

        let server_name = ServerName::try_from(url.host.clone()).map_err(|_| {
            fail(format!(
                "smtp_url: {} is neither a host name nor an IP address",
                url.redacted()
            ))
        })?;
        let mut tls = TlsParameters::builder(url.host.clone());
        let mut roots = RootCertStore::empty();
        if let Some(path) = &config.mail_ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| fail(format!("cannot read mail_ca_file {}: {e}", path.display())))?;
            let no_certificate = || {
                fail(format!(
                    "mail_ca_file {} holds no usable PEM certificate (-----BEGIN CERTIFICATE-----)",
                    path.display()
                ))
            };
            for der in CertificateDer::pem_slice_iter(&pem) {
                roots
                    .add(der.map_err(|_| no_certificate())?)
                    .map_err(|_| no_certificate())?;
            }
            if roots.is_empty() {
                return Err(no_certificate());
            }
            let certificate = Certificate::from_pem(&pem).map_err(|_| no_certificate())?;
            // A private CA replaces the public roots: only it may vouch for the server.
            tls = tls
                .certificate_store(CertificateStore::None)
                .add_root_certificate(certificate);
        } else {
            // lettre's default store is the same list (webpki-roots).
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        let setup_failed = |e: String| {
            fail(format!(
                "mail_ca_file or smtp_url: TLS to {} cannot be set up: {e}",
                url.redacted()
            ))
        };
        let tls = tls
            .build_rustls()
            .map_err(|e| setup_failed(e.to_string()))?;
        let implicit_tls =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|e| setup_failed(e.to_string()))?
                .with_root_certificates(roots)
                .with_no_client_auth();
        let implicit_tls = TlsConnector::from(Arc::new(implicit_tls));

        let (credentials, secrets) = match (&url.username, &url.password) {
            (Some(user), password) => {
                let password = match password {
                    Some(p) => String::from_utf8(p.expose().to_vec())
                        .map_err(|_| fail("the SMTP password is not UTF-8 text".into()))?,
                    None => {
                        return Err(fail(format!(
                            "smtp_url names a user but gives no password: put it in \
                             smtp_password_file (or in the URL) for {}",
                            url.redacted()
                        )));
                    }
                };
                let secrets = secret_forms(user, &password);
                (Some(Credentials::new(user.clone(), password)), secrets)
            }
            (None, _) => (None, Vec::new()),
        };
        Ok(Some(Mailer {
            url: url.clone(),
            starttls: config.smtp_starttls,
            tls,
            implicit_tls,
            server_name,
            credentials,
            from,
            domain,
            secrets,
        }))
    }

    pub fn from(&self) -> &Mailbox {
        &self.from
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// Where and how, for the log: never the user or the password.
    pub fn describe(&self) -> String {
        let tls = if self.url.implicit_tls {
            "TLS"
        } else if self.must_starttls() {
            "STARTTLS required"
        } else {
            "STARTTLS when offered"
        };
        let auth = if self.credentials.is_some() {
            ", with credentials"
        } else {
            ""
        };
        format!("{} ({tls}{auth}) as {}", self.url.redacted(), self.from)
    }

    /// A password never crosses the network in clear, whatever `smtp_starttls` says.
    fn must_starttls(&self) -> bool {
        self.starttls == StartTls::Required || self.credentials.is_some()
    }

    /// TCP without Nagle's delay, then TLS for `smtps://`.
    async fn connect(&self) -> Result<Box<dyn AsyncTokioStream>, StepError> {
        let tcp = within(TcpStream::connect((self.url.host.as_str(), self.url.port))).await?;
        tcp.set_nodelay(true)?;
        if !self.url.implicit_tls {
            return Ok(Box::new(tcp));
        }
        let tls = within(self.implicit_tls.connect(self.server_name.clone(), tcp)).await?;
        Ok(Box::new(TlsSocket(tls)))
    }

    /// Connects, secures and authenticates a session.
    pub async fn open(&self) -> Result<Session, Failure> {
        let server = self.url.redacted();
        let hello = ClientId::Domain(self.domain.clone());
        let opening = async {
            let stream = self.connect().await?;
            within(AsyncSmtpConnection::connect_with_transport(stream, &hello)).await
        };
        let mut conn = opening
            .await
            .map_err(|e| self.failure(&format!("cannot open a session with {server}"), &e))?;
        if !self.url.implicit_tls {
            if conn.can_starttls() {
                within(conn.starttls(self.tls.clone(), &hello))
                    .await
                    .map_err(|e| self.failure(&format!("STARTTLS with {server} failed"), &e))?;
            } else if self.must_starttls() {
                conn.abort().await;
                let why = if self.starttls == StartTls::Required {
                    "smtp_starttls = \"required\""
                } else {
                    "coffre never sends the SMTP password in clear (use smtps://, or a server \
                     that offers STARTTLS)"
                };
                return Err(Failure::transient(format!(
                    "{server} does not offer STARTTLS and {why}: nothing was sent"
                )));
            }
        }
        if let Some(credentials) = &self.credentials {
            let auth = conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials);
            if let Err(e) = within(auth).await {
                conn.abort().await;
                // The server's words about a login may repeat it: its code only.
                let code = e.status().map(|c| format!(" ({c})")).unwrap_or_default();
                return Err(Failure::transient(format!(
                    "{server} refused the SMTP credentials{code}: check the user name and \
                     password of smtp_url / smtp_password_file"
                )));
            }
        }
        Ok(Session {
            conn,
            timed_out: false,
        })
    }

    /// Sends one message on an open session. A 5xx answer is permanent for
    /// this message; the session is unusable afterwards if it `has_broken`.
    pub async fn send(
        &self,
        session: &mut Session,
        envelope: &Envelope,
        message: &[u8],
    ) -> Result<(), Failure> {
        match within(session.conn.send(envelope, message)).await {
            Ok(_) => Ok(()),
            Err(e) => {
                // After a timeout nobody knows where the dialogue stands.
                session.timed_out |= matches!(e, StepError::TimedOut);
                let mut f = self.failure("the server did not accept the message", &e);
                // A 5xx answer, or a message this server can never take
                // (e.g. non-ASCII address without SMTPUTF8).
                f.permanent = e.is_permanent() || e.is_client();
                if f.permanent {
                    f.reason.push_str(" (permanent: not retried)");
                }
                Err(f)
            }
        }
    }

    /// `what` and the error, without anything secret, on one short line.
    fn failure(&self, what: &str, e: &StepError) -> Failure {
        let mut text = format!("{what}: {e}");
        for secret in &self.secrets {
            text = text.replace(secret.as_str(), "[redacted]");
        }
        let mut line: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        if line.chars().count() > MAX_REASON {
            line = line.chars().take(MAX_REASON).collect::<String>() + "…";
        }
        Failure::transient(line)
    }
}

/// An open SMTP session.
pub struct Session {
    conn: AsyncSmtpConnection,
    timed_out: bool,
}

impl Session {
    /// After a failed command lettre closes the connection: open a new one.
    pub fn is_usable(&self) -> bool {
        !self.conn.has_broken() && !self.timed_out
    }

    /// QUIT, politely and without waiting long.
    pub async fn close(mut self) {
        let _ = within(self.conn.quit()).await;
    }
}

/// A step's error: lettre's, the network's or TLS's, or our own time limit.
#[derive(Debug)]
enum StepError {
    Smtp(lettre::transport::smtp::Error),
    Io(io::Error),
    TimedOut,
}

impl From<lettre::transport::smtp::Error> for StepError {
    fn from(e: lettre::transport::smtp::Error) -> Self {
        StepError::Smtp(e)
    }
}

impl From<io::Error> for StepError {
    fn from(e: io::Error) -> Self {
        StepError::Io(e)
    }
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StepError::Smtp(e) => write!(f, "{e}"),
            StepError::Io(e) => write!(f, "{e}"),
            StepError::TimedOut => write!(f, "no answer within {} s", STEP_TIMEOUT.as_secs()),
        }
    }
}

impl StepError {
    fn is_permanent(&self) -> bool {
        matches!(self, StepError::Smtp(e) if e.is_permanent())
    }
    fn is_client(&self) -> bool {
        matches!(self, StepError::Smtp(e) if e.is_client())
    }
    fn status(&self) -> Option<lettre::transport::smtp::response::Code> {
        match self {
            StepError::Smtp(e) => e.status(),
            StepError::Io(_) | StepError::TimedOut => None,
        }
    }
}

async fn within<T, E: Into<StepError>>(
    step: impl Future<Output = Result<T, E>>,
) -> Result<T, StepError> {
    match tokio::time::timeout(STEP_TIMEOUT, step).await {
        Ok(result) => result.map_err(Into::into),
        Err(_) => Err(StepError::TimedOut),
    }
}

/// An `smtps://` connection, as lettre takes it.
#[derive(Debug)]
struct TlsSocket(tokio_rustls::client::TlsStream<TcpStream>);

impl AsyncTokioStream for TlsSocket {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

impl tokio::io::AsyncRead for TlsSocket {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for TlsSocket {
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

/// The password and the user name as they may travel in AUTH PLAIN and
/// AUTH LOGIN (plain and base64), for scrubbing a server's answers.
fn secret_forms(user: &str, password: &str) -> Vec<String> {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let mut forms = vec![
        b64(&format!("\0{user}\0{password}")),
        b64(password),
        b64(user),
        password.to_string(),
        user.to_string(),
    ];
    // Longest first, so a form containing another is replaced whole; very
    // short ones would blank out ordinary words.
    forms.retain(|f| f.len() >= 3);
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    forms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_scrubbed_in_every_form_they_travel_in() {
        let forms = secret_forms("ada", "hunter2");
        let answer = format!(
            "535 denied for ada / hunter2 / {} / {}",
            base64::engine::general_purpose::STANDARD.encode("\0ada\0hunter2"),
            base64::engine::general_purpose::STANDARD.encode("hunter2"),
        );
        let mut text = answer.clone();
        for f in &forms {
            text = text.replace(f.as_str(), "[redacted]");
        }
        assert!(!text.contains("hunter2") && !text.contains("ada"), "{text}");
        assert!(!text.contains("aHVudGVyMg"), "{text}");
    }
}
