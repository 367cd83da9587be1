//! OAuth 2.0 clients (issue 16, after Coupa's successor to API keys): a
//! client trades its `ClientId` and `ClientSecret` for access tokens at
//! `POST /oauth2/token` (client credentials grant). It is a credential like
//! an API key — one operator, expiry, status, revoke/regenerate, history,
//! e-mails, all from `credentials` — whose `Scopes` say what its tokens may
//! ask for, in place of `EnablePermissions`/`Permissions`. `ClientId` is
//! public and stable; `ClientSecret` appears only in the responses of create
//! and regenerate.

use serde::Serialize;
use utoipa::ToSchema;

use crate::accounts::credentials::{self, CredentialFields, Grant, WithSecret, credential_input};
use crate::db::api_keys::ApiKeyRow;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::types::{CredentialKind, Guid, PermissionSet, guid, permissions};
use crate::validate;
use crate::work::Work;

const KIND: CredentialKind = CredentialKind::OAuthClient;

/// An OAuth client as the API shows it. `ClientSecret` appears only in the
/// responses of create and regenerate; `ContactLogin` never appears.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct OAuthClient {
    #[serde(rename = "OAuthClientGuid")]
    pub oauth_client_guid: Guid,
    /// What the client sends as `client_id`: public, and the same after Regenerate.
    #[schema(example = "coffreci_4fGh7Jk2Lm9Np3Qr5StV")]
    pub client_id: String,
    #[serde(flatten)]
    pub fields: CredentialFields,
    /// The scopes its access tokens may carry (`coffre.<object>.<action>`).
    #[schema(value_type = Vec<crate::types::permissions::ScopeName>)]
    pub scopes: Vec<String>,
    /// The secret's public prefix and last 4 characters.
    #[schema(example = "coffrecs_7Gx2…f9Qa")]
    pub masked_client_secret: String,
    /// The client secret: shown once, here, and never again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

credential_input! {
    /// Create (`POST`) and replace (`PUT`) body.
    pub struct OAuthClientInput {
        /// Required: the scopes (`coffre.<object>.<action>`) its tokens may ask
        /// for. A token asked for without `scope` gets them all.
        #[schema(value_type = Vec<crate::types::permissions::ScopeName>, required = true, min_items = 1)]
        pub scopes: Option<Vec<String>>,
        /// Read-only: not sent on POST (`""`, null or the nil GUID count as
        /// not sent); on PUT, if sent, must be this client's GUID.
        #[serde(rename = "OAuthClientGuid", default, deserialize_with = "guid::optional")]
        #[schema(schema_with = guid::optional_schema, required = false)]
        pub oauth_client_guid: Option<Guid>,
        #[schema(read_only, nullable)]
        pub client_id: Option<serde_json::Value>,
        #[schema(read_only, nullable)]
        pub masked_client_secret: Option<serde_json::Value>,
        /// Cannot be set: use Regenerate.
        #[schema(read_only, nullable)]
        pub client_secret: Option<serde_json::Value>,
    }
}

fn to_api(w: &Work<'_>, row: &ApiKeyRow) -> OAuthClient {
    OAuthClient {
        oauth_client_guid: row.guid,
        client_id: row.client_id.clone().unwrap_or_default(),
        fields: credentials::fields_now(w, row),
        scopes: row.permissions.scopes(),
        masked_client_secret: row.masked_key.clone(),
        client_secret: None,
    }
}

fn with_secret(w: &Work<'_>, created: WithSecret) -> OAuthClient {
    let mut out = to_api(w, &created.row);
    out.client_secret = Some(created.secret.to_string());
    out
}

/// The client's own fields: the secret cannot be set; at least one scope,
/// each a real one.
fn grant_of(input: &mut OAuthClientInput) -> AppResult<Grant> {
    if input.client_secret.is_some() {
        return Err(AppError::new(
            ErrorCode::KeyNotSettable,
            "ClientSecret cannot be set: the server generates it. Use POST \
             /v4/OAuthClient/{guid}/Regenerate for a new one.",
        ));
    }
    let scopes = input.scopes.take().unwrap_or_default();
    if scopes.is_empty() {
        return Err(validate::required("Scopes"));
    }
    let permissions =
        PermissionSet::parse_scopes(scopes.iter().map(String::as_str)).map_err(|u| {
            let valid: Vec<&str> = permissions::all_scopes().collect();
            credentials::unknown_names(ErrorCode::UnknownScope, "scope", &u, &valid)
        })?;
    Ok(Grant {
        enable_permissions: true,
        permissions,
    })
}

pub fn create(w: &Work<'_>, mut input: OAuthClientInput) -> AppResult<OAuthClient> {
    let grant = grant_of(&mut input)?;
    let created = credentials::create(w, KIND, input.take_contact(), grant)?;
    Ok(with_secret(w, created))
}

/// Narrowing `Scopes` narrows the client's live tokens at once: a token
/// carries what it was issued with and what its client holds now, whichever
/// is less. Widening them widens no token already issued.
pub fn replace(w: &Work<'_>, guid: Guid, mut input: OAuthClientInput) -> AppResult<()> {
    if let Some(sent) = input.oauth_client_guid
        && sent != guid
    {
        return Err(AppError::new(
            ErrorCode::GuidMismatch,
            format!("OAuthClientGuid {sent} in the body differs from {guid} in the path."),
        ));
    }
    let grant = grant_of(&mut input)?;
    credentials::replace(w, KIND, guid, input.take_contact(), grant)
}

/// The client and every access token it holds stop working at once.
pub fn revoke(w: &Work<'_>, guid: Guid) -> AppResult<OAuthClient> {
    let row = credentials::revoke(w, KIND, guid)?;
    Ok(to_api(w, &row))
}

/// A new secret; the old one and every token issued with it stop working.
/// `grace_ms` > 0: the old secret keeps working that long (`credentials::regenerate`).
pub fn regenerate(w: &Work<'_>, guid: Guid, grace_ms: i64) -> AppResult<OAuthClient> {
    let regenerated = credentials::regenerate(w, KIND, guid, grace_ms)?;
    Ok(with_secret(w, regenerated))
}

/// Deletes the client, its tokens and the operator it acts as.
pub fn delete(w: &Work<'_>, guid: Guid) -> AppResult<()> {
    credentials::delete(w, KIND, guid)
}

pub fn get(w: &Work<'_>, guid: Guid) -> AppResult<OAuthClient> {
    let row = credentials::find(w, KIND, guid)?;
    Ok(to_api(w, &row))
}

pub fn list(w: &Work<'_>, filter: credentials::ListFilter) -> AppResult<Vec<OAuthClient>> {
    Ok(credentials::list(w, KIND, filter)?
        .iter()
        .map(|row| to_api(w, row))
        .collect())
}
