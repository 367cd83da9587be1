//! The outbox: e-mails waiting to be sent, written in the same transaction as
//! the change they announce. A UNIQUE (key, kind, expiry instant, days before)
//! makes every notice exactly once, however often and by whom the sweep runs.
//! Each message shows its delivery (`mail::delivery`): status, attempts, the
//! last error, when it was sent, its Message-ID, when it is tried next.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::outbox::{self as repo, OutboxRow};
use crate::db::{Conn, DbResult};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::http::query::since_and_limit;
use crate::time::rfc3339;
use crate::types::{CredentialKind, Guid};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum MessageKind {
    /// The API key or OAuth client has expired.
    KeyExpired,
    /// The API key or OAuth client expires in a few days.
    ExpiryReminder,
    /// A vault item's certificate expires in a few days (one per recipient).
    CertificateReminder,
    /// A vault item's certificate has expired (one per recipient).
    CertificateExpired,
    /// A Regenerate with a grace period: the previous secret works until the
    /// instant given.
    GracePeriodStarted,
    /// The grace period ends within the hour and the previous secret was
    /// used in the last hour.
    GracePeriodEnding,
    /// The credential will be revoked in 7 days unless used
    /// (`revoke_unused_after_days`).
    UnusedWarning,
    /// The credential was revoked for being unused.
    UnusedRevoked,
}

impl MessageKind {
    pub const ALL: [MessageKind; 8] = [
        MessageKind::KeyExpired,
        MessageKind::ExpiryReminder,
        MessageKind::CertificateReminder,
        MessageKind::CertificateExpired,
        MessageKind::GracePeriodStarted,
        MessageKind::GracePeriodEnding,
        MessageKind::UnusedWarning,
        MessageKind::UnusedRevoked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::KeyExpired => "KeyExpired",
            MessageKind::ExpiryReminder => "ExpiryReminder",
            MessageKind::CertificateReminder => "CertificateReminder",
            MessageKind::CertificateExpired => "CertificateExpired",
            MessageKind::GracePeriodStarted => "GracePeriodStarted",
            MessageKind::GracePeriodEnding => "GracePeriodEnding",
            MessageKind::UnusedWarning => "UnusedWarning",
            MessageKind::UnusedRevoked => "UnusedRevoked",
        }
    }

    pub fn parse(text: &str) -> Option<MessageKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum MessageStatus {
    /// Not sent yet: waiting for its next attempt (or for `smtp_url` to be set).
    Pending,
    /// Accepted by the SMTP server.
    Sent,
    /// Refused for good (a 5xx answer) or failed `mail_max_attempts` times.
    Failed,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Pending => "Pending",
            MessageStatus::Sent => "Sent",
            MessageStatus::Failed => "Failed",
        }
    }

    fn parse(text: &str) -> Option<MessageStatus> {
        [Self::Pending, Self::Sent, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// A complete e-mail and its delivery.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct OutboxMessage {
    pub outbox_message_guid: Guid,
    pub to: String,
    pub subject: String,
    /// Plain text.
    pub body: String,
    pub kind: MessageKind,
    /// The API key the message is about; null when it is about an OAuth client or a certificate.
    #[schema(nullable)]
    pub api_key_guid: Option<Guid>,
    /// The OAuth client the message is about; null otherwise.
    #[serde(rename = "OAuthClientGuid")]
    #[schema(nullable)]
    pub oauth_client_guid: Option<Guid>,
    /// The vault item whose certificate a certificate message is about; null otherwise.
    #[schema(nullable)]
    pub vault_item_guid: Option<Guid>,
    #[schema(format = DateTime)]
    pub created_at: String,
    pub status: MessageStatus,
    /// Delivery attempts made so far.
    pub attempts: u32,
    /// Why the last attempt failed (never a credential); null once sent.
    pub last_error: Option<String>,
    /// When the SMTP server accepted it.
    #[schema(format = DateTime)]
    pub sent_at: Option<String>,
    /// The Message-ID it was sent with, the same on every attempt; null before the first.
    pub message_id: Option<String>,
    /// When a Pending message is tried next (once `smtp_url` is set); null otherwise.
    #[schema(format = DateTime)]
    pub next_attempt_at: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OutboxQuery {
    /// Only this kind: KeyExpired, ExpiryReminder, CertificateReminder,
    /// CertificateExpired, GracePeriodStarted, GracePeriodEnding,
    /// UnusedWarning or UnusedRevoked.
    #[serde(rename = "Kind")]
    #[param(rename = "Kind", value_type = Option<MessageKind>)]
    pub kind: Option<String>,
    /// Only messages in this state: Pending, Sent or Failed.
    #[serde(rename = "Status")]
    #[param(rename = "Status", value_type = Option<MessageStatus>)]
    pub status: Option<String>,
    /// Only messages written at or after this instant (RFC 3339).
    #[serde(rename = "Since")]
    #[param(rename = "Since", format = DateTime)]
    pub since: Option<String>,
    /// At most this many messages (1–10000, default 1000), newest first.
    #[serde(rename = "Limit")]
    #[param(rename = "Limit", minimum = 1, maximum = 10000)]
    pub limit: Option<i64>,
}

pub struct Filter {
    kind: Option<&'static str>,
    status: Option<MessageStatus>,
    since_ms: Option<i64>,
    limit: i64,
}

impl Filter {
    pub fn all() -> Filter {
        Filter {
            kind: None,
            status: None,
            since_ms: None,
            limit: i64::MAX,
        }
    }
}

impl OutboxQuery {
    pub fn filter(self) -> AppResult<Filter> {
        let kind = match self.kind.as_deref() {
            None => None,
            Some(text) => Some(
                MessageKind::parse(text)
                    .ok_or_else(|| {
                        AppError::new(
                            ErrorCode::InvalidQuery,
                            format!(
                                "Kind must be one of {}.",
                                MessageKind::ALL.map(MessageKind::as_str).join(", ")
                            ),
                        )
                    })?
                    .as_str(),
            ),
        };
        let status = match self.status.as_deref() {
            None => None,
            Some(text) => Some(MessageStatus::parse(text).ok_or_else(|| {
                AppError::new(
                    ErrorCode::InvalidQuery,
                    "Status must be Pending, Sent or Failed.",
                )
            })?),
        };
        let (since_ms, limit) = since_and_limit(self.since.as_deref(), self.limit)?;
        Ok(Filter {
            kind,
            status,
            since_ms,
            limit,
        })
    }
}

impl From<OutboxRow> for OutboxMessage {
    fn from(r: OutboxRow) -> Self {
        // The CHECK constraint allows only these three.
        let status = MessageStatus::parse(&r.status).unwrap_or(MessageStatus::Pending);
        OutboxMessage {
            outbox_message_guid: r.guid,
            to: r.to,
            subject: r.subject,
            body: r.body,
            api_key_guid: r
                .api_key_guid
                .filter(|_| r.credential_kind == Some(CredentialKind::ApiKey)),
            oauth_client_guid: r
                .api_key_guid
                .filter(|_| r.credential_kind == Some(CredentialKind::OAuthClient)),
            vault_item_guid: r.vault_item_guid,
            // The CHECK constraint allows only these.
            kind: MessageKind::parse(&r.kind).unwrap_or(MessageKind::ExpiryReminder),
            created_at: rfc3339(r.created_at),
            status,
            attempts: r.attempts,
            last_error: r.last_error,
            sent_at: r.sent_at.map(rfc3339),
            message_id: r.message_id,
            next_attempt_at: (status == MessageStatus::Pending).then(|| rfc3339(r.next_attempt_at)),
        }
    }
}

/// Newest first.
pub fn list(conn: &Conn<'_>, f: &Filter) -> DbResult<Vec<OutboxMessage>> {
    Ok(repo::list(
        conn,
        f.kind,
        f.status.map(MessageStatus::as_str),
        f.since_ms,
        f.limit,
    )?
    .into_iter()
    .map(OutboxMessage::from)
    .collect())
}
