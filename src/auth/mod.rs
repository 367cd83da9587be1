//! Authentication (the `Principal` extractor over an in-memory key index,
//! and the console's session cookie, `session`), API-key permissions, and
//! the operator rights that form the second layer of every decision (SPEC §3).

pub mod index;
pub mod principal;
pub mod rate_limit;
pub mod session;

pub use crate::types::{Permission, PermissionSet};
pub use index::AuthIndex;
pub use principal::{Authenticator, Principal};
