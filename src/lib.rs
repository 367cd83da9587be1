//! coffre: an encrypted vault of secrets and API keys behind a JSON HTTP API.
//! `main.rs` is a thin shell over this library, which the tests use too.

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod backups;
pub mod certificate_reminders;
pub mod cli;
pub mod clock;
pub mod cluster;
pub mod commands;
pub mod config;
pub mod console;
pub mod crypto;
pub mod datadir;
pub mod db;
pub mod error;
pub mod expiry;
pub mod fsutil;
pub mod http;
pub mod lifecycle;
pub mod logging;
pub mod mail;
pub mod metrics;
pub mod oauth;
pub mod outbox;
pub mod routes;
pub mod scheduler;
pub mod seed;
pub mod startup;
pub mod state;
pub mod time;
pub mod types;
pub mod validate;
pub mod vault;
pub mod work;
pub mod x509;
