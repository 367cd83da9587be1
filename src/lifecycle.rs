//! Credential lifecycles beyond expiry (issue 15): the e-mails of a rotation
//! with a grace period (when it starts; an hour before it ends, if the
//! previous secret is still in use). Each is written into `outbox` in the
//! same transaction as what it announces, exactly once through the outbox's
//! UNIQUE (credential, kind, instant, days before) with the grace period's
//! end as the instant.

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
