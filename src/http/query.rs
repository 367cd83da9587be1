//! Query parameters shared by the lists that page by time (history, outbox).

use crate::error::{AppError, AppResult, ErrorCode};
use crate::time::parse_instant;

pub const DEFAULT_LIMIT: i64 = 1000;
pub const MAX_LIMIT: i64 = 10_000;

/// `Since` (RFC 3339, as Unix ms) and `Limit` (1–10000, default 1000).
pub fn since_and_limit(since: Option<&str>, limit: Option<i64>) -> AppResult<(Option<i64>, i64)> {
    let since_ms = since
        .map(|s| parse_instant("Since", s).map(|t| t.timestamp_millis()))
        .transpose()?;
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AppError::new(
            ErrorCode::InvalidQuery,
            format!("Limit must be between 1 and {MAX_LIMIT}."),
        ));
    }
    Ok((since_ms, limit))
}
