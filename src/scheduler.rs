//! Background jobs inside `serve`. Each is an async fn that logs its errors and
//! tries again later; none can take the server down.

use std::time::Duration;

use tokio::sync::watch;

use crate::db::api_keys;
use crate::error::AppResult;
use crate::state::AppState;

/// Tells jobs to stop.
pub type Stop = watch::Receiver<bool>;

/// Writes the in-memory LastUsedAt values that changed since the last flush.
pub async fn flush_last_used(state: &AppState) -> AppResult<usize> {
    let pending = state.auth.index.unflushed_last_used();
    if pending.is_empty() {
        return Ok(0);
    }
    let index = state.auth.index.clone();
    let count = pending.len();
    state
        .db
        .write(move |conn, after| {
            api_keys::store_last_used(conn, &pending)?;
            after.push(move || index.mark_flushed(&pending));
            Ok(())
        })
        .await?;
    Ok(count)
}

/// LastUsedAt is coalesced: at most one write per key per interval, not one per request.
pub async fn last_used_job(state: AppState, mut stop: Stop) {
    let every = Duration::from_secs(state.config.last_used_flush_secs);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        if let Err(e) = flush_last_used(&state).await {
            log::warn!("could not store LastUsedAt, will retry: {e}");
        }
    }
}
