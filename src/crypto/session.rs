//! Console session ids: 256 random bits, URL-safe base64 in the cookie. The
//! server keeps only HMAC-SHA-256(session key, id) — a per-process key, since
//! sessions live in memory and die with the process — so the session table
//! holds nothing a reader could present as a cookie.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::SecretKey;

/// Characters of an id in the cookie (32 bytes, unpadded base64url).
pub const SESSION_ID_LEN: usize = 43;

/// A session id as presented. Debug never shows it.
pub struct SessionId(Zeroizing<[u8; 32]>);

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(<redacted>)")
    }
}

impl SessionId {
    /// A fresh id and its cookie text.
    pub fn generate() -> (SessionId, Zeroizing<String>) {
        let mut bytes = Zeroizing::new([0u8; 32]);
        super::fill_random(bytes.as_mut());
        let text = Zeroizing::new(URL_SAFE_NO_PAD.encode(bytes.as_ref()));
        (SessionId(bytes), text)
    }

    /// None for anything but 43 base64url characters (no database, no map
    /// lookup for garbage).
    pub fn parse(text: &str) -> Option<SessionId> {
        if text.len() != SESSION_ID_LEN {
            return None;
        }
        let decoded = Zeroizing::new(URL_SAFE_NO_PAD.decode(text).ok()?);
        let bytes: [u8; 32] = decoded.as_slice().try_into().ok()?;
        Some(SessionId(Zeroizing::new(bytes)))
    }
}

/// Keyed hash of session ids.
pub struct SessionHasher {
    key: SecretKey,
}

impl fmt::Debug for SessionHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionHasher(<redacted>)")
    }
}

impl SessionHasher {
    /// With a random key of this process.
    pub fn random() -> Self {
        Self {
            key: SecretKey::random(),
        }
    }

    pub fn hash(&self, id: &SessionId) -> [u8; 32] {
        let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(self.key.expose()) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC accepts keys of any length"),
        };
        mac.update(b"coffre/v1/session\0");
        mac.update(id.0.as_ref());
        mac.finalize().into_bytes().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_garbage_is_refused() {
        let (id, text) = SessionId::generate();
        assert_eq!(text.len(), SESSION_ID_LEN);
        let again = SessionId::parse(&text).unwrap();
        let hasher = SessionHasher::random();
        assert_eq!(hasher.hash(&id), hasher.hash(&again));
        assert!(SessionId::parse("").is_none());
        assert!(SessionId::parse(&text[1..]).is_none());
        assert!(SessionId::parse(&"!".repeat(SESSION_ID_LEN)).is_none());
        let (other, _) = SessionId::generate();
        assert_ne!(hasher.hash(&id), hasher.hash(&other));
        assert!(!format!("{id:?}").contains(text.as_str()));
    }
}
