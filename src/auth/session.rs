//! Console sessions (issue 13). The console sends an API key once, to
//! `POST /v4/Session`, and from then on holds a random session id in an
//! `HttpOnly; SameSite=Strict` cookie that no page script can read. The
//! server keeps sessions in memory, by the keyed hash of their id
//! (`crypto::session`), each bound to the key it was opened with.
//!
//! Checking a session is as cheap as checking a key, and from memory: one
//! HMAC, a map read, and the key's entry in the `AuthIndex`. A session ends,
//! for good, when it sat unused for `session_idle_timeout_mins`, when it
//! reaches `session_lifetime_hours`, on sign-out, and when its key is
//! revoked, regenerated (its secret hash changes), deleted, reaches the
//! expiry it had at sign-in (so extending the key later does not revive
//! it) or its operator is deactivated (`end_for_operator`, after the commit).
//!
//! A request authenticated by the cookie acts with exactly the key's
//! permissions; when it changes state (anything but GET and HEAD) it must
//! also come from the server's own origin (`http::origin`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::Method;
use actix_web::{HttpMessage, HttpRequest, web};
use zeroize::Zeroizing;

use super::index::{AuthIndex, KeyEntry, Refusal};
use super::principal::{Principal, client_address};
use crate::crypto::session::{SessionHasher, SessionId};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::state::AppState;
use crate::types::{CredentialKind, Guid, SecretUsed};

/// The cookie's name.
pub const COOKIE: &str = "coffre_session";

/// Sessions one key may hold at once; signing in again past this ends the
/// one used least recently.
const PER_KEY: usize = 16;

/// Sessions held at once, all keys together (about 150 bytes each).
const MAX_SESSIONS: usize = 10_000;

struct Session {
    key_id: i64,
    key_guid: Guid,
    operator_id: i64,
    /// The key's secret hash at sign-in: a regenerated key no longer has it.
    secret_hash: [u8; 32],
    /// The key's expiry at sign-in (Unix ms).
    key_expires_at: Option<i64>,
    opened_ms: i64,
    last_seen_ms: AtomicI64,
}

/// Why a session cookie is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Never existed, or already ended (sign-out, a restart of the server).
    Unknown,
    Idle,
    Lifetime,
    KeyRevoked,
    KeyRegenerated,
    KeyExpired,
    KeyDeleted,
    OperatorDeactivated,
}

impl Ended {
    fn reason(self) -> &'static str {
        match self {
            Ended::Unknown => {
                "it is not a current session (it was signed out, ended earlier, or the server \
                 restarted)"
            }
            Ended::Idle => "it was not used for longer than the idle timeout",
            Ended::Lifetime => "it reached its maximum lifetime",
            Ended::KeyRevoked => "the API key it was opened with was revoked",
            Ended::KeyRegenerated => "the API key it was opened with was given a new secret",
            Ended::KeyExpired => "the API key it was opened with expired",
            Ended::KeyDeleted => "the API key it was opened with was deleted",
            Ended::OperatorDeactivated => "the operator of its API key was deactivated",
        }
    }

    pub fn error(self) -> AppError {
        AppError::new(
            ErrorCode::SessionEnded,
            format!(
                "Your console session has ended: {}. Sign in again with a valid API key.",
                self.reason()
            ),
        )
    }
}

/// The session a request came with (in its extensions), for
/// `GET /v4/Session`.
#[derive(Debug, Clone, Copy)]
pub struct CurrentSession {
    /// When it ends at the latest (Unix ms), used or not.
    pub ends_at_ms: i64,
}

/// Every open session.
pub struct Sessions {
    hasher: SessionHasher,
    table: RwLock<HashMap<[u8; 32], Arc<Session>>>,
    idle_ms: i64,
    lifetime_ms: i64,
}

impl Sessions {
    pub fn new(idle_timeout_mins: u64, lifetime_hours: u64) -> Sessions {
        Sessions {
            hasher: SessionHasher::random(),
            table: RwLock::default(),
            idle_ms: (idle_timeout_mins as i64).saturating_mul(60_000),
            lifetime_ms: (lifetime_hours as i64).saturating_mul(3_600_000),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<[u8; 32], Arc<Session>>> {
        self.table.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<[u8; 32], Arc<Session>>> {
        self.table.write().unwrap_or_else(|p| p.into_inner())
    }

    pub fn idle_timeout_mins(&self) -> i64 {
        self.idle_ms / 60_000
    }

    /// Opens a session for `key` (whose secret the caller just verified) and
    /// returns the cookie's value, which is never stored.
    pub fn open(&self, key: &KeyEntry, now_ms: i64) -> Zeroizing<String> {
        let (id, text) = SessionId::generate();
        let digest = self.hasher.hash(&id);
        let session = Arc::new(Session {
            key_id: key.id,
            key_guid: key.guid,
            operator_id: key.operator_id,
            secret_hash: key.secret_hash,
            key_expires_at: key.expires_at,
            opened_ms: now_ms,
            last_seen_ms: AtomicI64::new(now_ms),
        });
        let mut table = self.write();
        let mine: Vec<([u8; 32], i64)> = table
            .iter()
            .filter(|(_, s)| s.key_id == key.id)
            .map(|(d, s)| (*d, s.last_seen_ms.load(Ordering::Relaxed)))
            .collect();
        if mine.len() >= PER_KEY
            && let Some((oldest, _)) = mine.iter().min_by_key(|(_, seen)| *seen)
        {
            table.remove(oldest);
        }
        if table.len() >= MAX_SESSIONS {
            table.retain(|_, s| self.alive_in_time(s, now_ms));
        }
        if table.len() >= MAX_SESSIONS
            && let Some(oldest) = table
                .iter()
                .min_by_key(|(_, s)| s.last_seen_ms.load(Ordering::Relaxed))
                .map(|(d, _)| *d)
        {
            table.remove(&oldest);
        }
        table.insert(digest, session);
        text
    }

    /// When a session opened at `opened_ms` ends at the latest.
    pub fn ends_at(&self, opened_ms: i64) -> i64 {
        opened_ms.saturating_add(self.lifetime_ms)
    }

    fn alive_in_time(&self, s: &Session, now_ms: i64) -> bool {
        now_ms - s.last_seen_ms.load(Ordering::Relaxed) < self.idle_ms
            && now_ms - s.opened_ms < self.lifetime_ms
    }

    /// Whether the session still stands, and with which key entry.
    fn check(&self, s: &Session, index: &AuthIndex, now_ms: i64) -> Result<Arc<KeyEntry>, Ended> {
        if now_ms - s.last_seen_ms.load(Ordering::Relaxed) >= self.idle_ms {
            return Err(Ended::Idle);
        }
        if now_ms - s.opened_ms >= self.lifetime_ms {
            return Err(Ended::Lifetime);
        }
        let entry = index
            .by_id(s.key_id)
            .filter(|e| e.guid == s.key_guid && e.kind == CredentialKind::ApiKey)
            .ok_or(Ended::KeyDeleted)?;
        if entry.secret_hash != s.secret_hash {
            return Err(Ended::KeyRegenerated);
        }
        match entry.refusal(now_ms) {
            Some(Refusal::Revoked) => return Err(Ended::KeyRevoked),
            // (`refusal` never says PreviousEnded: that is `refusal_for`'s.)
            Some(Refusal::Expired(_) | Refusal::PreviousEnded(_)) => return Err(Ended::KeyExpired),
            Some(Refusal::OperatorDeactivated) => return Err(Ended::OperatorDeactivated),
            None => {}
        }
        if s.key_expires_at.is_some_and(|at| now_ms >= at) {
            return Err(Ended::KeyExpired);
        }
        Ok(entry)
    }

    /// The key behind a cookie, and the session's end; a session found
    /// ended is forgotten, so it never comes back.
    pub fn resolve(
        &self,
        cookie: &str,
        index: &AuthIndex,
        now_ms: i64,
    ) -> Result<(Arc<KeyEntry>, CurrentSession), Ended> {
        let id = SessionId::parse(cookie).ok_or(Ended::Unknown)?;
        let digest = self.hasher.hash(&id);
        let session = self.read().get(&digest).cloned().ok_or(Ended::Unknown)?;
        match self.check(&session, index, now_ms) {
            Ok(entry) => {
                session.last_seen_ms.fetch_max(now_ms, Ordering::Relaxed);
                let ends = CurrentSession {
                    ends_at_ms: self.ends_at(session.opened_ms),
                };
                Ok((entry, ends))
            }
            Err(ended) => {
                self.write().remove(&digest);
                Err(ended)
            }
        }
    }

    /// Sign-out: forgets the session, if there is one.
    pub fn close(&self, cookie: &str) -> bool {
        let Some(id) = SessionId::parse(cookie) else {
            return false;
        };
        let digest = self.hasher.hash(&id);
        self.write().remove(&digest).is_some()
    }

    /// Ends every session of the keys acting as this operator (it was
    /// deactivated: reactivating it must not revive them).
    pub fn end_for_operator(&self, operator_id: i64) {
        self.write().retain(|_, s| s.operator_id != operator_id);
    }

    /// Forgets every session (a dev reset).
    pub fn clear(&self) {
        self.write().clear();
    }

    pub fn len(&self) -> usize {
        self.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// GET and HEAD read; everything else changes state and must pass the
/// same-origin check when a cookie authenticates it.
pub fn changes_state(method: &Method) -> bool {
    !(method == Method::GET || method == Method::HEAD)
}

/// The principal of a request that came with a session cookie (and no key).
pub fn authenticate(req: &HttpRequest, cookie: &str) -> AppResult<Principal> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::internal("application state missing"))?;
    if changes_state(req.method()) {
        crate::http::origin::require_same_origin(req)?;
    }
    let now = state.clock.now_millis();
    let (entry, current) = state
        .sessions
        .resolve(cookie, &state.auth.index, now)
        .map_err(Ended::error)?;
    let client = client_address(req);
    // A session is bound to the key's current secret (it ends at Regenerate).
    entry.touch(now, SecretUsed::Current, Some(client.ip));
    req.extensions_mut().insert(current);
    Ok(Principal::from_entry(entry).with_client(client))
}

/// The `Set-Cookie` of a new session: `HttpOnly` (no script reads it),
/// `SameSite=Strict` (no other site sends it), `Secure` when the request
/// came over TLS, directly or through a trusted proxy. No `Max-Age`: it
/// goes with the browser; the server ends it sooner.
pub fn cookie(value: &str, https: bool) -> Cookie<'static> {
    Cookie::build(COOKIE, value.to_string())
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/")
        .secure(https)
        .finish()
}

/// The `Set-Cookie` that makes the browser forget the session.
pub fn removal(https: bool) -> Cookie<'static> {
    let mut c = cookie("", https);
    c.make_removal();
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_GUID: Guid = Guid(uuid::Uuid::from_u128(0x0A1B_2C3D));

    fn entry(id: i64, hash: u8, expires_at: Option<i64>) -> KeyEntry {
        KeyEntry::from(&crate::db::api_keys::ApiKeyRow {
            guid: KEY_GUID,
            secret_hash: [hash; 32],
            name: "console".into(),
            expires_at,
            ..crate::auth::index::test_row(id)
        })
    }

    fn index_with(entries: Vec<KeyEntry>) -> AuthIndex {
        let index = AuthIndex::default();
        for e in entries {
            index.upsert(e);
        }
        index
    }

    #[test]
    fn a_session_ends_when_idle_at_its_lifetime_and_for_good() {
        let sessions = Sessions::new(30, 1);
        let index = index_with(vec![entry(1, 7, None)]);
        let key = index.by_id(1).unwrap();
        let cookie = sessions.open(&key, 0);
        let min = 60_000;
        assert!(sessions.resolve(&cookie, &index, 29 * min).is_ok());
        assert!(
            sessions.resolve(&cookie, &index, 58 * min).is_ok(),
            "use resets idleness"
        );
        assert_eq!(
            sessions.resolve(&cookie, &index, 60 * min).unwrap_err(),
            Ended::Lifetime
        );
        assert_eq!(
            sessions.resolve(&cookie, &index, 61 * min).unwrap_err(),
            Ended::Unknown,
            "an ended session is forgotten"
        );
        let cookie = sessions.open(&key, 0);
        assert_eq!(
            sessions.resolve(&cookie, &index, 30 * min).unwrap_err(),
            Ended::Idle
        );
    }

    #[test]
    fn a_session_follows_its_key() {
        let sessions = Sessions::new(30, 12);
        let index = index_with(vec![entry(1, 7, Some(1_000))]);
        let cookie = sessions.open(&index.by_id(1).unwrap(), 0);
        index.upsert(entry(1, 8, Some(1_000)));
        assert_eq!(
            sessions.resolve(&cookie, &index, 1).unwrap_err(),
            Ended::KeyRegenerated
        );

        let cookie = sessions.open(&index.by_id(1).unwrap(), 0);
        assert_eq!(
            sessions.resolve(&cookie, &index, 1_000).unwrap_err(),
            Ended::KeyExpired
        );

        let cookie = sessions.open(&index.by_id(1).unwrap(), 0);
        index.upsert(entry(1, 8, Some(5_000)));
        assert_eq!(
            sessions.resolve(&cookie, &index, 1_000).unwrap_err(),
            Ended::KeyExpired,
            "the expiry the key had at sign-in still ends the session"
        );

        let cookie = sessions.open(&index.by_id(1).unwrap(), 0);
        index
            .by_id(1)
            .unwrap()
            .operator_active
            .store(false, Ordering::Relaxed);
        assert_eq!(
            sessions.resolve(&cookie, &index, 1).unwrap_err(),
            Ended::OperatorDeactivated
        );

        index
            .by_id(1)
            .unwrap()
            .operator_active
            .store(true, Ordering::Relaxed);
        let cookie = sessions.open(&index.by_id(1).unwrap(), 0);
        sessions.end_for_operator(index.by_id(1).unwrap().operator_id);
        assert_eq!(
            sessions.resolve(&cookie, &index, 1).unwrap_err(),
            Ended::Unknown
        );

        let cookie = sessions.open(&index.by_id(1).unwrap(), 0);
        index.remove(1);
        assert_eq!(
            sessions.resolve(&cookie, &index, 1).unwrap_err(),
            Ended::KeyDeleted
        );
    }

    #[test]
    fn one_key_holds_a_bounded_number_of_sessions() {
        let sessions = Sessions::new(30, 12);
        let index = index_with(vec![entry(1, 7, None)]);
        let key = index.by_id(1).unwrap();
        let first = sessions.open(&key, 0);
        for t in 1..=PER_KEY as i64 {
            sessions.open(&key, t);
        }
        assert_eq!(sessions.len(), PER_KEY);
        assert_eq!(
            sessions.resolve(&first, &index, 100).unwrap_err(),
            Ended::Unknown,
            "the least recently used session made room"
        );
    }
}
