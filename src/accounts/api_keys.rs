//! API keys (SPEC §4, after Coupa): create, edit, revoke, regenerate, delete.
//! Every key acts as exactly one operator, created with it from its contact
//! fields and deleted with it. The key text exists only in the responses of
//! create and regenerate; the database keeps its keyed hash. The rules are
//! those of every credential (`credentials`); here is what is a key's own:
//! `EnablePermissions`/`Permissions` and the `Key`.

use serde::Serialize;
use utoipa::ToSchema;

use crate::accounts::credentials::{self, CredentialFields, Grant, WithSecret, credential_input};
use crate::crypto::Token;
use crate::db::api_keys::ApiKeyRow;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::types::{CredentialKind, Guid, PermissionSet, guid, permissions};
use crate::work::Work;

const KIND: CredentialKind = CredentialKind::ApiKey;

/// An API key as the API shows it. `Key` appears only in the responses of
/// create and regenerate; `ContactLogin` is write-only and never appears.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ApiKey {
    pub api_key_guid: Guid,
    #[serde(flatten)]
    pub fields: CredentialFields,
    pub enable_permissions: bool,
    pub permissions: Vec<String>,
    /// The key's public prefix and last 4 characters.
    #[schema(example = "coffre_7Gx2…f9Qa")]
    pub masked_key: String,
    /// The full key: shown once, here, and never again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

credential_input! {
    /// Create (`POST`) and replace (`PUT`) body.
    pub struct ApiKeyInput {
        /// Default false: every API except `ApiKey.*`, `OAuthClient.*` and `VaultItem.Reveal`.
        pub enable_permissions: Option<bool>,
        /// `Object.Action` names, used when `EnablePermissions` is true.
        #[schema(nullable, value_type = Option<Vec<crate::types::permissions::PermissionName>>)]
        pub permissions: Option<Vec<String>>,
        /// Read-only: not sent on POST (`""`, null or the nil GUID count as
        /// not sent); on PUT, if sent, must be this key's GUID.
        #[serde(default, deserialize_with = "guid::optional")]
        #[schema(schema_with = guid::optional_schema, required = false)]
        pub api_key_guid: Option<Guid>,
        #[schema(read_only, nullable)]
        pub masked_key: Option<serde_json::Value>,
        /// Cannot be set: use Regenerate.
        #[schema(read_only, nullable)]
        pub key: Option<serde_json::Value>,
    }
}

fn to_api(w: &Work<'_>, row: &ApiKeyRow) -> ApiKey {
    ApiKey {
        api_key_guid: row.guid,
        fields: credentials::fields_now(w, row),
        enable_permissions: row.enable_permissions,
        permissions: if row.enable_permissions {
            row.permissions.names()
        } else {
            Vec::new()
        },
        masked_key: row.masked_key.clone(),
        key: None,
    }
}

fn with_key(w: &Work<'_>, created: WithSecret) -> ApiKey {
    let mut out = to_api(w, &created.row);
    out.key = Some(created.secret.to_string());
    out
}

/// The key's own fields: the secret cannot be set, permissions must exist.
fn grant_of(input: &mut ApiKeyInput) -> AppResult<Grant> {
    if input.key.is_some() {
        return Err(AppError::new(
            ErrorCode::KeyNotSettable,
            "Key cannot be set: the server generates it. Use POST /v4/ApiKey/{guid}/Regenerate for a new one.",
        ));
    }
    let names = input.permissions.take().unwrap_or_default();
    let permissions = PermissionSet::parse(names.iter().map(String::as_str)).map_err(|u| {
        credentials::unknown_names(
            ErrorCode::UnknownPermission,
            "permission",
            &u,
            permissions::all_names(),
        )
    })?;
    Ok(Grant {
        enable_permissions: input.enable_permissions.unwrap_or(false),
        permissions,
    })
}

pub fn create(w: &Work<'_>, input: ApiKeyInput) -> AppResult<ApiKey> {
    create_with(w, input, Guid::new_random(), None)
}

/// `create` with the key's GUID and, optionally, the key itself given (a
/// seed fixes both; `Key` in the response is then that key). The body's own
/// `ApiKeyGuid` is not looked at.
pub fn create_with(
    w: &Work<'_>,
    mut input: ApiKeyInput,
    guid: Guid,
    key: Option<&Token>,
) -> AppResult<ApiKey> {
    let grant = grant_of(&mut input)?;
    let created = credentials::create_with(w, KIND, input.take_contact(), grant, guid, key)?;
    Ok(with_key(w, created))
}

pub fn replace(w: &Work<'_>, guid: Guid, mut input: ApiKeyInput) -> AppResult<()> {
    if let Some(sent) = input.api_key_guid
        && sent != guid
    {
        return Err(AppError::new(
            ErrorCode::GuidMismatch,
            format!("ApiKeyGuid {sent} in the body differs from {guid} in the path."),
        ));
    }
    let grant = grant_of(&mut input)?;
    credentials::replace(w, KIND, guid, input.take_contact(), grant)
}

pub fn revoke(w: &Work<'_>, guid: Guid) -> AppResult<ApiKey> {
    let row = credentials::revoke(w, KIND, guid)?;
    Ok(to_api(w, &row))
}

/// `grace_ms` > 0: the old secret keeps working that long (`credentials::regenerate`).
pub fn regenerate(w: &Work<'_>, guid: Guid, grace_ms: i64) -> AppResult<ApiKey> {
    let regenerated = credentials::regenerate(w, KIND, guid, grace_ms)?;
    Ok(with_key(w, regenerated))
}

/// Deletes the key and the operator it acts as (with that operator's group
/// memberships and section authorizations). History keeps the contact names.
pub fn delete(w: &Work<'_>, guid: Guid) -> AppResult<()> {
    credentials::delete(w, KIND, guid)
}

pub fn get(w: &Work<'_>, guid: Guid) -> AppResult<ApiKey> {
    let row = credentials::find(w, KIND, guid)?;
    Ok(to_api(w, &row))
}

pub fn list(w: &Work<'_>, filter: credentials::ListFilter) -> AppResult<Vec<ApiKey>> {
    Ok(credentials::list(w, KIND, filter)?
        .iter()
        .map(|row| to_api(w, row))
        .collect())
}
