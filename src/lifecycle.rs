//! Credential lifecycles beyond expiry (issue 15): the e-mails of a rotation
//! with a grace period (when it starts; an hour before it ends, if the
//! previous secret is still in use), and the revocation of credentials unused
//! for `revoke_unused_after_days` (a warning 7 days before, then the
//! revocation). Each e-mail is written into `outbox` in the same transaction
//! as what it announces, exactly once through the outbox's UNIQUE
//! (credential, kind, instant, days before): the instant is the grace
//! period's end, or the planned revocation.

use std::time::Duration;

use crate::db::api_keys::{self, ApiKeyRow};
use crate::db::outbox::{self, NewMessage};
use crate::db::{Conn, DbResult};
use crate::error::AppResult;
use crate::outbox::MessageKind;
use crate::state::AppState;
use crate::time::rfc3339;
use crate::types::CredentialKind;
use crate::work::Work;

/// How long before a grace period ends its reminder is due.
pub const GRACE_REMINDER_MS: i64 = 3_600_000;

fn noun(kind: CredentialKind) -> &'static str {
    match kind {
        CredentialKind::ApiKey => "API key",
        CredentialKind::OAuthClient => "OAuth client",
    }
}

fn greeting(row: &ApiKeyRow) -> String {
    let name = format!("{} {}", row.contact_first_name, row.contact_last_name)
        .trim()
        .to_string();
    if name.is_empty() {
        "Hello,".to_string()
    } else {
        format!("Hello {name},")
    }
}

/// One e-mail about `row` to its contact, keyed by `instant`; true if written
/// (false: this very notice exists already).
fn notify(
    conn: &Conn<'_>,
    row: &ApiKeyRow,
    kind: MessageKind,
    instant: i64,
    subject: &str,
    situation: &str,
    now_ms: i64,
) -> DbResult<bool> {
    let body = format!(
        "{greeting}\n\n{situation}\n\n{label}: {guid} ({path}/{guid})\n\n\
         This message was written by coffre. It never contains a secret.\n",
        greeting = greeting(row),
        label = noun(row.kind),
        guid = row.guid,
        path = row.kind.path(),
    );
    outbox::enqueue(
        conn,
        &NewMessage {
            kind: kind.as_str(),
            api_key_guid: row.guid,
            credential_kind: row.kind,
            expires_at: instant,
            days_before: 0,
            to: &row.contact_email,
            subject,
            body: &body,
        },
        now_ms,
    )
}

/// A Regenerate with a grace period just committed `row`'s new secret: the
/// contact learns until when the previous one works.
pub fn grace_started(w: &Work<'_>, row: &ApiKeyRow) -> AppResult<()> {
    let Some(previous) = &row.previous else {
        return Ok(());
    };
    let until = rfc3339(previous.expires_at);
    let noun = noun(row.kind);
    let subject = format!(
        "Your coffre {noun} \"{}\" was regenerated; its previous secret works until {until}",
        row.name
    );
    let situation = format!(
        "The {noun} \"{}\" has a new secret ({}). Its previous secret ({}) keeps working \
         until {until} (UTC), then every request made with it is refused with 401.\n\n\
         What to do: put the new secret in every client that uses the old one before then. \
         An administrator sees when the old secret was last used in the {noun}'s history \
         (SecretUsed: Previous).",
        row.name, row.masked_key, previous.masked_key
    );
    notify(
        w.conn,
        row,
        MessageKind::GracePeriodStarted,
        previous.expires_at,
        &subject,
        &situation,
        w.now_ms(),
    )?;
    w.after_commit({
        let wake = w.state.grace_changed.clone();
        move || wake.notify_one()
    })
}

/// Reminders due at `now_ms` for grace periods ending within the hour: to
/// each credential whose previous secret was used in the hour before `now_ms`
/// (as flushed). Returns how many were written; each is exactly once, whoever
/// runs this and however often.
pub fn grace_reminders(conn: &Conn<'_>, now_ms: i64) -> DbResult<usize> {
    let mut written = 0;
    for row in api_keys::grace_ending(conn, now_ms)? {
        let Some(previous) = &row.previous else {
            continue;
        };
        let used_lately = previous
            .last_used_at
            .is_some_and(|at| at > now_ms - GRACE_REMINDER_MS);
        if !used_lately {
            continue;
        }
        let until = rfc3339(previous.expires_at);
        let noun = noun(row.kind);
        let subject = format!(
            "Your coffre {noun} \"{}\": its previous secret stops working at {until}",
            row.name
        );
        let situation = format!(
            "The previous secret ({}) of the {noun} \"{}\" stops working at {until} (UTC), \
             within the hour, and something used it in the last hour (last at {}).\n\n\
             What to do: replace it with the {noun}'s current secret ({}) now; after {until} \
             every request made with the old one is refused with 401.",
            previous.masked_key,
            row.name,
            rfc3339(previous.last_used_at.unwrap_or(0)),
            row.masked_key
        );
        if notify(
            conn,
            &row,
            MessageKind::GracePeriodEnding,
            previous.expires_at,
            &subject,
            &situation,
            now_ms,
        )? {
            written += 1;
        }
    }
    Ok(written)
}

/// Flushes the usage counted in memory (the previous secrets' last use among
/// it), writes the grace reminders due now, and says when the next is due
/// (Unix ms), if any grace period is running.
pub async fn run_grace_reminders(state: &AppState) -> AppResult<Option<i64>> {
    crate::scheduler::flush_last_used(state).await?;
    let now = state.clock.now_millis();
    let (written, next) = state
        .db
        .write(move |conn, _| {
            let written = grace_reminders(conn, now)?;
            let next = api_keys::next_grace_end(conn, now)?;
            Ok::<_, crate::error::AppError>((written, next))
        })
        .await?;
    if written > 0 {
        state.outbox_written.notify_one();
        log::info!("{written} grace-period reminder(s) written");
    }
    Ok(next.map(|end| end - GRACE_REMINDER_MS))
}

/// Writes each grace reminder at its instant (an hour before the grace period
/// ends): sleeps until the next one, waking sooner when a Regenerate starts a
/// grace period or the clock is moved, and at least every minute (a stepped
/// wall clock). A failed run is retried a minute later.
pub async fn grace_reminder_job(state: AppState, mut stop: crate::scheduler::Stop) {
    let mut clock_moved = state.clock.subscribe();
    let minute = Duration::from_secs(60);
    loop {
        let wait = match run_grace_reminders(&state).await {
            Ok(next) => next.map_or(minute, |at| {
                let ms = u64::try_from(at - state.clock.now_millis()).unwrap_or(0);
                Duration::from_millis(ms).min(minute)
            }),
            Err(e) => {
                log::error!("grace reminders failed, retrying in a minute: {e}");
                minute
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = state.grace_changed.notified() => {}
            _ = clock_moved.changed() => {}
            _ = stop.changed() => return,
        }
    }
}

/// Days before an unused credential's revocation its contact is warned.
pub const UNUSED_WARNING_DAYS: u32 = 7;
const DAY_MS: i64 = 86_400_000;
/// Credentials examined per transaction.
const PAGE: i64 = 200;

/// What one unused sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct UnusedReport {
    pub warned: usize,
    pub revoked: usize,
}

/// When a credential idle since `idle_since` is revoked, after `days` unused.
pub fn unused_revocation_at(idle_since: i64, days: u32) -> i64 {
    idle_since + i64::from(days) * DAY_MS
}

/// One credential: revoked if unused `days` by `now_ms` (with its e-mail and
/// a history line, or nothing: its own savepoint), else warned once within
/// the last 7 days. The e-mails are keyed by the revocation instant, which
/// moves with every use: a use re-arms both.
fn unused_one(
    conn: &Conn<'_>,
    row: &ApiKeyRow,
    days: u32,
    now_ms: i64,
    report: &mut UnusedReport,
    revoked: &mut Vec<i64>,
) -> AppResult<()> {
    let idle_since = row.last_used_at.unwrap_or(0).max(row.active_since);
    let revoke_at = unused_revocation_at(idle_since, days);
    let warn_at = revoke_at - i64::from(UNUSED_WARNING_DAYS) * DAY_MS;
    if now_ms < warn_at {
        return Ok(());
    }
    let noun = noun(row.kind);
    let since = rfc3339(idle_since);
    let when = rfc3339(revoke_at);
    conn.batch("SAVEPOINT unused_one")?;
    let result = (|| -> AppResult<()> {
        if now_ms >= revoke_at {
            // Guarded: a concurrent sweeper, a use or a change meanwhile wins.
            if !api_keys::revoke_unused(conn, row.id, row.active_since, idle_since, now_ms)? {
                return Ok(());
            }
            crate::audit::record(
                conn,
                &crate::audit::Actor::system("unused sweep"),
                now_ms,
                crate::audit::Change::new(
                    row.kind.as_str(),
                    row.guid,
                    "Revoked",
                    format!("Unused for {days} days (no authenticated request since {since})"),
                ),
            )?;
            let subject = format!(
                "Your coffre {noun} \"{}\" was revoked: unused for {days} days",
                row.name
            );
            let situation = format!(
                "The {noun} \"{}\" ({}) made no authenticated request since {since} (UTC), so \
                 coffre revoked it at {} as this server does after {days} unused days. Every \
                 request made with it is now refused with 401.\n\nWhat to do: if it is still \
                 needed, an administrator can give it a new secret (POST {}/{}/Regenerate).",
                row.name,
                row.masked_key,
                rfc3339(now_ms),
                row.kind.path(),
                row.guid
            );
            notify(
                conn,
                row,
                MessageKind::UnusedRevoked,
                revoke_at,
                &subject,
                &situation,
                now_ms,
            )?;
            revoked.push(row.id);
            report.revoked += 1;
        } else {
            let subject = format!(
                "Your coffre {noun} \"{}\" will be revoked on {when} unless used",
                row.name
            );
            let situation = format!(
                "The {noun} \"{}\" ({}) made no authenticated request since {since} (UTC). \
                 This server revokes credentials unused for {days} days: it will be revoked \
                 at {when} (UTC) unless it is used before then.\n\nWhat to do: if it is still \
                 needed, use it once (any authenticated request) before then; if not, let it \
                 go or delete it.",
                row.name, row.masked_key
            );
            if notify(
                conn,
                row,
                MessageKind::UnusedWarning,
                revoke_at,
                &subject,
                &situation,
                now_ms,
            )? {
                report.warned += 1;
            }
        }
        Ok(())
    })();
    match result {
        Ok(()) => conn.batch("RELEASE unused_one")?,
        Err(e) => {
            conn.batch("ROLLBACK TO unused_one; RELEASE unused_one")?;
            log::error!("unused sweep: {} skipped, will be retried: {e}", row.guid);
        }
    }
    Ok(())
}

/// Revokes the credentials unused `days` at `now` and warns those 7 days
/// from it (`revoke_unused_after_days`), page by page through the writer.
/// The usage counted in memory is flushed first; each page's revocations
/// reach the authentication index (and an OAuth client's tokens die) after
/// its commit. Exactly once per credential and revocation instant, across
/// reruns, crashes and concurrent sweeps.
pub async fn unused_sweep(
    state: &AppState,
    now: chrono::DateTime<chrono::Utc>,
    days: u32,
) -> AppResult<UnusedReport> {
    let mut report = UnusedReport::default();
    if days == 0 {
        return Ok(report);
    }
    crate::scheduler::flush_last_used(state).await?;
    let now_ms = now.timestamp_millis();
    let mut after = 0;
    loop {
        let index = state.auth.index.clone();
        let tokens = state.auth.tokens.clone();
        let (page, last, more) = state
            .db
            .write(move |conn, commit| {
                let rows = api_keys::usable(conn, after, now_ms, PAGE)?;
                let mut page = UnusedReport::default();
                let mut revoked = Vec::new();
                for row in &rows {
                    unused_one(conn, row, days, now_ms, &mut page, &mut revoked)?;
                }
                for id in revoked {
                    let entry = crate::auth::index::load_entry(conn, id)?;
                    let gone = crate::db::oauth_tokens::delete_for_credential(conn, id)?;
                    let (index, tokens) = (index.clone(), tokens.clone());
                    commit.push(move || {
                        index.upsert(entry);
                        tokens.remove(&gone);
                    });
                }
                let last = rows.last().map_or(after, |r| r.id);
                Ok::<_, crate::error::AppError>((page, last, rows.len() as i64 == PAGE))
            })
            .await?;
        report.warned += page.warned;
        report.revoked += page.revoked;
        if !more {
            return Ok(report);
        }
        after = last;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unused_credential_is_revoked_whole_days_after_it_was_last_idle() {
        let since = 1_893_456_000_000; // 2030-01-01T00:00:00Z
        assert_eq!(
            rfc3339(unused_revocation_at(since, 30)),
            "2030-01-31T00:00:00.000Z"
        );
    }
}
