//! The sender: a background job in `serve` that delivers due Pending messages
//! over one SMTP session at a time and records each outcome through the
//! writer — never holding the writer while it talks to the network. A failed
//! attempt is retried after `mail_retry_initial_secs`, then twice as long each
//! time, until `mail_max_attempts`; a 5xx answer to a message fails it at once.
//! A failure to open a session (server down, TLS, credentials) is an attempt
//! for every message it held up. Only `serve` sends, and two servers never
//! share a data dir, so nobody else picks the same message; a crash between
//! "sent" and "recorded" resends it with the same Message-ID.

use std::time::Duration;

use crate::db::outbox::{self as repo, OutboxRow};
use crate::error::{AppError, AppResult};
use crate::scheduler::Stop;
use crate::state::AppState;

use super::message::{self, Draft};
use super::smtp::{Failure, Mailer, Session};

/// Messages read per query.
const BATCH: i64 = 100;
/// The longest wait between two attempts at one message.
const MAX_DELAY: Duration = Duration::from_secs(86_400);
/// Idle, the job looks again at least this often (messages written by
/// another process, e.g. `coffre sweep`).
const IDLE_WAKE: Duration = Duration::from_secs(60);

/// How long after its `attempts`-th failure a message is tried again:
/// `initial`, then doubling, at most a day.
pub fn retry_delay(initial: Duration, attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(20);
    initial.saturating_mul(1 << doublings).min(MAX_DELAY)
}

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
}

/// Delivers the outbox until stopped. Sleeps until the next message is due
/// (by the server's clock), waking early when the sweep writes messages or
/// the clock is moved.
pub async fn delivery_job(state: AppState, mut stop: Stop) {
    let mailer = match Mailer::from_config(&state.config) {
        Ok(Some(mailer)) => mailer,
        Ok(None) => return,
        Err(e) => {
            // `Config::validate` built it already; this cannot fail unless the CA file went away.
            log::error!("outbox delivery is off: {e}");
            return;
        }
    };
    log::info!("outbox delivery through {}", mailer.describe());
    let mut clock_moved = state.clock.subscribe();
    loop {
        let wait = match deliver_due(&state, &mailer, &stop).await {
            Ok(round) => {
                if round != Round::default() {
                    log::info!(
                        "outbox: {} sent, {} to retry, {} failed",
                        round.sent,
                        round.retrying,
                        round.failed
                    );
                }
                until_next_due(&state).await.unwrap_or(IDLE_WAKE)
            }
            Err(e) => {
                log::error!("outbox delivery failed, retrying in a minute: {e}");
                IDLE_WAKE
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = state.outbox_written.notified() => {}
            _ = clock_moved.changed() => {}
            _ = stop.changed() => return,
        }
    }
}

async fn until_next_due(state: &AppState) -> AppResult<Duration> {
    let next = state
        .db
        .read(|c| Ok::<_, AppError>(repo::next_due(c)?))
        .await?;
    Ok(match next {
        Some(at) => Duration::from_millis((at - state.clock.now_millis()).max(0) as u64),
        None => IDLE_WAKE,
    }
    .min(IDLE_WAKE))
}

/// Sends every message due now, batch after batch, over as few sessions as
/// possible. Stops between messages when asked to.
pub async fn deliver_due(state: &AppState, mailer: &Mailer, stop: &Stop) -> AppResult<Round> {
    let mut round = Round::default();
    let mut session: Option<Session> = None;
    // Once a session cannot be opened, the rest of the round fails the same
    // way without knocking again (a down server answers slowly, if at all).
    let mut unreachable: Option<Failure> = None;
    let result = async {
        loop {
            let now = state.clock.now_millis();
            let due = state
                .db
                .read(move |c| Ok::<_, AppError>(repo::due(c, now, BATCH)?))
                .await?;
            if due.is_empty() {
                return Ok(());
            }
            let mut records = Vec::with_capacity(due.len());
            for row in due {
                if *stop.borrow() {
                    break;
                }
                let id = message::message_id(&row.guid.to_text(), mailer.domain());
                let outcome = match &unreachable {
                    Some(f) => Err(f.clone()),
                    None => send_one(mailer, &mut session, &row, &id).await,
                };
                if let Err(f) = &outcome
                    && session.is_none()
                    && !f.permanent
                {
                    unreachable = Some(f.clone());
                }
                let verdict = verdict(state, &row, outcome);
                // The reasons are already free of credentials.
                match &verdict {
                    Verdict::Sent => round.sent += 1,
                    Verdict::Retry { error, .. } => {
                        round.retrying += 1;
                        log::warn!("outbox message {}: will retry: {error}", row.guid);
                    }
                    Verdict::Failed(error) => {
                        round.failed += 1;
                        log::warn!("outbox message {}: Failed: {error}", row.guid);
                    }
                }
                // Recorded at once, without waiting: the writer commits these
                // together while the next message is on its way.
                records.push(tokio::spawn(record(state.clone(), row.id, id, verdict)));
            }
            for r in records {
                r.await
                    .map_err(|e| AppError::internal(format!("outbox record task: {e}")))??;
            }
            if *stop.borrow() {
                return Ok(());
            }
        }
    }
    .await;
    if let Some(s) = session {
        s.close().await;
    }
    result.map(|()| round)
}

/// Builds and sends one message, opening a session if there is none usable.
async fn send_one(
    mailer: &Mailer,
    session: &mut Option<Session>,
    row: &OutboxRow,
    message_id: &str,
) -> Result<(), Failure> {
    let draft = Draft {
        guid: &row.guid.to_text(),
        to: &row.to,
        subject: &row.subject,
        body: &row.body,
        created_at_ms: row.created_at,
    };
    let (envelope, bytes) =
        message::build(&draft, mailer.from(), message_id).map_err(Failure::permanent)?;
    if session.as_ref().is_some_and(|s| !s.is_usable()) {
        *session = None;
    }
    let open = match session {
        Some(s) => s,
        None => session.insert(mailer.open().await?),
    };
    mailer.send(open, &envelope, &bytes).await
}

enum Verdict {
    Sent,
    Retry { error: String, at_ms: i64 },
    Failed(String),
}

fn verdict(state: &AppState, row: &OutboxRow, outcome: Result<(), Failure>) -> Verdict {
    match outcome {
        Ok(()) => Verdict::Sent,
        Err(f) => {
            let attempts = row.attempts + 1;
            if f.permanent || attempts >= state.config.mail_max_attempts {
                return Verdict::Failed(f.reason);
            }
            let delay = retry_delay(
                Duration::from_secs(state.config.mail_retry_initial_secs),
                attempts,
            );
            Verdict::Retry {
                error: f.reason,
                at_ms: state.clock.now_millis() + delay.as_millis() as i64,
            }
        }
    }
}

async fn record(state: AppState, id: i64, message_id: String, verdict: Verdict) -> AppResult<()> {
    let now = state.clock.now_millis();
    state
        .db
        .write(move |c, _| {
            match &verdict {
                Verdict::Sent => repo::mark_sent(c, id, &message_id, now)?,
                Verdict::Retry { error, at_ms } => {
                    repo::mark_attempt_failed(c, id, &message_id, error, false, *at_ms)?
                }
                Verdict::Failed(error) => {
                    repo::mark_attempt_failed(c, id, &message_id, error, true, now)?
                }
            };
            Ok::<_, AppError>(())
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_double_from_the_initial_delay_up_to_a_day() {
        let s = Duration::from_secs;
        assert_eq!(retry_delay(s(30), 1), s(30));
        assert_eq!(retry_delay(s(30), 2), s(60));
        assert_eq!(retry_delay(s(30), 11), s(30 * 1024));
        assert_eq!(retry_delay(s(30), 13), s(86_400));
        assert_eq!(retry_delay(s(86_400), 100), s(86_400));
    }
}
