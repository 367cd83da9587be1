//! How a body changes an item, for each type, under POST, PUT and PATCH —
//! pure functions of the stored item and the body, so every rule is tested
//! without a database.
//!
//! - `PUT` replaces: an omitted field becomes empty (OTP settings take their
//!   defaults), except the sensitive values, which stay as they are when
//!   omitted or sent as `""` (a GET sent back must not wipe them).
//! - `PATCH` changes only what is sent.
//! - Neither changes the type, the section or `IsSensitive`; fields that do
//!   not belong to the item's type are ignored, as in the seed's PUT example.

use zeroize::Zeroizing;

use super::api::VaultItemInput;
use super::archive::{CheckedArchive, sent};
use super::model::{Item, ItemBody, Secret, VaultItemType};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::types::Guid;
use crate::validate;
use crate::vault::otp::{self, Settings};
use crate::vault::{certificate, encoding};

pub const MAX_FILE_BYTES: usize = 2 * 1024 * 1024;
const MAX_VALUE_CHARS: usize = 64 * 1024;
const MAX_NOTES_CHARS: usize = 10_000;
const MAX_SECRET_CHARS: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Create,
    Replace,
    Patch,
}

/// An item as a body leaves it.
#[derive(Debug)]
pub struct Merged {
    pub name: String,
    pub notes: String,
    pub body: ItemBody,
    /// Sensitive values to seal and store (the others stay as stored).
    pub secrets: Vec<(Secret, Zeroizing<Vec<u8>>)>,
    /// Names of the fields that changed (for the history; never values).
    pub changed: Vec<&'static str>,
}

impl Merged {
    fn set_secret(&mut self, secret: Secret, value: Zeroizing<Vec<u8>>, field: &'static str) {
        self.secrets.push((secret, value));
        self.changed.push(field);
    }
}

/// The item's type, after the rules on what a body may not change: the GUID
/// (server-assigned, or the path's), the type (PUT refuses a different one,
/// PATCH ignores it, as the seed says), `IsSensitive`, the section.
pub fn fixed_type(
    mode: Mode,
    input: &VaultItemInput,
    current: Option<&Item>,
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
        (Mode::Replace, Some(item)) => {
            let stored = item.item_type();
            if input.vault_item_type.is_some_and(|t| t != stored) {
                return Err(AppError::new(
                    ErrorCode::TypeNotChangeable,
                    format!(
                        "This item is a {}; its VaultItemType cannot change. Create a new item instead.",
                        stored.as_str()
                    ),
                ));
            }
            stored
        }
        (Mode::Patch, Some(item)) => item.item_type(),
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
    if let (Some(item), Some(sent)) = (current, input.vault_section_guid)
        && sent != item.section_guid
    {
        return Err(AppError::new(
            ErrorCode::SectionNotChangeable,
            "VaultSectionGuid cannot change: an item stays in its section. Create it anew in the other section.",
        ));
    }
    Ok(t)
}

/// Applies `input` to `current` (None on create) for an item of type `t`.
/// Decodes, validates and parses; seals nothing (the caller does, with the
/// item's GUID). An archive arrives already checked.
pub fn merge(
    mode: Mode,
    t: VaultItemType,
    current: Option<&Item>,
    input: VaultItemInput,
    archive: Option<CheckedArchive>,
) -> AppResult<Merged> {
    let whole = mode != Mode::Patch;
    let creating = mode == Mode::Create;
    let before_body = current.map_or_else(|| ItemBody::empty(t), |i| i.body.clone());
    let mut m = Merged {
        name: current.map(|i| i.name.clone()).unwrap_or_default(),
        notes: current.map(|i| i.notes.clone()).unwrap_or_default(),
        body: before_body.clone(),
        secrets: Vec::new(),
        changed: Vec::new(),
    };
    if whole || input.name.is_some() {
        m.name = validate::required_line("Name", input.name.as_deref(), 200)?;
    }
    if whole || input.notes.is_some() {
        m.notes = validate::text(
            "Notes",
            input.notes.as_deref().unwrap_or(""),
            MAX_NOTES_CHARS,
        )?;
    }
    let body = match before_body {
        ItemBody::CredentialSet { user_name } => credential_set(whole, user_name, &input, &mut m)?,
        ItemBody::Certificate { value } => certificate_body(whole, value, &input)?,
        ItemBody::CertificateArchive {
            issuer,
            not_before,
            not_after,
        } => match archive {
            Some(checked) => archive_body(creating, checked, &mut m),
            None if creating => {
                return Err(AppError::internal(
                    "a new archive reached the write unchecked",
                ));
            }
            None => ItemBody::CertificateArchive {
                issuer,
                not_before,
                not_after,
            },
        },
        ItemBody::File { name, size } => file(whole, creating, name, size, &input, &mut m)?,
        ItemBody::OneTimePassword(settings) => {
            one_time_password(whole, creating, settings, &input, &mut m)?
        }
    };
    m.body = body;
    if let Some(item) = current {
        note_changes(item, &mut m);
    }
    Ok(m)
}

fn credential_set(
    whole: bool,
    user_name: String,
    input: &VaultItemInput,
    m: &mut Merged,
) -> AppResult<ItemBody> {
    let user_name = if whole || input.user_name.is_some() {
        validate::line("UserName", input.user_name.as_deref().unwrap_or(""), 1000)?
    } else {
        user_name
    };
    if let Some(password) = sent(&input.password) {
        validate::check_length("Password", password, MAX_SECRET_CHARS)?;
        m.set_secret(
            Secret::Password,
            Zeroizing::new(password.as_bytes().to_vec()),
            "Password",
        );
    }
    Ok(ItemBody::CredentialSet { user_name })
}

fn certificate_body(whole: bool, value: String, input: &VaultItemInput) -> AppResult<ItemBody> {
    if !(whole || input.value.is_some()) {
        return Ok(ItemBody::Certificate { value });
    }
    let v = input.value.as_deref().unwrap_or("");
    if v.trim().is_empty() {
        return Err(AppError::new(
            ErrorCode::FieldRequired,
            "Value is required for Certificate items: the certificate or public key text.",
        ));
    }
    validate::check_length("Value", v, MAX_VALUE_CHARS)?;
    certificate::check(v)?;
    Ok(ItemBody::Certificate {
        value: v.to_string(),
    })
}

fn archive_body(creating: bool, checked: CheckedArchive, m: &mut Merged) -> ItemBody {
    let body = ItemBody::CertificateArchive {
        issuer: checked.info.issuer,
        not_before: checked.info.not_before,
        not_after: checked.info.not_after,
    };
    let change = checked.change;
    if let Some(data) = change.data {
        m.set_secret(Secret::ArchiveData, data, "CertificateArchive.ArchiveData");
    }
    match change.password {
        Some(p) => m.set_secret(
            Secret::ArchivePassword,
            Zeroizing::new(p.as_bytes().to_vec()),
            "CertificateArchive.Password",
        ),
        // A new archive without a password has an empty one, stored as such.
        None if creating => m.set_secret(
            Secret::ArchivePassword,
            Zeroizing::new(Vec::new()),
            "CertificateArchive.Password",
        ),
        None => {}
    }
    body
}

fn file(
    whole: bool,
    creating: bool,
    name: String,
    size: i64,
    input: &VaultItemInput,
    m: &mut Merged,
) -> AppResult<ItemBody> {
    let info = input.file_info.as_ref();
    let name = if whole || info.and_then(|f| f.name.as_ref()).is_some() {
        let name =
            validate::required_line("FileInfo.Name", info.and_then(|f| f.name.as_deref()), 255)?;
        if name.contains('/') || name.contains('\\') {
            return Err(AppError::new(
                ErrorCode::InvalidField,
                "FileInfo.Name is a file name, not a path: leave out / and \\.",
            ));
        }
        name
    } else {
        name
    };
    let size = match info.and_then(|f| sent(&f.data)) {
        Some(data) => {
            let bytes = encoding::decode("FileInfo.Data", data, MAX_FILE_BYTES)?;
            let size = bytes.len() as i64;
            m.set_secret(Secret::FileData, bytes, "FileInfo.Data");
            size
        }
        None if creating => {
            return Err(AppError::new(
                ErrorCode::FieldRequired,
                "FileInfo.Data is required for File items: the file's content in base64.",
            ));
        }
        None => size,
    };
    Ok(ItemBody::File { name, size })
}

fn one_time_password(
    whole: bool,
    creating: bool,
    stored: Settings,
    input: &VaultItemInput,
    m: &mut Merged,
) -> AppResult<ItemBody> {
    let info = input.one_time_password_info.as_ref();
    let d = Settings::default();
    // PUT: omitted settings take their defaults; PATCH: they stay.
    let base = if whole { d } else { stored };
    let digits = match info.and_then(|o| o.digits) {
        Some(v) => otp::check_digits(v)?,
        None => base.digits,
    };
    let period = match info.and_then(|o| o.period) {
        Some(v) => otp::check_period(v)?,
        None => base.period,
    };
    let algorithm = info
        .and_then(|o| o.hash_algorithm)
        .unwrap_or(base.algorithm);
    let encoding = info
        .and_then(|o| o.secret_encoding_method)
        .unwrap_or(base.encoding);
    match info.and_then(|o| sent(&o.secret)) {
        Some(secret) => {
            validate::check_length("OneTimePasswordInfo.Secret", secret, 1024)?;
            let bytes = otp::decode_secret(secret, encoding)?;
            m.set_secret(Secret::OtpSecret, bytes, "OneTimePasswordInfo.Secret");
        }
        None if creating => {
            return Err(AppError::new(
                ErrorCode::FieldRequired,
                "OneTimePasswordInfo.Secret is required for OneTimePassword items.",
            ));
        }
        None => {}
    }
    Ok(ItemBody::OneTimePassword(Settings {
        digits,
        period,
        algorithm,
        encoding,
    }))
}

/// The plain fields a change touched (the sensitive ones were noted as set).
fn note_changes(before: &Item, m: &mut Merged) {
    let mut changed = Vec::new();
    if before.name != m.name {
        changed.push("Name");
    }
    if before.notes != m.notes {
        changed.push("Notes");
    }
    match (&before.body, &m.body) {
        (ItemBody::CredentialSet { user_name: a }, ItemBody::CredentialSet { user_name: b })
            if a != b =>
        {
            changed.push("UserName")
        }
        (ItemBody::Certificate { value: a }, ItemBody::Certificate { value: b }) if a != b => {
            changed.push("Value")
        }
        (ItemBody::File { name: a, .. }, ItemBody::File { name: b, .. }) if a != b => {
            changed.push("FileInfo.Name")
        }
        (ItemBody::OneTimePassword(a), ItemBody::OneTimePassword(b)) => {
            for (field, differs) in [
                ("OneTimePasswordInfo.Digits", a.digits != b.digits),
                ("OneTimePasswordInfo.Period", a.period != b.period),
                (
                    "OneTimePasswordInfo.HashAlgorithm",
                    a.algorithm != b.algorithm,
                ),
                (
                    "OneTimePasswordInfo.SecretEncodingMethod",
                    a.encoding != b.encoding,
                ),
            ] {
                if differs {
                    changed.push(field);
                }
            }
        }
        _ => {}
    }
    // Sensitive fields first, as they were set, then the plain ones.
    m.changed.append(&mut changed);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::otp::HashAlgorithm;

    const OTP_SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DP";

    fn item(body: ItemBody) -> Item {
        Item {
            id: 1,
            guid: Guid::new_random(),
            section_id: 1,
            section_guid: Guid::new_random(),
            name: "stored name".into(),
            notes: "stored notes".into(),
            used_by: "-".into(),
            not_after: None,
            body,
        }
    }

    fn input(json: serde_json::Value) -> VaultItemInput {
        serde_json::from_value(json).unwrap()
    }

    fn apply(mode: Mode, current: &Item, body: serde_json::Value) -> Merged {
        merge(mode, current.item_type(), Some(current), input(body), None).unwrap()
    }

    fn secrets(m: &Merged) -> Vec<Secret> {
        m.secrets.iter().map(|(s, _)| *s).collect()
    }

    /// The sample of every type the rules are checked on, with the name of
    /// its secret field as sent and a valid value for it.
    fn samples() -> Vec<(Item, serde_json::Value, Secret)> {
        vec![
            (
                item(ItemBody::CredentialSet {
                    user_name: "ada".into(),
                }),
                serde_json::json!({"Password": "new"}),
                Secret::Password,
            ),
            (
                item(ItemBody::File {
                    name: "a.csv".into(),
                    size: 3,
                }),
                serde_json::json!({"FileInfo": {"Name": "a.csv", "Data": "aGk="}}),
                Secret::FileData,
            ),
            (
                item(ItemBody::OneTimePassword(Settings {
                    digits: 8,
                    period: 60,
                    algorithm: HashAlgorithm::SHA256,
                    encoding: otp::SecretEncodingMethod::Base32,
                })),
                serde_json::json!({"OneTimePasswordInfo": {"Secret": OTP_SECRET}}),
                Secret::OtpSecret,
            ),
        ]
    }

    #[test]
    fn an_omitted_or_empty_secret_is_kept_under_put_and_patch() {
        for (current, _, _) in samples() {
            for mode in [Mode::Replace, Mode::Patch] {
                let omitted = serde_json::json!({"Name": "n", "FileInfo": {"Name": "a.csv"}});
                let empty = serde_json::json!({"Name": "n", "Password": "",
                    "FileInfo": {"Name": "a.csv", "Data": ""},
                    "OneTimePasswordInfo": {"Secret": ""}});
                for body in [omitted, empty] {
                    let m = apply(mode, &current, body.clone());
                    assert!(
                        m.secrets.is_empty(),
                        "{mode:?} {:?} {body}",
                        current.item_type()
                    );
                }
            }
        }
    }

    #[test]
    fn a_sent_secret_replaces_the_stored_one_and_is_named_not_shown() {
        for (current, body, secret) in samples() {
            for mode in [Mode::Replace, Mode::Patch] {
                let mut body = body.clone();
                body["Name"] = "n".into();
                let m = apply(mode, &current, body);
                assert_eq!(secrets(&m), vec![secret], "{mode:?}");
                assert!(
                    !m.changed
                        .iter()
                        .any(|f| f.contains("new") || f.contains("aGk"))
                );
            }
        }
    }

    #[test]
    fn put_empties_omitted_plain_fields_and_patch_keeps_them() {
        let credential = item(ItemBody::CredentialSet {
            user_name: "ada".into(),
        });
        let m = apply(Mode::Replace, &credential, serde_json::json!({"Name": "n"}));
        assert_eq!(m.notes, "");
        assert_eq!(
            m.body,
            ItemBody::CredentialSet {
                user_name: String::new()
            }
        );
        assert_eq!(m.changed, vec!["Name", "Notes", "UserName"]);
        let m = apply(Mode::Patch, &credential, serde_json::json!({}));
        assert_eq!(
            (m.name.as_str(), m.notes.as_str()),
            ("stored name", "stored notes")
        );
        assert_eq!(m.body, credential.body);
        assert!(m.changed.is_empty());

        let file = item(ItemBody::File {
            name: "a.csv".into(),
            size: 3,
        });
        let m = apply(Mode::Patch, &file, serde_json::json!({"Notes": "x"}));
        assert_eq!(m.body, file.body, "PATCH keeps the file's name and size");
        let e = merge(
            Mode::Replace,
            VaultItemType::File,
            Some(&file),
            input(serde_json::json!({"Name": "n"})),
            None,
        )
        .unwrap_err();
        assert_eq!(
            e.code(),
            "FieldRequired",
            "PUT empties FileInfo.Name, which a file needs"
        );

        let otp = samples().remove(2).0;
        let m = apply(Mode::Replace, &otp, serde_json::json!({"Name": "n"}));
        assert_eq!(
            m.body,
            ItemBody::OneTimePassword(Settings::default()),
            "PUT: defaults"
        );
        let m = apply(
            Mode::Patch,
            &otp,
            serde_json::json!({"OneTimePasswordInfo": {"Digits": 7}}),
        );
        let ItemBody::OneTimePassword(s) = m.body else {
            unreachable!()
        };
        assert_eq!(
            (s.digits, s.period, s.algorithm),
            (7, 60, HashAlgorithm::SHA256)
        );

        let cert = item(ItemBody::Certificate {
            value: "-----BEGIN CERTIFICATE-----".into(),
        });
        let m = apply(Mode::Patch, &cert, serde_json::json!({"Notes": "x"}));
        assert_eq!(m.body, cert.body, "PATCH keeps the certificate");
        let e = merge(
            Mode::Replace,
            VaultItemType::Certificate,
            Some(&cert),
            input(serde_json::json!({"Name": "n"})),
            None,
        )
        .unwrap_err();
        assert_eq!(
            e.code(),
            "FieldRequired",
            "PUT empties Value, which a certificate needs"
        );
    }

    #[test]
    fn an_archive_keeps_its_data_and_issuer_when_a_body_sends_no_archive() {
        let archive = item(ItemBody::CertificateArchive {
            issuer: "CN=Acme".into(),
            not_before: "2026-01-01T00:00:00.000Z".into(),
            not_after: "2027-01-01T00:00:00.000Z".into(),
        });
        for mode in [Mode::Replace, Mode::Patch] {
            let m = apply(mode, &archive, serde_json::json!({"Name": "n"}));
            assert_eq!(m.body, archive.body, "{mode:?}");
            assert!(m.secrets.is_empty());
        }
    }

    #[test]
    fn fields_of_other_types_are_ignored() {
        let credential = item(ItemBody::CredentialSet {
            user_name: "ada".into(),
        });
        let m = apply(
            Mode::Patch,
            &credential,
            serde_json::json!({"FileInfo": {"Name": "x", "Data": "aGk="},
                "OneTimePasswordInfo": {"Secret": OTP_SECRET}}),
        );
        assert!(m.secrets.is_empty() && m.changed.is_empty());
    }

    #[test]
    fn the_type_section_and_guid_cannot_change() {
        let credential = item(ItemBody::CredentialSet {
            user_name: "ada".into(),
        });
        let other = Guid::new_random();
        for (mode, body, code) in [
            (
                Mode::Replace,
                serde_json::json!({"VaultItemType": "File"}),
                "TypeNotChangeable",
            ),
            (
                Mode::Replace,
                serde_json::json!({"VaultSectionGuid": other}),
                "SectionNotChangeable",
            ),
            (
                Mode::Patch,
                serde_json::json!({"VaultItemGuid": other}),
                "GuidMismatch",
            ),
            (
                Mode::Patch,
                serde_json::json!({"IsSensitive": false}),
                "IsSensitiveNotSettable",
            ),
        ] {
            let e = fixed_type(mode, &input(body), Some(&credential), Some(credential.guid))
                .unwrap_err();
            assert_eq!(e.code(), code);
        }
        let patched = fixed_type(
            Mode::Patch,
            &input(serde_json::json!({"VaultItemType": "File"})),
            Some(&credential),
            Some(credential.guid),
        )
        .unwrap();
        assert_eq!(
            patched,
            VaultItemType::CredentialSet,
            "PATCH ignores another type"
        );
    }
}
