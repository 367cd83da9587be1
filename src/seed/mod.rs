//! Seed files: a known state for test harnesses and demos, written in the
//! API's own language. `file` reads and checks one; `apply` creates what it
//! declares through the same rules the API runs, in one unit of work acting
//! as coffre itself (`Caller::System("seed")`), so a bad entry rolls back
//! every other and nothing is written. Applied at start under `--dev`, or by
//! `coffre init --seed` on a new data dir. `examples/seed.toml` shows every
//! object and item type.
//!
//! Beyond the create bodies:
//! - each entry may fix its GUID with its id field (`OperatorGuid`, …);
//! - `VaultSection = "<Name>"` names a section (items, authorizations), an
//!   `[[Authorization]]` names its section as the URL does
//!   (`VaultSectionGuid`) or by name, and its grantee by `Operator = "<Login
//!   or Email>"` or `OperatorGroup = "<Description>"`;
//! - `[[OperatorGroup]]` takes `Members`; naming the Administrators group
//!   adds members to it rather than creating one;
//! - `[[ApiKey]]` takes `Key`, the key that will work;
//! - secrets may come from files next to the seed file:
//!   `CertificateArchive.ArchiveFile`, `FileInfo.DataFile`, `ValueFile`.
//! - a seeded section starts as the default section does: full control for
//!   Administrators.

pub mod file;

use std::sync::Arc;

use serde_json::Value;

pub use file::{Entry, Kind, Seed};

use crate::accounts::{api_keys, groups, operators};
use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::{Keyring, Token, TokenKind};
use crate::db::{self, Location};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::state::AppState;
use crate::types::Guid;
use crate::vault::{authorizations, items, sections};
use crate::work::{Caller, Work};

/// Loads and checks the seed file at `path`, before anything is written.
pub fn load(path: &std::path::Path) -> Result<Arc<Seed>, String> {
    Seed::load(path).map(Arc::new)
}

/// Applies the seed in one write transaction, as coffre itself.
pub fn apply_blocking(state: &AppState, seed: &Arc<Seed>) -> AppResult<()> {
    let seed = seed.clone();
    state.write_blocking(Caller::System("seed"), move |w| apply(w, &seed))
}

/// Applies the seed to a throwaway in-memory database (with its own
/// bootstrap, as `init` makes), so that `init --seed` refuses a seed the
/// rules refuse before it creates anything on disk.
pub fn dry_run(config: &Config, seed: &Arc<Seed>) -> AppResult<()> {
    let keys = Arc::new(Keyring::generate().derive());
    let db = Arc::new(
        crate::datadir::open_database(config, &keys, Location::memory())
            .map_err(|e| AppError::internal(format!("in-memory database for the dry run: {e}")))?,
    );
    let state = AppState::new(db.clone(), keys, Arc::new(Clock::system()), config.clone())?;
    let seed = seed.clone();
    let result = state.write_blocking(Caller::System("seed"), move |w| {
        crate::accounts::bootstrap::run(w)?;
        apply(w, &seed)
    });
    db.shutdown();
    result
}

fn refused(message: impl Into<String>) -> AppError {
    AppError::new(ErrorCode::BadRequest, message)
}

/// Creates everything the seed declares, in its order. On error, the
/// messages say which file, entry and field.
pub fn apply(w: &Work<'_>, seed: &Seed) -> AppResult<()> {
    for entry in &seed.entries {
        apply_entry(w, entry).map_err(|e| e.in_context(&entry.label))?;
    }
    Ok(())
}

/// The body as the API's input type.
fn input<T: serde::de::DeserializeOwned>(body: &serde_json::Map<String, Value>) -> AppResult<T> {
    file::parse_body(body).map_err(refused)
}

/// The GUID an entry fixes, refused if something already has it.
fn fixed_guid(
    entry: &Entry,
    sent: Option<Guid>,
    taken: impl FnOnce(Guid) -> db::DbResult<bool>,
) -> AppResult<Guid> {
    match sent {
        Some(guid) if taken(guid)? => Err(AppError::new(
            ErrorCode::GuidMismatch,
            format!(
                "{} {guid} is already used (by an earlier entry, or by what init creates); \
                 give each object its own",
                entry.kind.id_field()
            ),
        )),
        Some(guid) => Ok(guid),
        None => Ok(Guid::new_random()),
    }
}

fn operator_named(w: &Work<'_>, name: &str, field: &str) -> AppResult<Guid> {
    db::operators::find_by_login_or_email(w.conn, name)?
        .map(|o| o.guid)
        .ok_or_else(|| {
            AppError::new(
                ErrorCode::ReferencedOperatorNotFound,
                format!(
                    "{field} {name:?} names no operator: give the Login or Email of an \
                     [[Operator]], or the ContactLogin of an [[ApiKey]], declared in the seed"
                ),
            )
        })
}

fn section_named(w: &Work<'_>, name: &str) -> AppResult<Guid> {
    match db::sections::find_by_name(w.conn, name)?.as_slice() {
        [one] => Ok(one.guid),
        [] => Err(AppError::new(
            ErrorCode::VaultSectionNotFound,
            format!(
                "VaultSection {name:?} names no section: declare it in a [[VaultSection]] \
                 (or use the default section, \"{}\")",
                crate::accounts::bootstrap::DEFAULT_SECTION
            ),
        )),
        many => Err(refused(format!(
            "VaultSection {name:?} names {} sections; use VaultSectionGuid",
            many.len()
        ))),
    }
}

fn apply_entry(w: &Work<'_>, entry: &Entry) -> AppResult<()> {
    let refs = &entry.refs;
    match entry.kind {
        Kind::Operator => {
            let mut body: operators::OperatorInput = input(&entry.body)?;
            let guid = fixed_guid(entry, body.operator_guid.take(), |g| {
                Ok(db::operators::find_by_guid(w.conn, g)?.is_some())
            })?;
            operators::create_with_guid(w, body, guid)?;
        }
        Kind::ApiKey => {
            let mut body: api_keys::ApiKeyInput = input(&entry.body)?;
            let guid = fixed_guid(entry, body.api_key_guid.take(), |g| {
                db::api_keys::guid_taken(w.conn, g)
            })?;
            let token = refs
                .key
                .as_deref()
                .and_then(|k| Token::parse(TokenKind::ApiKey, k))
                .ok_or_else(|| refused("Key is required: a well-formed coffre key"))?;
            if db::api_keys::lookup_id_taken(w.conn, token.lookup_id())? {
                return Err(refused(
                    "Key is already the key of another API key (an earlier entry, or the \
                     bootstrap key): give each key its own (`coffre keygen`)",
                ));
            }
            api_keys::create_with(w, body, guid, Some(&token))?;
        }
        Kind::OperatorGroup => {
            let mut body: groups::OperatorGroupInput = input(&entry.body)?;
            let sent = body.operator_group_guid.take();
            let existing = body
                .description
                .as_deref()
                .map(|d| db::groups::find_by_description(w.conn, d.trim()))
                .transpose()?
                .flatten()
                .filter(|g| g.is_administrators);
            let group = match existing {
                // Administrators exists from init: the entry adds members to it.
                Some(admins) => {
                    if sent.is_some_and(|g| g != admins.guid) {
                        return Err(refused(
                            "The Administrators group exists already, with its own \
                             OperatorGroupGuid: leave OperatorGroupGuid out",
                        ));
                    }
                    admins.guid
                }
                None => {
                    let guid = fixed_guid(entry, sent, |g| {
                        Ok(db::groups::find_by_guid(w.conn, g)?.is_some())
                    })?;
                    groups::create_with_guid(w, body, guid)?.operator_group_guid
                }
            };
            for member in &refs.members {
                let operator = operator_named(w, member, "Members:")?;
                groups::add_member(w, group, operator)?;
            }
        }
        Kind::VaultSection => {
            let mut body: sections::VaultSectionInput = input(&entry.body)?;
            let guid = fixed_guid(entry, body.vault_section_guid.take(), |g| {
                Ok(db::sections::find_by_guid(w.conn, g)?.is_some())
            })?;
            sections::create_with_guid(w, body, guid)?;
        }
        Kind::Authorization => {
            let mut entry_body = entry.body.clone();
            if let Some(name) = &refs.operator {
                if entry_body.contains_key("OperatorGuid") {
                    return Err(refused("give OperatorGuid or Operator (by name), not both"));
                }
                let guid = operator_named(w, name, "Operator")?;
                entry_body.insert("OperatorGuid".into(), Value::String(guid.to_text()));
            }
            if let Some(name) = &refs.group {
                if ["OperatorGroupGuid", "OperatorGroupId"]
                    .iter()
                    .any(|f| entry_body.contains_key(*f))
                {
                    return Err(refused(
                        "give OperatorGroupGuid or OperatorGroup (by name), not both",
                    ));
                }
                let group = db::groups::find_by_description(w.conn, name)?.ok_or_else(|| {
                    AppError::new(
                        ErrorCode::ReferencedGroupNotFound,
                        format!(
                            "OperatorGroup {name:?} names no group: give the Description of an \
                             [[OperatorGroup]] declared in the seed, or \"Administrators\""
                        ),
                    )
                })?;
                entry_body.insert(
                    "OperatorGroupGuid".into(),
                    Value::String(group.guid.to_text()),
                );
            }
            let mut body: authorizations::AuthorizationInput = input(&entry_body)?;
            let section = match (&refs.section, refs.section_guid) {
                (Some(_), Some(_)) => {
                    return Err(refused(
                        "give VaultSectionGuid or VaultSection (its name), not both",
                    ));
                }
                (Some(name), None) => section_named(w, name)?,
                (None, Some(guid)) => guid,
                (None, None) => body
                    .context_id
                    .as_deref()
                    .and_then(Guid::parse)
                    .ok_or_else(|| {
                        AppError::new(
                            ErrorCode::FieldRequired,
                            "VaultSection (a section's name) or VaultSectionGuid is required: \
                             the section the authorization is on",
                        )
                    })?,
            };
            let guid = fixed_guid(entry, body.authorization_id.take(), |g| {
                db::sections::authorization_guid_taken(w.conn, g)
            })?;
            authorizations::create_with_guid(w, section, body, guid)?;
        }
        Kind::VaultItem => {
            let mut entry_body = entry.body.clone();
            if let Some(name) = &refs.section {
                let guid = section_named(w, name)?;
                entry_body.insert("VaultSectionGuid".into(), Value::String(guid.to_text()));
            }
            let mut body: items::VaultItemInput = input(&entry_body)?;
            let guid = fixed_guid(entry, body.vault_item_guid.take(), |g| {
                db::items::guid_taken(w.conn, g)
            })?;
            let archive = match (items::new_archive_to_check(&body)?, &refs.archive) {
                (Some(archive), Some(info)) => Some(archive.checked(info.clone())),
                (Some(_), None) => return Err(AppError::internal("a seeded archive unchecked")),
                (None, _) => None,
            };
            items::create_with_guid(w, body, archive, guid)?;
        }
    }
    Ok(())
}
