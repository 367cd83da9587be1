//! The in-memory index of credentials — API keys and OAuth clients — by the
//! lookup id of their secret: what authentication needs. Authenticating a
//! request (or a client at the token endpoint) is a hash-map read, one HMAC
//! and a constant-time compare, with no database hop and no slow KDF.
//!
//! The index is changed only by the writer thread, after the commit of the
//! change it reflects (see `db::AfterCommit`), so revoke, regenerate, delete
//! and edits take effect on the very next request, and never before they are
//! durable. Expiry needs no change at all: it is checked against the clock on
//! every request — nor does the end of a grace period (issue 15): a
//! credential's previous secret maps to the same entry, which refuses it from
//! `PreviousSecret::expires_at` on.
//!
//! Each entry also counts its use (LastUsedAt, LastUsedFrom, UseCount, the
//! previous secret's last use) in memory, per entry, with no global lock and
//! no write per request; `scheduler::flush_last_used` writes what changed.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use crate::db::api_keys::{self, ApiKeyRow, Usage};
use crate::db::{Conn, DbResult};
use crate::types::{CredentialKind, Guid, KeyStatus, PermissionSet, SecretUsed};

/// The secret a Regenerate with a grace period replaced: it keeps working
/// until `expires_at` (Unix ms), exclusive.
#[derive(Debug, Clone)]
pub struct PreviousSecret {
    pub lookup_id: String,
    pub secret_hash: [u8; 32],
    pub expires_at: i64,
}

/// One key or client, as authentication sees it.
#[derive(Debug)]
pub struct KeyEntry {
    pub id: i64,
    pub guid: Guid,
    pub kind: CredentialKind,
    /// An OAuth client's public id.
    pub client_id: Option<String>,
    pub lookup_id: String,
    pub secret_hash: [u8; 32],
    pub revoked: bool,
    /// Unix ms of the instant the key stops working, if it expires.
    pub expires_at: Option<i64>,
    pub permissions: PermissionSet,
    pub operator_id: i64,
    pub operator_active: AtomicBool,
    pub contact_first_name: String,
    pub contact_last_name: String,
    pub previous: Option<PreviousSecret>,
    /// Last successful authentication (Unix ms; 0 = never), written to the
    /// database at most every `last_used_flush_secs`, with the values below.
    pub last_used: AtomicI64,
    last_used_stored: AtomicI64,
    /// The client address of the latest authentication, with its instant
    /// (a per-entry lock: only requests of this same credential meet here).
    last_from: Mutex<(i64, Option<IpAddr>)>,
    /// Successful authentications, ever.
    use_count: AtomicI64,
    use_count_stored: AtomicI64,
    /// The previous secret's last successful authentication (0 = never).
    previous_last_used: AtomicI64,
    previous_last_used_stored: AtomicI64,
}

impl KeyEntry {
    /// Which of this entry's secrets has `lookup_id`, and its stored hash.
    pub fn secret_for(&self, lookup_id: &str) -> Option<(SecretUsed, &[u8; 32])> {
        if self.lookup_id == lookup_id {
            return Some((SecretUsed::Current, &self.secret_hash));
        }
        self.previous
            .as_ref()
            .filter(|p| p.lookup_id == lookup_id)
            .map(|p| (SecretUsed::Previous, &p.secret_hash))
    }

    /// Counts one successful authentication: O(1), per entry.
    pub fn touch(&self, now_ms: i64, secret: SecretUsed, from: Option<IpAddr>) {
        self.last_used.fetch_max(now_ms, Ordering::Relaxed);
        self.use_count.fetch_add(1, Ordering::Relaxed);
        if secret == SecretUsed::Previous {
            self.previous_last_used.fetch_max(now_ms, Ordering::Relaxed);
        }
        if from.is_some() {
            let mut last = self.last_from.lock().unwrap_or_else(|p| p.into_inner());
            if now_ms >= last.0 {
                *last = (now_ms, from);
            }
        }
    }

    pub fn last_used(&self) -> Option<i64> {
        Some(self.last_used.load(Ordering::Relaxed)).filter(|&t| t > 0)
    }

    /// The client address of the latest authentication this process saw.
    pub fn last_used_from(&self) -> Option<IpAddr> {
        self.last_from.lock().unwrap_or_else(|p| p.into_inner()).1
    }

    pub fn use_count(&self) -> i64 {
        self.use_count.load(Ordering::Relaxed)
    }

    /// When the previous secret was last used (0 = never, or none).
    pub fn previous_last_used(&self) -> i64 {
        self.previous_last_used.load(Ordering::Relaxed)
    }

    /// What changed since the last flush, as absolute values; None if nothing.
    fn unflushed(&self) -> Option<Usage> {
        let last_used = self.last_used.load(Ordering::Relaxed);
        let count = self.use_count.load(Ordering::Relaxed);
        let previous_used = self.previous_last_used.load(Ordering::Relaxed);
        let changed = last_used > self.last_used_stored.load(Ordering::Relaxed)
            || count > self.use_count_stored.load(Ordering::Relaxed)
            || previous_used > self.previous_last_used_stored.load(Ordering::Relaxed);
        changed.then(|| Usage {
            id: self.id,
            last_used_at: last_used,
            last_used_from: self.last_used_from().map(|ip| ip.to_string()),
            use_count: count,
            previous: self
                .previous
                .as_ref()
                .filter(|_| previous_used > 0)
                .map(|p| (p.lookup_id.clone(), previous_used)),
        })
    }

    fn mark_flushed(&self, u: &Usage) {
        self.last_used_stored
            .fetch_max(u.last_used_at, Ordering::Relaxed);
        self.use_count_stored
            .fetch_max(u.use_count, Ordering::Relaxed);
        if let Some((_, at)) = &u.previous {
            self.previous_last_used_stored
                .fetch_max(*at, Ordering::Relaxed);
        }
    }

    /// Carries what memory counted for the entry this one replaces.
    fn inherit(&self, old: &KeyEntry) {
        for (new, old) in [
            (&self.last_used, &old.last_used),
            (&self.last_used_stored, &old.last_used_stored),
            (&self.use_count, &old.use_count),
            (&self.use_count_stored, &old.use_count_stored),
        ] {
            new.fetch_max(old.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        // The previous secret's use only while it is the same secret.
        let same_previous = match (&self.previous, &old.previous) {
            (Some(a), Some(b)) => a.lookup_id == b.lookup_id,
            _ => false,
        };
        if same_previous {
            for (new, old) in [
                (&self.previous_last_used, &old.previous_last_used),
                (
                    &self.previous_last_used_stored,
                    &old.previous_last_used_stored,
                ),
            ] {
                new.fetch_max(old.load(Ordering::Relaxed), Ordering::Relaxed);
            }
        }
        let old_from = *old.last_from.lock().unwrap_or_else(|p| p.into_inner());
        let mut from = self.last_from.lock().unwrap_or_else(|p| p.into_inner());
        if old_from.1.is_some() && old_from.0 >= from.0 {
            *from = old_from;
        }
    }

    pub fn operator_active(&self) -> bool {
        self.operator_active.load(Ordering::Relaxed)
    }

    /// Why this credential, its secret verified, may not be used at `now_ms`.
    pub fn refusal(&self, now_ms: i64) -> Option<Refusal> {
        if self.revoked {
            return Some(Refusal::Revoked);
        }
        if let Some(expires_at) = self.expires_at
            && now_ms >= expires_at
        {
            return Some(Refusal::Expired(expires_at));
        }
        if !self.operator_active() {
            return Some(Refusal::OperatorDeactivated);
        }
        None
    }

    /// `refusal`, and for the previous secret, the end of its grace period:
    /// accepted up to the millisecond before `expires_at`, refused from it on.
    pub fn refusal_for(&self, secret: SecretUsed, now_ms: i64) -> Option<Refusal> {
        if let Some(refusal) = self.refusal(now_ms) {
            return Some(refusal);
        }
        match (secret, &self.previous) {
            (SecretUsed::Previous, Some(p)) if now_ms >= p.expires_at => {
                Some(Refusal::PreviousEnded(p.expires_at))
            }
            _ => None,
        }
    }
}

/// Why a credential whose secret was verified is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Revoked,
    /// At this instant (Unix ms).
    Expired(i64),
    OperatorDeactivated,
    /// The previous secret, whose grace period ended at this instant (Unix ms).
    PreviousEnded(i64),
}

impl From<&ApiKeyRow> for KeyEntry {
    fn from(row: &ApiKeyRow) -> Self {
        let last_used = row.last_used_at.unwrap_or(0);
        let previous_used = row
            .previous
            .as_ref()
            .and_then(|p| p.last_used_at)
            .unwrap_or(0);
        let from = row
            .last_used_from
            .as_deref()
            .and_then(|a| a.parse::<IpAddr>().ok());
        KeyEntry {
            id: row.id,
            guid: row.guid,
            kind: row.kind,
            client_id: row.client_id.clone(),
            lookup_id: row.lookup_id.clone(),
            secret_hash: row.secret_hash,
            revoked: row.status == KeyStatus::Revoked,
            expires_at: row.expires_at,
            permissions: row.effective_permissions(),
            operator_id: row.operator_id,
            operator_active: AtomicBool::new(row.operator_active),
            contact_first_name: row.contact_first_name.clone(),
            contact_last_name: row.contact_last_name.clone(),
            previous: row.previous.as_ref().map(|p| PreviousSecret {
                lookup_id: p.lookup_id.clone(),
                secret_hash: p.secret_hash,
                expires_at: p.expires_at,
            }),
            last_used: AtomicI64::new(last_used),
            last_used_stored: AtomicI64::new(last_used),
            last_from: Mutex::new((last_used, from)),
            use_count: AtomicI64::new(row.use_count),
            use_count_stored: AtomicI64::new(row.use_count),
            previous_last_used: AtomicI64::new(previous_used),
            previous_last_used_stored: AtomicI64::new(previous_used),
        }
    }
}

/// Reads one key's entry (inside the transaction that changed it).
pub fn load_entry(conn: &Conn<'_>, key_id: i64) -> DbResult<KeyEntry> {
    Ok(KeyEntry::from(&api_keys::find_by_id(conn, key_id)?))
}

#[derive(Debug, Default)]
struct Maps {
    by_lookup: HashMap<String, Arc<KeyEntry>>,
    by_id: HashMap<i64, Arc<KeyEntry>>,
}

impl Maps {
    fn insert(&mut self, entry: Arc<KeyEntry>) {
        self.by_id.insert(entry.id, entry.clone());
        if let Some(p) = &entry.previous {
            self.by_lookup.insert(p.lookup_id.clone(), entry.clone());
        }
        self.by_lookup.insert(entry.lookup_id.clone(), entry);
    }

    fn remove(&mut self, key_id: i64) -> Option<Arc<KeyEntry>> {
        let old = self.by_id.remove(&key_id)?;
        self.by_lookup.remove(&old.lookup_id);
        if let Some(p) = &old.previous {
            self.by_lookup.remove(&p.lookup_id);
        }
        Some(old)
    }
}

/// How many keys are in each state (for the metrics).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct KeyCounts {
    pub active: u64,
    pub expired: u64,
    pub revoked: u64,
    /// Active, and expiring before the horizon asked for.
    pub expiring: u64,
}

#[derive(Debug, Default)]
pub struct AuthIndex {
    maps: RwLock<Maps>,
    /// Bumped when the whole index is replaced (a dev reset), so that a
    /// LastUsedAt flush computed before cannot write into the new state.
    generation: AtomicU64,
    /// Bumped by every change this process makes (under the maps' lock), so
    /// that a reload read from the database before the change cannot undo
    /// it (`refresh_from`).
    changes: AtomicU64,
}

impl AuthIndex {
    pub fn load(conn: &Conn<'_>) -> DbResult<AuthIndex> {
        let mut maps = Maps::default();
        for row in api_keys::list(conn)? {
            maps.insert(Arc::new(KeyEntry::from(&row)));
        }
        Ok(AuthIndex {
            maps: RwLock::new(maps),
            generation: AtomicU64::new(0),
            changes: AtomicU64::new(0),
        })
    }

    /// Takes every entry of `fresh` (loaded from a database just restored)
    /// in place of its own, in-memory LastUsedAt values included.
    pub fn replace_all(&self, fresh: AuthIndex) {
        let maps = fresh.maps.into_inner().unwrap_or_else(|p| p.into_inner());
        *self.write() = maps;
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// What `refresh_from` compares: read it before loading `fresh`.
    pub fn changes(&self) -> u64 {
        self.changes.load(Ordering::SeqCst)
    }

    /// Takes every entry of `fresh` (loaded again because another node
    /// changed the database), keeping the LastUsedAt values this process
    /// holds and has not written yet — unless this process changed the index
    /// since `seen` (its `changes()` before `fresh` was read): `fresh` may
    /// predate that change (a key revoked here would come back), so nothing
    /// is taken and false says to load again.
    pub fn refresh_from(&self, fresh: AuthIndex, seen: u64) -> bool {
        let maps = fresh.maps.into_inner().unwrap_or_else(|p| p.into_inner());
        let mut current = self.write();
        if self.changes() != seen {
            return false;
        }
        for entry in maps.by_id.values() {
            if let Some(old) = current.by_id.get(&entry.id) {
                entry.inherit(old);
            }
        }
        *current = maps;
        true
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Maps> {
        self.maps.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Maps> {
        self.maps.write().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, lookup_id: &str) -> Option<Arc<KeyEntry>> {
        self.read().by_lookup.get(lookup_id).cloned()
    }

    pub fn by_id(&self, key_id: i64) -> Option<Arc<KeyEntry>> {
        self.read().by_id.get(&key_id).cloned()
    }

    /// Replaces the key's entry (its lookup ids may have changed: regenerate),
    /// keeping what memory counted of its use.
    pub fn upsert(&self, entry: KeyEntry) {
        let mut maps = self.write();
        if let Some(old) = maps.remove(entry.id) {
            entry.inherit(&old);
        }
        maps.insert(Arc::new(entry));
        self.changes.fetch_add(1, Ordering::SeqCst);
    }

    pub fn remove(&self, key_id: i64) {
        let mut maps = self.write();
        maps.remove(key_id);
        self.changes.fetch_add(1, Ordering::SeqCst);
    }

    /// An operator was (de)activated: every key acting as it follows.
    pub fn set_operator_active(&self, operator_id: i64, active: bool) {
        let maps = self.read();
        for e in maps.by_id.values().filter(|e| e.operator_id == operator_id) {
            e.operator_active.store(active, Ordering::Relaxed);
        }
        // Still under the read lock: a reload cannot swap the maps in between.
        self.changes.fetch_add(1, Ordering::SeqCst);
    }

    /// Usage newer than what the database holds.
    pub fn unflushed_usage(&self) -> Vec<Usage> {
        self.read()
            .by_id
            .values()
            .filter_map(|e| e.unflushed())
            .collect()
    }

    /// Records that these values are now in the database.
    pub fn mark_flushed(&self, flushed: &[Usage]) {
        let maps = self.read();
        for u in flushed {
            if let Some(e) = maps.by_id.get(&u.id) {
                e.mark_flushed(u);
            }
        }
    }

    /// Keys by status as of `now_ms` (Unix ms), and the active ones that
    /// expire by `soon_ms`. One pass over the index, no database.
    pub fn counts(&self, now_ms: i64, soon_ms: i64) -> KeyCounts {
        let mut c = KeyCounts::default();
        for e in self.read().by_id.values() {
            match e.expires_at {
                _ if e.revoked => c.revoked += 1,
                Some(at) if now_ms >= at => c.expired += 1,
                Some(at) => {
                    c.active += 1;
                    if at <= soon_ms {
                        c.expiring += 1;
                    }
                }
                None => c.active += 1,
            }
        }
        c
    }

    pub fn len(&self) -> usize {
        self.read().by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An active key's row with nothing set (for unit tests of what reads it).
#[cfg(test)]
pub(crate) fn test_row(id: i64) -> ApiKeyRow {
    ApiKeyRow {
        id,
        guid: Guid::new_random(),
        kind: CredentialKind::ApiKey,
        client_id: None,
        lookup_id: format!("lookup{id}"),
        secret_hash: [7; 32],
        masked_key: String::new(),
        name: "key".into(),
        description: String::new(),
        contact_first_name: String::new(),
        contact_last_name: String::new(),
        operator_id: 40 + id,
        operator_guid: Guid::new_random(),
        contact_email: String::new(),
        contact_login: String::new(),
        operator_active: true,
        expiration_date: None,
        expires_at: None,
        enable_permissions: false,
        permissions: PermissionSet::all(),
        status: KeyStatus::Active,
        created_at: 0,
        last_used_at: None,
        last_used_from: None,
        use_count: 0,
        active_since: 0,
        previous: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: i64, revoked: bool) -> KeyEntry {
        let mut row = test_row(id);
        if revoked {
            row.status = KeyStatus::Revoked;
        }
        KeyEntry::from(&row)
    }

    fn with(entries: Vec<KeyEntry>) -> AuthIndex {
        let index = AuthIndex::default();
        for e in entries {
            index.upsert(e);
        }
        index
    }

    /// A reload read before this process revoked a key (or deactivated its
    /// operator) must not bring it back; one read after is taken.
    #[test]
    fn a_reload_read_before_a_change_made_here_does_not_undo_it() {
        let index = with(vec![entry(1, false)]);
        let seen = index.changes();
        let stale = with(vec![entry(1, false)]);
        index.upsert(entry(1, true));
        assert!(!index.refresh_from(stale, seen));
        assert!(index.by_id(1).unwrap().revoked, "the revocation was undone");

        let seen = index.changes();
        let stale = with(vec![entry(1, true)]);
        index.set_operator_active(41, false);
        assert!(!index.refresh_from(stale, seen));
        assert!(!index.by_id(1).unwrap().operator_active());

        let seen = index.changes();
        assert!(index.refresh_from(with(vec![entry(1, true), entry(2, false)]), seen));
        assert!(index.by_id(2).is_some(), "another node's key");
    }
}
