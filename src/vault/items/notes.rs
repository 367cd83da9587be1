//! Item Notes at rest. On SQLite the whole file is encrypted (SQLCipher), so
//! Notes are stored as written. On PostgreSQL that layer is gone: Notes are
//! sealed like the secrets (same data key; associated data naming
//! `vault_items`, the item's GUID and `notes`) and stored base64 in the
//! `notes` text column — empty Notes too, so an empty one looks like any
//! other. They are not a secret to View holders: GET shows them as today.

use base64::Engine;

use crate::crypto::{SealContext, SealError, Sealer};
use crate::db::Dialect;
use crate::error::AppResult;
use crate::types::Guid;
use crate::work::Work;

fn context(guid: &str) -> SealContext<'_> {
    SealContext::new("vault_items", guid, "notes")
}

/// The stored form of `notes` on PostgreSQL (also `migrate --to`).
pub fn seal(sealer: &Sealer, guid: &str, notes: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(sealer.seal(&context(guid), notes.as_bytes()))
}

/// The Notes of a row stored by `seal`.
pub fn open(sealer: &Sealer, guid: &str, stored: &str) -> Result<String, SealError> {
    let blob = base64::engine::general_purpose::STANDARD
        .decode(stored)
        .map_err(|_| SealError::Malformed)?;
    Ok(sealer.open_string(&context(guid), &blob)?.to_string())
}

fn sealed_here(w: &Work<'_>) -> bool {
    w.conn.dialect() == Dialect::Postgres
}

/// `notes` as this engine stores them.
pub(super) fn to_stored(w: &Work<'_>, guid: Guid, notes: &str) -> String {
    if sealed_here(w) {
        seal(&w.state.keys.sealer, &guid.to_text(), notes)
    } else {
        notes.to_string()
    }
}

/// The Notes a row holds, as this engine stored them.
pub(super) fn from_stored(w: &Work<'_>, guid: Guid, stored: String) -> AppResult<String> {
    if sealed_here(w) {
        Ok(open(&w.state.keys.sealer, &guid.to_text(), &stored)?)
    } else {
        Ok(stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SecretKey;

    #[test]
    fn sealed_notes_open_only_on_their_own_item() {
        let sealer = Sealer::new(vec![(1, SecretKey::random())], 1);
        let stored = seal(&sealer, "item-a", "the door code is on the fridge");
        assert!(!stored.contains("fridge"));
        assert_eq!(
            open(&sealer, "item-a", &stored).unwrap(),
            "the door code is on the fridge"
        );
        assert_eq!(
            open(&sealer, "item-b", &stored),
            Err(SealError::Authentication)
        );
        assert_eq!(
            open(&sealer, "item-a", "not base64!"),
            Err(SealError::Malformed)
        );
        // Empty Notes are sealed too: nothing tells them apart at rest.
        assert_ne!(seal(&sealer, "item-a", ""), "");
    }
}
