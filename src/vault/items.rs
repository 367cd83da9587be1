//! Vault items of five types. Sensitive values (passwords, archives and their
//! passwords, file contents, OTP secrets) are sealed in `vault_item_secrets`
//! and come back as `""` everywhere but `Reveal`.
//!
//! `PUT` replaces: an omitted field becomes empty, except the sensitive values,
//! which stay as they are when omitted or sent as `""` (a GET sent back must
//! not wipe them). `PATCH` changes only what is sent. Neither changes the
//! type, the section or `IsSensitive`. Fields that do not belong to the item's
//! type are ignored, as in the seed's own PUT example.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use zeroize::Zeroizing;

use super::otp::{self, HashAlgorithm, SecretEncodingMethod, Settings};
use super::{Ctx, change_needed, encoding, item_not_found, pfx, section_not_found};
use crate::crypto::{SealContext, Sealer};
use crate::db::items::{self as repo, ItemRow};
use crate::db::sections as section_repo;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::types::Guid;
use crate::validate;

pub const MAX_FILE_BYTES: usize = 2 * 1024 * 1024;
const MAX_ARCHIVE_BYTES: usize = 2 * 1024 * 1024;
const MAX_VALUE_CHARS: usize = 64 * 1024;
const MAX_NOTES_CHARS: usize = 10_000;
const MAX_SECRET_CHARS: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum VaultItemType {
    CredentialSet,
    Certificate,
    CertificateArchive,
    File,
    OneTimePassword,
}

impl VaultItemType {
    pub fn as_str(self) -> &'static str {
        match self {
            VaultItemType::CredentialSet => "CredentialSet",
            VaultItemType::Certificate => "Certificate",
            VaultItemType::CertificateArchive => "CertificateArchive",
            VaultItemType::File => "File",
            VaultItemType::OneTimePassword => "OneTimePassword",
        }
    }

    pub fn parse(s: &str) -> VaultItemType {
        match s {
            "Certificate" => VaultItemType::Certificate,
            "CertificateArchive" => VaultItemType::CertificateArchive,
            "File" => VaultItemType::File,
            "OneTimePassword" => VaultItemType::OneTimePassword,
            _ => VaultItemType::CredentialSet,
        }
    }

    /// Public-key certificates are public; everything else is a secret.
    pub fn is_sensitive(self) -> bool {
        self != VaultItemType::Certificate
    }
}

/// Where each sensitive value is sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secret {
    Password,
    ArchiveData,
    ArchivePassword,
    FileData,
    OtpSecret,
}

impl Secret {
    pub fn field(self) -> &'static str {
        match self {
            Secret::Password => "password",
            Secret::ArchiveData => "archive_data",
            Secret::ArchivePassword => "archive_password",
            Secret::FileData => "file_data",
            Secret::OtpSecret => "otp_secret",
        }
    }
}

fn seal_context<'a>(item: &'a str, secret: Secret) -> SealContext<'a> {
    SealContext::new("vault_item_secrets", item, secret.field())
}

pub fn read_secret(
    ctx: &Ctx<'_>,
    sealer: &Sealer,
    row: &ItemRow,
    secret: Secret,
) -> AppResult<Option<Zeroizing<Vec<u8>>>> {
    let guid = row.guid.map(|g| g.to_text()).unwrap_or_default();
    match repo::secret(ctx.conn, row.id, secret.field())? {
        Some(blob) => Ok(Some(sealer.open(&seal_context(&guid, secret), &blob)?)),
        None => Ok(None),
    }
}

fn write_secret(
    ctx: &Ctx<'_>,
    sealer: &Sealer,
    item_id: i64,
    guid: Guid,
    secret: Secret,
    plain: &[u8],
) -> AppResult<()> {
    let blob = sealer.seal(&seal_context(&guid.to_text(), secret), plain);
    repo::put_secret(ctx.conn, item_id, secret.field(), &blob)?;
    Ok(())
}

// ---- The API shapes --------------------------------------------------------

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

pub fn to_api(row: &ItemRow) -> VaultItem {
    let t = VaultItemType::parse(&row.item_type);
    VaultItem {
        vault_item_guid: row.guid.unwrap_or(Guid(uuid::Uuid::nil())),
        name: row.name.clone(),
        value: if t == VaultItemType::Certificate {
            row.value.clone()
        } else {
            String::new()
        },
        vault_section_guid: row.section_guid.unwrap_or(Guid(uuid::Uuid::nil())),
        vault_item_type: t,
        is_sensitive: t.is_sensitive(),
        notes: row.notes.clone(),
        user_name: row.user_name.clone(),
        password: String::new(),
        certificate_archive: CertificateArchive {
            issuer: row.archive_issuer.clone(),
            not_before: row.archive_not_before.clone(),
            not_after: row.archive_not_after.clone(),
            ..CertificateArchive::default()
        },
        file_info: (t == VaultItemType::File).then(|| FileInfo {
            name: row.file_name.clone(),
            size: row.file_size,
            data: String::new(),
        }),
        one_time_password_info: (t == VaultItemType::OneTimePassword).then(|| {
            let s = otp_settings(row);
            OneTimePasswordInfo {
                secret: String::new(),
                digits: s.digits,
                period: s.period,
                hash_algorithm: s.algorithm,
                secret_encoding_method: s.encoding,
            }
        }),
        vault_item_used_by: row.used_by.clone(),
    }
}

pub fn otp_settings(row: &ItemRow) -> Settings {
    let d = Settings::default();
    Settings {
        digits: row.otp_digits.map(|v| v as u8).unwrap_or(d.digits),
        period: row.otp_period.map(|v| v as u32).unwrap_or(d.period),
        algorithm: row
            .otp_hash_algorithm
            .as_deref()
            .map(HashAlgorithm::parse)
            .unwrap_or(d.algorithm),
        encoding: row
            .otp_encoding
            .as_deref()
            .map(SecretEncodingMethod::parse)
            .unwrap_or(d.encoding),
    }
}

// ---- Applying a body -------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Create,
    Replace,
    Patch,
}

/// A sensitive value as sent: `""` counts as not sent.
fn sent(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

/// The result of applying a body to an item (or to nothing, on create).
struct Applied {
    row: ItemRow,
    secrets: Vec<(Secret, Zeroizing<Vec<u8>>)>,
    changed: Vec<&'static str>,
}

impl Applied {
    fn set_secret(&mut self, s: Secret, value: Zeroizing<Vec<u8>>, field: &'static str) {
        self.secrets.push((s, value));
        self.changed.push(field);
    }
}

fn check_fixed(
    mode: Mode,
    input: &VaultItemInput,
    current: Option<&ItemRow>,
    path_guid: Option<Guid>,
) -> AppResult<VaultItemType> {
    match (mode, input.vault_item_guid, path_guid) {
        (Mode::Create, Some(_), _) => {
            return Err(AppError::new(
                ErrorCode::GuidNotSettable,
                "Omit VaultItemGuid when creating an item: the server assigns it.",
            ));
        }
        (_, Some(sent), Some(path)) if sent != path => {
            return Err(AppError::new(
                ErrorCode::GuidMismatch,
                format!("VaultItemGuid {sent} in the body differs from {path} in the path."),
            ));
        }
        _ => {}
    }
    let t = match (mode, current) {
        (Mode::Create, _) | (_, None) => input.vault_item_type.ok_or_else(|| {
            AppError::new(
                ErrorCode::FieldRequired,
                "VaultItemType is required: CredentialSet, Certificate, CertificateArchive, File or OneTimePassword.",
            )
        })?,
        (Mode::Replace, Some(row)) => {
            let stored = VaultItemType::parse(&row.item_type);
            if input.vault_item_type.is_some_and(|t| t != stored) {
                return Err(AppError::new(
                    ErrorCode::TypeNotChangeable,
                    format!("This item is a {}; its VaultItemType cannot change. Create a new item instead.", stored.as_str()),
                ));
            }
            stored
        }
        // PATCH ignores a different type, as the seed says.
        (Mode::Patch, Some(row)) => VaultItemType::parse(&row.item_type),
    };
    if let Some(flag) = input.is_sensitive
        && flag != t.is_sensitive()
    {
        return Err(AppError::new(
            ErrorCode::IsSensitiveNotSettable,
            format!(
                "IsSensitive is derived from the type: {} items are {}sensitive. Omit it or send {}.",
                t.as_str(),
                if t.is_sensitive() { "" } else { "not " },
                t.is_sensitive()
            ),
        ));
    }
    if let (Some(row), Some(sent)) = (current, input.vault_section_guid)
        && Some(sent) != row.section_guid
    {
        return Err(AppError::new(
            ErrorCode::SectionNotChangeable,
            "VaultSectionGuid cannot change: an item stays in its section. Create it anew in the other section.",
        ));
    }
    Ok(t)
}

/// Applies `input` to `current` (None on create). Decodes, validates and
/// parses; seals nothing (the caller does, with the item's GUID).
fn apply(
    ctx: &Ctx<'_>,
    mode: Mode,
    t: VaultItemType,
    current: Option<&ItemRow>,
    input: VaultItemInput,
    checked: Option<CheckedArchive>,
) -> AppResult<Applied> {
    let creating = mode == Mode::Create;
    let whole = mode != Mode::Patch;
    let mut a = Applied {
        row: current.cloned().unwrap_or_default(),
        secrets: Vec::new(),
        changed: Vec::new(),
    };
    a.row.item_type = t.as_str().to_string();
    let empty = ItemRow::default();
    let before = current.unwrap_or(&empty);

    if whole || input.name.is_some() {
        a.row.name = validate::required_line("Name", input.name.as_deref(), 200)?;
    }
    if whole || input.notes.is_some() {
        a.row.notes = validate::text(
            "Notes",
            input.notes.as_deref().unwrap_or(""),
            MAX_NOTES_CHARS,
        )?;
    }

    match t {
        VaultItemType::CredentialSet => {
            if whole || input.user_name.is_some() {
                a.row.user_name =
                    validate::line("UserName", input.user_name.as_deref().unwrap_or(""), 1000)?;
            }
            if let Some(pw) = sent(&input.password) {
                validate::check_length("Password", pw, MAX_SECRET_CHARS)?;
                a.set_secret(
                    Secret::Password,
                    Zeroizing::new(pw.as_bytes().to_vec()),
                    "Password",
                );
            }
        }
        VaultItemType::Certificate => {
            if whole || input.value.is_some() {
                let v = input.value.as_deref().unwrap_or("");
                if v.trim().is_empty() {
                    return Err(AppError::new(
                        ErrorCode::FieldRequired,
                        "Value is required for Certificate items: the certificate or public key text.",
                    ));
                }
                validate::check_length("Value", v, MAX_VALUE_CHARS)?;
                super::certificate::check(v)?;
                a.row.value = v.to_string();
            }
        }
        VaultItemType::CertificateArchive => apply_archive(ctx, &mut a, current, checked)?,
        VaultItemType::File => {
            let info = input.file_info.as_ref();
            if whole || info.and_then(|f| f.name.as_ref()).is_some() {
                let name = validate::required_line(
                    "FileInfo.Name",
                    info.and_then(|f| f.name.as_deref()),
                    255,
                )?;
                if name.contains('/') || name.contains('\\') {
                    return Err(AppError::new(
                        ErrorCode::InvalidField,
                        "FileInfo.Name is a file name, not a path: leave out / and \\.",
                    ));
                }
                a.row.file_name = name;
            }
            match info.and_then(|f| sent(&f.data)) {
                Some(data) => {
                    let bytes = encoding::decode("FileInfo.Data", data, MAX_FILE_BYTES)?;
                    a.row.file_size = bytes.len() as i64;
                    a.set_secret(Secret::FileData, bytes, "FileInfo.Data");
                }
                None if creating => {
                    return Err(AppError::new(
                        ErrorCode::FieldRequired,
                        "FileInfo.Data is required for File items: the file's content in base64.",
                    ));
                }
                None => {}
            }
        }
        VaultItemType::OneTimePassword => {
            let info = input.one_time_password_info.as_ref();
            let d = Settings::default();
            let stored = if creating { d } else { otp_settings(&a.row) };
            // PUT: omitted settings take their defaults; PATCH: they stay.
            let digits = match info.and_then(|o| o.digits) {
                Some(v) => otp::check_digits(v)?,
                None if whole => d.digits,
                None => stored.digits,
            };
            let period = match info.and_then(|o| o.period) {
                Some(v) => otp::check_period(v)?,
                None if whole => d.period,
                None => stored.period,
            };
            let algorithm = info.and_then(|o| o.hash_algorithm).unwrap_or(if whole {
                d.algorithm
            } else {
                stored.algorithm
            });
            let encoding_method = info
                .and_then(|o| o.secret_encoding_method)
                .unwrap_or(if whole { d.encoding } else { stored.encoding });
            a.row.otp_digits = Some(i64::from(digits));
            a.row.otp_period = Some(i64::from(period));
            a.row.otp_hash_algorithm = Some(algorithm.as_str().into());
            a.row.otp_encoding = Some(encoding_method.as_str().into());
            match info.and_then(|o| sent(&o.secret)) {
                Some(secret) => {
                    validate::check_length("OneTimePasswordInfo.Secret", secret, 1024)?;
                    let bytes = otp::decode_secret(secret, encoding_method)?;
                    a.set_secret(Secret::OtpSecret, bytes, "OneTimePasswordInfo.Secret");
                }
                None if creating => {
                    return Err(AppError::new(
                        ErrorCode::FieldRequired,
                        "OneTimePasswordInfo.Secret is required for OneTimePassword items.",
                    ));
                }
                None => {}
            }
        }
    }

    for (field, differs) in [
        ("Name", before.name != a.row.name),
        ("Notes", before.notes != a.row.notes),
        ("UserName", before.user_name != a.row.user_name),
        ("Value", before.value != a.row.value),
        ("FileInfo.Name", before.file_name != a.row.file_name),
        (
            "OneTimePasswordInfo.Digits",
            before.otp_digits != a.row.otp_digits,
        ),
        (
            "OneTimePasswordInfo.Period",
            before.otp_period != a.row.otp_period,
        ),
        (
            "OneTimePasswordInfo.HashAlgorithm",
            before.otp_hash_algorithm != a.row.otp_hash_algorithm,
        ),
        (
            "OneTimePasswordInfo.SecretEncodingMethod",
            before.otp_encoding != a.row.otp_encoding,
        ),
    ] {
        if differs && !creating {
            a.changed.push(field);
        }
    }
    Ok(a)
}

/// An archive as a request sends it, decoded: what the request changes.
#[derive(Default)]
struct ArchiveChange {
    data: Option<Zeroizing<Vec<u8>>>,
    password: Option<Zeroizing<String>>,
}

impl ArchiveChange {
    fn is_empty(&self) -> bool {
        self.data.is_none() && self.password.is_none()
    }
}

/// Whether a body carries archive material at all (data or password).
fn carries_archive(input: &VaultItemInput) -> bool {
    sent(&input.value).is_some()
        || input
            .certificate_archive
            .as_ref()
            .is_some_and(|c| sent(&c.archive_data).is_some() || sent(&c.password).is_some())
}

fn archive_change(input: &VaultItemInput) -> AppResult<ArchiveChange> {
    let archive = input.certificate_archive.as_ref();
    let from_data = archive
        .and_then(|c| sent(&c.archive_data))
        .map(|d| encoding::decode("CertificateArchive.ArchiveData", d, MAX_ARCHIVE_BYTES))
        .transpose()?;
    let from_value = sent(&input.value)
        .map(|d| encoding::decode("Value", d, MAX_ARCHIVE_BYTES))
        .transpose()?;
    let data = match (from_data, from_value) {
        (Some(a), Some(b)) if a.as_slice() != b.as_slice() => {
            return Err(AppError::new(
                ErrorCode::ArchiveMismatch,
                "Value and CertificateArchive.ArchiveData both carry an archive, and they differ; send it in one place.",
            ));
        }
        (a, b) => a.or(b),
    };
    let password = archive
        .and_then(|c| sent(&c.password))
        .map(|p| {
            validate::check_length("CertificateArchive.Password", p, 1000)
                .map(|_| Zeroizing::new(p.to_string()))
        })
        .transpose()?;
    Ok(ArchiveChange { data, password })
}

/// An archive to open before the write, away from the writer thread: the
/// bytes and password the item will hold, what the request changes, and the
/// stored sealed values the rest came from.
pub struct ArchiveToCheck {
    pub data: Zeroizing<Vec<u8>>,
    pub password: Zeroizing<String>,
    change: ArchiveChange,
    based_on: Vec<(Secret, Option<Vec<u8>>)>,
}

impl ArchiveToCheck {
    pub fn checked(self, info: pfx::ArchiveInfo) -> CheckedArchive {
        CheckedArchive {
            info,
            change: self.change,
            based_on: self.based_on,
        }
    }
}

/// An archive that opened, ready to be stored by the write.
pub struct CheckedArchive {
    info: pfx::ArchiveInfo,
    change: ArchiveChange,
    based_on: Vec<(Secret, Option<Vec<u8>>)>,
}

/// What a new item must have opened before its write: its archive, if it
/// is a CertificateArchive.
pub fn new_archive_to_check(input: &VaultItemInput) -> AppResult<Option<ArchiveToCheck>> {
    if input.vault_item_type != Some(VaultItemType::CertificateArchive) {
        return Ok(None);
    }
    let change = archive_change(input)?;
    let data = change.data.clone().ok_or_else(|| {
        AppError::new(
            ErrorCode::FieldRequired,
            "CertificateArchive.ArchiveData (or Value) is required for CertificateArchive items: the base64 of the .pfx file.",
        )
    })?;
    // A new archive without a password: the archive has an empty one.
    let password = change.password.clone().unwrap_or_default();
    Ok(Some(ArchiveToCheck {
        data,
        password,
        change,
        based_on: Vec::new(),
    }))
}

/// What an update must have opened before its write: nothing unless the
/// item is a CertificateArchive and the body sends archive data or a
/// password, the missing half coming from the stored item. Runs in a read;
/// the write checks that the stored half did not change meanwhile.
pub fn archive_to_check(
    ctx: &Ctx<'_>,
    sealer: &Sealer,
    guid: Guid,
    input: &VaultItemInput,
) -> AppResult<Option<ArchiveToCheck>> {
    if !carries_archive(input) {
        return Ok(None);
    }
    let (row, _) = visible(ctx, guid)?;
    if VaultItemType::parse(&row.item_type) != VaultItemType::CertificateArchive {
        return Ok(None);
    }
    let change = archive_change(input)?;
    if change.is_empty() {
        return Ok(None);
    }
    let mut based_on = Vec::new();
    let mut stored = |secret: Secret| -> AppResult<Zeroizing<Vec<u8>>> {
        let blob = repo::secret(ctx.conn, row.id, secret.field())?;
        let plain = match &blob {
            Some(b) => sealer.open(&seal_context(&row_guid(&row), secret), b)?,
            None => Zeroizing::new(Vec::new()),
        };
        based_on.push((secret, blob));
        Ok(plain)
    };
    let data = match &change.data {
        Some(d) => d.clone(),
        None => stored(Secret::ArchiveData)?,
    };
    let password = match &change.password {
        Some(p) => p.clone(),
        None => {
            Zeroizing::new(String::from_utf8_lossy(&stored(Secret::ArchivePassword)?).into_owned())
        }
    };
    Ok(Some(ArchiveToCheck {
        data,
        password,
        change,
        based_on,
    }))
}

fn row_guid(row: &ItemRow) -> String {
    row.guid.map(|g| g.to_text()).unwrap_or_default()
}

/// Stores an archive checked before the write. The writer thread never opens
/// an archive: a crafted one could make it derive keys for minutes.
fn apply_archive(
    ctx: &Ctx<'_>,
    a: &mut Applied,
    current: Option<&ItemRow>,
    checked: Option<CheckedArchive>,
) -> AppResult<()> {
    let Some(checked) = checked else {
        if current.is_none() {
            return Err(AppError::internal(
                "a new archive reached the write unchecked",
            ));
        }
        return Ok(());
    };
    if let Some(row) = current {
        for (secret, blob) in &checked.based_on {
            if repo::secret(ctx.conn, row.id, secret.field())? != *blob {
                return Err(AppError::new(
                    ErrorCode::ConcurrentChange,
                    "This item's archive changed while your request was being checked; nothing \
                     was written. Send the request again.",
                ));
            }
        }
    }
    a.row.archive_issuer = checked.info.issuer;
    a.row.archive_not_before = checked.info.not_before;
    a.row.archive_not_after = checked.info.not_after;
    let ArchiveChange { data, password } = checked.change;
    if let Some(d) = data {
        a.set_secret(Secret::ArchiveData, d, "CertificateArchive.ArchiveData");
    }
    match password {
        Some(p) => a.set_secret(
            Secret::ArchivePassword,
            Zeroizing::new(p.as_bytes().to_vec()),
            "CertificateArchive.Password",
        ),
        // A new archive without a password has an empty one, stored as such.
        None if current.is_none() => a.set_secret(
            Secret::ArchivePassword,
            Zeroizing::new(Vec::new()),
            "CertificateArchive.Password",
        ),
        None => {}
    }
    Ok(())
}

// ---- Operations ------------------------------------------------------------

/// The item and the caller's rights on its section; 404 unless it may view it.
pub fn visible(ctx: &Ctx<'_>, guid: Guid) -> AppResult<(ItemRow, crate::auth::SectionRights)> {
    match repo::find_with_rights(ctx.conn, guid, ctx.operator_id)? {
        Some((row, rights)) if rights.view => Ok((row, rights)),
        _ => Err(item_not_found(guid)),
    }
}

fn changeable(ctx: &Ctx<'_>, guid: Guid, what: &str) -> AppResult<ItemRow> {
    let (row, rights) = visible(ctx, guid)?;
    if !rights.change {
        return Err(change_needed(what));
    }
    Ok(row)
}

pub fn get(ctx: &Ctx<'_>, guid: Guid) -> AppResult<VaultItem> {
    Ok(to_api(&visible(ctx, guid)?.0))
}

/// Every item the caller may view, as one JSON array written in chunks of
/// about `chunk_bytes` to `sink` (which returns false to stop: the client
/// left). Built straight from the rows of one query, so memory stays bounded
/// whatever the number of items.
pub fn stream_list(
    ctx: &Ctx<'_>,
    chunk_bytes: usize,
    mut sink: impl FnMut(Vec<u8>) -> bool,
) -> AppResult<()> {
    let mut buf = Vec::with_capacity(chunk_bytes + 4096);
    buf.push(b'[');
    let mut first = true;
    let mut open = true;
    repo::for_each_visible(ctx.conn, ctx.operator_id, |row| {
        if !open {
            return Ok(());
        }
        if !first {
            buf.push(b',');
        }
        first = false;
        serde_json::to_writer(&mut buf, &to_api(&row)).map_err(AppError::internal)?;
        if buf.len() >= chunk_bytes {
            open = sink(std::mem::replace(
                &mut buf,
                Vec::with_capacity(chunk_bytes + 4096),
            ));
        }
        Ok(())
    })?;
    buf.push(b']');
    if open {
        sink(buf);
    }
    Ok(())
}

pub fn create(
    ctx: &Ctx<'_>,
    sealer: &Sealer,
    input: VaultItemInput,
    checked: Option<CheckedArchive>,
) -> AppResult<VaultItem> {
    let t = check_fixed(Mode::Create, &input, None, None)?;
    let section_guid = input.vault_section_guid.ok_or_else(|| {
        AppError::new(
            ErrorCode::FieldRequired,
            "VaultSectionGuid is required: the section to put the item in (GET /v4/VaultSection).",
        )
    })?;
    let section = section_repo::find_by_guid(ctx.conn, section_guid)?
        .ok_or_else(|| section_not_found(section_guid))?;
    let rights = ctx.rights(section.id)?;
    if !rights.view {
        return Err(section_not_found(section_guid));
    }
    if !rights.change {
        return Err(change_needed("adding items"));
    }
    let mut applied = apply(ctx, Mode::Create, t, None, input, checked)?;
    let guid = Guid::new_random();
    applied.row.guid = Some(guid);
    applied.row.section_id = section.id;
    applied.row.section_guid = Some(section.guid);
    applied.row.used_by = "-".into();
    let id = repo::insert(ctx.conn, &applied.row, ctx.now_ms())?;
    for (secret, plain) in &applied.secrets {
        write_secret(ctx, sealer, id, guid, *secret, plain)?;
    }
    ctx.record(
        "VaultItem",
        guid,
        Some(section.guid),
        "Created",
        format!("Type: {}", t.as_str()),
    )?;
    applied.row.id = id;
    Ok(to_api(&applied.row))
}

pub fn update(
    ctx: &Ctx<'_>,
    sealer: &Sealer,
    guid: Guid,
    input: VaultItemInput,
    mode: Mode,
    checked: Option<CheckedArchive>,
) -> AppResult<()> {
    let current = changeable(ctx, guid, "changing its items")?;
    let t = check_fixed(mode, &input, Some(&current), Some(guid))?;
    let applied = apply(ctx, mode, t, Some(&current), input, checked)?;
    repo::update(ctx.conn, &applied.row, ctx.now_ms())?;
    for (secret, plain) in &applied.secrets {
        write_secret(ctx, sealer, current.id, guid, *secret, plain)?;
    }
    let action = if mode == Mode::Patch {
        "Patched"
    } else {
        "Updated"
    };
    ctx.record(
        "VaultItem",
        guid,
        current.section_guid,
        action,
        crate::audit::fields_changed(&applied.changed),
    )
}

pub fn delete(ctx: &Ctx<'_>, guid: Guid) -> AppResult<()> {
    let row = changeable(ctx, guid, "deleting its items")?;
    let usages = repo::usages(ctx.conn, row.id)?;
    if !usages.is_empty() {
        return Err(AppError::new(
            ErrorCode::VaultItemInUse,
            format!(
                "This vault item is in use by {}: {}. Release each use first with \
                 DELETE /v4/VaultItem/{guid}/Usage/{{UsageGuid}} (GET /v4/VaultItem/{guid}/Usage lists them).",
                row.used_by,
                super::usage::describe(&usages)
            ),
        ));
    }
    repo::delete(ctx.conn, row.id)?;
    ctx.record(
        "VaultItem",
        guid,
        row.section_guid,
        "Deleted",
        String::new(),
    )
}

/// The item with its sensitive values: recorded in history.
pub fn reveal(ctx: &Ctx<'_>, sealer: &Sealer, guid: Guid) -> AppResult<VaultItem> {
    let (row, _) = visible(ctx, guid)?;
    let mut item = to_api(&row);
    let text = |b: Option<Zeroizing<Vec<u8>>>| {
        b.map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    };
    match item.vault_item_type {
        VaultItemType::CredentialSet => {
            item.password = text(read_secret(ctx, sealer, &row, Secret::Password)?)
        }
        VaultItemType::Certificate => {}
        VaultItemType::CertificateArchive => {
            item.certificate_archive.password =
                text(read_secret(ctx, sealer, &row, Secret::ArchivePassword)?);
            item.certificate_archive.archive_data =
                read_secret(ctx, sealer, &row, Secret::ArchiveData)?
                    .map(|b| encoding::encode(&b))
                    .unwrap_or_default();
        }
        VaultItemType::File => {
            if let Some(info) = item.file_info.as_mut() {
                info.data = read_secret(ctx, sealer, &row, Secret::FileData)?
                    .map(|b| encoding::encode(&b))
                    .unwrap_or_default();
            }
        }
        VaultItemType::OneTimePassword => {
            if let Some(info) = item.one_time_password_info.as_mut() {
                info.secret = read_secret(ctx, sealer, &row, Secret::OtpSecret)?
                    .map(|b| otp::encode_secret(&b, info.secret_encoding_method).to_string())
                    .unwrap_or_default();
            }
        }
    }
    ctx.record(
        "VaultItem",
        guid,
        row.section_guid,
        "Revealed",
        String::new(),
    )?;
    Ok(item)
}

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

pub fn current_code(ctx: &Ctx<'_>, sealer: &Sealer, guid: Guid) -> AppResult<OtpCode> {
    let (row, _) = visible(ctx, guid)?;
    if VaultItemType::parse(&row.item_type) != VaultItemType::OneTimePassword {
        return Err(AppError::new(
            ErrorCode::NotOneTimePassword,
            format!(
                "This item is a {}; codes exist only for OneTimePassword items.",
                row.item_type
            ),
        ));
    }
    let secret = read_secret(ctx, sealer, &row, Secret::OtpSecret)?
        .ok_or_else(|| AppError::internal("OTP item without a secret"))?;
    let now = ctx.now.timestamp().max(0) as u64;
    let code = otp::code_at(&secret, &otp_settings(&row), now);
    ctx.record(
        "VaultItem",
        guid,
        row.section_guid,
        "OtpGenerated",
        String::new(),
    )?;
    Ok(OtpCode {
        code: code.code.to_string(),
        valid_from: crate::time::rfc3339(code.valid_from as i64 * 1000),
        valid_until: crate::time::rfc3339(code.valid_until as i64 * 1000),
    })
}
