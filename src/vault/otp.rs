//! One-time passwords (RFC 6238 TOTP, through totp-rs): secret decoding, the
//! settings and the current code with its validity window.

use serde::{Deserialize, Serialize};
use totp_rs::{Algorithm, Builder, Secret};
use utoipa::ToSchema;
use zeroize::Zeroizing;

use crate::error::{AppError, AppResult, ErrorCode};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub enum HashAlgorithm {
    #[default]
    SHA1,
    SHA256,
    SHA512,
}

impl HashAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            HashAlgorithm::SHA1 => "SHA1",
            HashAlgorithm::SHA256 => "SHA256",
            HashAlgorithm::SHA512 => "SHA512",
        }
    }

    pub fn parse(s: &str) -> HashAlgorithm {
        match s {
            "SHA256" => HashAlgorithm::SHA256,
            "SHA512" => HashAlgorithm::SHA512,
            _ => HashAlgorithm::SHA1,
        }
    }

    fn algorithm(self) -> Algorithm {
        match self {
            HashAlgorithm::SHA1 => Algorithm::SHA1,
            HashAlgorithm::SHA256 => Algorithm::SHA256,
            HashAlgorithm::SHA512 => Algorithm::SHA512,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub enum SecretEncodingMethod {
    #[default]
    Base32,
    Hex,
}

impl SecretEncodingMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            SecretEncodingMethod::Base32 => "Base32",
            SecretEncodingMethod::Hex => "Hex",
        }
    }

    pub fn parse(s: &str) -> SecretEncodingMethod {
        if s == "Hex" {
            SecretEncodingMethod::Hex
        } else {
            SecretEncodingMethod::Base32
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub digits: u8,
    pub period: u32,
    pub algorithm: HashAlgorithm,
    pub encoding: SecretEncodingMethod,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            digits: 6,
            period: 30,
            algorithm: HashAlgorithm::SHA1,
            encoding: SecretEncodingMethod::Base32,
        }
    }
}

pub const MAX_PERIOD: u32 = 86_400;
/// 80 bits: what most services issue; RFC 4226 asks for 128, recommends 160.
pub const MIN_SECRET_BYTES: usize = 10;

pub fn check_digits(d: i64) -> AppResult<u8> {
    if (6..=8).contains(&d) {
        Ok(d as u8)
    } else {
        Err(AppError::new(
            ErrorCode::InvalidField,
            "OneTimePasswordInfo.Digits must be 6, 7 or 8.",
        ))
    }
}

pub fn check_period(p: i64) -> AppResult<u32> {
    if (1..=i64::from(MAX_PERIOD)).contains(&p) {
        Ok(p as u32)
    } else {
        Err(AppError::new(
            ErrorCode::InvalidField,
            format!(
                "OneTimePasswordInfo.Period must be between 1 and {MAX_PERIOD} seconds (usually 30)."
            ),
        ))
    }
}

/// Decodes the secret as sent: Base32 (any case, spaces and `=` padding
/// ignored, as authenticator apps print it) or hexadecimal.
pub fn decode_secret(text: &str, encoding: SecretEncodingMethod) -> AppResult<Zeroizing<Vec<u8>>> {
    let compact: Zeroizing<String> = Zeroizing::new(
        text.chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect::<String>()
            .to_ascii_uppercase(),
    );
    let bytes = match encoding {
        SecretEncodingMethod::Base32 => {
            let unpadded = compact.trim_end_matches('=');
            Secret::try_from_base32(unpadded).map(|s| Zeroizing::new(s.as_bytes().to_vec())).map_err(|_| {
                AppError::new(
                    ErrorCode::InvalidOtpSecret,
                    "OneTimePasswordInfo.Secret is not Base32 (letters A–Z and digits 2–7). For a \
                     hexadecimal secret set SecretEncodingMethod to Hex.",
                )
            })?
        }
        SecretEncodingMethod::Hex => hex::decode(compact.as_bytes())
            .map(Zeroizing::new)
            .map_err(|_| {
                AppError::new(
                    ErrorCode::InvalidOtpSecret,
                    "OneTimePasswordInfo.Secret is not hexadecimal (an even number of 0–9, A–F).",
                )
            })?,
    };
    if bytes.len() < MIN_SECRET_BYTES {
        return Err(AppError::new(
            ErrorCode::InvalidOtpSecret,
            format!(
                "OneTimePasswordInfo.Secret is {} bits; at least {} bits are needed (16 Base32 characters).",
                bytes.len() * 8,
                MIN_SECRET_BYTES * 8
            ),
        ));
    }
    Ok(bytes)
}

/// The secret as the client gave it back (for Reveal).
pub fn encode_secret(bytes: &[u8], encoding: SecretEncodingMethod) -> Zeroizing<String> {
    Zeroizing::new(match encoding {
        SecretEncodingMethod::Base32 => Secret::from(bytes.to_vec()).to_base32(),
        SecretEncodingMethod::Hex => hex::encode_upper(bytes),
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    pub code: Zeroizing<String>,
    /// Unix seconds.
    pub valid_from: u64,
    pub valid_until: u64,
}

/// The TOTP code for the time step holding `unix_secs`.
pub fn code_at(secret: &[u8], settings: &Settings, unix_secs: u64) -> Code {
    let totp = Builder::new()
        .with_algorithm(settings.algorithm.algorithm())
        .with_digits(settings.digits)
        .with_step_duration(u64::from(settings.period))
        .with_secret(secret.to_vec())
        .build_noncompliant();
    let step = u64::from(settings.period);
    let valid_from = unix_secs - unix_secs % step;
    Code {
        code: Zeroizing::new(totp.generate(unix_secs).to_string()),
        valid_from,
        valid_until: valid_from + step,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B: the seeds are ASCII "12345678901234567890" repeated
    /// to the hash's block size; 8 digits, 30-second steps.
    const SHA1_SEED: &[u8] = b"12345678901234567890";
    const SHA256_SEED: &[u8] = b"12345678901234567890123456789012";
    const SHA512_SEED: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

    #[test]
    fn rfc_6238_appendix_b_test_vectors() {
        let vectors: [(u64, &str, &str, &str); 6] = [
            (59, "94287082", "46119246", "90693936"),
            (1_111_111_109, "07081804", "68084774", "25091201"),
            (1_111_111_111, "14050471", "67062674", "99943326"),
            (1_234_567_890, "89005924", "91819424", "93441116"),
            (2_000_000_000, "69279037", "90698825", "38618901"),
            (20_000_000_000, "65353130", "77737706", "47863826"),
        ];
        for (t, sha1, sha256, sha512) in vectors {
            for (seed, alg, want) in [
                (SHA1_SEED, HashAlgorithm::SHA1, sha1),
                (SHA256_SEED, HashAlgorithm::SHA256, sha256),
                (SHA512_SEED, HashAlgorithm::SHA512, sha512),
            ] {
                let s = Settings {
                    digits: 8,
                    period: 30,
                    algorithm: alg,
                    encoding: SecretEncodingMethod::Hex,
                };
                assert_eq!(code_at(seed, &s, t).code.as_str(), want, "T={t} {alg:?}");
            }
        }
    }

    #[test]
    fn six_digit_codes_are_the_low_digits_and_windows_align_to_the_period() {
        let s = Settings::default();
        let c = code_at(SHA1_SEED, &s, 59);
        assert_eq!(c.code.as_str(), "287082");
        assert_eq!((c.valid_from, c.valid_until), (30, 60));
        let s60 = Settings { period: 60, ..s };
        let c = code_at(SHA1_SEED, &s60, 1_111_111_109);
        assert_eq!(c.valid_from % 60, 0);
        assert!(c.valid_from <= 1_111_111_109 && 1_111_111_109 < c.valid_until);
    }

    #[test]
    fn base32_secrets_are_accepted_as_apps_print_them() {
        let want = SHA1_SEED.to_vec();
        for text in [
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
            "gezd gnbv gy3t qojq gezd gnbv gy3t qojq",
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ====",
        ] {
            assert_eq!(
                decode_secret(text, SecretEncodingMethod::Base32)
                    .unwrap()
                    .as_slice(),
                want.as_slice(),
                "{text}"
            );
        }
        assert_eq!(
            encode_secret(SHA1_SEED, SecretEncodingMethod::Base32).as_str(),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
    }

    #[test]
    fn hex_secrets_round_trip() {
        let hex = "3132333435363738393031323334353637383930";
        assert_eq!(
            decode_secret(hex, SecretEncodingMethod::Hex)
                .unwrap()
                .as_slice(),
            SHA1_SEED
        );
        assert_eq!(
            encode_secret(SHA1_SEED, SecretEncodingMethod::Hex).as_str(),
            hex.to_uppercase()
        );
    }

    #[test]
    fn bad_and_short_secrets_are_refused() {
        assert_eq!(
            decode_secret("not base32!!", SecretEncodingMethod::Base32)
                .unwrap_err()
                .code(),
            "InvalidOtpSecret"
        );
        assert_eq!(
            decode_secret("GEZDGNBV", SecretEncodingMethod::Base32)
                .unwrap_err()
                .code(),
            "InvalidOtpSecret"
        );
        assert_eq!(
            decode_secret("xyz", SecretEncodingMethod::Hex)
                .unwrap_err()
                .code(),
            "InvalidOtpSecret"
        );
        assert!(check_digits(5).is_err() && check_digits(9).is_err() && check_digits(8).is_ok());
        assert!(check_period(0).is_err() && check_period(30).is_ok());
    }
}
