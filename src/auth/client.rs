//! Authenticating an OAuth client at the token and revocation endpoints
//! (RFC 6749 §2.3.1) with its `client_id` and `client_secret`, from the same
//! in-memory index as API keys: the secret's lookup id finds the client, one
//! HMAC and a constant-time compare verify it. Unknown, malformed and wrong
//! credentials fail alike and count toward the failed-auth limit of the
//! address; a valid client is never refused by that limit.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::index::{KeyEntry, Refusal};
use crate::crypto::{Token, TokenKind};
use crate::state::AppState;
use crate::types::{CredentialKind, SecretUsed};

/// What a client presented.
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: Zeroizing<String>,
}

/// Why a client was not authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientFailure {
    /// No credentials, or ones that match no client.
    Invalid,
    /// The address is past its failed-auth limit: retry after this many seconds.
    Limited(u64),
    /// The real secret of a client that may not be used now.
    Refused(Refusal),
}

/// The client whose credentials these are, and which of its secrets they
/// hold (the previous one works during a grace period, as for API keys).
pub fn authenticate_client(
    state: &AppState,
    address: IpAddr,
    presented: Option<&ClientCredentials>,
) -> Result<(Arc<KeyEntry>, SecretUsed), ClientFailure> {
    let auth = &state.auth;
    let instant = Instant::now();
    let token = presented.and_then(|c| Token::parse(TokenKind::ClientSecret, &c.client_secret));
    let entry = token
        .as_ref()
        .and_then(|t| auth.index.get(t.lookup_id()))
        .filter(|e| e.kind == CredentialKind::OAuthClient);
    let secret = token
        .as_ref()
        .zip(entry.as_ref())
        .and_then(|(t, e)| e.secret_for(t.lookup_id()));
    let verified = auth.verify(
        &state.keys.token_hasher,
        token.as_ref(),
        secret.map(|(_, hash)| hash),
    );
    let secret_used = secret.map_or(SecretUsed::Current, |(used, _)| used);
    // The secret finds the client; the id must be that client's too.
    let id_matches = match (presented, &entry) {
        (Some(c), Some(e)) => e
            .client_id
            .as_deref()
            .is_some_and(|id| bool::from(id.as_bytes().ct_eq(c.client_id.as_bytes()))),
        _ => false,
    };
    let entry = match (verified && id_matches, entry) {
        (true, Some(entry)) => entry,
        _ => {
            return Err(
                match super::principal::count_failure(state, address, instant) {
                    Some(retry) => ClientFailure::Limited(retry),
                    None => ClientFailure::Invalid,
                },
            );
        }
    };
    let now = state.clock.now_millis();
    if let Some(refusal) = entry.refusal_for(secret_used, now) {
        super::principal::count_refusal(state, refusal);
        return Err(ClientFailure::Refused(refusal));
    }
    entry.touch(now, secret_used, Some(address));
    Ok((entry, secret_used))
}
