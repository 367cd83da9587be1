//! The expiry sweep (SPEC §6): credentials — API keys and OAuth clients — past
//! their `ExpiresAt` become `Expired` and their contact gets one e-mail;
//! those nearing it get reminders. Each
//! key's status change and e-mail are one atomic unit (a savepoint of their
//! own), keys are committed in pages so memory stays bounded whatever the
//! number of keys, and the outbox's UNIQUE constraint makes every notice
//! exactly once — across reruns, crashes and concurrent sweepers.

use chrono::{DateTime, Utc};

use crate::audit::{self, Actor, Change};
use crate::db::api_keys::{self, ApiKeyRow};
use crate::db::outbox::{self, NewMessage};
use crate::db::{Conn, Database, DbResult};
use crate::error::AppResult;
use crate::outbox::MessageKind;
use crate::time::rfc3339;
use crate::types::{CredentialKind, Guid};

/// Keys examined per transaction.
const PAGE: i64 = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub api_key_guid: Guid,
    pub name: String,
    pub expires_at: i64,
    /// 0 for the expiry notice itself.
    pub days_before: u32,
}

/// What one run did. Counts only: the notices themselves go to the caller's
/// `on_notice` page by page, so a run over any number of keys holds one page.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    pub expired: usize,
    pub reminded: usize,
}

/// The notices written by one page of the sweep.
#[derive(Debug, Default)]
struct Page {
    expired: Vec<Notice>,
    reminded: Vec<Notice>,
}

impl SweepReport {
    fn absorb(&mut self, page: Page, on_notice: &mut impl FnMut(&Notice)) {
        self.expired += page.expired.len();
        self.reminded += page.reminded.len();
        page.expired
            .iter()
            .chain(&page.reminded)
            .for_each(on_notice);
    }
}

/// What a key or client looks like to the sweep.
struct Candidate {
    id: i64,
    guid: Guid,
    kind: CredentialKind,
    /// An OAuth client's public id.
    client_id: Option<String>,
    name: String,
    masked_key: String,
    first: String,
    last: String,
    email: String,
    expiration_date: String,
    expires_at: i64,
}

impl Candidate {
    /// Keys the sweep considers always expire.
    fn from_row(row: ApiKeyRow) -> Option<Candidate> {
        Some(Candidate {
            id: row.id,
            guid: row.guid,
            kind: row.kind,
            client_id: row.client_id,
            expires_at: row.expires_at?,
            name: row.name,
            masked_key: row.masked_key,
            first: row.contact_first_name,
            last: row.contact_last_name,
            email: row.contact_email,
            expiration_date: row.expiration_date.unwrap_or_default(),
        })
    }
}

fn candidates(
    conn: &Conn<'_>,
    after_id: i64,
    now_ms: i64,
    horizon_ms: i64,
) -> DbResult<Vec<Candidate>> {
    Ok(
        api_keys::expiring(conn, after_id, now_ms.max(horizon_ms), PAGE)?
            .into_iter()
            .filter_map(Candidate::from_row)
            .collect(),
    )
}

/// The most urgent reminder due at `now` for a key expiring at `expires_at`:
/// the smallest configured number of days that already covers the time left.
/// (A server that was down for a week sends the 1-day reminder, not a stale
/// 7-day one as well.)
pub fn due_reminder(now_ms: i64, expires_at: i64, reminder_days: &[u32]) -> Option<u32> {
    if now_ms >= expires_at {
        return None;
    }
    let left = expires_at - now_ms;
    reminder_days
        .iter()
        .copied()
        .filter(|d| left <= i64::from(*d) * 86_400_000)
        .min()
}

fn greeting(c: &Candidate) -> String {
    let name = format!("{} {}", c.first, c.last).trim().to_string();
    if name.is_empty() {
        "Hello,".to_string()
    } else {
        format!("Hello {name},")
    }
}

/// How a notice names the credential, what it stops, and where it is managed.
struct Wording {
    /// "API key" / "OAuth client".
    noun: &'static str,
    /// In parentheses after the name: the masked secret (and a client's id).
    shown: String,
    /// What is refused once it has expired.
    refused: &'static str,
    /// What keeps working when the date is extended.
    kept: &'static str,
    path: String,
}

fn wording(c: &Candidate) -> Wording {
    let path = format!("{}/{}", c.kind.path(), c.guid);
    match c.kind {
        CredentialKind::ApiKey => Wording {
            noun: "API key",
            shown: c.masked_key.clone(),
            refused: "every request made with it is refused with 401",
            kept: "the same secret",
            path,
        },
        CredentialKind::OAuthClient => Wording {
            noun: "OAuth client",
            shown: format!(
                "client id {}, secret {}",
                c.client_id.as_deref().unwrap_or(""),
                c.masked_key
            ),
            refused: "its access tokens stop working and every token request made with it \
                      is refused with invalid_client",
            kept: "the same client secret",
            path,
        },
    }
}

/// Every notice has the same frame: greeting, what happened, what to do, the
/// credential and the instant, and the reminder that no secret is ever in it.
fn letter(
    c: &Candidate,
    subject: String,
    situation: String,
    actions: [String; 3],
    instant: &str,
) -> (String, String) {
    let [first, second, third] = actions;
    let body = format!(
        "{greeting}\n\n{situation}\n\nWhat to do:\n- {first}\n- {second}\n- {third}\n\n\
         {label}: {guid}\n{instant} (UTC): {at}\n\n\
         This message was written by coffre's daily expiry check. It never contains a secret.\n",
        greeting = greeting(c),
        label = if c.kind == CredentialKind::ApiKey {
            "Key"
        } else {
            "OAuth client"
        },
        guid = c.guid,
        at = rfc3339(c.expires_at),
    );
    (subject, body)
}

fn expiry_email(c: &Candidate) -> (String, String) {
    let w = wording(c);
    let (path, at) = (&w.path, rfc3339(c.expires_at));
    letter(
        c,
        format!("Your coffre {} \"{}\" has expired", w.noun, c.name),
        format!(
            "The coffre {} \"{}\" ({}), for which you are the contact, expired at {at} \
             (midnight UTC at the end of its expiration date, {}): {} now.",
            w.noun, c.name, w.shown, c.expiration_date, w.refused
        ),
        [
            format!(
                "If you still need this {}, ask a coffre administrator to extend its \
                 ExpirationDate (PUT {path}). It then works again with {}.",
                w.noun, w.kept
            ),
            format!(
                "If its secret may have been exposed, the administrator can also regenerate it \
                 (POST {path}/Regenerate), which issues a new secret and retires the old one."
            ),
            "If nothing uses it any more, nothing needs doing.".into(),
        ],
        "Expired at",
    )
}

fn reminder_email(c: &Candidate, days: u32) -> (String, String) {
    let w = wording(c);
    let (path, at) = (&w.path, rfc3339(c.expires_at));
    let when = if days == 1 {
        "within 1 day".to_string()
    } else {
        format!("within {days} days")
    };
    letter(
        c,
        format!("Your coffre {} \"{}\" expires {when}", w.noun, c.name),
        format!(
            "The coffre {} \"{}\" ({}), for which you are the contact, expires at {at} \
             (midnight UTC at the end of its expiration date, {}), {when}. After that instant \
             {}.",
            w.noun, c.name, w.shown, c.expiration_date, w.refused
        ),
        [
            format!(
                "If you still need this {} after that date, ask a coffre administrator to extend \
                 its ExpirationDate (PUT {path}) before then; it keeps {}.",
                w.noun, w.kept
            ),
            format!(
                "If its secret may have been exposed, the administrator can regenerate it \
                 (POST {path}/Regenerate) to issue a new secret."
            ),
            "If nothing will use it any more, let it expire.".into(),
        ],
        "Expires at",
    )
}

/// One key, atomically: status and e-mail, or nothing.
fn sweep_key(
    conn: &Conn<'_>,
    c: &Candidate,
    now_ms: i64,
    reminder_days: &[u32],
    report: &mut Page,
) -> AppResult<()> {
    conn.batch("SAVEPOINT sweep_key")?;
    let result = (|| -> AppResult<()> {
        if c.expires_at <= now_ms {
            // Guarded: a concurrent sweeper may have done it a moment ago.
            let changed = api_keys::mark_expired(conn, c.id, now_ms)?;
            let (subject, body) = expiry_email(c);
            let message = NewMessage {
                kind: MessageKind::KeyExpired.as_str(),
                api_key_guid: c.guid,
                credential_kind: c.kind,
                expires_at: c.expires_at,
                days_before: 0,
                to: &c.email,
                subject: &subject,
                body: &body,
            };
            let written = outbox::enqueue(conn, &message, now_ms)?;
            if changed {
                audit::record(
                    conn,
                    &Actor::system("expiry sweep"),
                    now_ms,
                    Change::new(c.kind.as_str(), c.guid, "Expired", String::new()),
                )?;
            }
            if written {
                report.expired.push(Notice {
                    api_key_guid: c.guid,
                    name: c.name.clone(),
                    expires_at: c.expires_at,
                    days_before: 0,
                });
            }
        } else if let Some(days) = due_reminder(now_ms, c.expires_at, reminder_days) {
            let (subject, body) = reminder_email(c, days);
            let message = NewMessage {
                kind: MessageKind::ExpiryReminder.as_str(),
                api_key_guid: c.guid,
                credential_kind: c.kind,
                expires_at: c.expires_at,
                days_before: days,
                to: &c.email,
                subject: &subject,
                body: &body,
            };
            if outbox::enqueue(conn, &message, now_ms)? {
                report.reminded.push(Notice {
                    api_key_guid: c.guid,
                    name: c.name.clone(),
                    expires_at: c.expires_at,
                    days_before: days,
                });
            }
        }
        Ok(())
    })();
    match result {
        Ok(()) => conn.batch("RELEASE sweep_key")?,
        Err(e) => {
            conn.batch("ROLLBACK TO sweep_key; RELEASE sweep_key")?;
            log::error!("expiry sweep: key {} skipped, will be retried: {e}", c.guid);
        }
    }
    Ok(())
}

/// Runs the sweep as of `now`. Pages of keys go through the database's
/// writer; each page is one commit.
pub async fn sweep(
    db: &Database,
    now: DateTime<Utc>,
    reminder_days: &[u32],
) -> AppResult<SweepReport> {
    sweep_with(db, now, reminder_days, |_| {}).await
}

/// `sweep`, telling `on_notice` about every notice written.
pub async fn sweep_with(
    db: &Database,
    now: DateTime<Utc>,
    reminder_days: &[u32],
    mut on_notice: impl FnMut(&Notice),
) -> AppResult<SweepReport> {
    let mut report = SweepReport::default();
    paged(db, now, reminder_days, sweep_page, |page| {
        report.absorb(page, &mut on_notice)
    })
    .await?;
    Ok(report)
}

/// `sweep_with`, for the `coffre sweep` command (no async runtime).
pub fn sweep_blocking(
    db: &Database,
    now: DateTime<Utc>,
    reminder_days: &[u32],
    mut on_notice: impl FnMut(&Notice),
) -> AppResult<SweepReport> {
    let mut report = SweepReport::default();
    paged_blocking(db, now, reminder_days, sweep_page, |page| {
        report.absorb(page, &mut on_notice)
    })?;
    Ok(report)
}

/// One page of a sweep, read and written in one commit: `(page, after, now
/// in ms, reminder days)` → what it did, the last row id it read, and whether
/// more rows may follow.
pub(crate) type PageFn<P> = fn(&Conn<'_>, i64, i64, &[u32]) -> AppResult<(P, i64, bool)>;

/// Runs `page` through the writer until a page says nothing follows, a commit
/// per page, handing each page's result to `absorb`. Shared by the key sweep
/// and the certificate reminders.
pub(crate) async fn paged<P: Send + 'static>(
    db: &Database,
    now: DateTime<Utc>,
    reminder_days: &[u32],
    page: PageFn<P>,
    mut absorb: impl FnMut(P),
) -> AppResult<()> {
    let mut after = 0;
    loop {
        let days = reminder_days.to_vec();
        let (done, last, more) = db
            .write(move |conn, _| page(conn, after, now.timestamp_millis(), &days))
            .await?;
        absorb(done);
        if !more {
            return Ok(());
        }
        after = last;
    }
}

/// `paged`, for the commands that run without an async runtime.
pub(crate) fn paged_blocking<P: Send + 'static>(
    db: &Database,
    now: DateTime<Utc>,
    reminder_days: &[u32],
    page: PageFn<P>,
    mut absorb: impl FnMut(P),
) -> AppResult<()> {
    let mut after = 0;
    loop {
        let days = reminder_days.to_vec();
        let (done, last, more) =
            db.write_blocking(move |conn, _| page(conn, after, now.timestamp_millis(), &days))?;
        absorb(done);
        if !more {
            return Ok(());
        }
        after = last;
    }
}

/// How far ahead a sweep at `now_ms` looks: its longest reminder offset.
pub(crate) fn horizon(now_ms: i64, reminder_days: &[u32]) -> i64 {
    now_ms + i64::from(reminder_days.iter().copied().max().unwrap_or(0)) * 86_400_000
}

fn sweep_page(
    conn: &Conn<'_>,
    after: i64,
    now_ms: i64,
    reminder_days: &[u32],
) -> AppResult<(Page, i64, bool)> {
    let horizon = horizon(now_ms, reminder_days);
    let keys = candidates(conn, after, now_ms, horizon)?;
    let mut report = Page::default();
    for c in &keys {
        sweep_key(conn, c, now_ms, reminder_days, &mut report)?;
    }
    let last = keys.last().map_or(after, |c| c.id);
    Ok((report, last, keys.len() as i64 == PAGE))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    #[test]
    fn the_most_urgent_due_reminder_wins() {
        let expires = 100 * DAY;
        let days = [7, 1];
        assert_eq!(due_reminder(expires - 8 * DAY, expires, &days), None);
        assert_eq!(due_reminder(expires - 7 * DAY, expires, &days), Some(7));
        assert_eq!(due_reminder(expires - 2 * DAY, expires, &days), Some(7));
        assert_eq!(due_reminder(expires - DAY, expires, &days), Some(1));
        assert_eq!(due_reminder(expires - 1, expires, &days), Some(1));
        assert_eq!(
            due_reminder(expires, expires, &days),
            None,
            "expired: the expiry notice, not a reminder"
        );
        assert_eq!(
            due_reminder(expires - DAY, expires, &[]),
            None,
            "reminders off"
        );
    }

    fn candidate() -> Candidate {
        Candidate {
            id: 1,
            guid: Guid::new_random(),
            kind: CredentialKind::ApiKey,
            client_id: None,
            name: "Supplier feed".into(),
            masked_key: "coffre_AbCd…9xYz".into(),
            first: "Ada".into(),
            last: "Lovelace".into(),
            email: "ada@example.com".into(),
            expiration_date: "2030-01-01".into(),
            expires_at: DateTime::parse_from_rfc3339("2030-01-02T00:00:00Z")
                .unwrap()
                .timestamp_millis(),
        }
    }

    #[test]
    fn the_expiry_e_mail_says_what_when_and_what_to_do() {
        let c = candidate();
        let (subject, body) = expiry_email(&c);
        assert!(subject.contains("Supplier feed") && subject.contains("expired"));
        for needle in [
            "Hello Ada Lovelace",
            "coffre_AbCd…9xYz",
            "2030-01-02T00:00:00.000Z",
            "2030-01-01",
            "extend its ExpirationDate",
            "Regenerate",
            &c.guid.to_string(),
        ] {
            assert!(body.contains(needle), "{needle} missing from:\n{body}");
        }
    }

    #[test]
    fn a_client_s_e_mails_say_oauth_client_and_name_its_tokens() {
        let c = Candidate {
            kind: CredentialKind::OAuthClient,
            client_id: Some("coffreci_AAAABBBBCCCCDDDDEEEE".into()),
            masked_key: "coffrecs_AbCd…9xYz".into(),
            ..candidate()
        };
        let (subject, body) = expiry_email(&c);
        assert_eq!(
            subject,
            "Your coffre OAuth client \"Supplier feed\" has expired"
        );
        for needle in [
            "The coffre OAuth client \"Supplier feed\"",
            "coffreci_AAAABBBBCCCCDDDDEEEE",
            "coffrecs_AbCd…9xYz",
            "access tokens stop working",
            &format!("PUT /v4/OAuthClient/{}", c.guid),
            &format!("POST /v4/OAuthClient/{}/Regenerate", c.guid),
            &format!("OAuth client: {}", c.guid),
        ] {
            assert!(body.contains(needle), "{needle} missing from:\n{body}");
        }
        assert!(
            !body.contains("API key") && !body.contains("/v4/ApiKey"),
            "{body}"
        );
        let (subject, body) = reminder_email(&c, 7);
        assert!(subject.starts_with("Your coffre OAuth client"), "{subject}");
        assert!(body.contains("PUT /v4/OAuthClient/") && !body.contains("API key"));
    }

    #[test]
    fn a_reminder_says_how_long_is_left() {
        let (subject, body) = reminder_email(&candidate(), 7);
        assert!(subject.ends_with("expires within 7 days"), "{subject}");
        assert!(body.contains("2030-01-02T00:00:00.000Z") && body.contains("before then"));
        assert!(reminder_email(&candidate(), 1).0.ends_with("within 1 day"));
    }
}
