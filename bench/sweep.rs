//! The expiry sweep at scale: 100,000 keys of which 10,000 have expired, in
//! one pass. Prints its duration and how much the process's peak memory grew.
//! `cargo bench --bench sweep`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common.rs"]
mod common;

use std::time::Instant;

use coffre::clock::Clock;
use coffre::expiry;

const KEYS: i64 = 100_000;
const EXPIRED: i64 = 10_000;

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .parse()
        .unwrap()
}

fn main() {
    let common::Store {
        config,
        db,
        dir: _dir,
        ..
    } = common::store();
    let now = Clock::system().now();
    let now_ms = now.timestamp_millis();
    let started = Instant::now();
    db.write_blocking(move |c, _| {
        for i in 0..KEYS {
            let operator: i64 = c.query_one(
                "INSERT INTO operators (guid, full_name, email, login, created_at)
                 VALUES (?1, ?2, ?3, ?4, 0) RETURNING id",
                &[
                    &uuid::Uuid::new_v4().to_string().to_uppercase(),
                    &format!("Contact {i}"),
                    &format!("c{i}@example.com"),
                    &format!("c{i}"),
                ],
                |r| r.get(0),
            )?;
            // Every tenth key expired yesterday; the rest expire in a year.
            let (date, at) = if i % 10 == 0 {
                ("2000-01-01", now_ms - 86_400_000)
            } else {
                ("2100-01-01", now_ms + 365 * 86_400_000)
            };
            c.execute(
                "INSERT INTO api_keys (guid, lookup_id, secret_hash, masked_key, name, operator_id,
                                       expiration_date, expires_at, created_at, updated_at)
                 VALUES (?1, ?2, zeroblob(32), 'coffre_xxxx…xxxx', ?3, ?4, ?5, ?6, 0, 0)",
                &[
                    &uuid::Uuid::new_v4().to_string().to_uppercase(),
                    &format!("{i:012}"),
                    &format!("key {i}"),
                    &operator,
                    &date,
                    &at,
                ],
            )?;
        }
        Ok::<_, coffre::error::AppError>(())
    })
    .unwrap();
    println!(
        "seeded {KEYS} keys ({EXPIRED} expired) in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let before = peak_rss_kib();
    let started = Instant::now();
    let report = expiry::sweep_blocking(&db, now, &config.reminder_days, |_| {}).unwrap();
    let took = started.elapsed();
    let after = peak_rss_kib();
    assert_eq!(report.expired as i64, EXPIRED);
    let mails: i64 = db
        .read_blocking(|c| {
            Ok::<_, coffre::error::AppError>(c.query_one(
                "SELECT count(*) FROM outbox",
                &[],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    println!(
        "sweep: {} keys expired, {} e-mails, in {:.2} s ({:.0} keys/s); peak RSS {} MiB before, {} MiB after",
        report.expired,
        mails,
        took.as_secs_f64(),
        EXPIRED as f64 / took.as_secs_f64(),
        before / 1024,
        after / 1024
    );
    let started = Instant::now();
    let again = expiry::sweep_blocking(&db, now, &config.reminder_days, |_| {}).unwrap();
    println!(
        "second sweep: {} expired, in {:.2} s",
        again.expired,
        started.elapsed().as_secs_f64()
    );
    db.shutdown();
}
