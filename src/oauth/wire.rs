//! OAuth's own shapes on the wire, not the API's `{"Messages": …}`: the
//! token response (RFC 6749 §5.1), errors (§5.2), the request forms as the
//! API description shows them, and authorization server metadata (RFC 8414).

use std::collections::BTreeMap;
use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{IntoResponses, ToSchema};

use crate::error::AppError;

/// The error codes of RFC 6749 §5.2 that coffre answers with, and those of
/// §4.1.2.1 for its own failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OAuthErrorCode {
    /// A parameter is missing, repeated or malformed, or the body is not a form.
    InvalidRequest,
    /// Client authentication failed (401, with `WWW-Authenticate`).
    InvalidClient,
    /// The token to revoke was issued to another client.
    UnauthorizedClient,
    /// Only `client_credentials` is supported.
    UnsupportedGrantType,
    /// A scope is unknown, or beyond what the client may ask for.
    InvalidScope,
    /// coffre failed; the `X-Request-Id` identifies it in the server log.
    ServerError,
    /// coffre cannot answer now (its storage is busy, full or read-only); see `Retry-After`.
    TemporarilyUnavailable,
}

impl OAuthErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            OAuthErrorCode::InvalidRequest => "invalid_request",
            OAuthErrorCode::InvalidClient => "invalid_client",
            OAuthErrorCode::UnauthorizedClient => "unauthorized_client",
            OAuthErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            OAuthErrorCode::InvalidScope => "invalid_scope",
            OAuthErrorCode::ServerError => "server_error",
            OAuthErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }
}

/// Every error of the OAuth endpoints has this body.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OAuthErrorBody {
    pub error: OAuthErrorCode,
    /// What is wrong and how to fix it.
    pub error_description: String,
}

#[derive(Debug)]
pub struct OAuthError {
    status: StatusCode,
    body: OAuthErrorBody,
    retry_after: Option<u64>,
    /// For the log only.
    cause: Option<String>,
}

impl OAuthError {
    /// 401 for `invalid_client` (RFC 6749 §5.2), 400 otherwise.
    pub fn new(error: OAuthErrorCode, description: impl Into<String>) -> Self {
        let status = if error == OAuthErrorCode::InvalidClient {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        };
        OAuthError {
            status,
            body: OAuthErrorBody {
                error,
                error_description: description.into(),
            },
            retry_after: None,
            cause: None,
        }
    }

    /// Failed client authentications from an address past its limit: 429.
    pub fn too_many(retry_after: u64) -> Self {
        let mut e = OAuthError::new(
            OAuthErrorCode::InvalidClient,
            format!(
                "Too many failed authentications from your address; retry in {retry_after} \
                 seconds with valid client credentials (valid ones are never refused)."
            ),
        );
        e.status = StatusCode::TOO_MANY_REQUESTS;
        e.retry_after = Some(retry_after);
        e
    }

    /// An error of the API's own (a body too large or too slow, storage
    /// trouble, an internal failure) in OAuth's shape, keeping its status.
    pub fn from_app(e: AppError) -> Self {
        let status = e.status();
        let error = match status.as_u16() {
            400..=499 => OAuthErrorCode::InvalidRequest,
            503 | 507 => OAuthErrorCode::TemporarilyUnavailable,
            _ => OAuthErrorCode::ServerError,
        };
        let description = e
            .messages()
            .first()
            .map_or_else(String::new, |m| m.message.clone());
        OAuthError {
            status,
            body: OAuthErrorBody {
                error,
                error_description: description,
            },
            retry_after: e.retry_after(),
            cause: e.cause().map(str::to_string),
        }
    }

    pub fn code(&self) -> OAuthErrorCode {
        self.body.error
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.body.error.as_str())?;
        if let Some(cause) = &self.cause {
            write!(f, ": {cause}")?;
        }
        Ok(())
    }
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        res.insert_header((header::PRAGMA, HeaderValue::from_static("no-cache")));
        if let Some(secs) = self.retry_after {
            res.insert_header((header::RETRY_AFTER, HeaderValue::from(secs)));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            // RFC 6749 §5.2: the scheme the client may authenticate with.
            res.insert_header((
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"coffre\""),
            ));
        }
        res.json(&self.body)
    }
}

/// The errors of the token and revocation endpoints, for the API description.
pub struct OAuthErrors;

impl IntoResponses for OAuthErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let body = || {
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(OAuthErrorBody::name())))
                .build()
        };
        [
            (
                "400",
                "`invalid_request` (a parameter missing, repeated or malformed, or not a form), \
                 `unsupported_grant_type` or `invalid_scope` (token), `unauthorized_client` \
                 (revoking another client's token)",
            ),
            ("401", "`invalid_client`: client authentication failed"),
            ("408", "`invalid_request`: the body did not arrive in time"),
            ("413", "`invalid_request`: the body is too large"),
            (
                "429",
                "`invalid_client`, and too many failed authentications from this address; see \
                 Retry-After",
            ),
            (
                "500",
                "`server_error`; the X-Request-Id identifies it in the server log",
            ),
            (
                "503",
                "`temporarily_unavailable`: storage busy or read-only, or too many bodies held; \
                 see Retry-After",
            ),
            ("507", "`temporarily_unavailable`: the disk is full"),
        ]
        .into_iter()
        .map(|(status, description)| {
            let mut response = ResponseBuilder::new()
                .description(description)
                .content("application/json", body());
            if status == "401" {
                let header = HeaderBuilder::new()
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                    .description(Some("`Basic realm=\"coffre\"`"))
                    .build();
                response = response.header("WWW-Authenticate", header);
            }
            (status.to_string(), response.build().into())
        })
        .collect()
    }
}

/// `POST /oauth2/token` (RFC 6749 §4.4.2), as a form. Authenticate the client
/// with HTTP Basic (`client_secret_basic`) or with `client_id` and
/// `client_secret` here (`client_secret_post`), not both. Parameters sent
/// more than once are refused; empty ones count as omitted; others are ignored.
#[derive(ToSchema)]
#[allow(dead_code)] // describes the form, which is read parameter by parameter
pub struct TokenRequest {
    /// `client_credentials`, the only grant coffre supports.
    #[schema(example = "client_credentials")]
    grant_type: String,
    /// Space-separated scopes (`coffre.vault_item.read coffre.vault_item.reveal`);
    /// omitted: every scope the client may ask for.
    #[schema(nullable = false)]
    scope: Option<String>,
    /// With `client_secret_post`.
    #[schema(nullable = false)]
    client_id: Option<String>,
    /// With `client_secret_post`.
    #[schema(nullable = false)]
    client_secret: Option<String>,
}

/// `POST /oauth2/revoke` (RFC 7009 §2.1), as a form; the client authenticates
/// as at the token endpoint.
#[derive(ToSchema)]
#[allow(dead_code)] // describes the form, which is read parameter by parameter
pub struct RevocationRequest {
    /// The access token to revoke.
    token: String,
    /// `access_token` (the only kind coffre issues); any other value is ignored.
    #[schema(nullable = false)]
    token_type_hint: Option<String>,
    #[schema(nullable = false)]
    client_id: Option<String>,
    #[schema(nullable = false)]
    client_secret: Option<String>,
}

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// Opaque: send it as `Authorization: Bearer <access_token>`.
    #[schema(example = "coffreat_…")]
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until it expires (never after its client does).
    pub expires_in: i64,
    /// The scopes it carries, space-separated.
    pub scope: String,
}

/// Authorization server metadata (RFC 8414 §2).
#[derive(Debug, Serialize, ToSchema)]
pub struct ServerMetadata {
    /// This server's base URL (`public_url`, or the scheme and host the request used).
    pub issuer: String,
    pub token_endpoint: String,
    pub revocation_endpoint: String,
    pub grant_types_supported: Vec<&'static str>,
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    pub revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    /// Empty: there is no authorization endpoint (client credentials only).
    pub response_types_supported: Vec<&'static str>,
    pub scopes_supported: Vec<&'static str>,
    pub service_documentation: String,
}
