//! The OAuth 2.0 endpoints (issue 16): `POST /oauth2/token` (client
//! credentials grant, RFC 6749 §4.4), `POST /oauth2/revoke` (RFC 7009) and
//! `GET /.well-known/oauth-authorization-server` (RFC 8414). Declared public
//! in `routes::api!`: the first two authenticate the client themselves, and
//! all three answer in OAuth's shapes (`oauth::wire`), not the API's.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};

use crate::auth::Principal;
use crate::auth::client::{ClientFailure, authenticate_client};
use crate::auth::index::{KeyEntry, Refusal};
use crate::auth::principal::client_address;
use crate::crypto::{Token, TokenKind};
use crate::oauth::form::{self, Form};
use crate::oauth::wire::{
    OAuthError, OAuthErrorCode, OAuthErrors, RevocationRequest, ServerMetadata, TokenRequest,
    TokenResponse,
};
use crate::oauth::{ScopeError, scope_string, select_scopes, tokens};
use crate::state::AppState;
use crate::time::rfc3339;
use crate::types::{SecretUsed, permissions};

const GRANT_TYPE: &str = "client_credentials";
const AUTH_METHODS: [&str; 2] = ["client_secret_basic", "client_secret_post"];

/// `invalid_client`, saying why only to the holder of the real secret.
fn client_error(failure: ClientFailure) -> OAuthError {
    let refused = |why: String| OAuthError::new(OAuthErrorCode::InvalidClient, why);
    match failure {
        ClientFailure::Invalid => refused(
            "Client authentication failed: send the client's client_id and client_secret with \
             HTTP Basic or in the body (an administrator creates clients with POST \
             /v4/OAuthClient)."
                .into(),
        ),
        ClientFailure::Limited(retry) => OAuthError::too_many(retry),
        ClientFailure::Refused(Refusal::Revoked) => refused(
            "This OAuth client was revoked; an administrator can issue it a new secret (POST \
             /v4/OAuthClient/{guid}/Regenerate)."
                .into(),
        ),
        ClientFailure::Refused(Refusal::Expired(at)) => refused(format!(
            "This OAuth client expired at {} (midnight UTC at the end of its ExpirationDate); \
             an administrator can extend it.",
            rfc3339(at)
        )),
        ClientFailure::Refused(Refusal::OperatorDeactivated) => refused(
            "The operator this OAuth client acts as is deactivated; an administrator can \
             reactivate it."
                .into(),
        ),
        ClientFailure::Refused(Refusal::PreviousEnded(at)) => refused(format!(
            "This is the client's previous secret: a Regenerate replaced it and its grace \
             period ended at {}. Use the client's new secret.",
            rfc3339(at)
        )),
    }
}

/// The form and the client it authenticates.
async fn authenticated(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<(Form, std::sync::Arc<KeyEntry>, SecretUsed), OAuthError> {
    let form = form::read(req, payload.into_inner(), state).await?;
    let credentials = form::client_credentials(req, &form)?;
    let (client, secret_used) =
        authenticate_client(state, client_address(req).ip, credentials.as_ref())
            .map_err(client_error)?;
    Ok((form, client, secret_used))
}

#[utoipa::path(post, path = "/oauth2/token", tag = "OAuth", security(()),
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "An access token (with `Cache-Control: no-store`)", body = TokenResponse),
        OAuthErrors,
    ))]
pub async fn token(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let (form, client, secret_used) = authenticated(&req, payload, &state).await?;
    match form.require("grant_type")? {
        GRANT_TYPE => {}
        _ => {
            return Err(OAuthError::new(
                OAuthErrorCode::UnsupportedGrantType,
                "grant_type must be client_credentials, the only grant coffre supports.",
            ));
        }
    }
    let scopes = select_scopes(client.permissions, form.get("scope")).map_err(|e| {
        let description = match e {
            ScopeError::Unknown(words) => format!(
                "Unknown scope(s): {}. Scopes look like coffre.vault_item.read; \
                 /.well-known/oauth-authorization-server lists them all.",
                words
                    .iter()
                    .map(|w| format!("{:?}", w.chars().take(60).collect::<String>()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            ScopeError::NotHeld(missing) => format!(
                "This client may not ask for {}; it may ask for: {}. An administrator can \
                 change its Scopes (PUT /v4/OAuthClient/{}).",
                scope_string(missing),
                scope_string(client.permissions),
                client.guid
            ),
        };
        OAuthError::new(OAuthErrorCode::InvalidScope, description)
    })?;
    let issuing = client.clone();
    let issued = state
        .write(
            Principal::from_entry(client)
                .with_secret(secret_used)
                .into(),
            move |w| tokens::issue(w, &issuing, secret_used, scopes),
        )
        .await
        .map_err(OAuthError::from_app)?
        .ok_or_else(|| client_error(ClientFailure::Invalid))?;
    let now = state.clock.now_millis();
    let body = TokenResponse {
        access_token: issued.token.to_string(),
        token_type: "Bearer",
        expires_in: (issued.expires_at - now + 999) / 1000,
        scope: scope_string(issued.scopes),
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::PRAGMA, HeaderValue::from_static("no-cache")))
        .json(body))
}

#[utoipa::path(post, path = "/oauth2/revoke", tag = "OAuth", security(()),
    request_body(content = RevocationRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Revoked, or not a live token of this client (RFC 7009 §2.2: the same answer)"),
        OAuthErrors,
    ))]
pub async fn revoke(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let (form, client, _) = authenticated(&req, payload, &state).await?;
    let text = form.require("token")?;
    // Only the holder of the token itself learns anything about it: one
    // HMAC, whatever was sent.
    let token = Token::parse(TokenKind::AccessToken, text);
    let entry = token
        .as_ref()
        .and_then(|t| state.auth.tokens.get(t.lookup_id()));
    let verified = state.auth.verify(
        &state.keys.token_hasher,
        token.as_ref(),
        entry.as_ref().map(|e| &e.token_hash),
    );
    let Some(entry) = entry.filter(|_| verified) else {
        return Ok(HttpResponse::Ok().finish());
    };
    if entry.credential_id != client.id {
        return Err(OAuthError::new(
            OAuthErrorCode::UnauthorizedClient,
            "This access token was issued to another client; only that client may revoke it \
             (or an administrator may revoke the client).",
        ));
    }
    let (client_id, lookup_id) = (client.id, entry.lookup_id.clone());
    state
        .write(Principal::from_entry(client).into(), move |w| {
            tokens::revoke(w, client_id, lookup_id)
        })
        .await
        .map_err(OAuthError::from_app)?;
    Ok(HttpResponse::Ok().finish())
}

/// The issuer: `public_url`, or this request's scheme and host (never a
/// forwarded header: only `public_url` speaks for a proxy in front). The host
/// is the `Host` header (HTTP/1.1), else the URI's authority (HTTP/2's
/// `:authority`), else the address the server listens on.
fn issuer(req: &HttpRequest, state: &AppState) -> String {
    if let Some(url) = &state.config.public_url {
        return url.clone();
    }
    // TLS is the server's own: coffre serves HTTPS exactly when it has a certificate.
    let scheme = if state.config.tls_cert_file.is_some() {
        "https"
    } else {
        "http"
    };
    let well_formed = |h: &&str| {
        !h.is_empty()
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
    };
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(well_formed)
        .map(str::to_string)
        .or_else(|| {
            req.uri()
                .authority()
                .map(|a| a.as_str())
                .filter(well_formed)
                .map(str::to_string)
        })
        .or_else(|| {
            req.app_data::<web::Data<ListenAddress>>()
                .map(|a| a.0.to_string())
        })
        .unwrap_or_else(|| "localhost".to_string());
    format!("{scheme}://{host}")
}

/// The address the server is bound to, for answers that must name it.
#[derive(Debug, Clone, Copy)]
pub struct ListenAddress(pub std::net::SocketAddr);

#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = "OAuth", security(()),
    responses((status = 200, description = "Authorization server metadata (RFC 8414)", body = ServerMetadata)))]
pub async fn metadata(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let issuer = issuer(&req, &state);
    HttpResponse::Ok().json(ServerMetadata {
        token_endpoint: format!("{issuer}/oauth2/token"),
        revocation_endpoint: format!("{issuer}/oauth2/revoke"),
        grant_types_supported: vec![GRANT_TYPE],
        token_endpoint_auth_methods_supported: AUTH_METHODS.to_vec(),
        revocation_endpoint_auth_methods_supported: AUTH_METHODS.to_vec(),
        response_types_supported: Vec::new(),
        scopes_supported: permissions::all_scopes().collect(),
        service_documentation: format!("{issuer}/docs/"),
        issuer,
    })
}
