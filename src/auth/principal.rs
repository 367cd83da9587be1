//! Who is calling. A handler that takes a `Principal` cannot forget to
//! authenticate; checks read as sentences: `principal.require(Permission::ITEM_READ)?`.
//!
//! Missing, malformed and unknown keys get the same 401 body and do the same
//! work (one HMAC), so a caller learns nothing about which keys exist. Only a
//! caller holding a key's real secret learns that it expired or was revoked.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Instant;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use base64::Engine;
use futures_util::future::{Ready, ready};

use super::index::{AuthIndex, KeyEntry};
use super::rate_limit::FailureLimiter;
use crate::audit::Actor;
use crate::crypto::{ApiKeyHasher, ApiKeyToken};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::http::client::ClientAddress;
use crate::http::rules::{Requires, RouteRule};
use crate::metrics::AuthFailure;
use crate::state::AppState;
use crate::types::PermissionSet;

/// Everything authentication needs, shared by the workers.
pub struct Authenticator {
    pub index: Arc<AuthIndex>,
    pub limiter: FailureLimiter,
    /// Hashed on failure paths so every failure costs the same.
    decoy: ApiKeyToken,
}

impl Authenticator {
    pub fn new(index: Arc<AuthIndex>, limiter: FailureLimiter) -> Self {
        Self {
            index,
            limiter,
            decoy: ApiKeyToken::generate().0,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Principal {
    key: Arc<KeyEntry>,
    /// What the route being called needs (set by `http::rules::guard`).
    route: RouteRule,
    /// Where the request came from (the forwarded client behind trusted proxies).
    client: Option<ClientAddress>,
}

pub fn unauthenticated() -> AppError {
    AppError::new(
        ErrorCode::Unauthorized,
        "A valid API key is required: send it as `Authorization: Bearer <key>`, as \
         `X-Api-Key: <key>`, or as the password of HTTP Basic authentication (any user name). \
         Keys look like coffre_XXXXXXXXXXXX_…; an administrator can create one.",
    )
}

impl Principal {
    /// The principal for a route: refused (403, naming the permission) when
    /// the key lacks the permission the route is declared with.
    pub fn for_route(mut self, rule: RouteRule) -> AppResult<Principal> {
        if let Some(p) = rule.permission
            && !self.key.permissions.contains(p)
        {
            return Err(AppError::new(
                ErrorCode::MissingPermission,
                format!(
                    "This API key lacks the permission {p}. An administrator can add it to the \
                     key's Permissions (PUT /v4/ApiKey/{}).",
                    self.key.guid
                ),
            ));
        }
        self.route = rule;
        Ok(self)
    }

    /// The operator right the route being called is declared to need.
    pub fn route_requires(&self) -> Requires {
        self.route.requires
    }

    pub fn permissions(&self) -> PermissionSet {
        self.key.permissions
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

    /// Who history records as having made a change, and from where.
    pub fn actor(&self) -> Actor {
        Actor::key(
            self.key.guid,
            &self.key.contact_first_name,
            &self.key.contact_last_name,
        )
        .from_address(self.client.map(|c| c.ip))
    }

    /// For tests and tools that construct one directly.
    pub fn from_entry(key: Arc<KeyEntry>) -> Self {
        Principal {
            key,
            route: RouteRule {
                permission: None,
                requires: Requires::None,
            },
            client: None,
        }
    }

    pub fn with_client(mut self, client: ClientAddress) -> Self {
        self.client = Some(client);
        self
    }
}

/// The presented key, from whichever of the three places it came in.
fn presented_key(req: &HttpRequest) -> Option<String> {
    // An empty X-Api-Key (a client template with the value left blank) is no
    // key at all: it must not shadow a valid Authorization header.
    if let Some(v) = req.headers().get("x-api-key")
        && !v.as_bytes().trim_ascii().is_empty()
    {
        return v.to_str().ok().map(|s| s.trim().to_string());
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
        Some(rest.to_string())
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        text.split_once(':')
            .map(|(_, password)| password.to_string())
    } else {
        None
    }
}

/// Where the request came from: set by `request_context` for every
/// request; the peer is the fallback.
pub fn client_of(req: &HttpRequest) -> ClientAddress {
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

/// The caller of a request: by the key in its headers, or else by the
/// console's session cookie (`auth::session`), or nobody (401).
pub fn authenticate(req: &HttpRequest) -> AppResult<Principal> {
    let presented = presented_key(req);
    if presented.is_none()
        && let Some(cookie) = req.cookie(super::session::COOKIE)
    {
        return super::session::authenticate(req, cookie.value());
    }
    authenticate_key(req, presented.as_deref())
}

/// The caller presenting `presented` as its API key (from a header, or the
/// body of the console's sign-in). Failures count toward the limiter.
pub fn authenticate_key(req: &HttpRequest, presented: Option<&str>) -> AppResult<Principal> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::internal("application state missing"))?;
    let auth = &state.auth;
    let hasher: &ApiKeyHasher = &state.keys.api_key_hasher;
    let client = client_of(req);
    let instant = Instant::now();

    let token = presented.and_then(ApiKeyToken::parse);
    let entry = token.as_ref().and_then(|t| auth.index.get(t.lookup_id()));
    let verified = match (&token, &entry) {
        (Some(token), Some(entry)) => hasher.verify(token, &entry.secret_hash),
        (Some(token), None) => {
            hasher.verify(token, &[0u8; 32]);
            false
        }
        _ => {
            hasher.verify(&auth.decoy, &[0u8; 32]);
            false
        }
    };
    // The limiter only ever slows failures: a request carrying a valid key is
    // never refused by it, so one misbehaving client behind a shared address
    // cannot lock out the others.
    let entry = match (verified, entry) {
        (true, Some(entry)) => entry,
        _ => {
            if let Some(retry) = auth.limiter.failure(client.ip, instant) {
                state.metrics.auth_failure(AuthFailure::RateLimited);
                return Err(AppError::too_many_requests(
                    retry,
                    format!(
                        "Too many failed authentications from your address; retry in {retry} \
                         seconds with a valid API key (a valid key is never refused)."
                    ),
                ));
            }
            state.metrics.auth_failure(AuthFailure::Invalid);
            return Err(unauthenticated());
        }
    };

    if entry.revoked {
        state.metrics.auth_failure(AuthFailure::Revoked);
        return Err(AppError::new(
            ErrorCode::KeyRevoked,
            format!(
                "This API key was revoked. An administrator can issue it a new secret with \
                 POST /v4/ApiKey/{}/Regenerate.",
                entry.guid
            ),
        ));
    }
    let now = state.clock.now_millis();
    if let Some(expires_at) = entry.expires_at
        && now >= expires_at
    {
        state.metrics.auth_failure(AuthFailure::Expired);
        return Err(AppError::new(
            ErrorCode::KeyExpired,
            format!(
                "This API key expired at {} (midnight UTC at the end of its ExpirationDate). \
                 Ask an administrator to extend its ExpirationDate.",
                crate::time::rfc3339(expires_at)
            ),
        ));
    }
    if !entry.operator_active() {
        state.metrics.auth_failure(AuthFailure::OperatorDeactivated);
        return Err(AppError::new(
            ErrorCode::OperatorDeactivated,
            "The operator this API key acts as is deactivated; an administrator can reactivate \
             it (PATCH /v4/Operator/{guid} with IsActive true).",
        ));
    }
    entry.touch(now);
    Ok(Principal::from_entry(entry).with_client(client))
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
