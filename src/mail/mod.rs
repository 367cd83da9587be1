//! E-mail that leaves the box: the outbox delivered over SMTP (lettre, rustls)
//! when `smtp_url` is set. `url` reads the option, `message` turns an outbox
//! message into an RFC 5322 e-mail, `smtp` holds the sessions, `delivery` is
//! the background job with its retries. Without `smtp_url` nothing here runs.

pub mod delivery;
pub mod message;
pub mod smtp;
pub mod url;

pub use delivery::delivery_job;
pub use smtp::Mailer;
pub use url::SmtpUrl;
