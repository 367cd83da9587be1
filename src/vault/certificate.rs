//! `Certificate` items keep their text exactly as given. Text in PEM form
//! must decode, and every CERTIFICATE block in it must be a valid X.509
//! certificate, so a truncated paste is caught when stored, not when used.

use x509_parser::pem::Pem;

use crate::error::{AppError, AppResult, ErrorCode};

pub fn check(text: &str) -> AppResult<()> {
    if !text.contains("-----BEGIN ") {
        return Ok(());
    }
    let mut blocks = 0;
    for pem in Pem::iter_from_buffer(text.as_bytes()) {
        let pem = pem.map_err(|_| {
            AppError::new(
                ErrorCode::InvalidCertificate,
                "Value looks like PEM but a block does not decode: check that every -----BEGIN \
                 line has its -----END line and the base64 between them is complete.",
            )
        })?;
        if pem.label == "CERTIFICATE" && pem.parse_x509().is_err() {
            return Err(AppError::new(
                ErrorCode::InvalidCertificate,
                "Value holds a PEM CERTIFICATE block that is not a valid X.509 certificate.",
            ));
        }
        blocks += 1;
    }
    if blocks == 0 {
        return Err(AppError::new(
            ErrorCode::InvalidCertificate,
            "Value has a -----BEGIN line but no complete PEM block.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed certificate that `openssl` made (tests/fixtures/make.sh).
    fn openssl_cert() -> String {
        include_str!("../../tests/fixtures/sso.example.com.pem").to_string()
    }

    #[test]
    fn plain_text_public_keys_are_kept_as_they_are() {
        check("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJd0 someone@host").unwrap();
        check("").unwrap();
    }

    #[test]
    fn a_real_pem_certificate_parses_and_a_damaged_one_does_not() {
        let pem = openssl_cert();
        check(&pem).unwrap();
        check(&format!("{pem}{pem}")).unwrap();
        let truncated = &pem[..pem.len() - 40];
        assert_eq!(check(truncated).unwrap_err().code(), "InvalidCertificate");
        let corrupted = pem.replacen("MII", "MIJ", 1);
        assert_eq!(check(&corrupted).unwrap_err().code(), "InvalidCertificate");
    }
}
