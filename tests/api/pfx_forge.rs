//! Builds PKCS#12 archives byte by byte, hostile and benign, for the tests of
//! the archive budget (`src/vault/pfx_budget.rs`, which includes this file) and
//! for black-box tests of the API. Real openers (p12-keystore) derive the key
//! before they can tell a wrong ciphertext or MAC from a right one, so most
//! hostile shapes only *claim* costly parameters over garbage; where sealing
//! for real is affordable (one derivation reused for every bag) they are real,
//! so the old code would have accepted them.
// Each user (the unit tests, the API tests) takes a different subset.
#![allow(dead_code)]

use der::asn1::{Null, ObjectIdentifier, OctetString, SetOfVec};
use der::{Any, Decode, Encode};
use hmac::{KeyInit, Mac};
use pkcs5::pbes2;
use pkcs12::cms::cert::x509::attr::Attribute;
use pkcs12::cms::cert::x509::spki::AlgorithmIdentifierOwned;
use pkcs12::cms::content_info::{CmsVersion, ContentInfo};
use pkcs12::cms::encrypted_data::EncryptedData;
use pkcs12::cms::enveloped_data::EncryptedContentInfo;
use pkcs12::kdf::{Pkcs12KeyType, derive_key_utf8};
use pkcs12::pbe_params::EncryptedPrivateKeyInfo;
use pkcs12::pfx::{Pfx, Version};
use pkcs12::{CertBag, DigestInfo, MacData, SafeBag};

/// A test-only P-256 key (PKCS#8) and its self-signed certificate
/// (`CN=Coffre Forge Test, O=Coffre`), made by `tests/fixtures/make.sh`.
pub const KEY_DER: &[u8] = include_bytes!("../fixtures/forge-key.pk8.der");
pub const CERT_DER: &[u8] = include_bytes!("../fixtures/forge-cert.der");

const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const ID_ENCRYPTED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.6");
const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const ID_LOCAL_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.21");
const LOCAL_KEY_ID: &[u8] = b"coffre-forge";

/// How a bag or a content is encrypted (PBES2, AES-256-CBC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// PBKDF2 with HMAC-SHA256, as OpenSSL 3 and keytool write.
    Pbkdf2 {
        iterations: u32,
    },
    Scrypt {
        log_n: u8,
        r: u16,
        p: u16,
    },
}

impl Scheme {
    fn parameters(self) -> pbes2::Parameters {
        let salt = [0x5a; 16];
        let iv = [0xa5; 16];
        match self {
            Scheme::Pbkdf2 { iterations } => {
                let mut params =
                    pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(1, &salt, iv).unwrap();
                // Set afterwards: the constructor refuses over 100,000,000.
                if let pbes2::Kdf::Pbkdf2(kdf) = &mut params.kdf {
                    kdf.iteration_count = iterations;
                }
                params
            }
            Scheme::Scrypt { log_n, r, p } => pbes2::Parameters {
                kdf: pbes2::Kdf::Scrypt(pbes2::ScryptParams {
                    salt: salt.as_slice().try_into().unwrap(),
                    cost_parameter: 1 << log_n,
                    block_size: r,
                    parallelization: p,
                    key_length: None,
                }),
                encryption: pbes2::EncryptionScheme::Aes256Cbc { iv },
            },
        }
    }

    fn algorithm(self) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: pbes2::PBES2_OID,
            parameters: Some(Any::encode_from(&self.parameters()).unwrap()),
        }
    }

    /// Encrypts for real: costs one derivation now.
    pub fn seal(self, password: &str, plaintext: &[u8]) -> (AlgorithmIdentifierOwned, Vec<u8>) {
        let ciphertext = self
            .parameters()
            .encrypt(password.as_bytes(), plaintext)
            .unwrap();
        (self.algorithm(), ciphertext)
    }

    /// Claims this scheme over garbage: free to make, as costly to open.
    pub fn claim(self) -> (AlgorithmIdentifierOwned, Vec<u8>) {
        (self.algorithm(), vec![0; 48])
    }
}

/// `bag_value` is the bag's content: pkcs12's encoder wraps it in the
/// `[0] EXPLICIT` tag (its decoder keeps the tag).
fn with_local_key_id(bag_id: ObjectIdentifier, bag_value: Vec<u8>) -> SafeBag {
    let id = Any::encode_from(&OctetString::new(LOCAL_KEY_ID).unwrap()).unwrap();
    let mut attributes = SetOfVec::new();
    attributes
        .insert(Attribute {
            oid: ID_LOCAL_KEY_ID,
            values: SetOfVec::try_from(vec![id]).unwrap(),
        })
        .unwrap();
    SafeBag {
        bag_id,
        bag_value,
        bag_attributes: Some(attributes),
    }
}

/// A certBag holding the fixture certificate.
pub fn cert_bag() -> SafeBag {
    let cert = CertBag {
        cert_id: pkcs12::PKCS_12_X509_CERT_OID,
        cert_value: OctetString::new(CERT_DER).unwrap(),
    };
    with_local_key_id(pkcs12::PKCS_12_CERT_BAG_OID, cert.to_der().unwrap())
}

/// A pkcs8ShroudedKeyBag from an algorithm and ciphertext ([`Scheme::seal`]
/// of [`KEY_DER`], or [`Scheme::claim`]).
pub fn shrouded_key_bag((algorithm, ciphertext): (AlgorithmIdentifierOwned, Vec<u8>)) -> SafeBag {
    let info = EncryptedPrivateKeyInfo {
        encryption_algorithm: algorithm,
        encrypted_data: OctetString::new(ciphertext).unwrap(),
    };
    with_local_key_id(pkcs12::PKCS_12_PKCS8_KEY_BAG_OID, info.to_der().unwrap())
}

/// A secretBag as keytool writes it: a shrouded key inside.
pub fn secret_bag((algorithm, ciphertext): (AlgorithmIdentifierOwned, Vec<u8>)) -> SafeBag {
    #[derive(der::Sequence)]
    struct SecretBag {
        secret_type_id: ObjectIdentifier,
        #[asn1(context_specific = "0")]
        secret_value: OctetString,
    }
    let info = EncryptedPrivateKeyInfo {
        encryption_algorithm: algorithm,
        encrypted_data: OctetString::new(ciphertext).unwrap(),
    };
    let bag = SecretBag {
        secret_type_id: pkcs12::PKCS_12_PKCS8_KEY_BAG_OID,
        secret_value: OctetString::new(info.to_der().unwrap()).unwrap(),
    };
    with_local_key_id(pkcs12::PKCS_12_SECRET_BAG_OID, bag.to_der().unwrap())
}

/// The archive's MAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacSpec {
    None,
    /// HMAC-SHA256 with a PKCS#12-KDF key, computed for real.
    Real {
        iterations: i32,
    },
    /// Claims `iterations` over a garbage digest (checked only after deriving).
    Claimed {
        iterations: i32,
    },
}

/// An archive under construction: its AuthenticatedSafe's contents, in order.
#[derive(Debug, Clone, Default)]
pub struct Forge {
    contents: Vec<ContentInfo>,
}

impl Forge {
    pub fn new() -> Forge {
        Forge::default()
    }

    /// A plain `data` content.
    pub fn data(mut self, bags: &[SafeBag]) -> Forge {
        let bags = bags.to_vec().to_der().unwrap();
        self.contents.push(ContentInfo {
            content_type: ID_DATA,
            content: Any::encode_from(&OctetString::new(bags).unwrap()).unwrap(),
        });
        self
    }

    /// An `encryptedData` content, encrypted for real under `scheme`.
    pub fn encrypted(self, bags: &[SafeBag], scheme: Scheme, password: &str) -> Forge {
        let bags = bags.to_vec().to_der().unwrap();
        self.encrypted_raw(scheme.seal(password, &bags))
    }

    /// An `encryptedData` content from an algorithm and ciphertext.
    pub fn encrypted_raw(
        mut self,
        (algorithm, ciphertext): (AlgorithmIdentifierOwned, Vec<u8>),
    ) -> Forge {
        let encrypted = EncryptedData {
            version: CmsVersion::V0,
            enc_content_info: EncryptedContentInfo {
                content_type: ID_DATA,
                content_enc_alg: algorithm,
                encrypted_content: Some(OctetString::new(ciphertext).unwrap()),
            },
            unprotected_attrs: None,
        };
        self.contents.push(ContentInfo {
            content_type: ID_ENCRYPTED_DATA,
            content: Any::encode_from(&encrypted).unwrap(),
        });
        self
    }

    /// The PFX, DER.
    pub fn finish(self, mac: MacSpec, password: &str) -> Vec<u8> {
        let auth_safe = self.contents.to_der().unwrap();
        let salt = [0x3c; 20];
        let mac_data = match mac {
            MacSpec::None => None,
            MacSpec::Real { iterations } => {
                let key = derive_key_utf8::<sha2::Sha256>(
                    password,
                    &salt,
                    Pkcs12KeyType::Mac,
                    iterations,
                    32,
                )
                .unwrap();
                let mut hmac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
                hmac.update(&auth_safe);
                Some(mac_data(
                    hmac.finalize().into_bytes().to_vec(),
                    &salt,
                    iterations,
                ))
            }
            MacSpec::Claimed { iterations } => Some(mac_data(vec![0; 32], &salt, iterations)),
        };
        Pfx {
            version: Version::V3,
            auth_safe: ContentInfo {
                content_type: ID_DATA,
                content: Any::encode_from(&OctetString::new(auth_safe).unwrap()).unwrap(),
            },
            mac_data,
        }
        .to_der()
        .unwrap()
    }
}

fn mac_data(digest: Vec<u8>, salt: &[u8], iterations: i32) -> MacData {
    MacData {
        mac: DigestInfo {
            algorithm: AlgorithmIdentifierOwned {
                oid: ID_SHA256,
                parameters: Some(Any::encode_from(&Null).unwrap()),
            },
            digest: OctetString::new(digest).unwrap(),
        },
        mac_salt: OctetString::new(salt).unwrap(),
        iterations,
    }
}

/// (a) The reviewer's shape: no MAC, `n` shrouded copies of the fixture key,
/// each under PBKDF2 with `iterations`; sealed for real (one derivation now),
/// so the old code accepts it after `n` derivations.
pub fn shrouded_keys_without_mac(n: usize, iterations: u32, password: &str) -> Vec<u8> {
    let bag = shrouded_key_bag(Scheme::Pbkdf2 { iterations }.seal(password, KEY_DER));
    Forge::new()
        .encrypted(&[cert_bag()], Scheme::Pbkdf2 { iterations: 1 }, password)
        .data(&vec![bag; n])
        .finish(MacSpec::None, password)
}

/// (b) One shrouded key under scrypt (claimed): N=2^20, r=8, p=16 costs
/// 1 GiB and tens of seconds to derive before the padding check fails.
pub fn scrypt_key(log_n: u8, r: u16, p: u16) -> Vec<u8> {
    Forge::new()
        .data(&[shrouded_key_bag(Scheme::Scrypt { log_n, r, p }.claim())])
        .finish(MacSpec::None, "")
}

/// (c) `n` certificate bags in one plain content.
pub fn many_cert_bags(n: usize) -> Vec<u8> {
    Forge::new()
        .data(&vec![cert_bag(); n])
        .finish(MacSpec::None, "")
}

/// `n` plain contents of one certificate bag each.
pub fn many_contents(n: usize) -> Vec<u8> {
    let mut forge = Forge::new();
    for _ in 0..n {
        forge = forge.data(&[cert_bag()]);
    }
    forge.finish(MacSpec::None, "")
}

/// (d) `n` certificate bags hidden in an `encryptedData` content, encrypted
/// for real with a cheap PBES2 (1 iteration), beside a plain shrouded key.
pub fn hidden_cert_bags(n: usize, password: &str) -> Vec<u8> {
    let cheap = Scheme::Pbkdf2 { iterations: 1 };
    Forge::new()
        .encrypted(&vec![cert_bag(); n], cheap, password)
        .data(&[shrouded_key_bag(cheap.seal(password, KEY_DER))])
        .finish(MacSpec::Real { iterations: 1 }, password)
}

/// (e) A cheap, real archive whose MAC claims `iterations`.
pub fn huge_mac(iterations: i32, password: &str) -> Vec<u8> {
    let cheap = Scheme::Pbkdf2 { iterations: 1 };
    Forge::new()
        .encrypted(&[cert_bag()], cheap, password)
        .data(&[shrouded_key_bag(cheap.seal(password, KEY_DER))])
        .finish(MacSpec::Claimed { iterations }, password)
}

/// (f) A benign, real, openable archive shaped like OpenSSL 3's: the
/// certificate in an `encryptedData` content, the shrouded key in a plain one,
/// an HMAC-SHA256 MAC, each derivation with its own iteration count.
pub fn benign(mac: i32, cert: u32, key: u32, password: &str) -> Vec<u8> {
    Forge::new()
        .encrypted(&[cert_bag()], Scheme::Pbkdf2 { iterations: cert }, password)
        .data(&[shrouded_key_bag(
            Scheme::Pbkdf2 { iterations: key }.seal(password, KEY_DER),
        )])
        .finish(MacSpec::Real { iterations: mac }, password)
}

/// Reads back what the forge wrote (a sanity check for the forge itself).
pub fn content_count(der: &[u8]) -> usize {
    let pfx = Pfx::from_der(der).unwrap();
    let inner = OctetString::from_der(&pfx.auth_safe.content.to_der().unwrap()).unwrap();
    Vec::<ContentInfo>::from_der(inner.as_bytes())
        .unwrap()
        .len()
}
