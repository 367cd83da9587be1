//! HTTP plumbing shared by every route: middleware, the JSON body extractor,
//! the client's address (trusted proxies) and TLS.

pub mod bare_errors;
pub mod body;
pub mod client;
pub mod json;
pub mod middleware;
pub mod origin;
pub mod query;
pub mod rules;
pub mod tls;

pub use json::ApiJson;
