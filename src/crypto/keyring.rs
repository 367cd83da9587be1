//! The key hierarchy: passphrase (or `master.key`) → Argon2id → key-encryption
//! key (KEK) → unwraps the random data keys kept in `keyring.json` → HKDF-SHA-256
//! derives separate keys for SQLCipher, field sealing and API-key hashing.
//!
//! `keyring.json` holds nothing usable on its own: the salt, the Argon2
//! parameters and the data keys wrapped with XChaCha20-Poly1305 under the KEK.
//! A wrong passphrase fails the wrap's authentication tag, before SQLite is
//! touched. The file is only ever replaced atomically.

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::kdf::{KdfParams, derive_kek};
use super::{Sealer, SecretBytes, SecretKey, TokenHasher};

const FORMAT: &str = "coffre-keyring";
const VERSION: u32 = 1;

/// What unlocks the keyring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protector {
    /// `COFFRE_PASSPHRASE` or `passphrase_file`.
    Passphrase,
    /// A random 256-bit key in `master.key`.
    KeyFile,
}

impl fmt::Display for Protector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protector::Passphrase => "a passphrase",
            Protector::KeyFile => "a key file (master.key)",
        })
    }
}

#[derive(Debug)]
pub enum KeyringError {
    /// The passphrase or key file does not unwrap the data key.
    WrongSecret(Protector),
    /// The file is not a keyring we can read.
    Corrupt(String),
    Io(std::io::Error),
}

impl fmt::Display for KeyringError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyringError::WrongSecret(Protector::Passphrase) => f.write_str(
                "the passphrase is wrong: it does not unlock keyring.json. Set COFFRE_PASSPHRASE \
                 (or passphrase_file) to the passphrase this data dir was created or last \
                 rekeyed with",
            ),
            KeyringError::WrongSecret(Protector::KeyFile) => f.write_str(
                "the key file does not unlock keyring.json: it is not the master.key this data \
                 dir was created with. Point key_file (COFFRE_KEY_FILE) at the right master.key",
            ),
            KeyringError::Corrupt(why) => write!(
                f,
                "keyring.json cannot be read ({why}); restore it from a backup of this data dir"
            ),
            KeyringError::Io(e) => write!(f, "cannot read or write keyring.json: {e}"),
        }
    }
}

impl std::error::Error for KeyringError {}

impl From<std::io::Error> for KeyringError {
    fn from(e: std::io::Error) -> Self {
        KeyringError::Io(e)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KdfRecord {
    algorithm: String,
    #[serde(flatten)]
    params: KdfParams,
    salt: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WrappedKey {
    id: u32,
    /// base64(nonce ‖ ciphertext ‖ tag)
    wrapped: String,
}

/// The on-disk form of `keyring.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyringFile {
    format: String,
    version: u32,
    protector: Protector,
    kdf: KdfRecord,
    data_keys: Vec<WrappedKey>,
    active_key_id: u32,
}

/// Unlocked data keys. The root key (id 1) keys SQLCipher and API-key hashing;
/// sealing uses the active key id, so the sealing key can rotate without
/// re-keying the database.
pub struct Keyring {
    data_keys: Vec<(u32, SecretKey)>,
    active_key_id: u32,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field(
                "key_ids",
                &self.data_keys.iter().map(|(id, _)| id).collect::<Vec<_>>(),
            )
            .field("active_key_id", &self.active_key_id)
            .finish()
    }
}

/// The working keys, derived once at unlock.
pub struct DerivedKeys {
    pub sqlcipher: SecretKey,
    pub sealer: Sealer,
    pub token_hasher: TokenHasher,
}

impl fmt::Debug for DerivedKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DerivedKeys(<redacted>)")
    }
}

fn hkdf(ikm: &SecretKey, info: &str) -> SecretKey {
    let hk = Hkdf::<Sha256>::new(Some(b"coffre-hkdf-salt-v1"), ikm.expose());
    let mut out = [0u8; 32];
    if hk.expand(info.as_bytes(), &mut out).is_err() {
        unreachable!("32 bytes is a valid HKDF-SHA-256 output length");
    }
    let key = SecretKey::from_bytes(out);
    zeroize::Zeroize::zeroize(&mut out);
    key
}

fn wrap_ad(id: u32) -> Vec<u8> {
    format!("coffre-keyring-v{VERSION}/data-key/{id}").into_bytes()
}

impl Keyring {
    /// A new keyring with one random data key.
    pub fn generate() -> Self {
        Self {
            data_keys: vec![(1, SecretKey::random())],
            active_key_id: 1,
        }
    }

    fn root(&self) -> &SecretKey {
        match self.data_keys.iter().find(|(id, _)| *id == 1) {
            Some((_, key)) => key,
            None => unreachable!("unlock refuses keyrings without data key 1"),
        }
    }

    pub fn derive(&self) -> DerivedKeys {
        let root = self.root();
        let sealing = self
            .data_keys
            .iter()
            .map(|(id, key)| (*id, hkdf(key, "coffre/v1/seal")))
            .collect();
        DerivedKeys {
            sqlcipher: hkdf(root, "coffre/v1/sqlcipher"),
            sealer: Sealer::new(sealing, self.active_key_id),
            // The label predates client secrets and access tokens, which
            // share the key (their hashes bind their kind): kept so stored
            // API keys keep verifying.
            token_hasher: TokenHasher::new(hkdf(root, "coffre/v1/api-key-hash")),
        }
    }

    /// Wraps the data keys under a KEK derived from `secret` with a fresh salt.
    pub fn seal_to_file(
        &self,
        protector: Protector,
        secret: &SecretBytes,
        params: &KdfParams,
    ) -> Result<KeyringFile, KeyringError> {
        let salt: [u8; 16] = super::random_bytes();
        let kek = derive_kek(secret, &salt, params).map_err(KeyringError::Corrupt)?;
        let cipher = XChaCha20Poly1305::new(kek.expose().into());
        let data_keys = self
            .data_keys
            .iter()
            .map(|(id, key)| {
                let nonce_bytes: [u8; 24] = super::random_bytes();
                let ad = wrap_ad(*id);
                let ct = cipher
                    .encrypt(
                        &XNonce::from(nonce_bytes),
                        Payload {
                            msg: key.expose(),
                            aad: &ad,
                        },
                    )
                    .map_err(|_| KeyringError::Corrupt("wrapping failed".into()))?;
                let mut blob = nonce_bytes.to_vec();
                blob.extend_from_slice(&ct);
                Ok(WrappedKey {
                    id: *id,
                    wrapped: B64.encode(blob),
                })
            })
            .collect::<Result<Vec<_>, KeyringError>>()?;
        Ok(KeyringFile {
            format: FORMAT.into(),
            version: VERSION,
            protector,
            kdf: KdfRecord {
                algorithm: "argon2id".into(),
                params: *params,
                salt: B64.encode(salt),
            },
            data_keys,
            active_key_id: self.active_key_id,
        })
    }
}

impl KeyringFile {
    pub fn protector(&self) -> Protector {
        self.protector
    }

    pub fn kdf_params(&self) -> KdfParams {
        self.kdf.params
    }

    pub fn read(path: &Path) -> Result<Self, KeyringError> {
        Self::from_json(&fs::read_to_string(path)?)
    }

    /// The keyring document (keyring.json's text, or the `keyring` row of a
    /// PostgreSQL database), checked.
    pub fn from_json(text: &str) -> Result<Self, KeyringError> {
        let file: KeyringFile =
            serde_json::from_str(text).map_err(|e| KeyringError::Corrupt(e.to_string()))?;
        if file.format != FORMAT || file.version != VERSION {
            return Err(KeyringError::Corrupt(format!(
                "format {:?} version {} is not {FORMAT:?} version {VERSION}",
                file.format, file.version
            )));
        }
        if file.kdf.algorithm != "argon2id" {
            return Err(KeyringError::Corrupt(format!(
                "unknown KDF {:?}",
                file.kdf.algorithm
            )));
        }
        file.kdf.params.validate().map_err(KeyringError::Corrupt)?;
        if !file.data_keys.iter().any(|k| k.id == 1)
            || !file.data_keys.iter().any(|k| k.id == file.active_key_id)
        {
            return Err(KeyringError::Corrupt(
                "data key 1 or the active key is missing".into(),
            ));
        }
        Ok(file)
    }

    /// Runs Argon2id and unwraps every data key. Any failing tag means the
    /// secret is wrong (or the file was tampered with, which we cannot tell apart).
    pub fn unlock(&self, secret: &SecretBytes) -> Result<Keyring, KeyringError> {
        let salt = B64
            .decode(&self.kdf.salt)
            .map_err(|e| KeyringError::Corrupt(format!("salt is not base64: {e}")))?;
        let kek = derive_kek(secret, &salt, &self.kdf.params).map_err(KeyringError::Corrupt)?;
        let cipher = XChaCha20Poly1305::new(kek.expose().into());
        let mut data_keys = Vec::with_capacity(self.data_keys.len());
        for wrapped in &self.data_keys {
            let blob = B64
                .decode(&wrapped.wrapped)
                .map_err(|e| KeyringError::Corrupt(format!("wrapped key is not base64: {e}")))?;
            if blob.len() != 24 + 32 + 16 {
                return Err(KeyringError::Corrupt(
                    "wrapped key has the wrong length".into(),
                ));
            }
            let mut nonce = [0u8; 24];
            nonce.copy_from_slice(&blob[..24]);
            let ad = wrap_ad(wrapped.id);
            let plain = zeroize::Zeroizing::new(
                cipher
                    .decrypt(
                        &XNonce::from(nonce),
                        Payload {
                            msg: &blob[24..],
                            aad: &ad,
                        },
                    )
                    .map_err(|_| KeyringError::WrongSecret(self.protector))?,
            );
            let mut key = [0u8; 32];
            key.copy_from_slice(&plain);
            data_keys.push((wrapped.id, SecretKey::from_bytes(key)));
            zeroize::Zeroize::zeroize(&mut key);
        }
        Ok(Keyring {
            data_keys,
            active_key_id: self.active_key_id,
        })
    }

    pub fn to_json(&self) -> Result<String, KeyringError> {
        serde_json::to_string_pretty(self).map_err(|e| KeyringError::Corrupt(e.to_string()))
    }

    /// Write to a temporary file, fsync, rename over `path`, fsync the directory:
    /// a crash leaves either the old keyring or the new one, never half of one.
    pub fn write_atomic(&self, path: &Path) -> Result<(), KeyringError> {
        let text = self.to_json()?;
        let tmp = path.with_extension("json.tmp");
        let _ = fs::remove_file(&tmp);
        {
            let mut f = crate::fsutil::create_private_file(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.write_all(b"\n")?;
            f.sync_all()?;
        }
        fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent() {
            crate::fsutil::sync_dir(dir)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: KdfParams = KdfParams {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    fn pass(s: &str) -> SecretBytes {
        SecretBytes::new(s.as_bytes().to_vec())
    }

    #[test]
    fn unlocks_with_the_right_passphrase_only() {
        let ring = Keyring::generate();
        let file = ring
            .seal_to_file(Protector::Passphrase, &pass("right"), &CHEAP)
            .unwrap();
        let again = file.unlock(&pass("right")).unwrap();
        assert_eq!(again.root().expose(), ring.root().expose());
        assert!(matches!(
            file.unlock(&pass("wrong")),
            Err(KeyringError::WrongSecret(Protector::Passphrase))
        ));
    }

    #[test]
    fn rewrapping_keeps_the_data_key() {
        let ring = Keyring::generate();
        let first = ring
            .seal_to_file(Protector::KeyFile, &pass("a"), &CHEAP)
            .unwrap();
        let unlocked = first.unlock(&pass("a")).unwrap();
        let second = unlocked
            .seal_to_file(Protector::Passphrase, &pass("b"), &CHEAP)
            .unwrap();
        let after = second.unlock(&pass("b")).unwrap();
        assert_eq!(
            after.derive().sqlcipher.expose(),
            ring.derive().sqlcipher.expose()
        );
        assert_ne!(first.kdf.salt, second.kdf.salt);
    }

    #[test]
    fn derived_keys_are_distinct() {
        let keys = Keyring::generate().derive();
        let root_seal = hkdf(&Keyring::generate().data_keys[0].1, "coffre/v1/seal");
        assert_ne!(keys.sqlcipher.expose(), root_seal.expose());
        let ring = Keyring::generate();
        let a = hkdf(ring.root(), "coffre/v1/sqlcipher");
        let b = hkdf(ring.root(), "coffre/v1/seal");
        let c = hkdf(ring.root(), "coffre/v1/api-key-hash");
        assert_ne!(a.expose(), b.expose());
        assert_ne!(b.expose(), c.expose());
        assert_ne!(a.expose(), ring.root().expose());
    }

    #[test]
    fn a_tampered_keyring_is_refused() {
        let file = Keyring::generate()
            .seal_to_file(Protector::Passphrase, &pass("p"), &CHEAP)
            .unwrap();
        let mut json: serde_json::Value = serde_json::to_value(&file).unwrap();
        json["data_keys"][0]["id"] = 2.into();
        json["active_key_id"] = 2.into();
        let text = json.to_string();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keyring.json");
        fs::write(&path, text).unwrap();
        assert!(matches!(
            KeyringFile::read(&path),
            Err(KeyringError::Corrupt(_))
        ));
    }

    #[test]
    fn atomic_write_round_trips_with_private_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keyring.json");
        let file = Keyring::generate()
            .seal_to_file(Protector::Passphrase, &pass("p"), &CHEAP)
            .unwrap();
        file.write_atomic(&path).unwrap();
        file.write_atomic(&path).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        KeyringFile::read(&path)
            .unwrap()
            .unlock(&pass("p"))
            .unwrap();
        assert!(!path.with_extension("json.tmp").exists());
    }
}
