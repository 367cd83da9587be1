//! When a certificate stops being valid, read from what a vault item holds:
//! PEM text or DER. Pure and low-level (no I/O, no rule), so that the rules,
//! the certificate-archive check and the migration that fills `NotAfter` for
//! items stored before it existed all read it the same way.

use base64::Engine;
use x509_parser::prelude::{FromDer, X509Certificate};

/// A certificate's notAfter, in milliseconds since the epoch.
pub fn not_after_ms(cert: &X509Certificate<'_>) -> i64 {
    cert.validity().not_after.timestamp().saturating_mul(1000)
}

/// The notAfter of the certificate in `der`, if it is one.
pub fn der_not_after(der: &[u8]) -> Option<i64> {
    X509Certificate::from_der(der)
        .ok()
        .map(|(_, cert)| not_after_ms(&cert))
}

/// The instant a `Certificate` item's text stops being valid: the earliest
/// notAfter of its CERTIFICATE blocks (a chain is as good as its first link
/// to expire), or of the DER certificate it holds in base64 without PEM
/// armour. None for text that holds no certificate (a bare public key, an
/// SSH key): such an item has no expiry.
pub fn text_not_after(text: &str) -> Option<i64> {
    if text.contains("-----BEGIN ") {
        return ::x509_parser::pem::Pem::iter_from_buffer(text.as_bytes())
            .map_while(Result::ok)
            .filter(|pem| pem.label == "CERTIFICATE")
            .filter_map(|pem| pem.parse_x509().ok().map(|c| not_after_ms(&c)))
            .min();
    }
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    // A certificate's DER starts with a SEQUENCE tag: base64 "MI…".
    if !compact.starts_with("MI") {
        return None;
    }
    let der = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .ok()?;
    der_not_after(&der)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SSO: &str = include_str!("../tests/fixtures/sso.example.com.pem");
    const EXPIRING: &str = include_str!("../tests/fixtures/expiring-20300601.pem");
    const FORGE_DER: &[u8] = include_bytes!("../tests/fixtures/forge-cert.der");

    fn ms(rfc3339: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn a_pem_certificate_s_not_after() {
        assert_eq!(text_not_after(SSO), Some(ms("2100-01-01T00:00:00Z")));
        assert_eq!(text_not_after(EXPIRING), Some(ms("2030-06-01T00:00:00Z")));
    }

    #[test]
    fn a_chain_expires_with_its_first_certificate_to_expire() {
        let chain = format!("{SSO}{EXPIRING}");
        assert_eq!(text_not_after(&chain), Some(ms("2030-06-01T00:00:00Z")));
    }

    #[test]
    fn base64_der_without_armour_counts_and_other_text_has_no_expiry() {
        let b64 = base64::engine::general_purpose::STANDARD.encode(FORGE_DER);
        assert_eq!(text_not_after(&b64), Some(ms("2100-01-01T00:00:00Z")));
        let wrapped = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(text_not_after(&wrapped), Some(ms("2100-01-01T00:00:00Z")));
        for text in [
            "",
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJd0 someone@host",
            "MIInot base64 at all",
            "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n",
        ] {
            assert_eq!(text_not_after(text), None, "{text:?}");
        }
    }
}
