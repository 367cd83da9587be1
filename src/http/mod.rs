//! HTTP plumbing shared by every route: middleware, the JSON body extractor,
//! GUID path parameters.

pub mod bare_errors;
pub mod body;
pub mod guid;
pub mod json;
pub mod middleware;
pub mod query;

pub use guid::Guid;
pub use json::ApiJson;
