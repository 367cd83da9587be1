//! A vault item as the rules see it: the fields every item has, and a body
//! with one variant per type holding what only that type has. Built from the
//! stored row, which names its type; a type this code does not know is an
//! error, never a default.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::DbError;
use crate::db::items::{ItemColumns, ItemRow};
use crate::types::Guid;
use crate::vault::otp::{HashAlgorithm, SecretEncodingMethod, Settings};

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

    pub fn parse(text: &str) -> Option<VaultItemType> {
        match text {
            "CredentialSet" => Some(VaultItemType::CredentialSet),
            "Certificate" => Some(VaultItemType::Certificate),
            "CertificateArchive" => Some(VaultItemType::CertificateArchive),
            "File" => Some(VaultItemType::File),
            "OneTimePassword" => Some(VaultItemType::OneTimePassword),
            _ => None,
        }
    }

    /// Public-key certificates are public; everything else is a secret.
    pub fn is_sensitive(self) -> bool {
        self != VaultItemType::Certificate
    }
}

/// Where each sensitive value is sealed (`vault_item_secrets.field`).
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

    pub fn from_field(field: &str) -> Option<Secret> {
        [
            Secret::Password,
            Secret::ArchiveData,
            Secret::ArchivePassword,
            Secret::FileData,
            Secret::OtpSecret,
        ]
        .into_iter()
        .find(|s| s.field() == field)
    }

    /// The sensitive values an item of type `t` holds.
    pub fn of(t: VaultItemType) -> &'static [Secret] {
        match t {
            VaultItemType::CredentialSet => &[Secret::Password],
            VaultItemType::Certificate => &[],
            VaultItemType::CertificateArchive => &[Secret::ArchiveData, Secret::ArchivePassword],
            VaultItemType::File => &[Secret::FileData],
            VaultItemType::OneTimePassword => &[Secret::OtpSecret],
        }
    }
}

/// What an item holds besides its name and notes: one variant per type.
/// Secrets are not here: they are sealed apart and read only by Reveal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemBody {
    CredentialSet {
        user_name: String,
    },
    Certificate {
        /// The certificate or public key text, as given.
        value: String,
    },
    CertificateArchive {
        issuer: String,
        /// RFC 3339.
        not_before: String,
        not_after: String,
    },
    File {
        name: String,
        size: i64,
    },
    OneTimePassword(Settings),
}

impl ItemBody {
    pub fn item_type(&self) -> VaultItemType {
        match self {
            ItemBody::CredentialSet { .. } => VaultItemType::CredentialSet,
            ItemBody::Certificate { .. } => VaultItemType::Certificate,
            ItemBody::CertificateArchive { .. } => VaultItemType::CertificateArchive,
            ItemBody::File { .. } => VaultItemType::File,
            ItemBody::OneTimePassword(_) => VaultItemType::OneTimePassword,
        }
    }

    /// The body of a new item of type `t`, before its fields are applied.
    pub fn empty(t: VaultItemType) -> ItemBody {
        match t {
            VaultItemType::CredentialSet => ItemBody::CredentialSet {
                user_name: String::new(),
            },
            VaultItemType::Certificate => ItemBody::Certificate {
                value: String::new(),
            },
            VaultItemType::CertificateArchive => ItemBody::CertificateArchive {
                issuer: String::new(),
                not_before: String::new(),
                not_after: String::new(),
            },
            VaultItemType::File => ItemBody::File {
                name: String::new(),
                size: 0,
            },
            VaultItemType::OneTimePassword => ItemBody::OneTimePassword(Settings::default()),
        }
    }
}

/// A stored item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub id: i64,
    pub guid: Guid,
    pub section_id: i64,
    pub section_guid: Guid,
    pub name: String,
    pub notes: String,
    /// `"-"`, or counts by consumer type such as `"2 monitors, 1 integration"`.
    pub used_by: String,
    pub body: ItemBody,
    /// When its certificate stops being valid (ms): Certificate items whose
    /// text holds one, and CertificateArchive items.
    pub not_after: Option<i64>,
}

impl Item {
    pub fn item_type(&self) -> VaultItemType {
        self.body.item_type()
    }
}

impl TryFrom<ItemRow> for Item {
    type Error = DbError;

    fn try_from(r: ItemRow) -> Result<Item, DbError> {
        let t = VaultItemType::parse(&r.item_type).ok_or_else(|| {
            DbError::Corrupt(format!("vault item {} has type {:?}", r.guid, r.item_type))
        })?;
        let body = match t {
            VaultItemType::CredentialSet => ItemBody::CredentialSet {
                user_name: r.user_name,
            },
            VaultItemType::Certificate => ItemBody::Certificate { value: r.value },
            VaultItemType::CertificateArchive => ItemBody::CertificateArchive {
                issuer: r.archive_issuer,
                not_before: r.archive_not_before,
                not_after: r.archive_not_after,
            },
            VaultItemType::File => ItemBody::File {
                name: r.file_name,
                size: r.file_size,
            },
            VaultItemType::OneTimePassword => {
                let d = Settings::default();
                ItemBody::OneTimePassword(Settings {
                    digits: r.otp_digits.map_or(d.digits, |v| v as u8),
                    period: r.otp_period.map_or(d.period, |v| v as u32),
                    algorithm: r
                        .otp_hash_algorithm
                        .as_deref()
                        .map_or(d.algorithm, HashAlgorithm::parse),
                    encoding: r
                        .otp_encoding
                        .as_deref()
                        .map_or(d.encoding, SecretEncodingMethod::parse),
                })
            }
        };
        Ok(Item {
            id: r.id,
            guid: r.guid,
            section_id: r.section_id,
            section_guid: r.section_guid,
            name: r.name,
            notes: r.notes,
            used_by: r.used_by,
            body,
            not_after: r.not_after,
        })
    }
}

/// The stored columns of a name, notes and body (other types' columns empty).
pub fn columns<'a>(name: &'a str, notes: &'a str, body: &'a ItemBody) -> ItemColumns<'a> {
    let mut c = ItemColumns {
        name,
        notes,
        value: "",
        user_name: "",
        archive_issuer: "",
        archive_not_before: "",
        archive_not_after: "",
        file_name: "",
        file_size: 0,
        otp_digits: None,
        otp_period: None,
        otp_hash_algorithm: None,
        otp_encoding: None,
        not_after: None,
    };
    match body {
        ItemBody::CredentialSet { user_name } => c.user_name = user_name,
        ItemBody::Certificate { value } => {
            c.value = value;
            c.not_after = crate::x509::text_not_after(value);
        }
        ItemBody::CertificateArchive {
            issuer,
            not_before,
            not_after,
        } => {
            c.archive_issuer = issuer;
            c.archive_not_before = not_before;
            c.archive_not_after = not_after;
            c.not_after = crate::time::parse_rfc3339_ms(not_after);
        }
        ItemBody::File { name, size } => {
            c.file_name = name;
            c.file_size = *size;
        }
        ItemBody::OneTimePassword(s) => {
            c.otp_digits = Some(i64::from(s.digits));
            c.otp_period = Some(i64::from(s.period));
            c.otp_hash_algorithm = Some(s.algorithm.as_str());
            c.otp_encoding = Some(s.encoding.as_str());
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(item_type: &str) -> ItemRow {
        ItemRow {
            id: 1,
            guid: Guid::new_random(),
            section_id: 2,
            section_guid: Guid::new_random(),
            item_type: item_type.into(),
            name: "n".into(),
            notes: String::new(),
            value: "v".into(),
            user_name: "u".into(),
            archive_issuer: String::new(),
            archive_not_before: String::new(),
            archive_not_after: String::new(),
            file_name: String::new(),
            file_size: 0,
            otp_digits: None,
            otp_period: None,
            otp_hash_algorithm: None,
            otp_encoding: None,
            used_by: "-".into(),
            not_after: None,
        }
    }

    #[test]
    fn an_unknown_stored_type_is_an_error_not_a_credential_set() {
        assert!(matches!(
            Item::try_from(row("Passkey")),
            Err(DbError::Corrupt(_))
        ));
        let item = Item::try_from(row("CredentialSet")).unwrap();
        assert_eq!(
            item.body,
            ItemBody::CredentialSet {
                user_name: "u".into()
            }
        );
    }

    #[test]
    fn every_body_round_trips_through_its_columns() {
        for t in [
            VaultItemType::CredentialSet,
            VaultItemType::Certificate,
            VaultItemType::CertificateArchive,
            VaultItemType::File,
            VaultItemType::OneTimePassword,
        ] {
            let body = ItemBody::empty(t);
            let c = columns("n", "x", &body);
            let mut r = row(t.as_str());
            r.value = c.value.into();
            r.user_name = c.user_name.into();
            r.file_name = c.file_name.into();
            r.otp_digits = c.otp_digits;
            r.otp_period = c.otp_period;
            r.otp_hash_algorithm = c.otp_hash_algorithm.map(Into::into);
            r.otp_encoding = c.otp_encoding.map(Into::into);
            assert_eq!(Item::try_from(r).unwrap().body, body, "{t:?}");
        }
    }
}
