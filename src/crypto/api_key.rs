//! API key format and keyed hashing.
//!
//! `coffre_<lookup id: 12 base62>_<secret: 43 base62 = 256 bits><checksum: 6 base62>`
//!
//! The lookup id is public and indexes the key; the secret is never stored, only
//! HMAC-SHA-256(api-key hashing key, lookup id ‖ secret). The checksum (the first
//! 32 bits of SHA-256 over the rest) lets us reject a typo or a truncated key
//! before any lookup, and lets secret scanners recognise a leaked key.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::SecretKey;

pub const PREFIX: &str = "coffre_";
pub const LOOKUP_ID_LEN: usize = 12;
pub const SECRET_LEN: usize = 43;
pub const CHECKSUM_LEN: usize = 6;
pub const TOKEN_LEN: usize = PREFIX.len() + LOOKUP_ID_LEN + 1 + SECRET_LEN + CHECKSUM_LEN;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn random_base62(len: usize) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(len));
    let mut buf = Zeroizing::new([0u8; 64]);
    while out.len() < len {
        super::fill_random(buf.as_mut());
        // Rejection sampling keeps every character uniform: 248 = 4 × 62.
        for &b in buf.iter().filter(|&&b| b < 248) {
            if out.len() == len {
                break;
            }
            out.push(ALPHABET[(b % 62) as usize] as char);
        }
    }
    out
}

fn checksum(body: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
    let mut n = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) as u64;
    let mut chars = [b'0'; CHECKSUM_LEN];
    for c in chars.iter_mut().rev() {
        *c = ALPHABET[(n % 62) as usize];
        n /= 62;
    }
    chars.iter().map(|&b| b as char).collect()
}

fn is_base62(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A parsed, checksum-valid API key. Debug never shows the secret.
pub struct ApiKeyToken {
    lookup_id: String,
    secret: Zeroizing<String>,
}

impl fmt::Debug for ApiKeyToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKeyToken({PREFIX}{}_<redacted>)", self.lookup_id)
    }
}

impl ApiKeyToken {
    /// A new random key and its full text, to be shown once.
    pub fn generate() -> (Self, Zeroizing<String>) {
        let lookup_id = random_base62(LOOKUP_ID_LEN).to_string();
        let secret = random_base62(SECRET_LEN);
        let token = Self { lookup_id, secret };
        let full = token.full_text();
        (token, full)
    }

    fn full_text(&self) -> Zeroizing<String> {
        let mut full = Zeroizing::new(String::with_capacity(TOKEN_LEN));
        full.push_str(PREFIX);
        full.push_str(&self.lookup_id);
        full.push('_');
        full.push_str(&self.secret);
        let sum = checksum(&full);
        full.push_str(&sum);
        full
    }

    /// Checks shape and checksum only: no key material, no database.
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != TOKEN_LEN || !text.starts_with(PREFIX) {
            return None;
        }
        let rest = &text[PREFIX.len()..];
        let (lookup_id, rest) = rest.split_at_checked(LOOKUP_ID_LEN)?;
        let rest = rest.strip_prefix('_')?;
        let (secret, sum) = rest.split_at_checked(SECRET_LEN)?;
        if !is_base62(lookup_id) || !is_base62(secret) || !is_base62(sum) {
            return None;
        }
        let body = &text[..TOKEN_LEN - CHECKSUM_LEN];
        if checksum(body).as_bytes().ct_eq(sum.as_bytes()).unwrap_u8() != 1 {
            return None;
        }
        Some(Self {
            lookup_id: lookup_id.to_string(),
            secret: Zeroizing::new(secret.to_string()),
        })
    }

    pub fn lookup_id(&self) -> &str {
        &self.lookup_id
    }

    /// The whole key, as its holder writes it.
    pub fn text(&self) -> Zeroizing<String> {
        self.full_text()
    }

    /// `coffre_7Gx2…f9Qa`: the prefix, the first four characters of the lookup id
    /// and the last four of the key.
    pub fn masked(&self) -> String {
        let full = self.full_text();
        format!(
            "{PREFIX}{}…{}",
            &self.lookup_id[..4],
            &full[TOKEN_LEN - 4..]
        )
    }
}

/// Keyed hash of API-key secrets; verification is one HMAC and a constant-time compare.
pub struct ApiKeyHasher {
    key: SecretKey,
}

impl fmt::Debug for ApiKeyHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKeyHasher(<redacted>)")
    }
}

impl ApiKeyHasher {
    pub fn new(key: SecretKey) -> Self {
        Self { key }
    }

    pub fn hash(&self, token: &ApiKeyToken) -> [u8; 32] {
        let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(self.key.expose()) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC accepts keys of any length"),
        };
        mac.update(token.lookup_id.as_bytes());
        mac.update(b"\0");
        mac.update(token.secret.as_bytes());
        mac.finalize().into_bytes().into()
    }

    pub fn verify(&self, token: &ApiKeyToken, stored: &[u8; 32]) -> bool {
        self.hash(token).ct_eq(stored).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_and_have_the_documented_shape() {
        for _ in 0..200 {
            let (token, full) = ApiKeyToken::generate();
            assert_eq!(full.len(), TOKEN_LEN);
            assert!(full.starts_with("coffre_"));
            assert_eq!(&full[7 + 12..7 + 13], "_");
            let parsed = ApiKeyToken::parse(&full).unwrap();
            assert_eq!(parsed.lookup_id(), token.lookup_id());
            assert_eq!(parsed.masked(), token.masked());
        }
    }

    #[test]
    fn the_secret_carries_at_least_256_bits() {
        assert!((SECRET_LEN as f64) * 62f64.log2() >= 256.0);
    }

    #[test]
    fn any_single_character_typo_is_rejected_by_the_checksum() {
        let (_, full) = ApiKeyToken::generate();
        for i in 7..full.len() {
            if i == 19 {
                continue; // the separator
            }
            let mut bytes = full.as_bytes().to_vec();
            bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
            let typo = String::from_utf8(bytes).unwrap();
            assert!(ApiKeyToken::parse(&typo).is_none(), "typo at {i} accepted");
        }
    }

    #[test]
    fn truncated_padded_or_foreign_keys_are_rejected() {
        let (_, full) = ApiKeyToken::generate();
        assert!(ApiKeyToken::parse(&full[..full.len() - 1]).is_none());
        assert!(ApiKeyToken::parse(&format!("{}x", &*full)).is_none());
        assert!(ApiKeyToken::parse(&full.replacen("coffre_", "coffee_", 1)).is_none());
        assert!(ApiKeyToken::parse("").is_none());
        assert!(ApiKeyToken::parse(&"é".repeat(40)).is_none());
    }

    #[test]
    fn masked_form_hides_the_secret() {
        let (token, full) = ApiKeyToken::generate();
        let masked = token.masked();
        assert!(masked.starts_with(&format!("coffre_{}…", &token.lookup_id()[..4])));
        assert!(masked.ends_with(&full[full.len() - 4..]));
        assert!(!masked.contains(&full[20..40]));
        assert!(!format!("{token:?}").contains(&full[20..40]));
    }

    #[test]
    fn hash_is_keyed_and_verification_is_exact() {
        let (token, full) = ApiKeyToken::generate();
        let hasher = ApiKeyHasher::new(SecretKey::random());
        let stored = hasher.hash(&token);
        assert!(hasher.verify(&ApiKeyToken::parse(&full).unwrap(), &stored));
        let (other, _) = ApiKeyToken::generate();
        assert!(!hasher.verify(&other, &stored));
        assert!(!ApiKeyHasher::new(SecretKey::random()).verify(&token, &stored));
    }
}
