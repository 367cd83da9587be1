//! Secret versions: each change to an item's sealed values first keeps the
//! values it replaces (unless the new ones are equal), sealed under
//! associated data naming the item and the version number; the last
//! `secret_versions_kept` per item stay. A version is numbered, dated and
//! signed by when and by whom its values were written (as HashiCorp Vault's
//! KV v2 dates its versions); the current values are the item's own and are
//! not listed. Restoring writes a version's values as new current ones.

use serde::Serialize;
use subtle::ConstantTimeEq;
use utoipa::ToSchema;
use zeroize::Zeroizing;

use super::api::VaultItem;
use super::model::{Item, ItemBody, Secret};
use super::ops::{changeable, reveal_values, stored_secret, visible, write_secret_values};
use crate::audit::Change;
use crate::crypto::SealContext;
use crate::db::item_versions::{self as repo, Author, VersionRow};
use crate::db::items as item_repo;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::types::{CredentialKind, Guid};
use crate::work::Work;

/// One kept version, without its values.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct VaultItemVersion {
    /// 1 for the values the item was created with, then one more for each
    /// change of its sensitive values.
    pub version: i64,
    /// When these values were written (RFC 3339).
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Who wrote them.
    pub created_by: VersionAuthor,
}

/// Who wrote a version's values, as history names them (all empty for
/// values stored before versions existed).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct VersionAuthor {
    pub api_key_guid: String,
    #[serde(rename = "OAuthClientGuid")]
    pub oauth_client_guid: String,
    pub contact_first_name: String,
    pub contact_last_name: String,
}

impl From<VersionRow> for VaultItemVersion {
    fn from(r: VersionRow) -> Self {
        let text = |g: Option<Guid>| g.map(|g| g.to_string()).unwrap_or_default();
        VaultItemVersion {
            version: r.version,
            created_at: crate::time::rfc3339(r.created_at),
            created_by: VersionAuthor {
                api_key_guid: text(r.author.api_key_guid),
                oauth_client_guid: text(r.author.oauth_client_guid),
                contact_first_name: r.author.first_name,
                contact_last_name: r.author.last_name,
            },
        }
    }
}

/// An item's sensitive values at one time, and what the item shows that is
/// derived from them (an archive's certificate dates), so that restoring
/// them restores what goes with them.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Values {
    pub secrets: Vec<(Secret, Zeroizing<Vec<u8>>)>,
    /// A certificate archive's issuer, notBefore and notAfter.
    pub archive: Option<[String; 3]>,
}

const FORMAT: u8 = 1;
const ARCHIVE_FIELDS: [&str; 3] = ["issuer", "not_before", "not_after"];

impl Values {
    /// `FORMAT`, then (name length u8, name, value length u32 BE, value) per value.
    fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(vec![FORMAT]);
        let mut put = |name: &str, value: &[u8]| {
            out.push(name.len() as u8);
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&(value.len() as u32).to_be_bytes());
            out.extend_from_slice(value);
        };
        for (secret, value) in &self.secrets {
            put(secret.field(), value);
        }
        if let Some(archive) = &self.archive {
            for (name, value) in ARCHIVE_FIELDS.iter().zip(archive) {
                put(name, value.as_bytes());
            }
        }
        out
    }

    fn decode(bytes: &[u8]) -> Option<Values> {
        let (&format, mut rest) = bytes.split_first()?;
        if format != FORMAT {
            return None;
        }
        let mut values = Values {
            secrets: Vec::new(),
            archive: None,
        };
        let mut archive: [Option<String>; 3] = Default::default();
        while !rest.is_empty() {
            let (&len, tail) = rest.split_first()?;
            let (name, tail) = tail.split_at_checked(usize::from(len))?;
            let (len, tail) = tail.split_at_checked(4)?;
            let len = u32::from_be_bytes(len.try_into().ok()?) as usize;
            let (value, tail) = tail.split_at_checked(len)?;
            rest = tail;
            let name = std::str::from_utf8(name).ok()?;
            if let Some(i) = ARCHIVE_FIELDS.iter().position(|f| *f == name) {
                archive[i] = Some(String::from_utf8(value.to_vec()).ok()?);
            } else {
                values
                    .secrets
                    .push((Secret::from_field(name)?, Zeroizing::new(value.to_vec())));
            }
        }
        if let [Some(issuer), Some(not_before), Some(not_after)] = archive {
            values.archive = Some([issuer, not_before, not_after]);
        }
        Some(values)
    }

    /// The body as these values make it: an archive's dates, a file's size.
    fn apply_to(&self, body: &mut ItemBody) {
        match body {
            ItemBody::CertificateArchive {
                issuer,
                not_before,
                not_after,
            } => {
                if let Some([i, b, a]) = &self.archive {
                    (*issuer, *not_before, *not_after) = (i.clone(), b.clone(), a.clone());
                }
            }
            ItemBody::File { size, .. } => {
                if let Some((_, data)) = self.secrets.iter().find(|(s, _)| *s == Secret::FileData) {
                    *size = data.len() as i64;
                }
            }
            _ => {}
        }
    }
}

/// A version's associated data: the item and the number, so a version
/// cannot be moved to another item or passed off as another number. The
/// section is not in it (nor in the item's own): a move keeps both valid.
fn seal_context<'a>(item: &'a str, version: &'a str) -> SealContext<'a> {
    SealContext::new("vault_item_versions", item, version)
}

fn author(w: &Work<'_>) -> Author {
    let actor = w.caller.actor();
    Author {
        api_key_guid: actor.guid_of(CredentialKind::ApiKey),
        oauth_client_guid: actor.guid_of(CredentialKind::OAuthClient),
        first_name: actor.first_name,
        last_name: actor.last_name,
    }
}

/// Records the author of a new item's values: version 1.
pub(super) fn created(w: &Work<'_>, item_id: i64) -> AppResult<()> {
    Ok(repo::insert_current(
        w.conn,
        item_id,
        1,
        w.now_ms(),
        &author(w),
    )?)
}

/// The item's stored values.
fn current_values(w: &Work<'_>, item: &Item) -> AppResult<Values> {
    let mut secrets = Vec::new();
    for &secret in Secret::of(item.item_type()) {
        if let Some(plain) = stored_secret(w, item, secret)?.plain {
            secrets.push((secret, plain));
        }
    }
    let archive = match &item.body {
        ItemBody::CertificateArchive {
            issuer,
            not_before,
            not_after,
        } => Some([issuer.clone(), not_before.clone(), not_after.clone()]),
        _ => None,
    };
    Ok(Values { secrets, archive })
}

/// Called before `incoming` replaces some of the item's sealed values, in the
/// same transaction: unless every incoming value equals the stored one
/// (compared in constant time), keeps the stored values as a version and
/// records the caller as the author of the new current ones.
pub(super) fn before_write(
    w: &Work<'_>,
    item: &Item,
    incoming: &[(Secret, Zeroizing<Vec<u8>>)],
) -> AppResult<()> {
    if incoming.is_empty() {
        return Ok(());
    }
    let stored = current_values(w, item)?;
    let unchanged = incoming.iter().all(|(secret, value)| {
        stored
            .secrets
            .iter()
            .any(|(s, old)| s == secret && bool::from(old.as_slice().ct_eq(value.as_slice())))
    });
    if unchanged {
        return Ok(());
    }
    let current = repo::current(w.conn, item.id)?;
    // An item without a current row (written while versions were off) has
    // values of unknown date and author.
    let (number, at, by) = match &current {
        Some(r) => (r.version, r.created_at, r.author.clone()),
        None => (
            repo::last_number(w.conn, item.id)? + 1,
            w.now_ms(),
            Author::default(),
        ),
    };
    let kept = w.state.config.secret_versions_kept;
    if kept > 0 && !stored.secrets.is_empty() {
        let sealed = w.state.keys.sealer.seal(
            &seal_context(&item.guid.to_text(), &number.to_string()),
            &stored.encode(),
        );
        repo::keep(w.conn, item.id, current.as_ref(), number, at, &by, &sealed)?;
    } else if let Some(r) = &current {
        repo::delete(w.conn, r.id)?;
    }
    repo::prune(w.conn, item.id, kept)?;
    Ok(repo::insert_current(
        w.conn,
        item.id,
        number + 1,
        w.now_ms(),
        &author(w),
    )?)
}

fn version_not_found(guid: Guid, version: &str) -> AppError {
    AppError::new(
        ErrorCode::VaultItemVersionNotFound,
        format!(
            "Vault item {guid} keeps no version {version:?}; GET /v4/VaultItem/{guid}/Versions \
             lists the kept ones (the current values are the item's own: \
             GET /v4/VaultItem/{guid}/Reveal)."
        ),
    )
}

/// A kept version's number, row and values.
fn open(w: &Work<'_>, item: &Item, version: &str) -> AppResult<(i64, Values)> {
    let not_found = || version_not_found(item.guid, version);
    let number: i64 = version
        .parse()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(not_found)?;
    let (_, sealed) = repo::find(w.conn, item.id, number)?.ok_or_else(not_found)?;
    let plain = w.state.keys.sealer.open(
        &seal_context(&item.guid.to_text(), &number.to_string()),
        &sealed,
    )?;
    let values = Values::decode(&plain).ok_or_else(|| {
        AppError::internal(format!("version {number} of {} is malformed", item.guid))
    })?;
    Ok((number, values))
}

/// The item's kept versions, newest first (never values).
pub fn list(w: &Work<'_>, guid: Guid) -> AppResult<Vec<VaultItemVersion>> {
    let (item, _) = visible(w, guid)?;
    Ok(repo::list(w.conn, item.id)?
        .into_iter()
        .map(VaultItemVersion::from)
        .collect())
}

/// The item as it was with a version's values, those values shown as Reveal
/// shows them: recorded in history.
pub fn reveal(w: &Work<'_>, guid: Guid, version: &str) -> AppResult<VaultItem> {
    let (mut item, _) = visible(w, guid)?;
    let (number, values) = open(w, &item, version)?;
    values.apply_to(&mut item.body);
    let out = reveal_values(&item, |secret| {
        Ok(values
            .secrets
            .iter()
            .find(|(s, _)| *s == secret)
            .map(|(_, v)| v.clone()))
    })?;
    w.record(
        Change::new(
            "VaultItem",
            guid,
            "VersionRevealed",
            format!("Version: {number}"),
        )
        .within(Some(item.section_guid)),
    )?;
    Ok(out)
}

/// Makes a version's values current again, as a new version; the values
/// they replace are kept in turn.
pub fn restore(w: &Work<'_>, guid: Guid, version: &str) -> AppResult<()> {
    let item = changeable(w, guid, "restoring its values")?;
    let (number, values) = open(w, &item, version)?;
    before_write(w, &item, &values.secrets)?;
    let mut body = item.body.clone();
    values.apply_to(&mut body);
    if body != item.body {
        item_repo::update(
            w.conn,
            item.id,
            &super::model::columns(
                &item.name,
                &super::notes::to_stored(w, item.guid, &item.notes),
                &body,
            ),
            w.now_ms(),
        )?;
    }
    for &secret in Secret::of(item.item_type()) {
        if !values.secrets.iter().any(|(s, _)| *s == secret) {
            item_repo::delete_secret(w.conn, item.id, secret.field())?;
        }
    }
    write_secret_values(w, item.id, item.guid, &values.secrets)?;
    w.record(
        Change::new(
            "VaultItem",
            guid,
            "VersionRestored",
            format!("Version: {number}"),
        )
        .within(Some(item.section_guid)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{SealError, Sealer, SecretKey};

    fn values() -> Values {
        Values {
            secrets: vec![
                (Secret::ArchiveData, Zeroizing::new(vec![0, 1, 2, 255])),
                (Secret::ArchivePassword, Zeroizing::new(b"pw".to_vec())),
            ],
            archive: Some([
                "CN=Acme".into(),
                "2000-01-01T00:00:00Z".into(),
                "2100-01-01T00:00:00Z".into(),
            ]),
        }
    }

    #[test]
    fn values_round_trip_and_garbage_does_not_decode() {
        let v = values();
        assert_eq!(Values::decode(&v.encode()), Some(v));
        let empty = Values {
            secrets: vec![(Secret::Password, Zeroizing::new(Vec::new()))],
            archive: None,
        };
        assert_eq!(Values::decode(&empty.encode()), Some(empty));
        let bytes = values().encode();
        for cut in 0..bytes.len() {
            assert_ne!(Values::decode(&bytes[..cut]), Some(values()), "{cut}");
        }
        assert!(Values::decode(&[2]).is_none());
        assert!(Values::decode(&[FORMAT, 3, b'b', b'a', b'd', 0, 0, 0, 0]).is_none());
    }

    #[test]
    fn a_version_opens_only_as_its_own_item_and_number() {
        let sealer = Sealer::new(vec![(1, SecretKey::from_bytes([7; 32]))], 1);
        let item = Guid::new_random().to_text();
        let other = Guid::new_random().to_text();
        let blob = sealer.seal(&seal_context(&item, "3"), &values().encode());
        assert!(sealer.open(&seal_context(&item, "3"), &blob).is_ok());
        for (i, n) in [(&item, "2"), (&item, "4"), (&other, "3")] {
            assert_eq!(
                sealer.open(&seal_context(i, n), &blob).unwrap_err(),
                SealError::Authentication
            );
        }
        // Nor as the item's current secret.
        let as_secret = SealContext::new("vault_item_secrets", &item, "3");
        assert!(sealer.open(&as_secret, &blob).is_err());
    }
}
