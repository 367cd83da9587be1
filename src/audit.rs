//! History (SPEC §7): every change records the object, the action, when, and
//! who — the API key or OAuth client and its contact's first and last name,
//! copied so they outlive the credential, and the client address the request
//! came from. Written in the same transaction as the change. Details name
//! fields, never their values.

use std::net::IpAddr;

use crate::db::{Conn, DbResult, history};
use crate::types::{CredentialKind, Guid, SecretUsed};

/// Who made a change, and from which client address.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The credential, or `None` for coffre itself.
    pub credential: Option<(CredentialKind, Guid)>,
    pub first_name: String,
    pub last_name: String,
    /// The request's client (the forwarded one behind trusted proxies);
    /// None for coffre itself.
    pub client_address: Option<IpAddr>,
    /// Which of the credential's secrets the request was made with (for an
    /// access token, the client secret that obtained it); None for coffre.
    pub secret_used: Option<SecretUsed>,
}

impl Actor {
    /// An API key, or an OAuth client through one of its access tokens.
    pub fn credential(kind: CredentialKind, guid: Guid, first: &str, last: &str) -> Actor {
        Actor {
            credential: Some((kind, guid)),
            first_name: first.to_string(),
            last_name: last.to_string(),
            client_address: None,
            secret_used: None,
        }
    }

    pub fn from_address(mut self, address: Option<IpAddr>) -> Actor {
        self.client_address = address;
        self
    }

    pub fn with_secret(mut self, secret: SecretUsed) -> Actor {
        self.secret_used = Some(secret);
        self
    }

    /// coffre itself (init, the expiry sweep).
    pub fn system(what: &str) -> Actor {
        Actor {
            credential: None,
            first_name: "coffre".into(),
            last_name: what.into(),
            client_address: None,
            secret_used: None,
        }
    }

    pub fn guid_of(&self, kind: CredentialKind) -> Option<Guid> {
        self.credential
            .and_then(|(k, guid)| (k == kind).then_some(guid))
    }
}

/// One history line.
pub struct Change<'a> {
    pub object_type: &'a str,
    pub object_guid: Guid,
    /// The section an item or authorization belongs to.
    pub related_guid: Option<Guid>,
    pub action: &'a str,
    pub details: String,
}

impl<'a> Change<'a> {
    pub fn new(object_type: &'a str, object_guid: Guid, action: &'a str, details: String) -> Self {
        Change {
            object_type,
            object_guid,
            related_guid: None,
            action,
            details,
        }
    }

    /// Marks the section the object belongs to, so the section's history shows it.
    pub fn within(mut self, section: Option<Guid>) -> Self {
        self.related_guid = section;
        self
    }
}

pub fn record(conn: &Conn<'_>, actor: &Actor, at_ms: i64, change: Change<'_>) -> DbResult<()> {
    history::insert(
        conn,
        &history::NewHistory {
            at: at_ms,
            object_type: change.object_type,
            object_guid: change.object_guid,
            related_guid: change.related_guid,
            action: change.action,
            api_key_guid: actor.guid_of(CredentialKind::ApiKey),
            oauth_client_guid: actor.guid_of(CredentialKind::OAuthClient),
            contact_first_name: &actor.first_name,
            contact_last_name: &actor.last_name,
            client_address: actor.client_address.map(|ip| ip.to_string()).as_deref(),
            secret_used: actor.secret_used.map(SecretUsed::as_str),
            details: &change.details,
        },
    )
}

/// "Changed: Name, Notes" from the names of the fields a request touched.
pub fn fields_changed(fields: &[&str]) -> String {
    if fields.is_empty() {
        String::new()
    } else {
        format!("Fields: {}", fields.join(", "))
    }
}
