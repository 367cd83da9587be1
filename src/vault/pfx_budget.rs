//! A work budget for opening a PKCS#12 archive, checked before p12-keystore
//! opens it (`pfx::inspect`).
//!
//! p12-keystore caps each key derivation (1,000,000 iterations, scrypt up to
//! 1 GiB) but not how many it runs, and the MAC is optional: an 81 KB archive
//! with no MAC and 300 shrouded keys of 1,000,000 PBKDF2 iterations each took
//! 38 s to accept; one 783-byte scrypt bag, 43 s and 1 GiB. So we walk the
//! archive first and refuse (400) one that holds too many contents or bags,
//! has a single derivation stronger than any standard tool writes, or whose
//! derivations together exceed a total budget: the MAC, every encryptedData
//! content, every shrouded key and every secret bag p12-keystore would run,
//! plus our own decryption of each encryptedData content (bags hidden inside
//! are counted too). Every derivation is charged before it runs, ours
//! included, so neither this walk nor p12-keystore after it exceeds the budget.
//!
//! What we cannot read (bad DER, a scheme p12-keystore does not know, a
//! content that does not decrypt under this password) is left to
//! p12-keystore: it fails there, before any derivation we did not charge, and
//! says why as it always did (a wrong password stays `ArchivePasswordWrong`).
//! Work linear in the archive (parsing, ciphers, the MAC's HMAC) is bounded by
//! the 2 MiB cap on archives and not charged.

use cbc::cipher::{BlockCipherDecrypt, BlockModeDecrypt, KeyInit, KeyIvInit, block_padding::Pkcs7};
use der::asn1::{ContextSpecific, ObjectIdentifier, OctetString};
use der::{Any, Decode, Encode};
use pkcs5::pbes2;
use pkcs12::cms::cert::x509::attr::Attributes;
use pkcs12::cms::cert::x509::spki::AlgorithmIdentifierOwned;
use pkcs12::cms::content_info::{CmsVersion, ContentInfo};
use pkcs12::cms::encrypted_data::EncryptedData;
use pkcs12::kdf::{Pkcs12KeyType, derive_key_utf8};
use pkcs12::pbe_params::{EncryptedPrivateKeyInfo, Pkcs12PbeParams};
use pkcs12::safe_bag::SafeContents;
use pkcs12::{MacData, Pfx, SafeBag};
use zeroize::Zeroizing;

use crate::error::{AppError, ErrorCode};
use crate::vault::pfx;

/// Contents in the AuthenticatedSafe: OpenSSL, Windows and keytool write two
/// (certificates, keys).
pub const MAX_CONTENTS: usize = 16;
/// Bags in all, those inside encryptedData contents included: a key, its
/// certificate and a chain need a handful.
pub const MAX_BAGS: usize = 32;
/// Iterations of one PBKDF2 or PKCS#12-KDF derivation, MAC included. OpenSSL 3
/// writes 2048, Windows 2000, keytool 10,000 (JDK 8: 50,000, and 100,000 for
/// the MAC); 600,000 is OWASP's figure for PBKDF2-SHA256 and pkcs5's default,
/// and stays under p12-keystore's own 1,000,000 (which it reports as "not
/// PKCS#12").
pub const MAX_ITERATIONS: u64 = 600_000;
/// scrypt memory, 128·N·r bytes, and work, N·r·p (which also bounds its p
/// blocks of 128·r bytes to 16 MiB). The usual parameters
/// (N = 2^14, r = 8, p = 1) need 16 MiB and 131,072; no PKCS#12 tool we know
/// of writes scrypt at all.
pub const MAX_SCRYPT_MEMORY: u64 = 32 << 20;
pub const MAX_SCRYPT_WORK: u64 = 1 << 18;
/// All derivations of one archive, in cost units: archives at this budget
/// took 0.19 to 0.23 s to accept in release on the calibration machine. An
/// OpenSSL 3 archive costs about 14,000 units, a JDK 8 one 450,000, keytool's
/// at 100,000 iterations with a secret key 900,000; OpenSSL's `-iter` is
/// accepted up to about 420,000.
pub const MAX_TOTAL_COST: u64 = 3_000_000;

// Cost units: one unit is about one SHA-256 compression (one 64-byte block),
// 62 to 74 ns in release on the 2-core calibration machine. Measured there,
// per iteration and per output block, rounded up:
/// PBKDF2-HMAC with SHA-1/224/256 (inner and outer hash): 2 units.
const PBKDF2_SHA256_UNITS: u64 = 2;
/// PBKDF2-HMAC with SHA-384/512: 3.6 times SHA-256.
const PBKDF2_SHA512_UNITS: u64 = 8;
/// PKCS#12 KDF with SHA-1/224/256: one compression per iteration.
const PKCS12_KDF_SHA256_UNITS: u64 = 1;
/// PKCS#12 KDF with the SHA-512 family: 3.6 to 3.8 units.
const PKCS12_KDF_SHA512_UNITS: u64 = 4;
/// PKCS#12 KDF, per output block and per 64 bytes of salt and password
/// (spread byte by byte, then hashed): 2.2 to 3.6 units.
const PKCS12_KDF_INPUT_UNITS: u64 = 4;
/// scrypt per N·r·p: 3.6 units at 16 MiB, up to 7.9 at 32 MiB with r = 1.
const SCRYPT_UNITS: u64 = 8;
/// scrypt per r·p: the PBKDF2-SHA256 passes over its 128·r·p-byte blocks.
const SCRYPT_RP_UNITS: u64 = 32;

const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const ID_ENCRYPTED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.6");
const ID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const ID_SHA224: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.4");
const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const ID_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const ID_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
const ID_SHA512_224: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.5");
const ID_SHA512_256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.6");

const REEXPORT: &str = "Re-export it with standard settings, e.g. `openssl pkcs12 -export -in \
    cert.pem -inkey key.pem [-certfile chain.pem] -out cert.pfx` (2048 iterations) or keytool's \
    defaults.";

/// What the walk found and charged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Survey {
    pub contents: usize,
    /// Bags seen, those inside encryptedData contents included.
    pub bags: usize,
    /// Cost units charged, our own decryptions included.
    pub cost: u64,
    /// encryptedData contents that did not decrypt here, left to p12-keystore.
    pub unopened: usize,
}

/// Refuses an archive that would cost too much to open (see the module).
pub fn check(der: &[u8], password: &str) -> Result<(), AppError> {
    survey(der, password).map(|_| ())
}

/// Walks the archive as p12-keystore will, charging each derivation first.
pub fn survey(der: &[u8], password: &str) -> Result<Survey, AppError> {
    let pfx = Pfx::from_der(der).map_err(|_| pfx::not_pkcs12())?;
    let mut meter = Meter::default();
    // p12-keystore verifies the MAC before anything else.
    if let Some(kdf) = pfx.mac_data.as_ref().and_then(|m| mac_kdf(m, password)) {
        meter.charge(Role::Mac, &kdf, 1)?;
    }
    let Some(safes) = authenticated_safe(&pfx) else {
        return Ok(meter.survey);
    };
    meter.add_contents(safes.len())?;
    for safe in &safes {
        // p12-keystore stops at a content it cannot open; we still charge
        // the rest, which costs us nothing and keeps the bound if it did not.
        let Some(bags) = open(safe, password, &mut meter)? else {
            continue;
        };
        meter.add_bags(bags.len())?;
        for bag in &bags {
            if let Some((role, kdf)) = bag_kdf(bag, password) {
                meter.charge(role, &kdf, 1)?;
            }
        }
    }
    Ok(meter.survey)
}

/// The contents, read as p12-keystore reads them; `None` when it will fail.
fn authenticated_safe(pfx: &Pfx) -> Option<Vec<ContentInfo>> {
    if pfx.auth_safe.content_type != ID_DATA {
        return None;
    }
    let octets = OctetString::from_der(&pfx.auth_safe.content.to_der().ok()?).ok()?;
    Vec::<ContentInfo>::from_der(octets.as_bytes()).ok()
}

/// The bags of one content, decrypting an encryptedData one (charged twice:
/// once for us now, once for p12-keystore later). `None` leaves the content
/// to p12-keystore, which fails on it.
fn open(
    safe: &ContentInfo,
    password: &str,
    meter: &mut Meter,
) -> Result<Option<SafeContents>, AppError> {
    let Ok(content) = safe.content.to_der() else {
        return Ok(None);
    };
    if safe.content_type == ID_DATA {
        return Ok(OctetString::from_der(&content)
            .ok()
            .and_then(|octets| SafeContents::from_der(octets.as_bytes()).ok()));
    }
    if safe.content_type != ID_ENCRYPTED_DATA {
        return Ok(None);
    }
    let Ok(encrypted) = EncryptedData::from_der(&content) else {
        return Ok(None);
    };
    let info = &encrypted.enc_content_info;
    let (Some(ciphertext), Some(scheme), CmsVersion::V0) = (
        &info.encrypted_content,
        Scheme::parse(&info.content_enc_alg),
        encrypted.version,
    ) else {
        return Ok(None);
    };
    meter.charge(Role::Content, &scheme.kdf(password), 2)?;
    let bags = scheme
        .decrypt(password, ciphertext.as_bytes())
        .and_then(|plain| SafeContents::from_der(&plain).ok());
    if bags.is_none() {
        meter.survey.unopened += 1;
    }
    Ok(bags)
}

/// The derivation p12-keystore runs for a bag, if any.
fn bag_kdf(bag: &SafeBag, password: &str) -> Option<(Role, Kdf)> {
    let (role, info) = match bag.bag_id {
        pkcs12::PKCS_12_PKCS8_KEY_BAG_OID => (
            Role::ShroudedKey,
            ContextSpecific::<EncryptedPrivateKeyInfo>::from_der(&bag.bag_value)
                .ok()?
                .value,
        ),
        // p12-keystore decrypts whatever a secret bag holds, and ignores failures.
        pkcs12::PKCS_12_SECRET_BAG_OID => {
            let envelope = Any::from_der(&bag.bag_value).ok()?;
            let secret = SecretBag::from_der(envelope.value()).ok()?;
            (
                Role::SecretBag,
                EncryptedPrivateKeyInfo::from_der(secret.secret_value.as_bytes()).ok()?,
            )
        }
        _ => return None,
    };
    Some((
        role,
        Scheme::parse(&info.encryption_algorithm)?.kdf(password),
    ))
}

/// As p12-keystore reads a secretBag.
#[derive(der::Sequence)]
struct SecretBag {
    _secret_type_id: ObjectIdentifier,
    #[asn1(context_specific = "0")]
    secret_value: OctetString,
    _bag_attributes: Option<Attributes>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Mac,
    Content,
    ShroudedKey,
    SecretBag,
}

impl Role {
    fn describe(self) -> &'static str {
        match self {
            Role::Mac => "MAC",
            Role::Content => "encrypted content",
            Role::ShroudedKey => "encrypted private key",
            Role::SecretBag => "encrypted secret",
        }
    }
}

/// One key derivation: how strong (for the per-derivation caps) and how
/// costly (for the total).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Kdf {
    strength: Strength,
    cost: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strength {
    Iterations(u64),
    Scrypt { memory: u64, work: u64 },
}

/// The hashes p12-keystore runs the PKCS#12 KDF with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hash {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
    Sha512_224,
    Sha512_256,
}

impl Hash {
    fn from_oid(oid: ObjectIdentifier) -> Option<Hash> {
        Some(match oid {
            ID_SHA1 => Hash::Sha1,
            ID_SHA224 => Hash::Sha224,
            ID_SHA256 => Hash::Sha256,
            ID_SHA384 => Hash::Sha384,
            ID_SHA512 => Hash::Sha512,
            ID_SHA512_224 => Hash::Sha512_224,
            ID_SHA512_256 => Hash::Sha512_256,
            _ => return None,
        })
    }

    fn output_len(self) -> usize {
        match self {
            Hash::Sha1 => 20,
            Hash::Sha224 | Hash::Sha512_224 => 28,
            Hash::Sha256 | Hash::Sha512_256 => 32,
            Hash::Sha384 => 48,
            Hash::Sha512 => 64,
        }
    }

    fn block_len(self) -> usize {
        match self {
            Hash::Sha1 | Hash::Sha224 | Hash::Sha256 => 64,
            _ => 128,
        }
    }

    fn kdf_units(self) -> u64 {
        match self {
            Hash::Sha1 | Hash::Sha224 | Hash::Sha256 => PKCS12_KDF_SHA256_UNITS,
            _ => PKCS12_KDF_SHA512_UNITS,
        }
    }
}

/// The PKCS#12 KDF (RFC 7292, appendix B) producing `lens` outputs: per output
/// block, one pass over salt and password, then `iterations` hashes.
fn pkcs12_kdf(hash: Hash, iterations: i32, lens: &[usize], salt: usize, password: &str) -> Kdf {
    // Fewer than one round still hashes once.
    let iterations = u64::try_from(iterations).unwrap_or(0).max(1);
    let blocks: usize = lens.iter().map(|len| len.div_ceil(hash.output_len())).sum();
    // The password as a NUL-terminated BMPString.
    let password = 2 * password.encode_utf16().count() + 2;
    let input =
        salt.next_multiple_of(hash.block_len()) + password.next_multiple_of(hash.block_len());
    let per_block = iterations
        .saturating_mul(hash.kdf_units())
        .saturating_add(to_u64(input.div_ceil(64)).saturating_mul(PKCS12_KDF_INPUT_UNITS));
    Kdf {
        strength: Strength::Iterations(iterations),
        cost: per_block.saturating_mul(to_u64(blocks)),
    }
}

fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// The MAC's key derivation, if p12-keystore knows its hash.
fn mac_kdf(mac: &MacData, password: &str) -> Option<Kdf> {
    let hash = Hash::from_oid(mac.mac.algorithm.oid)?;
    Some(pkcs12_kdf(
        hash,
        mac.iterations,
        &[hash.output_len()],
        mac.mac_salt.as_bytes().len(),
        password,
    ))
}

/// An encryption scheme p12-keystore can decrypt.
enum Scheme {
    Pbes2(pbes2::Parameters),
    /// pbeWithSHAAnd3-KeyTripleDES-CBC and pbeWithSHAAnd40BitRC2-CBC (RFC
    /// 7292, appendix C), which `openssl pkcs12 -legacy` and JDK 8 write.
    Pkcs12Pbe {
        cipher: PbeCipher,
        params: Pkcs12PbeParams,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PbeCipher {
    TripleDes,
    Rc2With40BitKey,
}

impl PbeCipher {
    fn key_len(self) -> usize {
        match self {
            PbeCipher::TripleDes => 24,
            PbeCipher::Rc2With40BitKey => 5,
        }
    }
}

/// Both PBE ciphers have 8-byte blocks, hence IVs.
const PBE_IV_LEN: usize = 8;

impl Scheme {
    /// `None` where p12-keystore fails before deriving anything.
    fn parse(algorithm: &AlgorithmIdentifierOwned) -> Option<Scheme> {
        let cipher = match algorithm.oid {
            pbes2::PBES2_OID => None,
            pkcs12::PKCS_12_PBE_WITH_SHAAND3_KEY_TRIPLE_DES_CBC => Some(PbeCipher::TripleDes),
            pkcs12::PKCS_12_PBEWITH_SHAAND40_BIT_RC2_CBC => Some(PbeCipher::Rc2With40BitKey),
            _ => return None,
        };
        let params = algorithm.parameters.as_ref()?.to_der().ok()?;
        Some(match cipher {
            None => Scheme::Pbes2(pbes2::Parameters::from_der(&params).ok()?),
            Some(cipher) => Scheme::Pkcs12Pbe {
                cipher,
                params: Pkcs12PbeParams::from_der(&params).ok()?,
            },
        })
    }

    fn kdf(&self, password: &str) -> Kdf {
        match self {
            Scheme::Pkcs12Pbe { cipher, params } => pkcs12_kdf(
                Hash::Sha1,
                params.iterations,
                &[cipher.key_len(), PBE_IV_LEN],
                params.salt.as_bytes().len(),
                password,
            ),
            Scheme::Pbes2(params) => {
                let key_len = params.encryption.key_size();
                match &params.kdf {
                    pbes2::Kdf::Pbkdf2(kdf) => {
                        let (output_len, units) = match kdf.prf {
                            pbes2::Pbkdf2Prf::HmacWithSha1 => (20, PBKDF2_SHA256_UNITS),
                            pbes2::Pbkdf2Prf::HmacWithSha224 => (28, PBKDF2_SHA256_UNITS),
                            pbes2::Pbkdf2Prf::HmacWithSha256 => (32, PBKDF2_SHA256_UNITS),
                            pbes2::Pbkdf2Prf::HmacWithSha384 => (48, PBKDF2_SHA512_UNITS),
                            pbes2::Pbkdf2Prf::HmacWithSha512 => (64, PBKDF2_SHA512_UNITS),
                            // None other in pkcs5 0.8; assume the costliest.
                            _ => (20, PBKDF2_SHA512_UNITS),
                        };
                        let iterations = u64::from(kdf.iteration_count).max(1);
                        let blocks = to_u64(key_len.div_ceil(output_len));
                        Kdf {
                            strength: Strength::Iterations(iterations),
                            cost: iterations.saturating_mul(units).saturating_mul(blocks),
                        }
                    }
                    pbes2::Kdf::Scrypt(kdf) => {
                        let (n, r, p) = (
                            kdf.cost_parameter,
                            u64::from(kdf.block_size),
                            u64::from(kdf.parallelization),
                        );
                        let work = n.saturating_mul(r).saturating_mul(p);
                        let rp = r.saturating_mul(p);
                        Kdf {
                            strength: Strength::Scrypt {
                                memory: n.saturating_mul(r).saturating_mul(128),
                                work,
                            },
                            cost: work
                                .saturating_mul(SCRYPT_UNITS)
                                .saturating_add(rp.saturating_mul(SCRYPT_RP_UNITS)),
                        }
                    }
                    // pkcs5 0.8 has no other KDF; one it may add is refused
                    // (beyond the budget) rather than guessed at.
                    _ => Kdf {
                        strength: Strength::Iterations(1),
                        cost: u64::MAX,
                    },
                }
            }
        }
    }

    /// The plaintext, or `None` (wrong password, unknown cipher).
    fn decrypt(&self, password: &str, ciphertext: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        match self {
            Scheme::Pbes2(params) => params
                .decrypt(password.as_bytes(), ciphertext)
                .ok()
                .map(Zeroizing::new),
            Scheme::Pkcs12Pbe { cipher, params } => {
                let derive = |kind, len| {
                    derive_key_utf8::<sha1::Sha1>(
                        password,
                        params.salt.as_bytes(),
                        kind,
                        params.iterations,
                        len,
                    )
                    .ok()
                    .map(Zeroizing::new)
                };
                let key = derive(Pkcs12KeyType::EncryptionKey, cipher.key_len())?;
                let iv = derive(Pkcs12KeyType::Iv, PBE_IV_LEN)?;
                let mut buffer = Zeroizing::new(ciphertext.to_vec());
                let len = match cipher {
                    PbeCipher::TripleDes => cbc_decrypt::<des::TdesEde3>(&key, &iv, &mut buffer),
                    PbeCipher::Rc2With40BitKey => cbc_decrypt::<rc2::Rc2>(&key, &iv, &mut buffer),
                }?;
                buffer.truncate(len);
                Some(buffer)
            }
        }
    }
}

/// Decrypts in place; the plaintext's length, or `None` if the padding is
/// wrong (most often, a wrong password).
fn cbc_decrypt<C: BlockCipherDecrypt + KeyInit>(
    key: &[u8],
    iv: &[u8],
    buffer: &mut [u8],
) -> Option<usize> {
    let decryptor = cbc::Decryptor::<C>::new_from_slices(key, iv).ok()?;
    decryptor
        .decrypt_padded::<Pkcs7>(buffer)
        .ok()
        .map(|plain| plain.len())
}

#[derive(Debug, Default)]
struct Meter {
    survey: Survey,
}

impl Meter {
    /// Charges `times` runs of `kdf`, before any of them.
    fn charge(&mut self, role: Role, kdf: &Kdf, times: u64) -> Result<(), AppError> {
        let too_strong = match kdf.strength {
            Strength::Iterations(n) => n > MAX_ITERATIONS,
            Strength::Scrypt { memory, work } => {
                memory > MAX_SCRYPT_MEMORY || work > MAX_SCRYPT_WORK
            }
        };
        if too_strong {
            return Err(kdf_too_costly(role, kdf.strength));
        }
        self.survey.cost = self
            .survey
            .cost
            .saturating_add(kdf.cost.saturating_mul(times));
        if self.survey.cost > MAX_TOTAL_COST {
            return Err(AppError::new(
                ErrorCode::ArchiveTooCostly,
                format!(
                    "The certificate archive would take too much work to open: its key \
                     derivations together (the MAC, each encrypted content and each encrypted \
                     key) exceed about {} PBKDF2-SHA256 iterations. {REEXPORT}",
                    MAX_TOTAL_COST / PBKDF2_SHA256_UNITS
                ),
            ));
        }
        Ok(())
    }

    fn add_contents(&mut self, n: usize) -> Result<(), AppError> {
        self.survey.contents = n;
        if n > MAX_CONTENTS {
            return Err(too_many(format!(
                "The certificate archive holds {n} contents; at most {MAX_CONTENTS} are accepted."
            )));
        }
        Ok(())
    }

    fn add_bags(&mut self, n: usize) -> Result<(), AppError> {
        self.survey.bags = self.survey.bags.saturating_add(n);
        if self.survey.bags > MAX_BAGS {
            return Err(too_many(format!(
                "The certificate archive holds more than {MAX_BAGS} bags (certificates, keys \
                 and others, counting those inside encrypted contents); at most {MAX_BAGS} are \
                 accepted."
            )));
        }
        Ok(())
    }
}

fn too_many(what: String) -> AppError {
    AppError::new(
        ErrorCode::ArchiveTooManyBags,
        format!("{what} Keep the key, its certificate and its chain only. {REEXPORT}"),
    )
}

fn kdf_too_costly(role: Role, strength: Strength) -> AppError {
    let what = match strength {
        Strength::Iterations(n) => format!("{n} iterations; at most {MAX_ITERATIONS} are accepted"),
        Strength::Scrypt { memory, work } => format!(
            "scrypt needing {} MiB and N·r·p = {work}; at most {} MiB and {MAX_SCRYPT_WORK} are \
             accepted",
            memory.div_ceil(1 << 20),
            MAX_SCRYPT_MEMORY >> 20
        ),
    };
    AppError::new(
        ErrorCode::ArchiveKdfTooCostly,
        format!(
            "The certificate archive's {} is protected with {what}. {REEXPORT}",
            role.describe()
        ),
    )
}

#[cfg(test)]
#[path = "../../tests/api/pfx_forge.rs"]
mod pfx_forge;

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::pfx_forge::{self, Forge, MacSpec, Scheme};
    use super::*;
    use crate::vault::pfx::inspect;
    use crate::vault::pfx::tests::openssl_pfx;

    const PASSWORD: &str = "Sw0rdfish-in-the-archive";

    /// Refused with `code`, before any derivation: under a second even in debug.
    #[track_caller]
    fn refused(der: &[u8], code: &str) -> AppError {
        let started = Instant::now();
        let err = inspect(der, PASSWORD).unwrap_err();
        let took = started.elapsed();
        assert_eq!(err.code(), code, "{:?}", err.messages());
        assert!(took < Duration::from_secs(1), "took {took:?}");
        let message = &err.messages()[0].message;
        assert!(!message.contains(PASSWORD), "{message}");
        assert!(message.contains("openssl pkcs12 -export"), "{message}");
        err
    }

    #[test]
    fn the_reviewers_300_costly_keys_are_too_many_bags() {
        let der = pfx_forge::shrouded_keys_without_mac(300, 1_000_000, PASSWORD);
        refused(&der, "ArchiveTooManyBags");
        // Fewer, but each beyond the cap, or all together beyond the budget.
        let one = pfx_forge::shrouded_keys_without_mac(1, 1_000_000, PASSWORD);
        let err = refused(&one, "ArchiveKdfTooCostly");
        assert!(
            err.messages()[0].message.contains("1000000 iterations"),
            "{:?}",
            err.messages()
        );
        let six = pfx_forge::shrouded_keys_without_mac(6, 300_000, PASSWORD);
        refused(&six, "ArchiveTooCostly");
    }

    #[test]
    fn a_gigabyte_scrypt_is_refused_before_deriving() {
        let der = pfx_forge::scrypt_key(20, 8, 16);
        let err = refused(&der, "ArchiveKdfTooCostly");
        assert!(
            err.messages()[0].message.contains("1024 MiB"),
            "{:?}",
            err.messages()
        );
        // Cheap in memory, costly in work.
        refused(&pfx_forge::scrypt_key(10, 1, 1024), "ArchiveKdfTooCostly");
        // The usual parameters pass.
        let usual = survey(&pfx_forge::scrypt_key(14, 8, 1), PASSWORD).unwrap();
        assert_eq!(usual.bags, 1);
    }

    #[test]
    fn many_certificate_bags_or_contents_are_refused() {
        refused(&pfx_forge::many_cert_bags(1000), "ArchiveTooManyBags");
        refused(
            &pfx_forge::many_cert_bags(MAX_BAGS + 1),
            "ArchiveTooManyBags",
        );
        assert_eq!(pfx_forge::content_count(&pfx_forge::many_contents(17)), 17);
        refused(
            &pfx_forge::many_contents(MAX_CONTENTS + 1),
            "ArchiveTooManyBags",
        );
        // At the limits: no derivation, nothing to charge.
        let most = survey(&pfx_forge::many_cert_bags(MAX_BAGS), PASSWORD).unwrap();
        assert_eq!((most.bags, most.cost), (MAX_BAGS, 0));
        let most = survey(&pfx_forge::many_contents(MAX_CONTENTS), PASSWORD).unwrap();
        assert_eq!((most.contents, most.bags), (MAX_CONTENTS, MAX_CONTENTS));
    }

    #[test]
    fn bags_hidden_in_an_encrypted_content_are_counted() {
        let few = survey(&pfx_forge::hidden_cert_bags(5, PASSWORD), PASSWORD).unwrap();
        assert_eq!((few.contents, few.bags, few.unopened), (2, 6, 0));
        refused(
            &pfx_forge::hidden_cert_bags(40, PASSWORD),
            "ArchiveTooManyBags",
        );
        // Under another password they stay hidden; p12-keystore then fails.
        let der = pfx_forge::hidden_cert_bags(40, "another password");
        let hidden = survey(&der, PASSWORD).unwrap();
        assert_eq!((hidden.bags, hidden.unopened), (1, 1));
        assert_eq!(
            inspect(&der, PASSWORD).unwrap_err().code(),
            "ArchivePasswordWrong"
        );
    }

    #[test]
    fn a_wrong_password_on_an_encrypted_content_without_mac_stays_a_wrong_password() {
        let cheap = Scheme::Pbkdf2 { iterations: 1 };
        let der = Forge::new()
            .encrypted(&[pfx_forge::cert_bag()], cheap, "right")
            .data(&[pfx_forge::shrouded_key_bag(
                cheap.seal("right", pfx_forge::KEY_DER),
            )])
            .finish(MacSpec::None, "right");
        assert!(inspect(&der, "right").is_ok());
        assert_eq!(survey(&der, "wrong").unwrap().unopened, 1);
        assert_eq!(
            inspect(&der, "wrong").unwrap_err().code(),
            "ArchivePasswordWrong"
        );
    }

    #[test]
    fn costly_macs_contents_and_secrets_are_refused() {
        refused(
            &pfx_forge::huge_mac(i32::MAX, PASSWORD),
            "ArchiveKdfTooCostly",
        );
        let err = refused(
            &pfx_forge::huge_mac(MAX_ITERATIONS as i32 + 1, PASSWORD),
            "ArchiveKdfTooCostly",
        );
        assert!(
            err.messages()[0].message.contains("MAC"),
            "{:?}",
            err.messages()
        );
        let content = Forge::new()
            .encrypted_raw(
                Scheme::Pbkdf2 {
                    iterations: u32::MAX,
                }
                .claim(),
            )
            .finish(MacSpec::None, PASSWORD);
        refused(&content, "ArchiveKdfTooCostly");
        let content = Forge::new()
            .encrypted_raw(
                Scheme::Scrypt {
                    log_n: 20,
                    r: 8,
                    p: 16,
                }
                .claim(),
            )
            .finish(MacSpec::None, PASSWORD);
        refused(&content, "ArchiveKdfTooCostly");
        // p12-keystore decrypts secret bags even when it cannot use them.
        let secret = Forge::new()
            .data(&[pfx_forge::secret_bag(
                Scheme::Pbkdf2 {
                    iterations: 1_000_000,
                }
                .claim(),
            )])
            .finish(MacSpec::None, PASSWORD);
        let err = refused(&secret, "ArchiveKdfTooCostly");
        assert!(
            err.messages()[0].message.contains("secret"),
            "{:?}",
            err.messages()
        );
        let costly = pfx_forge::secret_bag(
            Scheme::Pbkdf2 {
                iterations: 400_000,
            }
            .claim(),
        );
        let secrets = Forge::new()
            .data(&vec![costly; 4])
            .finish(MacSpec::None, PASSWORD);
        refused(&secrets, "ArchiveTooCostly");
    }

    #[test]
    fn a_benign_archive_at_the_caps_is_accepted() {
        let (mac, cert, key) = (MAX_ITERATIONS as i32, 290_000, MAX_ITERATIONS as u32);
        let der = pfx_forge::benign(mac, cert, key, PASSWORD);
        let found = survey(&der, PASSWORD).unwrap();
        assert_eq!((found.contents, found.bags, found.unopened), (2, 2, 0));
        assert!(found.cost > MAX_TOTAL_COST * 98 / 100, "{found:?}");
        let info = inspect(&der, PASSWORD).unwrap();
        assert!(info.issuer.contains("Coffre Forge Test"), "{info:?}");
        // One more iteration, or more of them everywhere, is too much.
        let over = pfx_forge::benign(mac, cert, key + 1, PASSWORD);
        refused(&over, "ArchiveKdfTooCostly");
        let over = pfx_forge::benign(430_000, 430_000, 430_000, PASSWORD);
        refused(&over, "ArchiveTooCostly");
    }

    #[test]
    fn openssl_archives_pass_with_their_encrypted_content_opened() {
        for legacy in [false, true] {
            let der = openssl_pfx(PASSWORD, legacy);
            let found = survey(&der, PASSWORD).unwrap();
            assert_eq!((found.contents, found.bags, found.unopened), (2, 2, 0));
            assert!(found.cost < 20_000, "{found:?}");
            assert!(inspect(&der, PASSWORD).is_ok());
        }
    }

    #[test]
    fn openssl_3des_and_strong_archives_pass() {
        // The forge's key and certificate, exported by `openssl pkcs12` (see
        // tests/fixtures/make.sh). Triple DES for both, as OpenSSL 1.1 and
        // Windows' "TripleDES-SHA1" do, with a SHA-1 MAC at 2000 iterations.
        let des = include_bytes!("../../tests/fixtures/forge-3des.p12");
        let found = survey(des, PASSWORD).unwrap();
        assert_eq!((found.bags, found.unopened), (2, 0));
        assert!(inspect(des, PASSWORD).is_ok());
        // The strongest -iter we promise to accept: 400,000.
        let strong = include_bytes!("../../tests/fixtures/forge-iter400k.p12");
        assert!(survey(strong, PASSWORD).unwrap().cost <= MAX_TOTAL_COST);
        assert!(inspect(strong, PASSWORD).is_ok());
    }

    #[test]
    fn keytool_archives_pass() {
        let jdk8 = include_bytes!("../../tests/fixtures/keytool-jdk8.p12");
        let found = survey(jdk8, "changeit").unwrap();
        assert_eq!((found.contents, found.bags, found.unopened), (2, 2, 0));
        // 100,000 (MAC) + 2 × 2 × 50,000 (RC2 key and IV) + 3 × 50,000 (3DES).
        assert!((450_000..460_000).contains(&found.cost), "{found:?}");
        assert!(inspect(jdk8, "changeit").is_ok());

        let modern = include_bytes!("../../tests/fixtures/keytool-100k.p12");
        let found = survey(modern, "changeit").unwrap();
        assert_eq!((found.contents, found.bags, found.unopened), (2, 3, 0));
        // The secret bag is charged like the key: 100,000 + 4 × 200,000.
        assert!((900_000..910_000).contains(&found.cost), "{found:?}");
        assert!(inspect(modern, "changeit").is_ok());
    }

    #[test]
    fn not_der_is_not_pkcs12() {
        assert_eq!(
            check(b"definitely not DER", PASSWORD).unwrap_err().code(),
            "NotPkcs12"
        );
        assert_eq!(check(&[], PASSWORD).unwrap_err().code(), "NotPkcs12");
    }
}
