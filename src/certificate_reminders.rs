//! Certificate expiry reminders (issue 15, part 3), written by the midnight
//! sweep beside the key notices: for each Certificate or CertificateArchive
//! item whose `NotAfter − d` has been reached for a `d` of
//! `certificate_reminder_days`, and at `NotAfter` itself, one message to each
//! active operator holding ChangeVaultSection on the item's section (directly
//! or through a group). The outbox's unique (item, kind, NotAfter, days
//! before, recipient) index makes each exactly once across reruns, crashes and
//! concurrent sweepers; a later certificate (a new NotAfter) arms new ones,
//! and a deleted item gets none. Items go by pages, one statement per page
//! for the items and all their recipients, one commit per page.

use chrono::{DateTime, Utc};

use crate::db::items::{self, ExpiringRow};
use crate::db::outbox::{self, CertificateMessage};
use crate::db::{Conn, Database};
use crate::error::AppResult;
use crate::expiry::{self, due_reminder};
use crate::outbox::MessageKind;
use crate::time::rfc3339;

/// Items examined per transaction.
const PAGE: i64 = 500;

/// Messages one run wrote.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CertificateReport {
    pub reminded: usize,
    pub expired: usize,
}

impl CertificateReport {
    fn add(&mut self, other: CertificateReport) {
        self.reminded += other.reminded;
        self.expired += other.expired;
    }

    pub fn written(&self) -> usize {
        self.reminded + self.expired
    }
}

/// Runs as of `now` through the database's writer, a commit per page.
pub async fn sweep(
    db: &Database,
    now: DateTime<Utc>,
    reminder_days: &[u32],
) -> AppResult<CertificateReport> {
    let mut report = CertificateReport::default();
    expiry::paged(db, now, reminder_days, sweep_page, |page| report.add(page)).await?;
    Ok(report)
}

/// `sweep`, for the `coffre sweep` command (no async runtime).
pub fn sweep_blocking(
    db: &Database,
    now: DateTime<Utc>,
    reminder_days: &[u32],
) -> AppResult<CertificateReport> {
    let mut report = CertificateReport::default();
    expiry::paged_blocking(db, now, reminder_days, sweep_page, |page| report.add(page))?;
    Ok(report)
}

fn sweep_page(
    conn: &Conn<'_>,
    after: i64,
    now_ms: i64,
    reminder_days: &[u32],
) -> AppResult<(CertificateReport, i64, bool)> {
    let horizon = expiry::horizon(now_ms, reminder_days);
    let rows = items::expiring_with_recipients(conn, after, horizon, PAGE)?;
    let mut report = CertificateReport::default();
    let mut last = after;
    let mut seen = 0;
    for row in &rows {
        if row.item_id != last {
            last = row.item_id;
            seen += 1;
        }
        let Some(recipient) = &row.recipient else {
            continue;
        };
        let (kind, days) = if row.not_after <= now_ms {
            (MessageKind::CertificateExpired, 0)
        } else if let Some(days) = due_reminder(now_ms, row.not_after, reminder_days) {
            (MessageKind::CertificateReminder, days)
        } else {
            continue;
        };
        let (subject, body) = letter(row, &recipient.full_name, days);
        let message = CertificateMessage {
            kind: kind.as_str(),
            vault_item_guid: row.guid,
            not_after: row.not_after,
            days_before: days,
            recipient_operator_guid: recipient.guid,
            to: &recipient.email,
            subject: &subject,
            body: &body,
        };
        if outbox::enqueue_certificate(conn, &message, now_ms)? {
            if days == 0 {
                report.expired += 1;
            } else {
                report.reminded += 1;
            }
        }
    }
    Ok((report, last, seen == PAGE))
}

/// The e-mail about `row` for `name`, `days` before NotAfter (0: at it).
/// Names the item, its section and the instant, says what to do; never
/// holds the certificate or any secret.
fn letter(row: &ExpiringRow, name: &str, days: u32) -> (String, String) {
    let what = if row.item_type == "CertificateArchive" {
        "certificate archive"
    } else {
        "certificate"
    };
    let at = rfc3339(row.not_after);
    let (subject, situation) = if days == 0 {
        (
            format!(
                "The {what} \"{}\" in vault section \"{}\" has expired",
                row.name, row.section_name
            ),
            format!(
                "The {what} \"{}\" in the coffre vault section \"{}\" stopped being valid at \
                 {at}: whatever still presents it is refused by its peers.",
                row.name, row.section_name
            ),
        )
    } else {
        let when = if days == 1 {
            "within 1 day".to_string()
        } else {
            format!("within {days} days")
        };
        (
            format!(
                "The {what} \"{}\" in vault section \"{}\" expires {when}",
                row.name, row.section_name
            ),
            format!(
                "The {what} \"{}\" in the coffre vault section \"{}\" stops being valid at \
                 {at}, {when}.",
                row.name, row.section_name
            ),
        )
    };
    let greeting = match name.trim() {
        "" => "Hello,".to_string(),
        name => format!("Hello {name},"),
    };
    let path = format!("/v4/VaultItem/{}", row.guid);
    let body = format!(
        "{greeting}\n\n{situation}\n\nWhat to do:\n\
         - Renew the certificate with whoever issued it, and store the new one in this item \
         (PUT or PATCH {path}); its reminders then follow the new expiry.\n\
         - If nothing uses it any more, delete the item (DELETE {path}); no more reminders go out.\n\n\
         Item: {guid}\nSection: {section}\nExpires at (UTC): {at}\n\n\
         You get this message because you can change this vault section \
         (ChangeVaultSection). It was written by coffre's daily expiry check and never \
         contains a certificate or a secret.\n",
        guid = row.guid,
        section = row.section_guid,
    );
    (subject, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Guid;

    fn row() -> ExpiringRow {
        ExpiringRow {
            item_id: 1,
            guid: Guid::new_random(),
            name: "sso signing".into(),
            item_type: "Certificate".into(),
            not_after: DateTime::parse_from_rfc3339("2030-06-01T00:00:00Z")
                .unwrap()
                .timestamp_millis(),
            section_guid: Guid::new_random(),
            section_name: "Identity".into(),
            recipient: None,
        }
    }

    #[test]
    fn a_reminder_names_the_item_the_section_and_the_instant() {
        let r = row();
        let (subject, body) = letter(&r, "Ada Lovelace", 30);
        assert_eq!(
            subject,
            "The certificate \"sso signing\" in vault section \"Identity\" expires within 30 days"
        );
        for needle in [
            "Hello Ada Lovelace,",
            "2030-06-01T00:00:00.000Z",
            &r.guid.to_string(),
            &r.section_guid.to_string(),
            &format!("PUT or PATCH /v4/VaultItem/{}", r.guid),
            "never contains a certificate or a secret",
        ] {
            assert!(body.contains(needle), "{needle} missing from:\n{body}");
        }
        let (subject, body) = letter(
            &ExpiringRow {
                item_type: "CertificateArchive".into(),
                ..row()
            },
            "",
            0,
        );
        assert!(subject.starts_with("The certificate archive") && subject.ends_with("has expired"));
        assert!(body.starts_with("Hello,\n") && body.contains("stopped being valid"));
    }
}
