//! Argon2id: turns a passphrase (or the content of `master.key`) into the
//! key-encryption key. Run once per unlock, never per request.

use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};

use super::{SecretBytes, SecretKey};

/// Cost parameters, stored in `keyring.json` next to the salt so a keyring keeps
/// opening with the parameters it was made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KdfParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl KdfParams {
    /// At least m=64 MiB, t=3, p=1 (above the RFC 9106 second recommendation).
    pub const DEFAULT: KdfParams = KdfParams {
        memory_kib: 64 * 1024,
        iterations: 3,
        parallelism: 1,
    };

    /// Rejects parameters Argon2 cannot run with, and costs so high that an unlock
    /// would need more than 4 GiB.
    pub fn validate(&self) -> Result<(), String> {
        if self.memory_kib > 4 * 1024 * 1024 {
            return Err(format!(
                "kdf_memory_kib = {} is above the 4 GiB ceiling; use at most 4194304",
                self.memory_kib
            ));
        }
        self.argon2_params().map(|_| ()).map_err(|e| {
            format!(
                "Argon2 parameters m={} KiB, t={}, p={} are invalid ({e}); memory must be at \
                 least 8 KiB per lane, iterations and parallelism at least 1",
                self.memory_kib, self.iterations, self.parallelism
            )
        })
    }

    fn argon2_params(&self) -> Result<Params, argon2::Error> {
        Params::new(self.memory_kib, self.iterations, self.parallelism, Some(32))
    }
}

/// Derives the key-encryption key.
pub fn derive_kek(
    secret: &SecretBytes,
    salt: &[u8],
    params: &KdfParams,
) -> Result<SecretKey, String> {
    let argon = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        params.argon2_params().map_err(|e| e.to_string())?,
    );
    let mut out = [0u8; 32];
    argon
        .hash_password_into(secret.expose(), salt, &mut out)
        .map_err(|e| e.to_string())?;
    let key = SecretKey::from_bytes(out);
    zeroize::Zeroize::zeroize(&mut out);
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: KdfParams = KdfParams {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    #[test]
    fn same_input_same_key_and_salt_matters() {
        let pass = SecretBytes::new(b"correct horse".to_vec());
        let a = derive_kek(&pass, b"0123456789abcdef", &CHEAP).unwrap();
        let b = derive_kek(&pass, b"0123456789abcdef", &CHEAP).unwrap();
        let c = derive_kek(&pass, b"fedcba9876543210", &CHEAP).unwrap();
        assert_eq!(a.expose(), b.expose());
        assert_ne!(a.expose(), c.expose());
    }

    // The floor the issue sets (m=64 MiB, t=3, p=1), checked at compile time.
    const _: () = assert!(KdfParams::DEFAULT.memory_kib >= 64 * 1024);
    const _: () = assert!(KdfParams::DEFAULT.iterations >= 3);
    const _: () = assert!(KdfParams::DEFAULT.parallelism == 1);

    #[test]
    fn default_parameters_are_valid() {
        KdfParams::DEFAULT.validate().unwrap();
    }

    #[test]
    fn impossible_parameters_are_refused_with_a_reason() {
        let bad = KdfParams {
            memory_kib: 1,
            iterations: 0,
            parallelism: 1,
        };
        let msg = bad.validate().unwrap_err();
        assert!(msg.contains("invalid"), "{msg}");
    }
}
