//! The outbox: e-mails waiting to be sent, written in the same transaction as
//! the change they announce. A UNIQUE (key, kind, expiry instant, days before)
//! makes every notice exactly once, however often and by whom the sweep runs.

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
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::KeyExpired => "KeyExpired",
            MessageKind::ExpiryReminder => "ExpiryReminder",
        }
    }
}

/// A complete e-mail.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct OutboxMessage {
    pub outbox_message_guid: Guid,
    pub to: String,
    pub subject: String,
    /// Plain text.
    pub body: String,
    pub kind: MessageKind,
    /// The API key the message is about; null when it is about an OAuth client.
    #[schema(nullable)]
    pub api_key_guid: Option<Guid>,
    /// The OAuth client the message is about; null when it is about an API key.
    #[serde(rename = "OAuthClientGuid")]
    #[schema(nullable)]
    pub oauth_client_guid: Option<Guid>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OutboxQuery {
    /// Only this kind: KeyExpired or ExpiryReminder.
    #[serde(rename = "Kind")]
    #[param(rename = "Kind", value_type = Option<MessageKind>)]
    pub kind: Option<String>,
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
    since_ms: Option<i64>,
    limit: i64,
}

impl Filter {
    pub fn all() -> Filter {
        Filter {
            kind: None,
            since_ms: None,
            limit: i64::MAX,
        }
    }
}

impl OutboxQuery {
    pub fn filter(self) -> AppResult<Filter> {
        let kind = match self.kind.as_deref() {
            None => None,
            Some("KeyExpired") => Some("KeyExpired"),
            Some("ExpiryReminder") => Some("ExpiryReminder"),
            Some(_) => {
                return Err(AppError::new(
                    ErrorCode::InvalidQuery,
                    "Kind must be KeyExpired or ExpiryReminder.",
                ));
            }
        };
        let (since_ms, limit) = since_and_limit(self.since.as_deref(), self.limit)?;
        Ok(Filter {
            kind,
            since_ms,
            limit,
        })
    }
}

impl From<OutboxRow> for OutboxMessage {
    fn from(r: OutboxRow) -> Self {
        OutboxMessage {
            outbox_message_guid: r.guid,
            to: r.to,
            subject: r.subject,
            body: r.body,
            api_key_guid: (r.credential_kind == CredentialKind::ApiKey).then_some(r.api_key_guid),
            oauth_client_guid: (r.credential_kind == CredentialKind::OAuthClient)
                .then_some(r.api_key_guid),
            kind: if r.kind == "KeyExpired" {
                MessageKind::KeyExpired
            } else {
                MessageKind::ExpiryReminder
            },
            created_at: rfc3339(r.created_at),
        }
    }
}

/// Newest first.
pub fn list(conn: &Conn<'_>, f: &Filter) -> DbResult<Vec<OutboxMessage>> {
    Ok(repo::list(conn, f.kind, f.since_ms, f.limit)?
        .into_iter()
        .map(OutboxMessage::from)
        .collect())
}
