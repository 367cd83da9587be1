//! Authentication (the `Principal` extractor over in-memory indexes of
//! credentials and access tokens, OAuth clients at the token endpoint, and
//! the web console's session cookie, `session`), permissions, and the
//! operator rights that form the second layer of every decision (SPEC §3).

pub mod client;
pub mod index;
pub mod principal;
pub mod rate_limit;
pub mod session;
pub mod tokens;

pub use crate::types::{Permission, PermissionSet};
pub use index::AuthIndex;
pub use principal::{Authenticator, Principal};
