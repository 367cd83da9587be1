//! Vault items of five types. Sensitive values (passwords, archives and their
//! passwords, file contents, OTP secrets) are sealed in `vault_item_secrets`
//! and come back as `""` everywhere but `Reveal`.
//!
//! - `model`: the typed item (a body per type) and its stored form;
//! - `api`: what the API shows and takes;
//! - `merge`: how POST, PUT and PATCH change an item, per type (pure);
//! - `archive`: certificate archives, opened before the write;
//! - `notes`: Notes at rest (sealed on PostgreSQL);
//! - `ops`: the operations;
//! - `versions`: the previous values each item keeps.

mod api;
mod archive;
mod merge;
mod model;
pub mod notes;
mod ops;
mod versions;

pub use api::{
    CertificateArchive, CertificateArchiveInput, FileInfo, FileInfoInput, OneTimePasswordInfo,
    OneTimePasswordInput, OtpCode, VaultItem, VaultItemInput, to_api,
};
pub use archive::{ArchiveToCheck, CheckedArchive, archive_to_check, new_archive_to_check};
pub use merge::{MAX_FILE_BYTES, Mode};
pub use model::{Item, ItemBody, Secret, VaultItemType, columns};
pub use ops::{
    create, create_with_guid, current_code, delete, expiring, get, history, reveal, stream_list,
    update, visible,
};
pub use versions::{
    VaultItemVersion, VersionAuthor, list as list_versions, restore as restore_version,
    reveal as reveal_version,
};
