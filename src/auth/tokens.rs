//! The in-memory index of OAuth 2.0 access tokens: lookup id → the token's
//! hash, client, scopes and expiry. A request carrying an access token is
//! authenticated from here and from the credential index (its client's state)
//! with no database hop, as a key is.
//!
//! Like the credential index it changes only after the commit of what it
//! reflects (an issued token, a revoked one, a client revoked, regenerated or
//! deleted, an operator deactivated).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crate::db::oauth_tokens::{self, TokenRow};
use crate::db::{Conn, DbResult};
use crate::types::{PermissionSet, SecretUsed};

/// One access token, as authentication sees it.
#[derive(Debug)]
pub struct TokenEntry {
    pub lookup_id: String,
    pub token_hash: [u8; 32],
    /// The OAuth client's id in the credential index.
    pub credential_id: i64,
    /// What it was issued with; its client's current scopes narrow it further.
    pub scopes: PermissionSet,
    /// Unix ms of the instant it stops working.
    pub expires_at: i64,
    /// The client secret that obtained it (history records it).
    pub secret_used: SecretUsed,
}

impl From<TokenRow> for TokenEntry {
    fn from(row: TokenRow) -> Self {
        TokenEntry {
            lookup_id: row.lookup_id,
            token_hash: row.token_hash,
            credential_id: row.credential_id,
            scopes: row.scopes,
            expires_at: row.expires_at,
            secret_used: row.secret_used,
        }
    }
}

#[derive(Debug, Default)]
pub struct TokenIndex {
    by_lookup: RwLock<HashMap<String, Arc<TokenEntry>>>,
    /// Bumped by every change this process makes (under the lock): see
    /// `reload`.
    changes: AtomicU64,
}

impl TokenIndex {
    /// Loads the tokens still valid at `now_ms`.
    pub fn load(&self, conn: &Conn<'_>, now_ms: i64) -> DbResult<()> {
        let rows = oauth_tokens::live(conn, now_ms)?;
        let mut map = self.write();
        map.clear();
        for row in rows {
            map.insert(row.lookup_id.clone(), Arc::new(TokenEntry::from(row)));
        }
        Ok(())
    }

    /// What `reload` compares: read it before reading the database.
    pub fn changes(&self) -> u64 {
        self.changes.load(Ordering::SeqCst)
    }

    /// `load` for a node hearing of another's change: takes the tokens
    /// read from the database unless this process issued or revoked one
    /// since `seen` (its `changes()` before the read), which they may
    /// predate (a token revoked here would come back); false says to read
    /// again.
    pub fn reload(&self, conn: &Conn<'_>, now_ms: i64, seen: u64) -> DbResult<bool> {
        let rows = oauth_tokens::live(conn, now_ms)?;
        let mut map = self.write();
        if self.changes() != seen {
            return Ok(false);
        }
        map.clear();
        for row in rows {
            map.insert(row.lookup_id.clone(), Arc::new(TokenEntry::from(row)));
        }
        Ok(true)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<TokenEntry>>> {
        self.by_lookup.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<TokenEntry>>> {
        self.by_lookup.write().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, lookup_id: &str) -> Option<Arc<TokenEntry>> {
        self.read().get(lookup_id).cloned()
    }

    pub fn insert(&self, entry: TokenEntry) {
        let mut map = self.write();
        map.insert(entry.lookup_id.clone(), Arc::new(entry));
        self.changes.fetch_add(1, Ordering::SeqCst);
    }

    pub fn remove(&self, lookup_ids: &[String]) {
        if lookup_ids.is_empty() {
            return;
        }
        let mut map = self.write();
        for id in lookup_ids {
            map.remove(id);
        }
        self.changes.fetch_add(1, Ordering::SeqCst);
    }

    /// Forgets tokens expired at `now_ms` (the daily sweep); returns how many.
    pub fn forget_expired(&self, now_ms: i64) -> usize {
        let mut map = self.write();
        let before = map.len();
        map.retain(|_, e| e.expires_at > now_ms);
        before - map.len()
    }

    pub fn len(&self) -> usize {
        self.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
