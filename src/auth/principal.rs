//! Who is calling: an API key, or an OAuth client through one of its access
//! tokens (`Authorization: Bearer coffreat_…`). A handler that takes a
//! `Principal` cannot forget to authenticate.
//!
//! Missing, malformed and unknown keys and tokens get the same 401 body and do
//! the same work (one HMAC), so a caller learns nothing about which exist.
//! Only a caller holding a real secret learns that it expired or was revoked.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Instant;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use base64::Engine;
use futures_util::future::{Ready, ready};

use super::index::{AuthIndex, KeyEntry, Refusal};
use super::rate_limit::FailureLimiter;
use super::tokens::TokenIndex;
use crate::audit::Actor;
use crate::crypto::{Token, TokenHasher, TokenKind};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::http::client::ClientAddress;
use crate::http::rules::{Requires, RouteRule};
use crate::metrics::AuthFailure;
use crate::state::AppState;
use crate::types::{CredentialKind, PermissionSet, SecretUsed};

/// Everything authentication needs, shared by the workers.
pub struct Authenticator {
    /// API keys and OAuth clients.
    pub index: Arc<AuthIndex>,
    /// Access tokens (loaded by `AppState::new`).
    pub tokens: Arc<TokenIndex>,
    pub limiter: FailureLimiter,
    /// Hashed on failure paths so every failure costs the same.
    decoy: Token,
}

impl Authenticator {
    pub fn new(index: Arc<AuthIndex>, limiter: FailureLimiter) -> Self {
        Self {
            index,
            tokens: Arc::default(),
            limiter,
            decoy: Token::generate(TokenKind::ApiKey).0,
        }
    }

    /// One HMAC whatever was presented: the stored hash if there is one, a
    /// decoy otherwise. True only for a real secret matching a stored hash.
    pub fn verify(
        &self,
        hasher: &TokenHasher,
        token: Option<&Token>,
        stored: Option<&[u8; 32]>,
    ) -> bool {
        match (token, stored) {
            (Some(token), Some(stored)) => hasher.verify(token, stored),
            (Some(token), None) => {
                hasher.verify(token, &[0u8; 32]);
                false
            }
            (None, _) => {
                hasher.verify(&self.decoy, &[0u8; 32]);
                false
            }
        }
    }
}

/// A failed authentication from `address`: counted, or answered with the
/// seconds to wait (429) once the address is past its limit. A valid
/// credential never comes here, so one misbehaving client behind a shared
/// address cannot lock out others.
pub fn count_failure(state: &AppState, address: IpAddr, now: Instant) -> Option<u64> {
    let retry = state.auth.limiter.failure(address, now);
    state.metrics.auth_failure(match retry {
        Some(_) => AuthFailure::RateLimited,
        None => AuthFailure::Invalid,
    });
    retry
}

/// The real secret of a credential that may not be used now, counted by why.
pub fn count_refusal(state: &AppState, refusal: Refusal) {
    state.metrics.auth_failure(match refusal {
        Refusal::Revoked => AuthFailure::Revoked,
        Refusal::Expired(_) | Refusal::PreviousEnded(_) => AuthFailure::Expired,
        Refusal::OperatorDeactivated => AuthFailure::OperatorDeactivated,
    });
}

#[derive(Debug, Clone)]
pub struct Principal {
    /// The API key, or the OAuth client whose access token was presented.
    key: Arc<KeyEntry>,
    /// The key's permissions, or the client's narrowed to the token's scopes.
    permissions: PermissionSet,
    /// Came with an access token.
    via_token: bool,
    /// What the route being called needs (set by `http::rules::guard`).
    route: RouteRule,
    /// Where the request came from (the forwarded client behind trusted proxies).
    client: Option<ClientAddress>,
    /// Which of the credential's secrets was presented (for an access token,
    /// the one that obtained it).
    secret_used: SecretUsed,
}

pub fn unauthenticated() -> AppError {
    AppError::new(
        ErrorCode::Unauthorized,
        "A valid API key or access token is required: send a key as `Authorization: Bearer \
         <key>`, as `X-Api-Key: <key>`, or as the password of HTTP Basic authentication (any \
         user name); send an OAuth access token as `Authorization: Bearer <token>`. Keys look \
         like coffre_XXXXXXXXXXXX_…, tokens like coffreat_…; an administrator can create a key \
         or an OAuth client, whose credentials POST /oauth2/token trades for a token.",
    )
}

impl Principal {
    /// The principal for a route: refused (403, naming the permission) when
    /// the key lacks the permission the route is declared with.
    pub fn for_route(mut self, rule: RouteRule) -> AppResult<Principal> {
        if let Some(p) = rule.permission
            && !self.permissions.contains(p)
        {
            let message = if self.via_token {
                format!(
                    "This access token lacks the scope {} (the permission {p}). Request a token \
                     with that scope; if its OAuth client may not ask for it, an administrator \
                     can add it to the client's Scopes (PUT /v4/OAuthClient/{}).",
                    p.scope(),
                    self.key.guid
                )
            } else {
                format!(
                    "This API key lacks the permission {p}. An administrator can add it to the \
                     key's Permissions (PUT /v4/ApiKey/{}).",
                    self.key.guid
                )
            };
            return Err(AppError::new(ErrorCode::MissingPermission, message));
        }
        self.route = rule;
        Ok(self)
    }

    /// The operator right the route being called is declared to need.
    pub fn route_requires(&self) -> Requires {
        self.route.requires
    }

    pub fn permissions(&self) -> PermissionSet {
        self.permissions
    }

    /// The credential behind the request, as the index holds it.
    pub fn credential(&self) -> &Arc<KeyEntry> {
        &self.key
    }

    pub fn operator_id(&self) -> i64 {
        self.key.operator_id
    }

    pub fn key_id(&self) -> i64 {
        self.key.id
    }

    pub fn key_guid(&self) -> crate::types::Guid {
        self.key.guid
    }

    /// The address the request came from, as `http::client` resolved it.
    pub fn client_address(&self) -> Option<ClientAddress> {
        self.client
    }

    /// Who history records as having made a change (the key, or the
    /// client), and from where.
    pub fn actor(&self) -> Actor {
        Actor::credential(
            self.key.kind,
            self.key.guid,
            &self.key.contact_first_name,
            &self.key.contact_last_name,
        )
        .from_address(self.client.map(|c| c.ip))
        .with_secret(self.secret_used)
    }

    /// Which of the credential's secrets the request was made with.
    pub fn secret_used(&self) -> SecretUsed {
        self.secret_used
    }

    /// A credential acting with all it holds: a key, or a client at the
    /// token endpoint (and tests and tools that construct one directly).
    pub fn from_entry(key: Arc<KeyEntry>) -> Self {
        let permissions = key.permissions;
        Self::new(key, permissions, false)
    }

    /// An OAuth client through an access token issued with `scopes`: never
    /// more than the client holds now.
    pub fn from_token(client: Arc<KeyEntry>, scopes: PermissionSet) -> Self {
        let permissions = client.permissions.intersection(scopes);
        Self::new(client, permissions, true)
    }

    fn new(key: Arc<KeyEntry>, permissions: PermissionSet, via_token: bool) -> Self {
        Principal {
            key,
            permissions,
            via_token,
            route: RouteRule {
                permission: None,
                requires: Requires::None,
            },
            client: None,
            secret_used: SecretUsed::Current,
        }
    }

    pub fn with_client(mut self, client: ClientAddress) -> Self {
        self.client = Some(client);
        self
    }

    pub fn with_secret(mut self, secret: SecretUsed) -> Self {
        self.secret_used = secret;
        self
    }
}

/// The presented key, from whichever of the three places it came in, and
/// whether it came as `Authorization: Bearer` (the only place for an access
/// token, RFC 6750 §2.1).
fn presented_key(req: &HttpRequest) -> Option<(String, bool)> {
    // An empty X-Api-Key (a client template with the value left blank) is no
    // key at all: it must not shadow a valid Authorization header.
    if let Some(v) = req.headers().get("x-api-key")
        && !v.as_bytes().trim_ascii().is_empty()
    {
        return v.to_str().ok().map(|s| (s.trim().to_string(), false));
    }
    let value = req
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim();
    let (scheme, rest) = value.split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        Some((rest.to_string(), true))
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        text.split_once(':')
            .map(|(_, password)| (password.to_string(), false))
    } else {
        None
    }
}

/// The request's client, as `http::client` resolved it (the forwarded client
/// behind trusted proxies): history records it and failed authentications
/// are counted against it. The peer is the fallback.
pub fn client_address(req: &HttpRequest) -> ClientAddress {
    req.extensions()
        .get::<ClientAddress>()
        .copied()
        .unwrap_or_else(|| ClientAddress {
            ip: req
                .peer_addr()
                .map(|a| a.ip())
                .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            https: false,
        })
}

/// A failure's answer: 401, or 429 once the address is past its limit.
fn failed(state: &AppState, address: IpAddr, instant: Instant) -> AppError {
    match count_failure(state, address, instant) {
        Some(retry) => AppError::too_many_requests(
            retry,
            format!(
                "Too many failed authentications from your address; retry in {retry} seconds \
                 with a valid API key or access token (a valid one is never refused)."
            ),
        ),
        None => unauthenticated(),
    }
}

/// The caller of a request: by the key or token in its headers, or else by
/// the console's session cookie (`auth::session`), or nobody (401).
pub fn authenticate(req: &HttpRequest) -> AppResult<Principal> {
    let presented = presented_key(req);
    if presented.is_none()
        && let Some(cookie) = req.cookie(super::session::COOKIE)
    {
        return super::session::authenticate(req, cookie.value());
    }
    authenticate_presented(req, presented)
}

/// The caller presenting `key` as its API key outside the headers (the body
/// of the console's sign-in): never an access token. Failures count toward
/// the limiter, as in a header.
pub fn authenticate_key(req: &HttpRequest, key: &str) -> AppResult<Principal> {
    authenticate_presented(req, Some((key.to_string(), false)))
}

/// `presented`: the secret, and whether it came as `Authorization: Bearer`.
fn authenticate_presented(
    req: &HttpRequest,
    presented: Option<(String, bool)>,
) -> AppResult<Principal> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::internal("application state missing"))?;
    let auth = &state.auth;
    let client = client_address(req);
    let address = client.ip;
    let instant = Instant::now();

    if let Some((text, true)) = &presented
        && text.starts_with(TokenKind::AccessToken.prefix())
    {
        return authenticate_token(state, client, instant, text);
    }
    let token = presented
        .as_ref()
        .and_then(|(text, _)| Token::parse(TokenKind::ApiKey, text));
    // A client's secret is in the same index: never taken for a key.
    let entry = token
        .as_ref()
        .and_then(|t| auth.index.get(t.lookup_id()))
        .filter(|e| e.kind == CredentialKind::ApiKey);
    // The lookup id says which secret was presented: the current one or,
    // during a grace period, the previous one; either way one HMAC.
    let secret = token
        .as_ref()
        .zip(entry.as_ref())
        .and_then(|(t, e)| e.secret_for(t.lookup_id()));
    let verified = auth.verify(
        &state.keys.token_hasher,
        token.as_ref(),
        secret.map(|(_, hash)| hash),
    );
    let secret_used = secret.map(|(used, _)| used);
    let (entry, secret_used) = match (verified, entry, secret_used) {
        (true, Some(entry), Some(used)) => (entry, used),
        _ => return Err(failed(state, address, instant)),
    };

    let now = state.clock.now_millis();
    let refusal = entry.refusal_for(secret_used, now);
    if let Some(refusal) = refusal {
        count_refusal(state, refusal);
    }
    match refusal {
        None => {}
        Some(Refusal::Revoked) => {
            return Err(AppError::new(
                ErrorCode::KeyRevoked,
                format!(
                    "This API key was revoked. An administrator can issue it a new secret with \
                     POST /v4/ApiKey/{}/Regenerate.",
                    entry.guid
                ),
            ));
        }
        Some(Refusal::Expired(expires_at)) => {
            return Err(AppError::new(
                ErrorCode::KeyExpired,
                format!(
                    "This API key expired at {} (midnight UTC at the end of its ExpirationDate). \
                     Ask an administrator to extend its ExpirationDate.",
                    crate::time::rfc3339(expires_at)
                ),
            ));
        }
        Some(Refusal::OperatorDeactivated) => {
            return Err(AppError::new(
                ErrorCode::OperatorDeactivated,
                "The operator this API key acts as is deactivated; an administrator can \
                 reactivate it (PATCH /v4/Operator/{guid} with IsActive true).",
            ));
        }
        Some(Refusal::PreviousEnded(ended)) => {
            return Err(AppError::new(
                ErrorCode::PreviousKeyExpired,
                format!(
                    "This is the previous secret of API key {}: it was replaced by a \
                     Regenerate, and its grace period ended at {}. Use the key's new secret.",
                    entry.guid,
                    crate::time::rfc3339(ended)
                ),
            ));
        }
    }
    entry.touch(now, secret_used, Some(address));
    Ok(Principal::from_entry(entry)
        .with_client(client)
        .with_secret(secret_used))
}

/// `Authorization: Bearer coffreat_…`: the token from its index, then its
/// client's state from the credential index. Dies with its client.
fn authenticate_token(
    state: &AppState,
    token_client: ClientAddress,
    instant: Instant,
    text: &str,
) -> AppResult<Principal> {
    let auth = &state.auth;
    let token = Token::parse(TokenKind::AccessToken, text);
    let entry = token.as_ref().and_then(|t| auth.tokens.get(t.lookup_id()));
    let verified = auth.verify(
        &state.keys.token_hasher,
        token.as_ref(),
        entry.as_ref().map(|e| &e.token_hash),
    );
    let entry = match (verified, entry) {
        (true, Some(entry)) => entry,
        _ => return Err(failed(state, token_client.ip, instant)),
    };
    let now = state.clock.now_millis();
    if now >= entry.expires_at {
        state.metrics.auth_failure(AuthFailure::Expired);
        return Err(AppError::new(
            ErrorCode::AccessTokenExpired,
            format!(
                "This access token expired at {}. Request a new one from POST /oauth2/token \
                 with your OAuth client's credentials.",
                crate::time::rfc3339(entry.expires_at)
            ),
        ));
    }
    let client = auth
        .index
        .by_id(entry.credential_id)
        .filter(|c| c.kind == CredentialKind::OAuthClient && c.refusal(now).is_none());
    let Some(client) = client else {
        state.metrics.auth_failure(AuthFailure::ClientInactive);
        return Err(AppError::new(
            ErrorCode::OAuthClientInactive,
            "This access token's OAuth client no longer works (it was revoked, regenerated, \
             deleted or has expired, or its operator was deactivated), so neither does the \
             token. An administrator can tell you why (GET /v4/OAuthClient).",
        ));
    };
    client.touch(now, entry.secret_used, Some(token_client.ip));
    Ok(Principal::from_token(client, entry.scopes)
        .with_client(token_client)
        .with_secret(entry.secret_used))
}

/// Handlers take the `Principal` that `http::rules::guard` authenticated for
/// the route (and checked against its permission).
impl FromRequest for Principal {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions().get::<Principal>().cloned().ok_or_else(|| {
                AppError::internal("a route declared without a key takes a Principal")
            }),
        )
    }
}
