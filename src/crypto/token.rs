//! The format and keyed hashing of every secret coffre hands out: API keys,
//! OAuth client secrets and OAuth access tokens.
//!
//! `<prefix><lookup id: 12 base62>_<secret: 43 base62 = 256 bits><checksum: 6 base62>`
//!
//! The prefix says what the secret is (`coffre_` an API key, `coffrecs_` a
//! client secret, `coffreat_` an access token), so one is never taken for
//! another and secret scanners tell them apart. The lookup id is public and
//! indexes the secret; the secret is never stored, only an HMAC-SHA-256 of it
//! under the hashing key. The checksum (the first 32 bits of SHA-256 over the
//! rest, prefix included) rejects a typo, a truncation or a changed prefix
//! before any lookup, and lets secret scanners recognise a leak.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::SecretKey;

pub const LOOKUP_ID_LEN: usize = 12;
pub const SECRET_LEN: usize = 43;
pub const CHECKSUM_LEN: usize = 6;
/// An OAuth client's public id: the prefix and this many base62 characters.
pub const CLIENT_ID_PREFIX: &str = "coffreci_";
const CLIENT_ID_RANDOM_LEN: usize = 20;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// What a secret is, told by its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    ApiKey,
    ClientSecret,
    AccessToken,
}

impl TokenKind {
    pub fn prefix(self) -> &'static str {
        match self {
            TokenKind::ApiKey => "coffre_",
            TokenKind::ClientSecret => "coffrecs_",
            TokenKind::AccessToken => "coffreat_",
        }
    }

    /// The length of the whole text.
    pub fn text_len(self) -> usize {
        self.prefix().len() + LOOKUP_ID_LEN + 1 + SECRET_LEN + CHECKSUM_LEN
    }
}

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

/// A new OAuth client id: public, random, stable across Regenerate.
pub fn new_client_id() -> String {
    format!(
        "{CLIENT_ID_PREFIX}{}",
        &*random_base62(CLIENT_ID_RANDOM_LEN)
    )
}

/// A parsed, checksum-valid secret of one kind. Debug never shows the secret.
pub struct Token {
    kind: TokenKind,
    lookup_id: String,
    secret: Zeroizing<String>,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Token({}{}_<redacted>)",
            self.kind.prefix(),
            self.lookup_id
        )
    }
}

impl Token {
    /// A new random secret and its full text, to be shown once.
    pub fn generate(kind: TokenKind) -> (Self, Zeroizing<String>) {
        let lookup_id = random_base62(LOOKUP_ID_LEN).to_string();
        let secret = random_base62(SECRET_LEN);
        let token = Self {
            kind,
            lookup_id,
            secret,
        };
        let full = token.full_text();
        (token, full)
    }

    fn full_text(&self) -> Zeroizing<String> {
        let mut full = Zeroizing::new(String::with_capacity(self.kind.text_len()));
        full.push_str(self.kind.prefix());
        full.push_str(&self.lookup_id);
        full.push('_');
        full.push_str(&self.secret);
        let sum = checksum(&full);
        full.push_str(&sum);
        full
    }

    /// Checks kind, shape and checksum only: no key material, no database.
    pub fn parse(kind: TokenKind, text: &str) -> Option<Self> {
        let prefix = kind.prefix();
        if text.len() != kind.text_len() || !text.starts_with(prefix) {
            return None;
        }
        let rest = &text[prefix.len()..];
        let (lookup_id, rest) = rest.split_at_checked(LOOKUP_ID_LEN)?;
        let rest = rest.strip_prefix('_')?;
        let (secret, sum) = rest.split_at_checked(SECRET_LEN)?;
        if !is_base62(lookup_id) || !is_base62(secret) || !is_base62(sum) {
            return None;
        }
        let body = &text[..kind.text_len() - CHECKSUM_LEN];
        if checksum(body).as_bytes().ct_eq(sum.as_bytes()).unwrap_u8() != 1 {
            return None;
        }
        Some(Self {
            kind,
            lookup_id: lookup_id.to_string(),
            secret: Zeroizing::new(secret.to_string()),
        })
    }

    pub fn kind(&self) -> TokenKind {
        self.kind
    }

    pub fn lookup_id(&self) -> &str {
        &self.lookup_id
    }

    /// The whole secret, as its holder writes it.
    pub fn text(&self) -> Zeroizing<String> {
        self.full_text()
    }

    /// `coffre_7Gx2…f9Qa`: the prefix, the first four characters of the lookup id
    /// and the last four of the text.
    pub fn masked(&self) -> String {
        let full = self.full_text();
        format!(
            "{}{}…{}",
            self.kind.prefix(),
            &self.lookup_id[..4],
            &full[self.kind.text_len() - 4..]
        )
    }
}

/// Keyed hash of secrets; verification is one HMAC and a constant-time compare.
pub struct TokenHasher {
    key: SecretKey,
}

impl fmt::Debug for TokenHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHasher(<redacted>)")
    }
}

impl TokenHasher {
    pub fn new(key: SecretKey) -> Self {
        Self { key }
    }

    pub fn hash(&self, token: &Token) -> [u8; 32] {
        let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(self.key.expose()) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC accepts keys of any length"),
        };
        // API keys were hashed before the other kinds existed: their input
        // stays as it was, so stored keys keep working. The others bind their
        // kind, so a hash is never valid for a secret of another kind.
        if token.kind != TokenKind::ApiKey {
            mac.update(token.kind.prefix().as_bytes());
        }
        mac.update(token.lookup_id.as_bytes());
        mac.update(b"\0");
        mac.update(token.secret.as_bytes());
        mac.finalize().into_bytes().into()
    }

    pub fn verify(&self, token: &Token, stored: &[u8; 32]) -> bool {
        self.hash(token).ct_eq(stored).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KINDS: [TokenKind; 3] = [
        TokenKind::ApiKey,
        TokenKind::ClientSecret,
        TokenKind::AccessToken,
    ];

    #[test]
    fn generated_secrets_parse_and_have_the_documented_shape() {
        for kind in KINDS {
            let p = kind.prefix().len();
            for _ in 0..200 {
                let (token, full) = Token::generate(kind);
                assert_eq!(full.len(), kind.text_len());
                assert!(full.starts_with(kind.prefix()));
                assert_eq!(&full[p + 12..p + 13], "_");
                let parsed = Token::parse(kind, &full).unwrap();
                assert_eq!(parsed.lookup_id(), token.lookup_id());
                assert_eq!(parsed.masked(), token.masked());
            }
        }
        assert_eq!(
            TokenKind::ApiKey.text_len(),
            69,
            "API keys keep their length"
        );
    }

    #[test]
    fn the_secret_carries_at_least_256_bits() {
        assert!((SECRET_LEN as f64) * 62f64.log2() >= 256.0);
    }

    #[test]
    fn any_single_character_typo_is_rejected_by_the_checksum() {
        for kind in KINDS {
            let (_, full) = Token::generate(kind);
            let p = kind.prefix().len();
            for i in p..full.len() {
                if i == p + 12 {
                    continue; // the separator
                }
                let mut bytes = full.as_bytes().to_vec();
                bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
                let typo = String::from_utf8(bytes).unwrap();
                assert!(Token::parse(kind, &typo).is_none(), "typo at {i} accepted");
            }
        }
    }

    #[test]
    fn truncated_padded_or_foreign_secrets_are_rejected() {
        let (_, full) = Token::generate(TokenKind::ApiKey);
        let parse = |t: &str| Token::parse(TokenKind::ApiKey, t);
        assert!(parse(&full[..full.len() - 1]).is_none());
        assert!(parse(&format!("{}x", &*full)).is_none());
        assert!(parse(&full.replacen("coffre_", "coffee_", 1)).is_none());
        assert!(parse("").is_none());
        assert!(parse(&"é".repeat(40)).is_none());
    }

    #[test]
    fn one_kind_is_never_read_as_another() {
        for kind in KINDS {
            let (_, full) = Token::generate(kind);
            for other in KINDS.into_iter().filter(|o| *o != kind) {
                assert!(
                    Token::parse(other, &full).is_none(),
                    "{kind:?} as {other:?}"
                );
                // Even with the other prefix and a recomputed checksum.
                let body = format!(
                    "{}{}",
                    other.prefix(),
                    &full[kind.prefix().len()..full.len() - CHECKSUM_LEN]
                );
                let forged = format!("{body}{}", checksum(&body));
                let token = Token::parse(other, &forged).unwrap();
                let hasher = TokenHasher::new(SecretKey::from_bytes([7; 32]));
                let original = Token::parse(kind, &full).unwrap();
                assert!(
                    !hasher.verify(&token, &hasher.hash(&original)),
                    "a {kind:?} hash verifies a {other:?}"
                );
            }
        }
    }

    #[test]
    fn masked_form_hides_the_secret() {
        for kind in KINDS {
            let (token, full) = Token::generate(kind);
            let p = kind.prefix().len();
            let masked = token.masked();
            assert!(masked.starts_with(&format!("{}{}…", kind.prefix(), &token.lookup_id()[..4])));
            assert!(masked.ends_with(&full[full.len() - 4..]));
            assert!(!masked.contains(&full[p + 13..p + 33]));
            assert!(!format!("{token:?}").contains(&full[p + 13..p + 33]));
        }
    }

    #[test]
    fn hash_is_keyed_and_verification_is_exact() {
        let (token, full) = Token::generate(TokenKind::ApiKey);
        let hasher = TokenHasher::new(SecretKey::random());
        let stored = hasher.hash(&token);
        assert!(hasher.verify(&Token::parse(TokenKind::ApiKey, &full).unwrap(), &stored));
        let (other, _) = Token::generate(TokenKind::ApiKey);
        assert!(!hasher.verify(&other, &stored));
        assert!(!TokenHasher::new(SecretKey::random()).verify(&token, &stored));
    }

    #[test]
    fn api_keys_hash_as_they_always_did() {
        let key = SecretKey::from_bytes([9; 32]);
        let (token, full) = Token::generate(TokenKind::ApiKey);
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.expose()).unwrap();
        mac.update(format!("{}\0{}", &full[7..19], &full[20..63]).as_bytes());
        let before: [u8; 32] = mac.finalize().into_bytes().into();
        assert_eq!(TokenHasher::new(key).hash(&token), before);
    }

    #[test]
    fn client_ids_are_public_random_and_distinct_from_secrets() {
        let a = new_client_id();
        assert!(a.starts_with(CLIENT_ID_PREFIX) && a.len() == CLIENT_ID_PREFIX.len() + 20);
        assert_ne!(a, new_client_id());
        for kind in KINDS {
            assert!(Token::parse(kind, &a).is_none());
        }
    }
}
