//! In-process cost of the statements behind the hot endpoints, without HTTP
//! or thread hops: what `GET /v4/VaultItem/{guid}` adds over `GET /health`.
//! `cargo bench --bench queries`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common.rs"]
mod common;

use std::hint::black_box;

use coffre::accounts::bootstrap;
use coffre::clock::Clock;
use coffre::db::items;
use coffre::types::Guid;

fn main() {
    let common::Store {
        config: _,
        keys,
        db,
        dir: _dir,
    } = common::store();
    bootstrap::ensure(&db, &keys, Clock::system().now_millis()).unwrap();
    // 1,000 items in the default section.
    let guids: Vec<Guid> = (0..1000).map(|_| Guid::new_random()).collect();
    let g = guids.clone();
    db.write_blocking(move |c, _| {
        let section: i64 = c.query_row("SELECT id FROM vault_sections", [], |r| r.get(0))?;
        for guid in g {
            let row = items::ItemRow {
                guid: Some(guid),
                section_id: section,
                item_type: "CredentialSet".into(),
                name: "bench".into(),
                user_name: "someone@example.com".into(),
                ..Default::default()
            };
            items::insert(c, &row, 0)?;
        }
        Ok(())
    })
    .unwrap();
    let operator: i64 = db
        .read_blocking(|c| Ok(c.query_row("SELECT id FROM operators", [], |r| r.get(0))?))
        .unwrap();
    let target = guids[500];
    let conn = db.connect().unwrap();

    let n = 200_000;
    let base = common::time("SELECT 1", n, || {
        black_box(
            conn.prepare_cached("SELECT 1")
                .unwrap()
                .query_row([], |r| r.get::<_, i64>(0))
                .unwrap(),
        );
    });
    common::time("SELECT user_version (reads the file header)", n, || {
        black_box(
            conn.prepare_cached("SELECT user_version FROM pragma_user_version")
                .unwrap()
                .query_row([], |r| r.get::<_, i64>(0))
                .unwrap(),
        );
    });
    let item = common::time("item by GUID with the caller's rights", n, || {
        black_box(
            items::find_with_rights(&conn, target, operator)
                .unwrap()
                .unwrap(),
        );
    });
    common::time("  item by GUID alone (with its section GUID)", n, || {
        black_box(conn.prepare_cached("SELECT i.id, i.name, s.guid FROM vault_items i JOIN vault_sections s ON s.id = i.section_id WHERE i.guid = ?1").unwrap().query_row([target], |r| r.get::<_, i64>(0)).unwrap());
    });
    common::time("  item by GUID alone (no join)", n, || {
        black_box(
            conn.prepare_cached("SELECT i.id, i.name FROM vault_items i WHERE i.guid = ?1")
                .unwrap()
                .query_row([target], |r| r.get::<_, i64>(0))
                .unwrap(),
        );
    });
    common::time("  rights alone", n, || {
        black_box(coffre::auth::access::section_rights(&conn, operator, 1).unwrap());
    });
    common::time("  rights as one UNION ALL of indexed lookups", n, || {
        black_box(conn.prepare_cached("SELECT max(kind = 'ChangeVaultSection') FROM (
            SELECT kind FROM section_authorizations WHERE section_id = ?1 AND operator_id = ?2
            UNION ALL
            SELECT a.kind FROM group_members m JOIN section_authorizations a ON a.group_id = m.group_id
            WHERE m.operator_id = ?2 AND a.section_id = ?1)").unwrap().query_row((1, operator), |r| r.get::<_, Option<bool>>(0)).unwrap());
    });
    common::time(
        "  item + rights, one statement with the UNION subquery",
        n,
        || {
            black_box(conn.prepare_cached("SELECT i.id, i.name, s.guid, (SELECT max(kind = 'ChangeVaultSection') FROM (
            SELECT kind FROM section_authorizations WHERE section_id = i.section_id AND operator_id = ?2
            UNION ALL
            SELECT a.kind FROM group_members m JOIN section_authorizations a ON a.group_id = m.group_id
            WHERE m.operator_id = ?2 AND a.section_id = i.section_id)) FROM vault_items i JOIN vault_sections s ON s.id = i.section_id WHERE i.guid = ?1").unwrap().query_row((target, operator), |r| r.get::<_, Option<bool>>(3)).unwrap());
        },
    );
    let (row, _) = items::find_with_rights(&conn, target, operator)
        .unwrap()
        .unwrap();
    let json = common::time("item to JSON", n, || {
        black_box(serde_json::to_vec(&coffre::vault::items::to_api(black_box(&row))).unwrap());
    });
    println!(
        "item read + JSON over SELECT 1: +{:.0} ns",
        item + json - base
    );

    // The item list, through the Administrators group's grant on the section,
    // at 1,000 items and again at 10,000: the cost per item should stay flat.
    let list_per_item = |conn: &rusqlite::Connection, items: u32| {
        let ctx = coffre::vault::Ctx::new(
            conn,
            operator,
            coffre::audit::Actor::system("bench"),
            Clock::system().now(),
        );
        let mut bytes = 0;
        let ns = common::time(&format!("list {items} items (per call)"), 50, || {
            coffre::vault::items::stream_list(&ctx, 32 * 1024, |chunk| {
                bytes += chunk.len();
                true
            })
            .unwrap();
        });
        ns / f64::from(items)
    };
    let small = list_per_item(&conn, 1000);
    db.write_blocking(|c, _| {
        let section: i64 = c.query_row("SELECT id FROM vault_sections", [], |r| r.get(0))?;
        for _ in 0..9000 {
            let row = items::ItemRow {
                guid: Some(Guid::new_random()),
                section_id: section,
                item_type: "CredentialSet".into(),
                name: "bench".into(),
                user_name: "someone@example.com".into(),
                ..Default::default()
            };
            items::insert(c, &row, 0)?;
        }
        Ok(())
    })
    .unwrap();
    let big = list_per_item(&conn, 10_000);
    println!(
        "list cost per item: {small:.0} ns at 1,000, {big:.0} ns at 10,000: {:.2}x",
        big / small
    );
    drop(conn);
    db.shutdown();
}
