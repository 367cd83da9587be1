//! Background jobs inside `serve`. Each is an async fn that logs its errors and
//! tries again later; none can take the server down.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::db::api_keys;
use crate::error::AppResult;
use crate::expiry::{self, SweepReport};
use crate::state::AppState;
use crate::time::next_midnight;

/// Tells jobs to stop.
pub type Stop = watch::Receiver<bool>;

/// Writes the in-memory usage (LastUsedAt, LastUsedFrom, UseCount, the
/// previous secret's last use) that changed since the last flush.
pub async fn flush_last_used(state: &AppState) -> AppResult<usize> {
    let pending = state.auth.index.unflushed_usage();
    if pending.is_empty() {
        return Ok(0);
    }
    let index = state.auth.index.clone();
    let generation = index.generation();
    let count = pending.len();
    state
        .db
        .write(move |conn, after| {
            // The index was replaced since (a dev reset): these are stale.
            if index.generation() != generation {
                return Ok(());
            }
            api_keys::store_usage(conn, &pending)?;
            after.push(move || index.mark_flushed(&pending));
            Ok::<_, crate::error::AppError>(())
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

/// Runs the expiry sweep at most once per midnight UTC, whoever asks (the
/// background job, or the dev clock after a jump). Holding the lock while
/// sweeping means a caller that finds the sweep under way waits for it.
#[derive(Debug, Default)]
pub struct Sweeper {
    last_run: tokio::sync::Mutex<Option<DateTime<Utc>>>,
}

/// Due when it never ran, or when a midnight UTC has passed since it last did.
pub fn sweep_due(last_run: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    match last_run {
        None => true,
        Some(last) => now >= next_midnight(last),
    }
}

impl Sweeper {
    /// Runs `f` while no sweep can run, then forgets when the last one ran,
    /// so the next is due at once (a dev reset: as at start).
    pub async fn forget_after<T>(&self, f: impl Future<Output = T>) -> T {
        let mut last = self.last_run.lock().await;
        let out = f.await;
        *last = None;
        out
    }

    pub async fn run_if_due(&self, state: &AppState) -> AppResult<Option<SweepReport>> {
        let mut last = self.last_run.lock().await;
        let now = state.clock.now();
        if let Some(previous) = *last
            && now < previous
        {
            // The clock went back (dev clock reset, or a wall-clock step):
            // count midnights from here.
            *last = Some(now);
            return Ok(None);
        }
        if !sweep_due(*last, now) {
            return Ok(None);
        }
        let started = std::time::Instant::now();
        let report = expiry::sweep(&state.db, now, &state.config.reminder_days).await?;
        let certificates = crate::certificate_reminders::sweep(
            &state.db,
            now,
            &state.config.certificate_reminder_days,
        )
        .await?;
        let purged = crate::oauth::tokens::purge_expired(state, now).await?;
        let unused =
            crate::lifecycle::unused_sweep(state, now, state.config.revoke_unused_after_days)
                .await?;
        state.metrics.sweep_ran(started.elapsed());
        *last = Some(now);
        if report.expired
            + report.reminded
            + certificates.written()
            + unused.warned
            + unused.revoked
            > 0
        {
            state.outbox_written.notify_one();
        }
        if unused.warned + unused.revoked > 0 {
            log::info!(
                "unused sweep: {} credential(s) revoked, {} warned",
                unused.revoked,
                unused.warned
            );
        }
        log::info!(
            "expiry sweep at {}: {} key(s) expired, {} reminder(s) written, {} expired access \
             token(s) deleted, {} certificate reminder(s) and {} certificate expiry message(s) \
             written",
            now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            report.expired,
            report.reminded,
            purged,
            certificates.reminded,
            certificates.expired
        );
        Ok(Some(report))
    }
}

/// Sleeps until the next 00:00:00 UTC of the server's clock (never a fixed
/// 24 h, so restarts and clock changes cannot drift it), then sweeps. Runs once
/// at start-up to catch up on midnights missed while the server was down.
/// Wakes at least every minute and whenever the clock is moved, so a stepped
/// wall clock or the dev clock is noticed; a failed run is retried a minute later.
pub async fn expiry_job(state: AppState, mut stop: Stop) {
    let mut clock_moved = state.clock.subscribe();
    loop {
        let wait = match state.sweeper.run_if_due(&state).await {
            Ok(_) => {
                let now = state.clock.now();
                (next_midnight(now) - now)
                    .to_std()
                    .unwrap_or(Duration::ZERO)
                    .min(Duration::from_secs(60))
            }
            Err(e) => {
                log::error!("expiry sweep failed, retrying in a minute: {e}");
                Duration::from_secs(60)
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = clock_moved.changed() => {}
            _ = stop.changed() => return,
        }
    }
}

/// Scheduled backups: one at start-up when due (a restart neither skips nor
/// repeats one), then every `backup_interval_hours` of the server's clock.
/// The copy runs on a blocking thread, never on the writer. A failed run is
/// logged and retried ten minutes later.
pub async fn backup_job(state: AppState, mut stop: Stop) {
    let mut clock_moved = state.clock.subscribe();
    loop {
        let runner = state.clone();
        let outcome = tokio::task::spawn_blocking(move || crate::backups::run_if_due(&runner))
            .await
            .unwrap_or_else(|e| Err(format!("the backup task failed: {e}")));
        let wait = match outcome {
            Ok((report, due)) => {
                if let Some(r) = report {
                    state.metrics.backup_done(true, state.clock.now());
                    log::info!(
                        "scheduled backup written to {} in {} ms (quick_check ok){}",
                        r.path.display(),
                        r.millis,
                        if r.removed.is_empty() {
                            String::new()
                        } else {
                            format!("; removed {} older one(s)", r.removed.len())
                        }
                    );
                }
                let now = state.clock.now();
                (due - now)
                    .to_std()
                    .unwrap_or(Duration::ZERO)
                    .min(Duration::from_secs(60))
            }
            Err(e) => {
                state.metrics.backup_done(false, state.clock.now());
                log::error!("scheduled backup failed, retrying in 10 minutes: {e}");
                Duration::from_secs(600)
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = clock_moved.changed() => {}
            _ = stop.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn due_at_start_then_once_per_midnight() {
        assert!(sweep_due(None, t("2030-01-01T12:00:00Z")));
        let last = Some(t("2030-01-01T12:00:00Z"));
        assert!(!sweep_due(last, t("2030-01-01T23:59:59.999Z")));
        assert!(sweep_due(last, t("2030-01-02T00:00:00Z")));
        assert!(
            sweep_due(last, t("2030-01-05T03:00:00Z")),
            "missed midnights: one catch-up run"
        );
        let at_midnight = Some(t("2030-01-02T00:00:00Z"));
        assert!(!sweep_due(at_midnight, t("2030-01-02T00:00:30Z")));
        assert!(sweep_due(at_midnight, t("2030-01-03T00:00:00Z")));
    }
}
