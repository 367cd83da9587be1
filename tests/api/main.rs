//! One integration-test binary: compiled once, each file a resource or concern.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;
mod pfx_forge;
mod pg;
mod tls_client;

mod api_keys;
mod auth;
mod backups;
mod bad_input;
mod cli;
mod compat;
mod crash;
mod deploy;
mod docs;
mod expiry;
mod harness;
mod health;
mod limits;
mod logging;
mod mail;
mod metrics;
mod migrate_pg;
mod nodes;
mod oauth;
mod oauth_library;
mod permissions;
mod pg_at_rest;
mod principals;
mod proxies;
mod seed;
mod smtp;
mod storage;
mod tls;
mod vault_items;
mod vault_sections;
