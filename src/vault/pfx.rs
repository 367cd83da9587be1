//! PKCS#12 (.pfx) archives, read for real with the archive's password
//! (p12-keystore: OpenSSL 3 defaults with AES/PBKDF2 and `-legacy` RC2/3DES).
//! We keep the archive sealed as given and report its certificate's issuer and
//! validity.

use p12_keystore::Pkcs12Archive;
use p12_keystore::error::Error as P12Error;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::error::{AppError, ErrorCode};
use crate::time;
use crate::vault::pfx_budget;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveInfo {
    pub issuer: String,
    /// RFC 3339.
    pub not_before: String,
    pub not_after: String,
}

pub(crate) fn not_pkcs12() -> AppError {
    AppError::new(
        ErrorCode::NotPkcs12,
        "CertificateArchive.ArchiveData is not a PKCS#12 (.pfx/.p12) archive. Send the base64 \
         of the .pfx file itself, e.g. `openssl pkcs12 -export ... -out cert.pfx` then `base64 -w0 cert.pfx`.",
    )
}

/// Opens the archive with `password` and describes its certificate: the one
/// matching the private key if there is one, else the first end-entity one.
/// Refuses first an archive that would take too much work to open.
pub fn inspect(der: &[u8], password: &str) -> Result<ArchiveInfo, AppError> {
    pfx_budget::check(der, password)?;
    let archive = Pkcs12Archive::from_pkcs12(der, password).map_err(|e| match e {
        P12Error::MacError(_)
        | P12Error::UnpadError
        | P12Error::Pkcs5Error(_)
        | P12Error::InvalidPrivateKey => AppError::new(
            ErrorCode::ArchivePasswordWrong,
            "The certificate archive cannot be opened with CertificateArchive.Password: the \
             password is wrong for this .pfx. Send the password it was exported with.",
        ),
        _ => not_pkcs12(),
    })?;
    let key_ids: Vec<&[u8]> = archive
        .keys
        .iter()
        .filter_map(|k| k.local_key_id.as_ref().map(|id| id.0.as_slice()))
        .collect();
    let parsed: Vec<(Option<&[u8]>, X509Certificate<'_>)> = archive
        .certs
        .iter()
        .filter_map(|bag| {
            X509Certificate::from_der(bag.cert.as_der())
                .ok()
                .map(|(_, c)| (bag.local_key_id.as_deref(), c))
        })
        .collect();
    let chosen = parsed
        .iter()
        .find(|(id, _)| id.is_some_and(|id| key_ids.contains(&id)))
        .or_else(|| parsed.iter().find(|(_, c)| !c.is_ca()))
        .or_else(|| parsed.first())
        .map(|(_, c)| c)
        .ok_or_else(|| {
            AppError::new(
                ErrorCode::ArchiveWithoutCertificate,
                "The certificate archive holds no readable X.509 certificate.",
            )
        })?;
    Ok(ArchiveInfo {
        issuer: chosen.issuer().to_string(),
        not_before: time::rfc3339(
            chosen
                .validity()
                .not_before
                .timestamp()
                .saturating_mul(1000),
        ),
        not_after: time::rfc3339(crate::x509::not_after_ms(chosen)),
    })
}

/// Opens archives away from the writer thread and the async workers: one at
/// a time, each on a thread of its own, so however costly an archive is, it
/// delays only other archive uploads (and its budget bounds even that).
#[derive(Debug)]
pub struct Inspector {
    permits: tokio::sync::Semaphore,
}

/// How long an upload waits for the archive ahead of it before giving up.
const INSPECTOR_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

impl Default for Inspector {
    fn default() -> Self {
        Self {
            permits: tokio::sync::Semaphore::new(1),
        }
    }
}

impl Inspector {
    pub async fn inspect(
        &self,
        der: zeroize::Zeroizing<Vec<u8>>,
        password: zeroize::Zeroizing<String>,
    ) -> Result<ArchiveInfo, AppError> {
        let busy = || {
            AppError::new(
                ErrorCode::ArchiveCheckBusy,
                "Other certificate archives are being checked; nothing was written. Retry in a moment.",
            )
            .with_retry_after(1)
        };
        let _permit = tokio::time::timeout(INSPECTOR_WAIT, self.permits.acquire())
            .await
            .map_err(|_| busy())?
            .map_err(|_| busy())?;
        let (done, result) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("coffre-archive".into())
            .spawn(move || {
                let _ = done.send(inspect(&der, &password));
            })
            .map_err(|e| AppError::internal(format!("cannot start an archive thread: {e}")))?;
        result
            .await
            .map_err(|_| AppError::internal("the archive check stopped without an answer"))?
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::DateTime;

    /// A real .pfx that `openssl pkcs12 -export` made (OpenSSL 3 defaults, or
    /// `-legacy`) of a self-signed `CN=Acme Test Root, O=Acme Corp`, valid
    /// 2000-01-01 to 2100-01-01: a fixture of `tests/fixtures/make.sh`.
    pub fn openssl_pfx(password: &str, legacy: bool) -> Vec<u8> {
        macro_rules! fixture {
            ($name:literal) => {
                include_bytes!(concat!("../../tests/fixtures/acme-root-", $name, ".p12")).as_slice()
            };
        }
        let der = match (password, legacy) {
            ("TheOtherPassword", false) => fixture!("TheOtherPassword"),
            ("TheOtherPassword", true) => fixture!("TheOtherPassword-legacy"),
            ("right", false) => fixture!("right"),
            ("right", true) => fixture!("right-legacy"),
            ("", false) => fixture!("empty"),
            ("", true) => fixture!("empty-legacy"),
            ("Sw0rdfish-in-the-archive", false) => fixture!("Sw0rdfish-in-the-archive"),
            ("Sw0rdfish-in-the-archive", true) => fixture!("Sw0rdfish-in-the-archive-legacy"),
            _ => panic!("no acme-root archive for {password:?}: add it to tests/fixtures/make.sh"),
        };
        der.to_vec()
    }

    #[test]
    fn reads_openssl_3_default_and_legacy_archives() {
        for legacy in [false, true] {
            let der = openssl_pfx("TheOtherPassword", legacy);
            let info = inspect(&der, "TheOtherPassword").unwrap();
            assert!(info.issuer.contains("Acme Test Root"), "{info:?}");
            assert!(info.issuer.contains("Acme Corp"), "{info:?}");
            let before = DateTime::parse_from_rfc3339(&info.not_before).unwrap();
            let after = DateTime::parse_from_rfc3339(&info.not_after).unwrap();
            // The fixture's 2000-01-01 to 2100-01-01.
            assert_eq!((after - before).num_days(), 36525);
        }
    }

    #[test]
    fn a_wrong_password_and_a_non_archive_are_told_apart() {
        let der = openssl_pfx("right", false);
        assert_eq!(
            inspect(&der, "wrong").unwrap_err().code(),
            "ArchivePasswordWrong"
        );
        let legacy = openssl_pfx("right", true);
        assert_eq!(
            inspect(&legacy, "wrong").unwrap_err().code(),
            "ArchivePasswordWrong"
        );
        assert_eq!(
            inspect(b"definitely not DER", "right").unwrap_err().code(),
            "NotPkcs12"
        );
        assert_eq!(
            inspect(&der[..der.len() / 2], "right").unwrap_err().code(),
            "NotPkcs12"
        );
    }

    #[test]
    fn an_empty_password_works_when_the_archive_has_one() {
        let der = openssl_pfx("", false);
        assert!(inspect(&der, "").is_ok());
    }
}
