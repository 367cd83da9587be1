//! HTTP plumbing shared by every route: middleware, the JSON body extractor,
//! and the JSON body extractor.

pub mod bare_errors;
pub mod body;
pub mod json;
pub mod middleware;
pub mod query;
pub mod rules;

pub use json::ApiJson;
