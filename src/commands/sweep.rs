//! `coffre sweep [--now RFC3339]`: the expiry sweep, once, for cron and tests.
//! Safe beside a running server: the outbox's uniqueness keeps every notice
//! exactly once whoever sweeps.

use crate::cli::CliError;
use crate::clock::Clock;
use crate::config::Config;
use crate::datadir;
use crate::expiry;
use crate::time::rfc3339;

pub fn run(config: Config, now: Option<String>) -> Result<(), CliError> {
    if config.dev {
        return Err(CliError::usage(
            "--dev keeps nothing on disk: there is nothing to sweep",
        ));
    }
    let now = match now {
        Some(text) => chrono::DateTime::parse_from_rfc3339(text.trim())
            .map(|t| t.with_timezone(&chrono::Utc))
            .map_err(|_| {
                CliError::usage(format!(
                    "--now {text:?} is not an RFC 3339 instant, e.g. 2030-01-02T00:00:00Z"
                ))
            })?,
        None => Clock::system().now(),
    };
    let (_, db) = datadir::open_existing(&config)?;
    let report = expiry::sweep_blocking(&db, now, &config.reminder_days, |n| {
        if n.days_before == 0 {
            println!(
                "expired  {}  {:?}  at {}",
                n.api_key_guid,
                n.name,
                rfc3339(n.expires_at)
            );
        } else {
            println!(
                "reminded {}  {:?}  {} day(s) before {}",
                n.api_key_guid,
                n.name,
                n.days_before,
                rfc3339(n.expires_at)
            );
        }
    });
    let certificates = match &report {
        Ok(_) => crate::certificate_reminders::sweep_blocking(
            &db,
            now,
            &config.certificate_reminder_days,
        ),
        Err(_) => Ok(Default::default()),
    };
    db.shutdown();
    let report = report?;
    let certificates = certificates?;
    println!(
        "coffre sweep at {}: {} key(s) expired, {} reminder(s) written, {} certificate \
         reminder(s) and {} certificate expiry message(s) written",
        now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        report.expired,
        report.reminded,
        certificates.reminded,
        certificates.expired
    );
    Ok(())
}
