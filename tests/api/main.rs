//! One integration-test binary: compiled once, each file a resource or concern.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;
mod pfx_forge;

mod api_keys;
mod auth;
mod bad_input;
mod cli;
mod compat;
mod crash;
mod docs;
mod expiry;
mod harness;
mod health;
mod limits;
mod permissions;
mod principals;
mod seed;
mod storage;
mod vault_items;
mod vault_sections;
