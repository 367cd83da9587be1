//! Access tokens as rules: issuing one to an authenticated client, revoking
//! one at its client's request, forgetting a client's tokens when it is
//! revoked, regenerated or deleted or its operator deactivated, and purging
//! expired ones. The database keeps only keyed hashes; the token index
//! follows every change once it is committed.
//!
//! A token never outlives its client: it expires at the earlier of its own
//! lifetime and the client's expiry instant, so extending an expired client
//! brings back none of its old tokens.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use zeroize::Zeroizing;

use crate::auth::index::KeyEntry;
use crate::auth::tokens::TokenEntry;
use crate::crypto::{Token, TokenKind};
use crate::db::api_keys as credentials_repo;
use crate::db::oauth_tokens::{self as repo, NewToken};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::types::{CredentialKind, KeyStatus, PermissionSet, SecretUsed};
use crate::work::Work;

/// Expired tokens deleted per transaction by the purge.
const PURGE_PAGE: i64 = 1000;

/// A token just issued; its text is shown once.
pub struct Issued {
    pub token: Zeroizing<String>,
    pub scopes: PermissionSet,
    pub expires_at: i64,
}

/// Issues a token for `scopes` (within what the client holds) to `client`,
/// authenticated from the index a moment ago. `None` if the client changed
/// meanwhile (revoked, regenerated, deleted, expired, operator deactivated):
/// the secret it authenticated with no longer stands.
pub fn issue(
    w: &Work<'_>,
    client: &Arc<KeyEntry>,
    secret_used: SecretUsed,
    scopes: PermissionSet,
) -> AppResult<Option<Issued>> {
    let now = w.now_ms();
    let Some(row) = credentials_repo::find_by_id_opt(w.conn, client.id)? else {
        return Ok(None);
    };
    // The secret it authenticated with must still stand: the same current
    // one, or the same previous one inside its grace period.
    let secret_stands = match secret_used {
        SecretUsed::Current => row.lookup_id == client.lookup_id,
        SecretUsed::Previous => row.previous.as_ref().is_some_and(|p| {
            client
                .previous
                .as_ref()
                .is_some_and(|c| c.lookup_id == p.lookup_id)
                && now < p.expires_at
        }),
    };
    let usable = row.kind == CredentialKind::OAuthClient
        && secret_stands
        && row.status != KeyStatus::Revoked
        && row.operator_active
        && row.expires_at.is_none_or(|e| now < e);
    if !usable {
        return Ok(None);
    }
    let lifetime_ms = i64::try_from(w.state.config.oauth_token_lifetime_secs)
        .map_err(AppError::internal)?
        .saturating_mul(1000);
    let mut expires_at = row.expires_at.map_or(now.saturating_add(lifetime_ms), |e| {
        e.min(now.saturating_add(lifetime_ms))
    });
    // What the previous secret obtains dies with its grace period.
    if secret_used == SecretUsed::Previous
        && let Some(p) = &row.previous
    {
        expires_at = expires_at.min(p.expires_at);
    }
    let (token, full) = Token::generate(TokenKind::AccessToken);
    let entry = TokenEntry {
        lookup_id: token.lookup_id().to_string(),
        token_hash: w.state.keys.token_hasher.hash(&token),
        credential_id: row.id,
        scopes,
        expires_at,
        secret_used,
    };
    let seq = repo::insert(
        w.conn,
        &NewToken {
            lookup_id: &entry.lookup_id,
            token_hash: entry.token_hash,
            credential_id: row.id,
            scopes,
            expires_at,
            secret_used,
        },
        now,
    )?;
    // Memory stays bounded whatever a client does: a token lives only while
    // it is among its client's latest `oauth_tokens_per_client`.
    let keep = i64::from(w.state.config.oauth_tokens_per_client);
    let evicted = repo::delete_before(w.conn, row.id, seq, keep)?;
    let index = w.state.auth.tokens.clone();
    w.after_commit(move || {
        index.insert(entry);
        index.remove(&evicted);
    })?;
    Ok(Some(Issued {
        token: full,
        scopes,
        expires_at,
    }))
}

/// Revokes a token of `client_id` (RFC 7009); true if there was one.
pub fn revoke(w: &Work<'_>, client_id: i64, lookup_id: String) -> AppResult<bool> {
    if !repo::delete_one(w.conn, &lookup_id, client_id)? {
        return Ok(false);
    }
    let index = w.state.auth.tokens.clone();
    w.after_commit(move || index.remove(&[lookup_id]))?;
    Ok(true)
}

fn forget(w: &Work<'_>, lookup_ids: Vec<String>) -> AppResult<()> {
    if lookup_ids.is_empty() {
        return Ok(());
    }
    let index = w.state.auth.tokens.clone();
    w.after_commit(move || index.remove(&lookup_ids))
}

/// Every token of a client dies (it was revoked, regenerated or deleted).
pub fn forget_for_client(w: &Work<'_>, credential_id: i64) -> AppResult<()> {
    let gone = repo::delete_for_credential(w.conn, credential_id)?;
    forget(w, gone)
}

/// Every token of the clients acting as an operator dies (it was deactivated).
pub fn forget_for_operator(w: &Work<'_>, operator_id: i64) -> AppResult<()> {
    let gone = repo::delete_for_operator(w.conn, operator_id)?;
    forget(w, gone)
}

/// Deletes the tokens expired at `now`, page by page, and forgets them;
/// returns how many rows went. Part of the daily sweep.
pub async fn purge_expired(state: &AppState, now: DateTime<Utc>) -> AppResult<usize> {
    let now_ms = now.timestamp_millis();
    let mut total = 0;
    loop {
        let deleted = state
            .db
            .write(move |conn, _| {
                repo::delete_expired(conn, now_ms, PURGE_PAGE).map_err(AppError::from)
            })
            .await?;
        total += deleted;
        if (deleted as i64) < PURGE_PAGE {
            break;
        }
    }
    state.auth.tokens.forget_expired(now_ms);
    Ok(total)
}
