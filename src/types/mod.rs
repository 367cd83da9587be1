//! Value types every layer shares — the HTTP edge, the rules and the
//! repositories: GUIDs, permissions, the kinds of credential and a
//! credential's stored status, section rights, who an authorization is for.
//! They depend on nothing else in the crate.

pub mod guid;
pub mod permissions;
pub mod state_hash;

pub use guid::{Guid, InvalidGuid};
pub use permissions::{Permission, PermissionSet};
pub use state_hash::StateHash;

/// A field of Uptrends' published model that coffre does not use: accepted
/// with any value and ignored, so clients generated from that model work
/// unchanged (any other unknown field is still refused).
pub type Ignored = Option<serde::de::IgnoredAny>;

/// The schema of an `Ignored` field: any value, saying so.
pub fn ignored_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType};
    ObjectBuilder::new()
        .schema_type(SchemaType::AnyValue)
        .description(Some(
            "Accepted and ignored, for clients generated from Uptrends' published model \
             (any value).",
        ))
        .into()
}

/// The two kinds of credential, stored side by side (issue 16): an API key is
/// presented on every request; an OAuth client trades its secret for access
/// tokens. Each acts as exactly one operator, with the same expiry, status,
/// history and e-mails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialKind {
    ApiKey,
    OAuthClient,
}

impl CredentialKind {
    /// As stored, and as history's `ObjectType` names it.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::ApiKey => "ApiKey",
            CredentialKind::OAuthClient => "OAuthClient",
        }
    }

    pub fn parse(text: &str) -> Option<CredentialKind> {
        match text {
            "ApiKey" => Some(CredentialKind::ApiKey),
            "OAuthClient" => Some(CredentialKind::OAuthClient),
            _ => None,
        }
    }

    /// In sentences: "API key", "OAuth client".
    pub fn noun(self) -> &'static str {
        match self {
            CredentialKind::ApiKey => "API key",
            CredentialKind::OAuthClient => "OAuth client",
        }
    }

    /// Where the API manages this kind.
    pub fn path(self) -> &'static str {
        match self {
            CredentialKind::ApiKey => "/v4/ApiKey",
            CredentialKind::OAuthClient => "/v4/OAuthClient",
        }
    }
}

/// Which of a credential's secrets authenticated a request: the current one,
/// or the one a Regenerate with a grace period replaced, while that grace
/// period lasts (issue 15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub enum SecretUsed {
    Current,
    Previous,
}

impl SecretUsed {
    pub fn as_str(self) -> &'static str {
        match self {
            SecretUsed::Current => "Current",
            SecretUsed::Previous => "Previous",
        }
    }

    pub fn parse(text: &str) -> Option<SecretUsed> {
        match text {
            "Current" => Some(SecretUsed::Current),
            "Previous" => Some(SecretUsed::Previous),
            _ => None,
        }
    }
}

/// An API key's (or OAuth client's) status as stored. `Expired` is also derived from the clock:
/// a key past its expiry instant is expired before any sweep marks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    Active,
    Expired,
    Revoked,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "Active",
            KeyStatus::Expired => "Expired",
            KeyStatus::Revoked => "Revoked",
        }
    }

    /// The stored text; anything else is not a status.
    pub fn parse(text: &str) -> Option<KeyStatus> {
        match text {
            "Active" => Some(KeyStatus::Active),
            "Expired" => Some(KeyStatus::Expired),
            "Revoked" => Some(KeyStatus::Revoked),
            _ => None,
        }
    }
}

/// What an operator may do in a section, directly or through its groups.
/// Change implies View.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SectionRights {
    pub view: bool,
    pub change: bool,
}

impl SectionRights {
    /// From the stored level: none, View (false) or Change (true).
    pub fn from_level(level: Option<bool>) -> SectionRights {
        SectionRights {
            view: level.is_some(),
            change: level == Some(true),
        }
    }
}

/// The two rights a section grants (Uptrends' names).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub enum AuthorizationType {
    ViewVaultSection,
    ChangeVaultSection,
}

impl AuthorizationType {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthorizationType::ViewVaultSection => "ViewVaultSection",
            AuthorizationType::ChangeVaultSection => "ChangeVaultSection",
        }
    }

    pub fn parse(text: &str) -> Option<AuthorizationType> {
        match text {
            "ViewVaultSection" => Some(AuthorizationType::ViewVaultSection),
            "ChangeVaultSection" => Some(AuthorizationType::ChangeVaultSection),
            _ => None,
        }
    }
}

/// Who an authorization is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grantee {
    Operator(i64),
    Group(i64),
}
