//! What can be done to vault items: read one, list every visible one
//! (streamed), create, update, delete, reveal, and the current one-time code.

use zeroize::Zeroizing;

use super::api::{OtpCode, VaultItem, VaultItemInput, to_api};
use super::archive::CheckedArchive;
use super::merge::{Merged, Mode, fixed_type, merge};
use super::model::{Item, ItemBody, Secret, columns};
use super::notes;
use super::versions;
use crate::audit::Change;
use crate::crypto::SealContext;
use crate::db::items::{self as repo, ItemRow};
use crate::db::sections as section_repo;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::types::{Guid, SectionRights};
use crate::vault::{change_needed, encoding, item_not_found, otp, section_not_found, usage};
use crate::work::Work;

fn seal_context<'a>(item: &'a str, secret: Secret) -> SealContext<'a> {
    SealContext::new("vault_item_secrets", item, secret.field())
}

/// A stored secret of an item: the sealed blob as stored, and its value.
pub(super) struct Stored {
    pub blob: Option<Vec<u8>>,
    pub plain: Option<Zeroizing<Vec<u8>>>,
}

pub(super) fn stored_secret(w: &Work<'_>, item: &Item, secret: Secret) -> AppResult<Stored> {
    let blob = repo::secret(w.conn, item.id, secret.field())?;
    let plain = match &blob {
        Some(b) => Some(
            w.state
                .keys
                .sealer
                .open(&seal_context(&item.guid.to_text(), secret), b)?,
        ),
        None => None,
    };
    Ok(Stored { blob, plain })
}

fn read_secret(w: &Work<'_>, item: &Item, secret: Secret) -> AppResult<Option<Zeroizing<Vec<u8>>>> {
    Ok(stored_secret(w, item, secret)?.plain)
}

fn write_secrets(w: &Work<'_>, item_id: i64, guid: Guid, merged: &Merged) -> AppResult<()> {
    write_secret_values(w, item_id, guid, &merged.secrets)
}

pub(super) fn write_secret_values(
    w: &Work<'_>,
    item_id: i64,
    guid: Guid,
    secrets: &[(Secret, Zeroizing<Vec<u8>>)],
) -> AppResult<()> {
    for (secret, plain) in secrets {
        let blob = w
            .state
            .keys
            .sealer
            .seal(&seal_context(&guid.to_text(), *secret), plain);
        repo::put_secret(w.conn, item_id, secret.field(), &blob)?;
    }
    Ok(())
}

/// The item a row holds, its Notes opened.
fn item(w: &Work<'_>, mut row: ItemRow) -> AppResult<Item> {
    row.notes = notes::from_stored(w, row.guid, std::mem::take(&mut row.notes))?;
    Ok(Item::try_from(row)?)
}

/// The item and the caller's rights on its section; 404 unless it may view it.
pub fn visible(w: &Work<'_>, guid: Guid) -> AppResult<(Item, SectionRights)> {
    match repo::find_with_rights(w.conn, guid, w.operator_id()?)? {
        Some((row, rights)) if rights.view => Ok((item(w, row)?, rights)),
        _ => Err(item_not_found(guid)),
    }
}

pub(super) fn changeable(w: &Work<'_>, guid: Guid, what: &str) -> AppResult<Item> {
    let (item, rights) = visible(w, guid)?;
    if !rights.change {
        return Err(change_needed(what));
    }
    Ok(item)
}

pub fn get(w: &Work<'_>, guid: Guid) -> AppResult<VaultItem> {
    Ok(to_api(&visible(w, guid)?.0))
}

/// Every item the caller may view, as one JSON array written in chunks of
/// about `chunk_bytes` to `sink` (which returns false to stop: the client
/// left). Built straight from the rows of one query, so memory stays bounded
/// whatever the number of items.
pub fn stream_list(
    w: &Work<'_>,
    chunk_bytes: usize,
    mut sink: impl FnMut(Vec<u8>) -> bool,
) -> AppResult<()> {
    let mut buf = Vec::with_capacity(chunk_bytes + 4096);
    buf.push(b'[');
    let mut first = true;
    let mut open = true;
    repo::for_each_visible(w.conn, w.operator_id()?, |row| {
        if !open {
            return Ok(());
        }
        if !first {
            buf.push(b',');
        }
        first = false;
        let item = item(w, row)?;
        serde_json::to_writer(&mut buf, &to_api(&item)).map_err(AppError::internal)?;
        if buf.len() >= chunk_bytes {
            open = sink(std::mem::replace(
                &mut buf,
                Vec::with_capacity(chunk_bytes + 4096),
            ));
        }
        Ok::<_, AppError>(())
    })?;
    buf.push(b']');
    if open {
        sink(buf);
    }
    Ok(())
}

/// The visible Certificate and CertificateArchive items whose certificate
/// expires within `days` days from now (expired ones included), soonest first.
pub fn expiring(w: &Work<'_>, days: i64) -> AppResult<Vec<VaultItem>> {
    let before = w.now_ms().saturating_add(days.saturating_mul(86_400_000));
    repo::expiring_visible(w.conn, w.operator_id()?, before)?
        .into_iter()
        .map(|row| Ok(to_api(&item(w, row)?)))
        .collect()
}

pub fn create(
    w: &Work<'_>,
    input: VaultItemInput,
    archive: Option<CheckedArchive>,
) -> AppResult<VaultItem> {
    create_with_guid(w, input, archive, Guid::new_random())
}

/// `create` with the item's GUID given (a seed fixes it; the body must not
/// carry one).
pub fn create_with_guid(
    w: &Work<'_>,
    input: VaultItemInput,
    archive: Option<CheckedArchive>,
    guid: Guid,
) -> AppResult<VaultItem> {
    let t = fixed_type(Mode::Create, &input, None, None)?;
    let section_guid = input.vault_section_guid.ok_or_else(|| {
        AppError::new(
            ErrorCode::FieldRequired,
            "VaultSectionGuid is required: the section to put the item in (GET /v4/VaultSection).",
        )
    })?;
    let section = section_repo::find_by_guid(w.conn, section_guid)?
        .ok_or_else(|| section_not_found(section_guid))?;
    let rights = w.rights(section.id)?;
    if !rights.view {
        return Err(section_not_found(section_guid));
    }
    if !rights.change {
        return Err(change_needed("adding items"));
    }
    let merged = merge(Mode::Create, t, None, input, archive)?;
    let stored_notes = notes::to_stored(w, guid, &merged.notes);
    let stored = columns(&merged.name, &stored_notes, &merged.body);
    let not_after = stored.not_after;
    let id = repo::insert(w.conn, guid, section.id, t.as_str(), &stored, w.now_ms())?;
    write_secrets(w, id, guid, &merged)?;
    versions::created(w, id)?;
    w.record(
        Change::new(
            "VaultItem",
            guid,
            "Created",
            format!("Type: {}", t.as_str()),
        )
        .within(Some(section.guid)),
    )?;
    Ok(to_api(&Item {
        id,
        guid,
        section_id: section.id,
        section_guid: section.guid,
        name: merged.name,
        notes: merged.notes,
        used_by: "-".into(),
        body: merged.body,
        not_after,
    }))
}

pub fn update(
    w: &Work<'_>,
    guid: Guid,
    input: VaultItemInput,
    mode: Mode,
    archive: Option<CheckedArchive>,
) -> AppResult<()> {
    let current = changeable(w, guid, "changing its items")?;
    let t = fixed_type(mode, &input, Some(&current), Some(guid))?;
    if let Some(checked) = &archive {
        checked.still_current(w, current.id)?;
    }
    let merged = merge(mode, t, Some(&current), input, archive)?;
    repo::update(
        w.conn,
        current.id,
        &columns(
            &merged.name,
            &notes::to_stored(w, guid, &merged.notes),
            &merged.body,
        ),
        w.now_ms(),
    )?;
    versions::before_write(w, &current, &merged.secrets)?;
    write_secrets(w, current.id, guid, &merged)?;
    let action = if mode == Mode::Patch {
        "Patched"
    } else {
        "Updated"
    };
    w.record(
        Change::new(
            "VaultItem",
            guid,
            action,
            crate::audit::fields_changed(&merged.changed),
        )
        .within(Some(current.section_guid)),
    )
}

pub fn delete(w: &Work<'_>, guid: Guid) -> AppResult<()> {
    let item = changeable(w, guid, "deleting its items")?;
    let usages = repo::usages(w.conn, item.id)?;
    if !usages.is_empty() {
        return Err(AppError::new(
            ErrorCode::VaultItemInUse,
            format!(
                "This vault item is in use by {}: {}. Release each use first with \
                 DELETE /v4/VaultItem/{guid}/Usage/{{UsageGuid}} (GET /v4/VaultItem/{guid}/Usage lists them).",
                item.used_by,
                usage::describe(&usages)
            ),
        ));
    }
    repo::delete(w.conn, item.id)?;
    w.record(
        Change::new("VaultItem", guid, "Deleted", String::new()).within(Some(item.section_guid)),
    )
}

/// The item with its sensitive values: recorded in history.
pub fn reveal(w: &Work<'_>, guid: Guid) -> AppResult<VaultItem> {
    let (item, _) = visible(w, guid)?;
    let out = reveal_values(&item, |secret| read_secret(w, &item, secret))?;
    w.record(
        Change::new("VaultItem", guid, "Revealed", String::new()).within(Some(item.section_guid)),
    )?;
    Ok(out)
}

/// The item as the API shows it with the sensitive values `value` gives.
pub(super) fn reveal_values(
    item: &Item,
    read_secret: impl Fn(Secret) -> AppResult<Option<Zeroizing<Vec<u8>>>>,
) -> AppResult<VaultItem> {
    let mut out = to_api(item);
    let text = |b: Option<Zeroizing<Vec<u8>>>| {
        b.map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    };
    match &item.body {
        ItemBody::CredentialSet { .. } => out.password = text(read_secret(Secret::Password)?),
        ItemBody::Certificate { .. } => {}
        ItemBody::CertificateArchive { .. } => {
            if let Some(archive) = out.certificate_archive.as_mut() {
                archive.password = text(read_secret(Secret::ArchivePassword)?);
                archive.archive_data = read_secret(Secret::ArchiveData)?
                    .map(|b| encoding::encode(&b))
                    .unwrap_or_default();
            }
        }
        ItemBody::File { .. } => {
            if let Some(info) = out.file_info.as_mut() {
                info.data = read_secret(Secret::FileData)?
                    .map(|b| encoding::encode(&b))
                    .unwrap_or_default();
            }
        }
        ItemBody::OneTimePassword(settings) => {
            if let Some(info) = out.one_time_password_info.as_mut() {
                info.secret = read_secret(Secret::OtpSecret)?
                    .map(|b| otp::encode_secret(&b, settings.encoding).to_string())
                    .unwrap_or_default();
            }
        }
    }
    Ok(out)
}

pub fn current_code(w: &Work<'_>, guid: Guid) -> AppResult<OtpCode> {
    let (item, _) = visible(w, guid)?;
    let ItemBody::OneTimePassword(settings) = &item.body else {
        return Err(AppError::new(
            ErrorCode::NotOneTimePassword,
            format!(
                "This item is a {}; codes exist only for OneTimePassword items.",
                item.item_type().as_str()
            ),
        ));
    };
    let secret = read_secret(w, &item, Secret::OtpSecret)?
        .ok_or_else(|| AppError::internal("OTP item without a secret"))?;
    let now = w.now.timestamp().max(0) as u64;
    let code = otp::code_at(&secret, settings, now);
    w.record(
        Change::new("VaultItem", guid, "OtpGenerated", String::new())
            .within(Some(item.section_guid)),
    )?;
    Ok(OtpCode {
        code: code.code.to_string(),
        valid_from: crate::time::rfc3339(code.valid_from as i64 * 1000),
        valid_until: crate::time::rfc3339(code.valid_until as i64 * 1000),
    })
}

/// The item's history (it must be visible).
pub fn history(
    w: &Work<'_>,
    guid: Guid,
    filter: &crate::db::history::Filter,
) -> AppResult<Vec<crate::db::history::HistoryRow>> {
    visible(w, guid)?;
    Ok(crate::db::history::for_object(w.conn, guid, filter)?)
}
