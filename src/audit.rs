//! History (SPEC §7): every change records the object, the action, when, and
//! who — the API key and its contact's first and last name, copied so they
//! outlive the key. Written in the same transaction as the change. Details
//! name fields, never their values.

use rusqlite::Connection;

use crate::types::Guid;

/// Who made a change.
#[derive(Debug, Clone)]
pub struct Actor {
    pub api_key_guid: Option<Guid>,
    pub first_name: String,
    pub last_name: String,
}

impl Actor {
    pub fn key(guid: Guid, first: &str, last: &str) -> Actor {
        Actor {
            api_key_guid: Some(guid),
            first_name: first.to_string(),
            last_name: last.to_string(),
        }
    }

    /// coffre itself (init, the expiry sweep).
    pub fn system(what: &str) -> Actor {
        Actor {
            api_key_guid: None,
            first_name: "coffre".into(),
            last_name: what.into(),
        }
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

pub fn record(
    conn: &Connection,
    actor: &Actor,
    at_ms: i64,
    change: Change<'_>,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO history (at, object_type, object_guid, related_guid, action, api_key_guid,
                              contact_first_name, contact_last_name, details)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute((
        at_ms,
        change.object_type,
        change.object_guid,
        change.related_guid,
        change.action,
        actor.api_key_guid,
        &actor.first_name,
        &actor.last_name,
        &change.details,
    ))?;
    Ok(())
}

/// Records a refusal (`change`, usually action `Refused`) and returns `error`
/// marked so the writer commits that history line even though the request fails.
pub fn refuse(
    conn: &Connection,
    actor: &Actor,
    at_ms: i64,
    change: Change<'_>,
    error: crate::error::AppError,
) -> crate::error::AppError {
    match record(conn, actor, at_ms, change) {
        Ok(()) => error.keeping_writes(),
        Err(e) => e.into(),
    }
}

/// "Changed: Name, Notes" from the names of the fields a request touched.
pub fn fields_changed(fields: &[&str]) -> String {
    if fields.is_empty() {
        String::new()
    } else {
        format!("Fields: {}", fields.join(", "))
    }
}
