//! Every piece of key material lives here and never leaves as raw bytes except
//! through `SecretKey::expose`: the keyring (passphrase → Argon2id → KEK → data
//! key), the keys HKDF derives from the data key, field sealing, and the format
//! and hashing of the secrets coffre hands out (API keys, OAuth client secrets
//! and access tokens, console session ids).

pub mod kdf;
pub mod keyring;
pub mod seal;
pub mod secret;
pub mod session;
pub mod token;

pub use kdf::KdfParams;
pub use keyring::{DerivedKeys, Keyring, KeyringError, KeyringFile, Protector};
pub use seal::{SealContext, SealError, Sealer};
pub use secret::{SecretBytes, SecretKey};
pub use token::{Token, TokenHasher, TokenKind};

/// Fills `buf` from the operating system's CSPRNG.
///
/// If the kernel cannot give us randomness, no key, nonce or API key we could
/// make would be safe, so this is the one place where we stop the process.
#[allow(clippy::expect_used)]
pub fn fill_random(buf: &mut [u8]) {
    getrandom::fill(buf).expect("the operating system's random number generator failed");
}

/// `n` random bytes.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    fill_random(&mut out);
    out
}
