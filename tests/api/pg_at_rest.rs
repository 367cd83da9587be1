//! What PostgreSQL holds at rest: with no file-level encryption there, item
//! Notes are sealed by coffre like the secrets, yet GET shows them as
//! written. Needs PostgreSQL (`scripts/test-postgres.sh`); skipped without it.

use base64::Engine;
use serde_json::json;

use crate::helpers::*;

async fn section(app: &TestApp) -> String {
    app.post("/v4/VaultSection", json!({"Name": "at rest"}))
        .await
        .expect(201)
        .guid("VaultSectionGuid")
}

/// Checks that no row of `table`, every column as PostgreSQL holds it (as
/// text), contains any of `clear`; returns the number of rows.
fn nowhere_in_clear(url: &str, table: &str, clear: &[&str]) -> usize {
    let rows = crate::pg::texts(url, &format!("SELECT v::text FROM {table} v"));
    for row in &rows {
        for text in clear {
            assert!(!row.contains(text), "{text:?} in clear in {table}: {row}");
        }
    }
    rows.len()
}

#[tokio::test]
async fn notes_are_sealed_in_the_row_and_shown_as_written() {
    if !crate::pg::enabled() {
        println!("SKIPPED: reads PostgreSQL rows (scripts/test-postgres.sh)");
        return;
    }
    let app = spawn_app().await;
    let url = app.database.as_ref().unwrap().url.clone();
    let section = section(&app).await;
    let noted = app
        .post(
            "/v4/VaultItem",
            json!({"Name": "noted", "VaultSectionGuid": section, "VaultItemType": "CredentialSet",
                   "Notes": "first-note-7f3a: the door code is 4411", "Password": "p"}),
        )
        .await
        .expect(201)
        .guid("VaultItemGuid");
    let bare = app
        .post(
            "/v4/VaultItem",
            json!({"Name": "bare", "VaultSectionGuid": section, "VaultItemType": "CredentialSet"}),
        )
        .await
        .expect(201)
        .guid("VaultItemGuid");
    let path = format!("/v4/VaultItem/{noted}");
    assert_eq!(
        app.get(&path).await.expect(200).body["Notes"],
        "first-note-7f3a: the door code is 4411"
    );
    app.patch(&path, json!({"Notes": "second-note-9c2e"}))
        .await
        .expect(204);
    assert_eq!(
        app.get(&path).await.expect(200).body["Notes"],
        "second-note-9c2e"
    );
    let list = app.get("/v4/VaultItem").await.expect(200).body;
    let notes: Vec<(&str, &str)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["VaultItemGuid"].as_str().unwrap(),
                i["Notes"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        notes.contains(&(noted.as_str(), "second-note-9c2e")),
        "{notes:?}"
    );
    assert!(notes.contains(&(bare.as_str(), "")), "{notes:?}");

    let rows = nowhere_in_clear(
        &url,
        "vault_items",
        &["note-7f3a", "door code", "second-note-9c2e"],
    );
    assert_eq!(rows, 2);
    // Empty Notes are sealed too: no row tells them apart.
    let stored = crate::pg::texts(&url, "SELECT notes FROM vault_items ORDER BY id");
    assert!(
        stored.iter().all(|n| n.len() >= 50),
        "every item's Notes sealed: {stored:?}"
    );
}

/// The item code that came with certificate expiry and secret versions reads
/// and writes Notes too: the expiring list opens them, and a restore that
/// changes the item's row (a file's size) writes them sealed again.
#[tokio::test]
async fn notes_stay_sealed_through_a_restore_and_open_in_the_expiring_list() {
    if !crate::pg::enabled() {
        println!("SKIPPED: reads PostgreSQL rows (scripts/test-postgres.sh)");
        return;
    }
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let app = app()
        .now(at("2030-04-01T00:00:00Z"))
        .config(|c| c.scheduler = false)
        .spawn()
        .await;
    let url = app.database.as_ref().unwrap().url.clone();
    let section = section(&app).await;
    let certificate = app
        .post(
            "/v4/VaultItem",
            json!({"Name": "tls", "VaultSectionGuid": section, "VaultItemType": "Certificate",
                   "Value": include_str!("../fixtures/expiring-20300601.pem"),
                   "Notes": "cert-note-41be: renew through the portal"}),
        )
        .await
        .expect(201)
        .guid("VaultItemGuid");
    let expiring = app
        .get("/v4/VaultItem?ExpiringWithinDays=3650")
        .await
        .expect(200)
        .body;
    assert_eq!(expiring[0]["VaultItemGuid"], certificate.as_str());
    assert_eq!(
        expiring[0]["Notes"],
        "cert-note-41be: renew through the portal"
    );

    let file = app
        .post(
            "/v4/VaultItem",
            json!({"Name": "f", "VaultSectionGuid": section, "VaultItemType": "File",
                   "Notes": "file-note-d07c", "FileInfo": {"Name": "a.bin", "Data": b64(b"four")}}),
        )
        .await
        .expect(201)
        .guid("VaultItemGuid");
    let path = format!("/v4/VaultItem/{file}");
    app.patch(&path, json!({"FileInfo": {"Data": b64(b"seven!!")}}))
        .await
        .expect(204);
    app.post(&format!("{path}/Versions/1/Restore"), json!({}))
        .await
        .expect(204);
    let got = app.get(&path).await.expect(200).body;
    assert_eq!(got["FileInfo"]["Size"], 4);
    assert_eq!(got["Notes"], "file-note-d07c");

    for table in ["vault_items", "vault_item_versions"] {
        nowhere_in_clear(
            &url,
            table,
            &["cert-note-41be", "renew through", "file-note-d07c"],
        );
    }
}
