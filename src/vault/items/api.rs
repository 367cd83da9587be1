//! Vault items as the API shows them and takes them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::{Item, ItemBody, VaultItemType};
use crate::types::{Guid, Ignored, StateHash, guid, ignored_schema};
use crate::vault::otp::{HashAlgorithm, SecretEncodingMethod};

#[derive(Debug, Default, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct CertificateArchive {
    pub issuer: String,
    /// RFC 3339.
    pub not_before: String,
    pub not_after: String,
    /// Always `""` (sensitive), except in Reveal.
    pub password: String,
    /// Always `""` (sensitive), except in Reveal (base64 .pfx).
    pub archive_data: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct FileInfo {
    pub name: String,
    /// Bytes.
    pub size: i64,
    /// Always `""` (sensitive), except in Reveal (base64).
    pub data: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct OneTimePasswordInfo {
    /// Always `""` (sensitive), except in Reveal.
    pub secret: String,
    pub digits: u8,
    pub period: u32,
    pub hash_algorithm: HashAlgorithm,
    pub secret_encoding_method: SecretEncodingMethod,
}

/// A vault item as every ordinary read returns it: sensitive values are `""`.
/// `CertificateArchive`, `FileInfo` and `OneTimePasswordInfo` are null on
/// items of the other types.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct VaultItem {
    pub vault_item_guid: Guid,
    /// A digest of what this response shows (sensitive values aside): it
    /// changes exactly when a GET would show a change.
    #[schema(min_length = 64, max_length = 64)]
    pub hash: String,
    pub name: String,
    /// Certificate text for `Certificate` items; `""` otherwise.
    pub value: String,
    pub vault_section_guid: Guid,
    pub vault_item_type: VaultItemType,
    pub is_sensitive: bool,
    pub notes: String,
    pub user_name: String,
    /// Always `""` (sensitive), except in Reveal.
    pub password: String,
    /// `CertificateArchive` items only; null otherwise.
    #[schema(required = true)]
    pub certificate_archive: Option<CertificateArchive>,
    /// `File` items only; null otherwise.
    #[schema(required = true)]
    pub file_info: Option<FileInfo>,
    /// `OneTimePassword` items only; null otherwise.
    #[schema(required = true)]
    pub one_time_password_info: Option<OneTimePasswordInfo>,
    /// `"-"`, or counts by consumer type such as `"2 monitors, 1 integration"`.
    pub vault_item_used_by: String,
    /// When the item's certificate stops being valid (RFC 3339): for
    /// `Certificate` items whose text holds one (the earliest of a chain) and
    /// `CertificateArchive` items (its `NotAfter`); null otherwise. Expiry
    /// reminders go out before it (`certificate_reminder_days`).
    #[schema(required = true, format = DateTime)]
    pub not_after: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CertificateArchiveInput {
    /// Read-only (from the archive); ignored.
    #[schema(nullable)]
    pub issuer: Option<String>,
    /// Read from the archive: any value sent is ignored (Uptrends' model
    /// types it as an object, which its generated clients send as null).
    #[schema(schema_with = ignored_schema, required = false)]
    pub not_before: Ignored,
    /// As `NotBefore`.
    #[schema(schema_with = ignored_schema, required = false)]
    pub not_after: Ignored,
    /// The archive's password; `""` or omitted on update: unchanged.
    #[schema(nullable)]
    pub password: Option<String>,
    /// Base64 .pfx; `""` or omitted on update: unchanged.
    #[schema(nullable)]
    pub archive_data: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct FileInfoInput {
    /// The file's name (required for File items).
    #[schema(nullable, min_length = 1, max_length = 255)]
    pub name: Option<String>,
    /// Read-only (computed); ignored.
    #[schema(nullable)]
    pub size: Option<i64>,
    /// Base64 content, at most 2 MiB decoded; `""` or omitted on update: unchanged.
    #[schema(nullable)]
    pub data: Option<String>,
}

/// Uptrends' model requires `Digits`, `Period` and `HashAlgorithm`, so its
/// generated clients send 0, 0 and `""` when they are unset: those mean
/// "not sent" (the default on create and PUT, unchanged on PATCH).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct OneTimePasswordInput {
    /// Base32 (or hex, per SecretEncodingMethod); `""` or omitted on update: unchanged.
    #[schema(nullable)]
    pub secret: Option<String>,
    /// 6–8, default 6; 0 means not sent.
    #[serde(default, deserialize_with = "zero_as_none")]
    #[schema(schema_with = digits_schema, required = false)]
    pub digits: Option<i64>,
    /// Seconds, 1–86400, default 30; 0 means not sent.
    #[serde(default, deserialize_with = "zero_as_none")]
    #[schema(schema_with = period_schema, required = false)]
    pub period: Option<i64>,
    /// Default SHA1; `""` means not sent.
    #[serde(default, deserialize_with = "empty_as_none")]
    #[schema(schema_with = hash_algorithm_schema, required = false)]
    pub hash_algorithm: Option<HashAlgorithm>,
    #[schema(nullable)]
    pub secret_encoding_method: Option<SecretEncodingMethod>,
}

/// Create (`POST`), replace (`PUT`) and patch (`PATCH`) body.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct VaultItemInput {
    /// Not sent on POST (`""`, null or the nil GUID count as not sent); on
    /// PUT/PATCH, if sent, must be the item's GUID.
    #[serde(default, deserialize_with = "guid::optional")]
    #[schema(schema_with = guid::optional_schema, required = false)]
    pub vault_item_guid: Option<Guid>,
    #[schema(schema_with = ignored_schema, required = false)]
    pub hash: Ignored,
    #[schema(nullable, min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: Option<String>,
    /// Certificate text, or (CertificateArchive) the base64 .pfx.
    #[schema(nullable, max_length = 4194304)]
    pub value: Option<String>,
    /// Required on POST; cannot change (`""` or null: not sent).
    #[serde(default, deserialize_with = "guid::optional")]
    #[schema(schema_with = guid::optional_schema, required = false)]
    pub vault_section_guid: Option<Guid>,
    /// Required on POST; cannot change.
    #[schema(nullable)]
    pub vault_item_type: Option<VaultItemType>,
    /// Derived from the type; if sent, must agree.
    #[schema(nullable)]
    pub is_sensitive: Option<bool>,
    #[schema(nullable, max_length = 10000)]
    pub notes: Option<String>,
    #[schema(nullable, max_length = 1000)]
    pub user_name: Option<String>,
    /// `""` or omitted on update: unchanged.
    #[schema(nullable, max_length = 10000)]
    pub password: Option<String>,
    #[schema(nullable)]
    pub certificate_archive: Option<CertificateArchiveInput>,
    #[schema(nullable)]
    pub file_info: Option<FileInfoInput>,
    #[schema(nullable)]
    pub one_time_password_info: Option<OneTimePasswordInput>,
    /// Read-only; ignored.
    #[schema(nullable)]
    pub vault_item_used_by: Option<String>,
    /// Read-only (from the certificate); ignored.
    #[schema(schema_with = ignored_schema, required = false)]
    pub not_after: Ignored,
}

/// An item as every ordinary read returns it: sensitive values are `""`.
pub fn to_api(item: &Item) -> VaultItem {
    let mut out = VaultItem {
        vault_item_guid: item.guid,
        hash: String::new(),
        name: item.name.clone(),
        value: String::new(),
        vault_section_guid: item.section_guid,
        vault_item_type: item.item_type(),
        is_sensitive: item.item_type().is_sensitive(),
        notes: item.notes.clone(),
        user_name: String::new(),
        password: String::new(),
        certificate_archive: None,
        file_info: None,
        one_time_password_info: None,
        vault_item_used_by: item.used_by.clone(),
        not_after: item.not_after.map(crate::time::rfc3339),
    };
    match &item.body {
        ItemBody::CredentialSet { user_name } => out.user_name = user_name.clone(),
        ItemBody::Certificate { value } => out.value = value.clone(),
        ItemBody::CertificateArchive {
            issuer,
            not_before,
            not_after,
        } => {
            out.certificate_archive = Some(CertificateArchive {
                issuer: issuer.clone(),
                not_before: not_before.clone(),
                not_after: not_after.clone(),
                ..CertificateArchive::default()
            })
        }
        ItemBody::File { name, size } => {
            out.file_info = Some(FileInfo {
                name: name.clone(),
                size: *size,
                data: String::new(),
            })
        }
        ItemBody::OneTimePassword(s) => {
            out.one_time_password_info = Some(OneTimePasswordInfo {
                secret: String::new(),
                digits: s.digits,
                period: s.period,
                hash_algorithm: s.algorithm,
                secret_encoding_method: s.encoding,
            })
        }
    }
    out.hash = out.state_hash();
    out
}

impl VaultItem {
    /// The `Hash` of what a GET shows. Every field is named (no `..`), so a
    /// field added to the response cannot be forgotten here; the sensitive
    /// ones, `""` in a GET, are left out so a secret can never reach it.
    fn state_hash(&self) -> String {
        let VaultItem {
            vault_item_guid,
            hash: _,
            name,
            value,
            vault_section_guid,
            vault_item_type,
            is_sensitive,
            notes,
            user_name,
            password: _,
            certificate_archive,
            file_info,
            one_time_password_info,
            vault_item_used_by,
            // Derived from Value or CertificateArchive, which the hash covers.
            not_after: _,
        } = self;
        let mut h = StateHash::new("VaultItem")
            .text(&vault_item_guid.to_text())
            .text(name)
            .text(value)
            .text(&vault_section_guid.to_text())
            .text(vault_item_type.as_str())
            .flag(*is_sensitive)
            .text(notes)
            .text(user_name)
            .text(vault_item_used_by)
            .flag(certificate_archive.is_some());
        if let Some(CertificateArchive {
            issuer,
            not_before,
            not_after,
            password: _,
            archive_data: _,
        }) = certificate_archive
        {
            h = h.text(issuer).text(not_before).text(not_after);
        }
        h = h.flag(file_info.is_some());
        if let Some(FileInfo {
            name,
            size,
            data: _,
        }) = file_info
        {
            h = h.text(name).int(*size);
        }
        h = h.flag(one_time_password_info.is_some());
        if let Some(OneTimePasswordInfo {
            secret: _,
            digits,
            period,
            hash_algorithm,
            secret_encoding_method,
        }) = one_time_password_info
        {
            h = h
                .int(i64::from(*digits))
                .int(i64::from(*period))
                .text(hash_algorithm.as_str())
                .text(secret_encoding_method.as_str());
        }
        h.finish()
    }
}

/// 0, as clients generated from Uptrends' model send an unset number: not sent.
fn zero_as_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(Option::<i64>::deserialize(d)?.filter(|&v| v != 0))
}

/// `""`, as those clients send an unset choice: not sent.
fn empty_as_none<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    match Option::<serde_json::Value>::deserialize(d)? {
        None => Ok(None),
        Some(serde_json::Value::String(s)) if s.is_empty() => Ok(None),
        Some(v) => T::deserialize(v)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

/// A number in `min..=max`, or 0 or null for "not sent".
fn bounded_or_zero(min: i64, max: i64, description: &str) -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, Type};
    AnyOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(min))
                .maximum(Some(max)),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .enum_values(Some([0])),
        )
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .description(Some(description))
        .into()
}

fn digits_schema() -> utoipa::openapi::schema::Schema {
    bounded_or_zero(6, 8, "6–8, default 6; 0 or null: not sent.")
}

fn period_schema() -> utoipa::openapi::schema::Schema {
    bounded_or_zero(
        1,
        86_400,
        "Seconds, 1–86400, default 30; 0 or null: not sent.",
    )
}

fn hash_algorithm_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, Type};
    AnyOfBuilder::new()
        .item(<HashAlgorithm as utoipa::PartialSchema>::schema())
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some([""])),
        )
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .description(Some("Default SHA1; `\"\"` or null: not sent."))
        .into()
}

/// The body of the current one-time code of an item.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct OtpCode {
    /// The current code.
    #[schema(example = "123456")]
    pub code: String,
    /// When this code started being valid (RFC 3339).
    #[schema(format = DateTime)]
    pub valid_from: String,
    /// When it stops being valid: the next period starts (RFC 3339).
    #[schema(format = DateTime)]
    pub valid_until: String,
}
