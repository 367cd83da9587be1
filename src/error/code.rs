//! Every error code the API can answer with, its HTTP status and what it
//! means: the one list a client can rely on (the OpenAPI document lists it
//! too). A code is never a string at a call site: `AppError::new(ErrorCode::X, …)`.

use actix_web::http::StatusCode;

macro_rules! error_codes {
    ($( $name:ident $( as $wire:literal )? = $status:literal : $meaning:literal ),* $(,)?) => {
        /// A stable, machine-readable error code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode { $( $name ),* }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$name ),* ];

            /// The code as clients read it in `Messages[].Code`.
            pub fn as_str(self) -> &'static str {
                match self { $( ErrorCode::$name => error_codes!(@wire $name $( $wire )?) ),* }
            }

            pub fn status(self) -> StatusCode {
                let status = match self { $( ErrorCode::$name => $status ),* };
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }

            /// What it means, in a few words (for the API description).
            pub fn meaning(self) -> &'static str {
                match self { $( ErrorCode::$name => $meaning ),* }
            }
        }
    };
    (@wire $name:ident $wire:literal) => { $wire };
    (@wire $name:ident) => { stringify!($name) };
}

error_codes! {
    // 400: the request is invalid; the message names the field and the rule.
    BadRequest = 400: "The request was refused as malformed",
    MalformedRequest = 400: "The request line or a header could not be parsed",
    HttpsRequired = 400: "A plain HTTP request reached the HTTPS port",
    MalformedJson = 400: "The body is not one valid JSON value",
    BodyMissing = 400: "The body is empty",
    BodyUnreadable = 400: "The body could not be read",
    InvalidField = 400: "A field has the wrong type or shape",
    FieldRequired = 400: "A required field is missing",
    FieldTooLong = 400: "A field is longer than its limit",
    ReadOnlyField = 400: "A read-only field was sent with another value",
    InvalidPath = 400: "A path parameter is invalid",
    InvalidQuery = 400: "A query parameter is invalid",
    InvalidGuid = 400: "A GUID is malformed",
    GuidMismatch = 400: "A GUID in the body differs from the one in the path",
    GuidNotSettable = 400: "A GUID the server assigns was sent on a create",
    InvalidEmail = 400: "An e-mail address is invalid",
    InvalidDate = 400: "A date is not YYYY-MM-DD",
    InvalidDateTime = 400: "An instant is not RFC 3339",
    InvalidBase64 = 400: "A field is not valid base64",
    TooLarge = 400: "A decoded file or archive is larger than its limit",
    UnknownPermission = 400: "A permission name is not one of the valid ones",
    UnknownScope = 400: "A scope is not one of the valid ones",
    ExpirationDatePast = 400: "An ExpirationDate is already past",
    ExpirationDateTooFar = 400: "An ExpirationDate is after the latest accepted date",
    KeyNotSettable = 400: "A secret (an API key's Key, an OAuth client's ClientSecret) cannot be set",
    LastAdministrator = 400: "Administrators would be left without an active member",
    AdministratorsGroupExists = 400: "There is already an Administrators group",
    AdministratorsGroupFixed = 400: "The Administrators group cannot be renamed or deleted",
    OperatorHasApiKey = 400: "The operator is an API key's or OAuth client's identity; delete that instead",
    ReferencedOperatorNotFound as "OperatorNotFound" = 400: "A body names an operator that does not exist",
    ReferencedGroupNotFound as "OperatorGroupNotFound" = 400: "A body names an operator group that does not exist",
    GranteeRequired = 400: "An authorization needs exactly one operator or group",
    LastChangeAuthorization = 400: "The section would lose its last ChangeVaultSection",
    VaultSectionNotEmpty = 400: "The section still holds items",
    VaultItemInUse = 400: "The item is in use",
    TypeNotChangeable = 400: "An item's type cannot change",
    SectionNotChangeable = 400: "An item cannot move to another section",
    IsSensitiveNotSettable = 400: "IsSensitive follows from the item's type",
    NotOneTimePassword = 400: "Codes exist only for OneTimePassword items",
    InvalidCertificate = 400: "A certificate does not parse",
    InvalidOtpSecret = 400: "A one-time-password secret is invalid",
    NotPkcs12 = 400: "An archive is not PKCS#12",
    ArchivePasswordWrong = 400: "An archive's password is wrong",
    ArchiveWithoutCertificate = 400: "An archive holds no certificate",
    ArchiveMismatch = 400: "Value and CertificateArchive.ArchiveData carry different archives",
    ArchiveTooManyBags = 400: "An archive holds more entries than allowed",
    ArchiveKdfTooCostly = 400: "An archive's key derivation costs more than allowed",
    ArchiveTooCostly = 400: "Opening an archive would cost more than allowed in all",
    // 401: who is calling is not established.
    Unauthorized = 401: "No valid API key",
    KeyExpired = 401: "The API key has expired",
    KeyRevoked = 401: "The API key was revoked",
    PreviousKeyExpired = 401: "The API key's previous secret, replaced by a Regenerate, no longer works",
    PreviousKeyCannotSignIn = 401: "A key's previous secret (in its grace period) works for API calls but cannot open a console session",
    OperatorDeactivated = 401: "The key's operator is deactivated",
    AccessTokenExpired = 401: "The OAuth access token has expired",
    OAuthClientInactive = 401: "The access token's OAuth client was revoked, regenerated, deleted or expired, or its operator deactivated",
    SessionEnded = 401: "The console session ended (idle, lifetime, sign-out, or its key changed); sign in again",
    // 403: known caller, not allowed.
    MissingPermission = 403: "The key lacks the permission the endpoint needs",
    NotAdministrator = 403: "The key's operator is not in Administrators",
    ChangeVaultSectionRequired = 403: "The key's operator can view the section but not change it",
    PermissionNotHeld = 403: "The caller would act on a key or client holding permissions it lacks",
    SectionRightsNotHeld = 403: "The caller lacks section rights the key's or client's operator holds",
    CrossOriginRequest = 403: "A change authenticated by the session cookie did not come from the server's own origin",
    // 404: nothing the caller may see.
    NotFound = 404: "Nothing exists at this path",
    RouteNotFound = 404: "There is no such endpoint",
    ApiKeyNotFound = 404: "No such API key",
    OAuthClientNotFound = 404: "No such OAuth client",
    OperatorNotFound = 404: "No such operator",
    OperatorGroupNotFound = 404: "No such operator group",
    NotAMember = 404: "The operator is not a member of the group",
    VaultSectionNotFound = 404: "No such section that the caller can view",
    VaultItemNotFound = 404: "No such item that the caller can view",
    AuthorizationNotFound = 404: "No such authorization on the section",
    UsageNotFound = 404: "No such usage on the item",
    VaultItemVersionNotFound = 404: "No such kept version of the item",
    MethodNotAllowed = 405: "The path does not support this method (see Allow)",
    RequestTimeout = 408: "The request head did not arrive in time",
    BodyTimeout = 408: "The body did not arrive in time",
    // 409: conflicts with what exists.
    LoginTaken = 409: "The login is used by another operator",
    EmailTaken = 409: "The e-mail address is used by another operator",
    GroupNameTaken = 409: "Another group has this Description",
    AlreadyMember = 409: "The operator is already a member",
    AuthorizationExists = 409: "The grantee already has this authorization",
    ConcurrentChange = 409: "The object changed while the request was checked; retry",
    PayloadTooLarge = 413: "The body is larger than the endpoint's limit",
    UnsupportedMediaType = 415: "The body is not sent as application/json",
    TooManyRequests = 429: "Too many failed authentications from this address",
    RequestHeadersTooLarge = 431: "The request head is too large",
    InternalError = 500: "An internal error; quote the X-Request-Id",
    DatabaseBusy = 503: "Another process holds the database; retry",
    ServerBusy = 503: "Too many request bodies are held at once; retry",
    ArchiveCheckBusy = 503: "Other archives are being checked; retry",
    StorageReadOnly = 503: "The database cannot be written",
    StorageUnavailable = 503: "The database's storage cannot be used",
    StorageFull = 507: "The disk is full; writes resume when space is freed",
}

/// For the API description: `Code` is one of these.
impl utoipa::PartialSchema for ErrorCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        let mut names: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        let table: Vec<String> = ErrorCode::ALL
            .iter()
            .map(|c| {
                format!(
                    "- `{}` ({}): {}",
                    c.as_str(),
                    c.status().as_u16(),
                    c.meaning()
                )
            })
            .collect();
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(names))
            .description(Some(format!(
                "A stable, machine-readable code (with its HTTP status):\n{}",
                table.join("\n")
            )))
            .into()
    }
}

impl utoipa::ToSchema for ErrorCode {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_an_error_status_and_a_meaning() {
        for code in ErrorCode::ALL {
            assert!(code.status().as_u16() >= 400, "{code:?}");
            assert!(!code.meaning().is_empty());
        }
    }

    #[test]
    fn a_wire_name_shared_by_two_codes_is_the_body_reference_form_of_a_lookup() {
        assert_eq!(
            ErrorCode::ReferencedOperatorNotFound.as_str(),
            "OperatorNotFound"
        );
        assert_eq!(ErrorCode::ReferencedOperatorNotFound.status(), 400);
        assert_eq!(ErrorCode::OperatorNotFound.status(), 404);
        let mut wires: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        wires.sort();
        let total = wires.len();
        wires.dedup();
        assert_eq!(
            total - wires.len(),
            2,
            "only the two referenced lookups share a name"
        );
    }
}
