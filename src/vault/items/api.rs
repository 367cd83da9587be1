//! Vault items as the API shows them and takes them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::{Item, ItemBody, VaultItemType};
use crate::types::Guid;
use crate::vault::otp::{HashAlgorithm, SecretEncodingMethod};

#[derive(Debug, Default, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct CertificateArchive {
    pub issuer: String,
    /// RFC 3339, or `""` for other types.
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
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct VaultItem {
    pub vault_item_guid: Guid,
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
    pub certificate_archive: CertificateArchive,
    /// `File` items only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_info: Option<FileInfo>,
    /// `OneTimePassword` items only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub one_time_password_info: Option<OneTimePasswordInfo>,
    /// `"-"`, or counts by consumer type such as `"2 monitors, 1 integration"`.
    pub vault_item_used_by: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CertificateArchiveInput {
    /// Read-only (from the archive); ignored.
    #[schema(nullable)]
    pub issuer: Option<String>,
    /// Read-only; ignored.
    #[schema(nullable)]
    pub not_before: Option<String>,
    /// Read-only; ignored.
    #[schema(nullable)]
    pub not_after: Option<String>,
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

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct OneTimePasswordInput {
    /// Base32 (or hex, per SecretEncodingMethod); `""` or omitted on update: unchanged.
    #[schema(nullable)]
    pub secret: Option<String>,
    /// 6–8, default 6.
    #[schema(nullable, minimum = 6, maximum = 8)]
    pub digits: Option<i64>,
    /// Seconds, ≥ 1, default 30.
    #[schema(nullable, minimum = 1, maximum = 86400)]
    pub period: Option<i64>,
    #[schema(nullable)]
    pub hash_algorithm: Option<HashAlgorithm>,
    #[schema(nullable)]
    pub secret_encoding_method: Option<SecretEncodingMethod>,
}

/// Create (`POST`), replace (`PUT`) and patch (`PATCH`) body.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct VaultItemInput {
    /// Omit on POST; on PUT/PATCH, if sent, must be the item's GUID.
    #[schema(nullable)]
    pub vault_item_guid: Option<Guid>,
    #[schema(nullable, min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: Option<String>,
    /// Certificate text, or (CertificateArchive) the base64 .pfx.
    #[schema(nullable, max_length = 4194304)]
    pub value: Option<String>,
    /// Required on POST; cannot change.
    #[schema(nullable)]
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
}

/// An item as every ordinary read returns it: sensitive values are `""`.
pub fn to_api(item: &Item) -> VaultItem {
    let mut out = VaultItem {
        vault_item_guid: item.guid,
        name: item.name.clone(),
        value: String::new(),
        vault_section_guid: item.section_guid,
        vault_item_type: item.item_type(),
        is_sensitive: item.item_type().is_sensitive(),
        notes: item.notes.clone(),
        user_name: String::new(),
        password: String::new(),
        certificate_archive: CertificateArchive::default(),
        file_info: None,
        one_time_password_info: None,
        vault_item_used_by: item.used_by.clone(),
    };
    match &item.body {
        ItemBody::CredentialSet { user_name } => out.user_name = user_name.clone(),
        ItemBody::Certificate { value } => out.value = value.clone(),
        ItemBody::CertificateArchive {
            issuer,
            not_before,
            not_after,
        } => {
            out.certificate_archive = CertificateArchive {
                issuer: issuer.clone(),
                not_before: not_before.clone(),
                not_after: not_after.clone(),
                ..CertificateArchive::default()
            }
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
    out
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
