//! What `init` (and the first `serve`) creates: the Administrators group, an
//! `admin` operator in it, the default section `Vault items` with full control
//! for Administrators, and a bootstrap API key holding every permission (with
//! `--dev`, optionally a key given in advance). The key text is returned once,
//! for the caller to print.

use zeroize::Zeroizing;

use crate::audit::Change;
use crate::crypto::{Token, TokenKind};
use crate::db::api_keys::{self, KeyDetails};
use crate::db::{groups, operators};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::types::{Guid, PermissionSet};
use crate::work::{Caller, Work};

pub const DEFAULT_SECTION: &str = "Vault items";

pub struct BootstrapKey {
    pub api_key_guid: Guid,
    pub key: Zeroizing<String>,
}

/// Bootstraps a database that has not been bootstrapped yet; `None` if it was.
pub fn ensure(state: &AppState) -> AppResult<Option<BootstrapKey>> {
    state.write_blocking(Caller::System("init"), |w| {
        if needed(w)? {
            run(w).map(Some)
        } else {
            Ok(None)
        }
    })
}

/// With `--dev` and `dev_bootstrap_key`, that key (so a harness can
/// hard-code it); otherwise a fresh one.
fn bootstrap_token(w: &Work<'_>) -> AppResult<(Token, Zeroizing<String>)> {
    let config = &w.state.config;
    match config.dev_bootstrap_key.as_ref().filter(|_| config.dev) {
        Some(key) => {
            let token = std::str::from_utf8(key.expose())
                .ok()
                .and_then(|text| Token::parse(TokenKind::ApiKey, text))
                .ok_or_else(|| {
                    AppError::internal("dev_bootstrap_key passed validation but does not parse")
                })?;
            let text = token.text();
            Ok((token, text))
        }
        None => Ok(Token::generate(TokenKind::ApiKey)),
    }
}

/// True until the Administrators group exists.
pub fn needed(w: &Work<'_>) -> AppResult<bool> {
    Ok(groups::find_administrators(w.conn)?.is_none())
}

pub fn run(w: &Work<'_>) -> AppResult<BootstrapKey> {
    let (conn, now_ms) = (w.conn, w.now_ms());
    let history = |object_type: &str, guid: Guid, related: Option<Guid>, action: &str| {
        w.record(Change::new(object_type, guid, action, String::new()).within(related))
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

    // Made by coffre itself, the section gives Administrators full control.
    crate::vault::sections::create_with_guid(
        w,
        crate::vault::sections::VaultSectionInput {
            name: Some(DEFAULT_SECTION.to_string()),
            ..Default::default()
        },
        Guid::new_random(),
    )?;

    let (token, full) = bootstrap_token(w)?;
    let secret = crate::accounts::credentials::secret_of(&w.state.keys.token_hasher, &token);
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
    let key_id = api_keys::insert(conn, api_key_guid, operator_id, &secret, &details, now_ms)?;
    let entry = crate::auth::index::load_entry(conn, key_id)?;
    let index = w.state.auth.index.clone();
    w.after_commit(move || index.upsert(entry))?;
    history("ApiKey", api_key_guid, None, "Created")?;
    Ok(BootstrapKey {
        api_key_guid,
        key: full,
    })
}
