//! Authentication (the `Principal` extractor over an in-memory key index),
//! API-key permissions, and the operator rights that form the second layer of
//! every decision (SPEC §3).

pub mod index;
pub mod principal;
pub mod rate_limit;

pub use crate::types::{Permission, PermissionSet};
pub use index::AuthIndex;
pub use principal::{Authenticator, Principal};
