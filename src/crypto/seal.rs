//! Field sealing: XChaCha20-Poly1305 with a fresh random 192-bit nonce per write
//! and associated data naming the table, row and field, so a ciphertext copied
//! to another row or field fails to open.
//!
//! Blob layout: `version (1) | key id (4, big-endian) | nonce (24) | ciphertext+tag`.
//! The key id lets the data key be rotated later: old blobs name the key that
//! sealed them.

use std::collections::HashMap;
use std::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use super::SecretKey;

const BLOB_VERSION: u8 = 1;
const HEADER_LEN: usize = 1 + 4 + 24;
const TAG_LEN: usize = 16;

/// Where a sealed value lives. Part of the associated data: moving the blob
/// anywhere else makes `open` fail.
#[derive(Debug, Clone, Copy)]
pub struct SealContext<'a> {
    pub table: &'a str,
    pub row: &'a str,
    pub field: &'a str,
}

impl<'a> SealContext<'a> {
    pub fn new(table: &'a str, row: &'a str, field: &'a str) -> Self {
        Self { table, row, field }
    }

    fn associated_data(&self, key_id: u32) -> Vec<u8> {
        let mut ad = Vec::with_capacity(32 + self.table.len() + self.row.len() + self.field.len());
        ad.extend_from_slice(b"coffre-seal-v1\0");
        ad.extend_from_slice(&key_id.to_be_bytes());
        for part in [self.table, self.row, self.field] {
            // Length-prefixed so ("a", "bc") and ("ab", "c") differ.
            ad.extend_from_slice(&(part.len() as u32).to_be_bytes());
            ad.extend_from_slice(part.as_bytes());
        }
        ad
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealError {
    /// Too short or an unknown version byte.
    Malformed,
    /// Sealed under a key id this keyring does not hold.
    UnknownKey(u32),
    /// Wrong key, tampered bytes, or a blob moved to another row or field.
    Authentication,
}

impl fmt::Display for SealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SealError::Malformed => f.write_str("sealed value is malformed"),
            SealError::UnknownKey(id) => write!(f, "sealed value names unknown data key {id}"),
            SealError::Authentication => {
                f.write_str("sealed value failed authentication (tampered or moved)")
            }
        }
    }
}

impl std::error::Error for SealError {}

/// Seals and opens secret fields. Holds one cipher per data-key id.
pub struct Sealer {
    ciphers: HashMap<u32, XChaCha20Poly1305>,
    active: u32,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealer")
            .field("active_key_id", &self.active)
            .finish_non_exhaustive()
    }
}

impl Sealer {
    /// `keys` are the per-key-id sealing keys; `active` seals new values.
    pub fn new(keys: Vec<(u32, SecretKey)>, active: u32) -> Self {
        let ciphers = keys
            .into_iter()
            .map(|(id, key)| (id, XChaCha20Poly1305::new(key.expose().into())))
            .collect();
        Self { ciphers, active }
    }

    pub fn seal(&self, ctx: &SealContext<'_>, plaintext: &[u8]) -> Vec<u8> {
        let Some(cipher) = self.ciphers.get(&self.active) else {
            unreachable!("the active key id is always among the keyring's keys")
        };
        let nonce_bytes: [u8; 24] = super::random_bytes();
        let nonce = XNonce::from(nonce_bytes);
        let ad = ctx.associated_data(self.active);
        // Encryption of an in-memory buffer only fails past 2^38 bytes.
        let ciphertext = match cipher.encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad: &ad,
            },
        ) {
            Ok(c) => c,
            Err(_) => unreachable!("XChaCha20-Poly1305 encryption of a bounded buffer cannot fail"),
        };
        let mut blob = Vec::with_capacity(HEADER_LEN + ciphertext.len());
        blob.push(BLOB_VERSION);
        blob.extend_from_slice(&self.active.to_be_bytes());
        blob.extend_from_slice(&nonce_bytes);
        blob.extend_from_slice(&ciphertext);
        blob
    }

    pub fn open(
        &self,
        ctx: &SealContext<'_>,
        blob: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, SealError> {
        if blob.len() < HEADER_LEN + TAG_LEN || blob[0] != BLOB_VERSION {
            return Err(SealError::Malformed);
        }
        let key_id = u32::from_be_bytes([blob[1], blob[2], blob[3], blob[4]]);
        let cipher = self
            .ciphers
            .get(&key_id)
            .ok_or(SealError::UnknownKey(key_id))?;
        let mut nonce_bytes = [0u8; 24];
        nonce_bytes.copy_from_slice(&blob[5..HEADER_LEN]);
        let nonce = XNonce::from(nonce_bytes);
        let ad = ctx.associated_data(key_id);
        cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: &blob[HEADER_LEN..],
                    aad: &ad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| SealError::Authentication)
    }

    /// Convenience for text fields.
    pub fn open_string(
        &self,
        ctx: &SealContext<'_>,
        blob: &[u8],
    ) -> Result<Zeroizing<String>, SealError> {
        let bytes = self.open(ctx, blob)?;
        String::from_utf8(bytes.to_vec())
            .map(Zeroizing::new)
            .map_err(|_| SealError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer() -> Sealer {
        Sealer::new(vec![(1, SecretKey::random())], 1)
    }

    const CTX: SealContext<'static> = SealContext {
        table: "vault_items",
        row: "A",
        field: "password",
    };

    #[test]
    fn round_trip() {
        let s = sealer();
        let blob = s.seal(&CTX, b"hunter2");
        assert_eq!(s.open(&CTX, &blob).unwrap().as_slice(), b"hunter2");
        assert_eq!(blob.len(), HEADER_LEN + 7 + TAG_LEN);
        assert!(!blob.windows(7).any(|w| w == b"hunter2"));
    }

    #[test]
    fn each_seal_uses_a_fresh_nonce() {
        let s = sealer();
        assert_ne!(s.seal(&CTX, b"same"), s.seal(&CTX, b"same"));
    }

    #[test]
    fn every_flipped_bit_is_detected() {
        let s = sealer();
        let blob = s.seal(&CTX, b"secret value");
        for i in 0..blob.len() {
            for bit in 0..8 {
                let mut t = blob.clone();
                t[i] ^= 1 << bit;
                assert!(
                    s.open(&CTX, &t).is_err(),
                    "flip at byte {i} bit {bit} went unnoticed"
                );
            }
        }
    }

    #[test]
    fn moved_to_another_row_field_or_table_fails() {
        let s = sealer();
        let blob = s.seal(&CTX, b"secret");
        for other in [
            SealContext::new("vault_items", "B", "password"),
            SealContext::new("vault_items", "A", "archive_password"),
            SealContext::new("api_keys", "A", "password"),
            // Same concatenation, different split: must still differ.
            SealContext::new("vault_itemsA", "", "password"),
        ] {
            assert_eq!(
                s.open(&other, &blob),
                Err(SealError::Authentication),
                "{other:?}"
            );
        }
    }

    #[test]
    fn another_key_cannot_open() {
        let blob = sealer().seal(&CTX, b"secret");
        assert_eq!(sealer().open(&CTX, &blob), Err(SealError::Authentication));
    }

    #[test]
    fn truncated_or_unknown_versions_are_malformed() {
        let s = sealer();
        let blob = s.seal(&CTX, b"secret");
        assert_eq!(
            s.open(&CTX, &blob[..HEADER_LEN + 3]),
            Err(SealError::Malformed)
        );
        let mut v2 = blob.clone();
        v2[0] = 2;
        assert_eq!(s.open(&CTX, &v2), Err(SealError::Malformed));
    }

    #[test]
    fn blobs_name_their_key_so_old_keys_keep_opening_after_rotation() {
        let old = SecretKey::random();
        let before = Sealer::new(vec![(1, old.clone())], 1);
        let blob = before.seal(&CTX, b"kept");
        let after = Sealer::new(vec![(1, old), (2, SecretKey::random())], 2);
        assert_eq!(after.open(&CTX, &blob).unwrap().as_slice(), b"kept");
        let fresh = after.seal(&CTX, b"new");
        assert_eq!(&fresh[1..5], &2u32.to_be_bytes());
        let without_old = Sealer::new(vec![(2, SecretKey::random())], 2);
        assert_eq!(without_old.open(&CTX, &blob), Err(SealError::UnknownKey(1)));
    }
}
