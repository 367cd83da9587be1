//! In-process cost of the statements behind the hot endpoints, without HTTP
//! or thread hops: what `GET /v4/VaultItem/{guid}` adds over `GET /health`.
//! `cargo bench --bench queries`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common.rs"]
mod common;

use std::hint::black_box;

use coffre::accounts::bootstrap;
use coffre::auth::Principal;
use coffre::db::{Conn, items};
use coffre::error::AppError;
use coffre::types::Guid;
use coffre::vault::items::{ItemBody, columns};
use coffre::work::Caller;

fn add_items(db: &coffre::db::Database, guids: Vec<Guid>) {
    db.write_blocking(move |c, _| {
        let section: i64 = c.query_one("SELECT id FROM vault_sections", &[], |r| r.get(0))?;
        let body = ItemBody::CredentialSet {
            user_name: "someone@example.com".into(),
        };
        for guid in guids {
            items::insert(
                c,
                guid,
                section,
                "CredentialSet",
                &columns("bench", "", &body),
                0,
            )?;
        }
        Ok::<_, AppError>(())
    })
    .unwrap();
}

fn main() {
    let common::Store {
        db,
        state,
        dir: _dir,
        ..
    } = common::store();
    let boot = bootstrap::ensure(&state).unwrap().unwrap();
    // 1,000 items in the default section.
    let guids: Vec<Guid> = (0..1000).map(|_| Guid::new_random()).collect();
    add_items(&db, guids.clone());
    let operator: i64 = db
        .read_blocking(|c| {
            Ok::<_, AppError>(c.query_one("SELECT id FROM operators", &[], |r| r.get(0))?)
        })
        .unwrap();
    let target = guids[500];
    let raw = db.connect().unwrap();
    let conn = Conn::sqlite(&raw);
    let caller = Caller::Key(Principal::from_entry(
        state
            .auth
            .index
            .get(&boot.key[7..19])
            .expect("the bootstrap key is in the index"),
    ));

    let n = 200_000;
    let base = common::time("SELECT 1", n, || {
        black_box(
            raw.prepare_cached("SELECT 1")
                .unwrap()
                .query_row([], |r| r.get::<_, i64>(0))
                .unwrap(),
        );
    });
    common::time("SELECT user_version (reads the file header)", n, || {
        black_box(
            raw.prepare_cached("SELECT user_version FROM pragma_user_version")
                .unwrap()
                .query_row([], |r| r.get::<_, i64>(0))
                .unwrap(),
        );
    });
    let item_ns = common::time("item by GUID with the caller's rights", n, || {
        black_box(
            items::find_with_rights(&conn, target, operator)
                .unwrap()
                .unwrap(),
        );
    });
    common::time("  item by GUID alone (with its section GUID)", n, || {
        black_box(raw.prepare_cached("SELECT i.id, i.name, s.guid FROM vault_items i JOIN vault_sections s ON s.id = i.section_id WHERE i.guid = ?1").unwrap().query_row([target.to_text()], |r| r.get::<_, i64>(0)).unwrap());
    });
    common::time("  item by GUID alone (no join)", n, || {
        black_box(
            raw.prepare_cached("SELECT i.id, i.name FROM vault_items i WHERE i.guid = ?1")
                .unwrap()
                .query_row([target.to_text()], |r| r.get::<_, i64>(0))
                .unwrap(),
        );
    });
    common::time("  rights alone", n, || {
        black_box(coffre::db::rights::section_rights(&conn, operator, 1).unwrap());
    });
    common::time("  rights as one UNION ALL of indexed lookups", n, || {
        black_box(raw.prepare_cached("SELECT max(kind = 'ChangeVaultSection') FROM (
            SELECT kind FROM section_authorizations WHERE section_id = ?1 AND operator_id = ?2
            UNION ALL
            SELECT a.kind FROM group_members m JOIN section_authorizations a ON a.group_id = m.group_id
            WHERE m.operator_id = ?2 AND a.section_id = ?1)").unwrap().query_row((1, operator), |r| r.get::<_, Option<bool>>(0)).unwrap());
    });
    common::time(
        "  item + rights, one statement with the UNION subquery",
        n,
        || {
            black_box(raw.prepare_cached("SELECT i.id, i.name, s.guid, (SELECT max(kind = 'ChangeVaultSection') FROM (
            SELECT kind FROM section_authorizations WHERE section_id = i.section_id AND operator_id = ?2
            UNION ALL
            SELECT a.kind FROM group_members m JOIN section_authorizations a ON a.group_id = m.group_id
            WHERE m.operator_id = ?2 AND a.section_id = i.section_id)) FROM vault_items i JOIN vault_sections s ON s.id = i.section_id WHERE i.guid = ?1").unwrap().query_row((target.to_text(), operator), |r| r.get::<_, Option<bool>>(3)).unwrap());
        },
    );
    let (row, _) = items::find_with_rights(&conn, target, operator)
        .unwrap()
        .unwrap();
    let item = coffre::vault::items::Item::try_from(row).unwrap();
    let json = common::time("item to JSON", n, || {
        black_box(serde_json::to_vec(&coffre::vault::items::to_api(black_box(&item))).unwrap());
    });
    println!(
        "item read + JSON over SELECT 1: +{:.0} ns",
        item_ns + json - base
    );

    // The item list, through the Administrators group's grant on the section,
    // at 1,000 items and again at 10,000: the cost per item should stay flat.
    let list_per_item = |items: u32| {
        let ns = state
            .read_blocking(caller.clone(), move |w| {
                let mut bytes = 0;
                Ok(common::time(
                    &format!("list {items} items (per call)"),
                    50,
                    || {
                        coffre::vault::items::stream_list(w, 32 * 1024, |chunk| {
                            bytes += chunk.len();
                            true
                        })
                        .unwrap();
                    },
                ))
            })
            .unwrap();
        ns / f64::from(items)
    };
    let small = list_per_item(1000);
    add_items(&db, (0..9000).map(|_| Guid::new_random()).collect());
    let big = list_per_item(10_000);
    println!(
        "list cost per item: {small:.0} ns at 1,000, {big:.0} ns at 10,000: {:.2}x",
        big / small
    );
    drop(raw);
    db.shutdown();
}
