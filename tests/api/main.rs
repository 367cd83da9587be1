//! One integration-test binary: compiled once, each file a resource or concern.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod cli;
mod health;
mod storage;
