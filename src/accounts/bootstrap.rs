//! What `init` (and the first `serve`) creates: the Administrators group, an
//! `admin` operator in it, the default section `Vault items` with full control
//! for Administrators, and a bootstrap API key holding every permission. The
//! key text is returned once, for the caller to print.

use rusqlite::Connection;
use zeroize::Zeroizing;

use crate::audit::{self, Actor, Change};
use crate::auth::PermissionSet;
use crate::crypto::{ApiKeyHasher, ApiKeyToken};
use crate::db::api_keys::{self, KeyDetails, KeySecret};
use crate::db::sections::{self, Grantee};
use crate::db::{groups, operators};
use crate::error::AppResult;
use crate::types::Guid;

pub const DEFAULT_SECTION: &str = "Vault items";

pub struct BootstrapKey {
    pub api_key_guid: Guid,
    pub key: Zeroizing<String>,
}

/// Bootstraps a database that has not been bootstrapped yet; `None` if it was.
pub fn ensure(
    db: &crate::db::Database,
    keys: &std::sync::Arc<crate::crypto::DerivedKeys>,
    now_ms: i64,
) -> AppResult<Option<BootstrapKey>> {
    let keys = keys.clone();
    db.write_blocking(move |conn, _| {
        if needed(conn)? {
            run(conn, &keys.api_key_hasher, now_ms).map(Some)
        } else {
            Ok(None)
        }
    })
}

/// True until the Administrators group exists.
pub fn needed(conn: &Connection) -> AppResult<bool> {
    Ok(groups::find_administrators(conn)?.is_none())
}

pub fn run(conn: &Connection, hasher: &ApiKeyHasher, now_ms: i64) -> AppResult<BootstrapKey> {
    let actor = Actor::system("init");
    let history = |object_type: &str, guid: Guid, related: Option<Guid>, action: &str| {
        audit::record(
            conn,
            &actor,
            now_ms,
            Change::new(object_type, guid, action, String::new()).within(related),
        )
    };

    let group_guid = Guid::new_random();
    let group_id = groups::insert(conn, group_guid, "Administrators", true, now_ms)?;
    history("OperatorGroup", group_guid, None, "Created")?;

    let operator_guid = Guid::new_random();
    let operator = operators::NewOperator {
        guid: operator_guid,
        full_name: "Administrator",
        email: "admin@localhost",
        login: "admin",
        is_active: true,
    };
    let operator_id = operators::insert(conn, &operator, now_ms)?;
    groups::add_member(conn, group_id, operator_id)?;
    history("Operator", operator_guid, None, "Created")?;

    let section_guid = Guid::new_random();
    let section_id = sections::insert(conn, section_guid, DEFAULT_SECTION, now_ms)?;
    history("VaultSection", section_guid, None, "Created")?;
    for kind in [sections::VIEW, sections::CHANGE] {
        let guid = Guid::new_random();
        sections::insert_authorization(
            conn,
            guid,
            section_id,
            kind,
            Grantee::Group(group_id),
            now_ms,
        )?;
        history(
            "VaultSectionAuthorization",
            guid,
            Some(section_guid),
            "Created",
        )?;
    }

    let (token, full) = ApiKeyToken::generate();
    let secret = KeySecret {
        lookup_id: token.lookup_id().to_string(),
        secret_hash: hasher.hash(&token),
        masked_key: token.masked(),
    };
    let details = KeyDetails {
        name: "Bootstrap key",
        description: "Created by coffre init. Holds every permission: use it to create narrower keys, then revoke it.",
        contact_first_name: "Bootstrap",
        contact_last_name: "Administrator",
        expiration_date: None,
        expires_at: None,
        enable_permissions: true,
        permissions: PermissionSet::all(),
    };
    let api_key_guid = Guid::new_random();
    api_keys::insert(conn, api_key_guid, operator_id, &secret, &details, now_ms)?;
    history("ApiKey", api_key_guid, None, "Created")?;
    Ok(BootstrapKey {
        api_key_guid,
        key: full,
    })
}
