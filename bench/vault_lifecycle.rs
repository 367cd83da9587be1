//! Issue 15, parts 3 and 4, measured in process. `cargo bench --bench
//! vault_lifecycle`.
//!
//! 1. The cost of an item update that changes its password, with versions
//!    kept (`secret_versions_kept = 10`) and off (`0`), in the same run, each
//!    on an in-memory database (as `--dev`) so the disk's flush does not blur
//!    the work versions add (opening the stored values, comparing, sealing
//!    them again, two more rows).
//! 2. The certificate sweep over 10,000 certificate items in 100 sections,
//!    each section with 3 operators holding ChangeVaultSection (one directly,
//!    two through a group): 30,000 reminders, on a file database; then a rerun
//!    that writes nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common.rs"]
mod common;

use std::time::Instant;

use coffre::accounts::bootstrap;
use coffre::auth::Principal;
use coffre::certificate_reminders;
use coffre::clock::Clock;
use coffre::crypto::{Token, TokenKind};
use coffre::state::AppState;
use coffre::vault::items::{self, Mode, VaultItemInput};
use coffre::work::Caller;
use serde_json::json;

const UPDATES: u32 = 2000;
const SECTIONS: i64 = 100;
const ITEMS_PER_SECTION: i64 = 100;

fn admin(state: &AppState) -> Caller {
    let boot = bootstrap::ensure(state).unwrap().unwrap();
    let lookup = Token::parse(TokenKind::ApiKey, &boot.key)
        .unwrap()
        .lookup_id()
        .to_string();
    Caller::Key(Principal::from_entry(
        state.auth.index.get(&lookup).unwrap(),
    ))
}

fn input(value: serde_json::Value) -> VaultItemInput {
    serde_json::from_value(value).unwrap()
}

/// ns per password change of one item, `secret_versions_kept` = `kept`.
fn update_cost(kept: u32) -> f64 {
    let store = common::store_with(|c| c.secret_versions_kept = kept, true);
    let state = store.state;
    let caller = admin(&state);
    let section = state
        .write_blocking(caller.clone(), |w| {
            coffre::vault::sections::create(w, input_section())
        })
        .unwrap()
        .vault_section_guid;
    let item = state
        .write_blocking(caller.clone(), move |w| {
            items::create(
                w,
                input(json!({"Name": "db", "VaultSectionGuid": section,
                    "VaultItemType": "CredentialSet", "Password": "initial"})),
                None,
            )
        })
        .unwrap()
        .vault_item_guid;
    let mut n = 0u32;
    let ns = common::time(
        &format!("item password change, secret_versions_kept = {kept}"),
        UPDATES,
        || {
            n += 1;
            let password = format!("password {n}");
            state
                .write_blocking(caller.clone(), move |w| {
                    items::update(
                        w,
                        item,
                        input(json!({"Password": password})),
                        Mode::Patch,
                        None,
                    )
                })
                .unwrap();
        },
    );
    state.db.shutdown();
    ns
}

fn input_section() -> coffre::vault::sections::VaultSectionInput {
    serde_json::from_value(json!({"Name": "bench"})).unwrap()
}

fn main() {
    let off = update_cost(0);
    let on = update_cost(10);
    println!("ratio kept = 10 / kept = 0: {:.2}", on / off);

    let store = common::store();
    let db = store.db.clone();
    let now = Clock::system().now();
    let not_after = now.timestamp_millis() + 20 * 86_400_000;
    let started = Instant::now();
    db.write_blocking(move |c, _| {
        let guid = || uuid::Uuid::new_v4().to_string().to_uppercase();
        for s in 0..SECTIONS {
            let section: i64 = c.query_one(
                "INSERT INTO vault_sections (guid, name, created_at) VALUES (?1, ?2, 0) RETURNING id",
                &[&guid(), &format!("section {s}")],
                |r| r.get(0),
            )?;
            let group: i64 = c.query_one(
                "INSERT INTO operator_groups (guid, description, created_at) VALUES (?1, ?2, 0)
                 RETURNING id",
                &[&guid(), &format!("group {s}")],
                |r| r.get(0),
            )?;
            for o in 0..3 {
                let operator: i64 = c.query_one(
                    "INSERT INTO operators (guid, full_name, email, login, created_at)
                     VALUES (?1, ?2, ?3, ?3, 0) RETURNING id",
                    &[&guid(), &format!("Operator {s}-{o}"), &format!("o{s}-{o}@example.com")],
                    |r| r.get(0),
                )?;
                if o == 0 {
                    c.execute(
                        "INSERT INTO section_authorizations (guid, section_id, kind, operator_id, created_at)
                         VALUES (?1, ?2, 'ChangeVaultSection', ?3, 0)",
                        &[&guid(), &section, &operator],
                    )?;
                } else {
                    c.execute(
                        "INSERT INTO group_members (group_id, operator_id) VALUES (?1, ?2)",
                        &[&group, &operator],
                    )?;
                }
            }
            c.execute(
                "INSERT INTO section_authorizations (guid, section_id, kind, group_id, created_at)
                 VALUES (?1, ?2, 'ChangeVaultSection', ?3, 0)",
                &[&guid(), &section, &group],
            )?;
            for i in 0..ITEMS_PER_SECTION {
                c.execute(
                    "INSERT INTO vault_items (guid, section_id, item_type, name, value, not_after,
                                              created_at, updated_at)
                     VALUES (?1, ?2, 'Certificate', ?3, '', ?4, 0, 0)",
                    &[&guid(), &section, &format!("cert {s}-{i}"), &not_after],
                )?;
            }
        }
        Ok::<_, coffre::error::AppError>(())
    })
    .unwrap();
    println!(
        "seeded {} certificate items in {SECTIONS} sections, 3 recipients each, in {:.1} s",
        SECTIONS * ITEMS_PER_SECTION,
        started.elapsed().as_secs_f64()
    );
    let days = store.config.certificate_reminder_days.clone();
    let started = Instant::now();
    let report = certificate_reminders::sweep_blocking(&db, now, &days).unwrap();
    let took = started.elapsed();
    assert_eq!(report.reminded as i64, SECTIONS * ITEMS_PER_SECTION * 3);
    println!(
        "certificate sweep: {} reminders in {:.2} s ({:.0} messages/s)",
        report.reminded,
        took.as_secs_f64(),
        report.reminded as f64 / took.as_secs_f64()
    );
    let started = Instant::now();
    let again = certificate_reminders::sweep_blocking(&db, now, &days).unwrap();
    assert_eq!(again.written(), 0);
    println!(
        "rerun: {} written in {:.2} s",
        again.written(),
        started.elapsed().as_secs_f64()
    );
    db.shutdown();
}
