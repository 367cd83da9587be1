//! One integration-test binary: compiled once, each file a resource or concern.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod api_keys;
mod auth;
mod bad_input;
mod cli;
mod crash;
mod docs;
mod expiry;
mod health;
mod limits;
mod oauth;
mod oauth_library;
mod permissions;
mod principals;
mod storage;
mod vault_items;
mod vault_sections;
