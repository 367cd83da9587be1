//! Certificate archives are opened before the write, never on the writer
//! thread: a crafted archive could make it derive keys for minutes, and
//! every write waits for the writer. A create or update first works out which
//! archive and password the item will hold (the stored half of an update is
//! read and remembered), `pfx::Inspector` opens it, and the write then only
//! stores what was checked — after making sure the stored half did not change.

use zeroize::Zeroizing;

use super::api::VaultItemInput;
use super::model::{Secret, VaultItemType};
use super::ops::{stored_secret, visible};
use crate::db::items as repo;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::types::Guid;
use crate::validate;
use crate::vault::{encoding, pfx};
use crate::work::Work;

pub const MAX_ARCHIVE_BYTES: usize = 2 * 1024 * 1024;

/// A sensitive value as sent: `""` counts as not sent.
pub(super) fn sent(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

/// An archive as a request sends it, decoded: what the request changes.
#[derive(Default)]
pub(super) struct ArchiveChange {
    pub data: Option<Zeroizing<Vec<u8>>>,
    pub password: Option<Zeroizing<String>>,
}

/// Whether a body carries archive material at all (data or password).
fn carries_archive(input: &VaultItemInput) -> bool {
    sent(&input.value).is_some()
        || input
            .certificate_archive
            .as_ref()
            .is_some_and(|c| sent(&c.archive_data).is_some() || sent(&c.password).is_some())
}

fn archive_change(input: &VaultItemInput) -> AppResult<ArchiveChange> {
    let archive = input.certificate_archive.as_ref();
    let from_data = archive
        .and_then(|c| sent(&c.archive_data))
        .map(|d| encoding::decode("CertificateArchive.ArchiveData", d, MAX_ARCHIVE_BYTES))
        .transpose()?;
    let from_value = sent(&input.value)
        .map(|d| encoding::decode("Value", d, MAX_ARCHIVE_BYTES))
        .transpose()?;
    let data = match (from_data, from_value) {
        (Some(a), Some(b)) if a.as_slice() != b.as_slice() => {
            return Err(AppError::new(
                ErrorCode::ArchiveMismatch,
                "Value and CertificateArchive.ArchiveData both carry an archive, and they differ; send it in one place.",
            ));
        }
        (a, b) => a.or(b),
    };
    let password = archive
        .and_then(|c| sent(&c.password))
        .map(|p| {
            validate::check_length("CertificateArchive.Password", p, 1000)
                .map(|_| Zeroizing::new(p.to_string()))
        })
        .transpose()?;
    Ok(ArchiveChange { data, password })
}

/// An archive to open before the write: the bytes and password the item will
/// hold, what the request changes, and the stored sealed values the rest came from.
pub struct ArchiveToCheck {
    pub data: Zeroizing<Vec<u8>>,
    pub password: Zeroizing<String>,
    change: ArchiveChange,
    based_on: Vec<(Secret, Option<Vec<u8>>)>,
}

impl ArchiveToCheck {
    pub fn checked(self, info: pfx::ArchiveInfo) -> CheckedArchive {
        CheckedArchive {
            info,
            change: self.change,
            based_on: self.based_on,
        }
    }
}

/// An archive that opened, ready to be stored by the write.
pub struct CheckedArchive {
    pub(super) info: pfx::ArchiveInfo,
    pub(super) change: ArchiveChange,
    based_on: Vec<(Secret, Option<Vec<u8>>)>,
}

impl CheckedArchive {
    /// In the write: the stored half the check relied on is still there.
    pub(super) fn still_current(&self, w: &Work<'_>, item_id: i64) -> AppResult<()> {
        for (secret, blob) in &self.based_on {
            if repo::secret(w.conn, item_id, secret.field())? != *blob {
                return Err(AppError::new(
                    ErrorCode::ConcurrentChange,
                    "This item's archive changed while your request was being checked; nothing \
                     was written. Send the request again.",
                ));
            }
        }
        Ok(())
    }
}

/// What a new item must have opened before its write: its archive, if it
/// is a CertificateArchive.
pub fn new_archive_to_check(input: &VaultItemInput) -> AppResult<Option<ArchiveToCheck>> {
    if input.vault_item_type != Some(VaultItemType::CertificateArchive) {
        return Ok(None);
    }
    let change = archive_change(input)?;
    let data = change.data.clone().ok_or_else(|| {
        AppError::new(
            ErrorCode::FieldRequired,
            "CertificateArchive.ArchiveData (or Value) is required for CertificateArchive items: the base64 of the .pfx file.",
        )
    })?;
    // A new archive without a password: the archive has an empty one.
    let password = change.password.clone().unwrap_or_default();
    Ok(Some(ArchiveToCheck {
        data,
        password,
        change,
        based_on: Vec::new(),
    }))
}

/// What an update must have opened before its write: nothing unless the
/// item is a CertificateArchive and the body sends archive data or a
/// password, the missing half coming from the stored item. Runs in a read.
pub fn archive_to_check(
    w: &Work<'_>,
    guid: Guid,
    input: &VaultItemInput,
) -> AppResult<Option<ArchiveToCheck>> {
    if !carries_archive(input) {
        return Ok(None);
    }
    let (item, _) = visible(w, guid)?;
    if item.item_type() != VaultItemType::CertificateArchive {
        return Ok(None);
    }
    let change = archive_change(input)?;
    if change.data.is_none() && change.password.is_none() {
        return Ok(None);
    }
    let mut based_on = Vec::new();
    let mut stored = |secret: Secret| -> AppResult<Zeroizing<Vec<u8>>> {
        let stored = stored_secret(w, &item, secret)?;
        based_on.push((secret, stored.blob));
        Ok(stored.plain.unwrap_or_default())
    };
    let data = match &change.data {
        Some(d) => d.clone(),
        None => stored(Secret::ArchiveData)?,
    };
    let password = match &change.password {
        Some(p) => p.clone(),
        None => {
            Zeroizing::new(String::from_utf8_lossy(&stored(Secret::ArchivePassword)?).into_owned())
        }
    };
    Ok(Some(ArchiveToCheck {
        data,
        password,
        change,
        based_on,
    }))
}
