//! Principals (SPEC §3–4): operators, operator groups, credentials (API keys
//! and OAuth clients, sharing their rules in `credentials`), and the
//! bootstrap that `init` performs. Rules live here; routes stay thin.

pub mod api_keys;
pub mod bootstrap;
pub mod credentials;
pub mod groups;
pub mod oauth_clients;
pub mod operators;
pub mod sessions;

use crate::db::DbError;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::work::Work;

/// A 409: the login is another operator's (or API key's).
pub fn login_taken(field: &str) -> AppError {
    AppError::new(
        ErrorCode::LoginTaken,
        format!("{field} is already used by another operator or API key; choose another."),
    )
}

/// A 409: the e-mail address is another operator's (or API key's).
pub fn email_taken(field: &str) -> AppError {
    AppError::new(
        ErrorCode::EmailTaken,
        format!("{field} is already used by another operator or API key; choose another."),
    )
}

/// Turns a uniqueness failure on an operator's login or e-mail into a 409
/// naming the field as the caller sent it.
pub fn conflict_from(
    login_field: &'static str,
    email_field: &'static str,
) -> impl Fn(DbError) -> AppError {
    move |e| match e.unique_column() {
        Some(c) if c.ends_with(".login") => login_taken(login_field),
        Some(c) if c.ends_with(".email") => email_taken(email_field),
        _ => AppError::from(e),
    }
}

/// An operator that an API key or OAuth client acts as is that credential's
/// identity: deactivating it, changing its e-mail or login, deleting it, or
/// changing its groups acts on the credential. So the caller must outrank
/// every such credential exactly as `/v4/ApiKey` and `/v4/OAuthClient`
/// require: hold every permission it holds. Returns the refusal (not yet
/// recorded) naming what is missing.
pub fn require_outranks_keys_of(w: &Work<'_>, operator_id: i64, doing: &str) -> AppResult<()> {
    for key in crate::db::api_keys::acting_as(w.conn, operator_id)? {
        let missing = key.effective_permissions().missing_from(w.permissions());
        if !missing.is_empty() {
            return Err(AppError::new(
                ErrorCode::PermissionNotHeld,
                format!(
                    "You cannot {doing}: this operator is the identity of {} {}, which \
                     holds permissions you lack yourself ({}). Use a key or token that holds them.",
                    key.kind.noun(),
                    key.guid,
                    credentials::describe(key.kind, missing)
                ),
            ));
        }
    }
    Ok(())
}
