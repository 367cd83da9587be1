//! What PostgreSQL holds at rest: with no file-level encryption there, item
//! Notes are sealed by coffre like the secrets, yet GET shows them as
//! written. Needs PostgreSQL (`scripts/test-postgres.sh`); skipped without it.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn notes_are_sealed_in_the_row_and_shown_as_written() {
    if !crate::pg::enabled() {
        println!("SKIPPED: reads PostgreSQL rows (scripts/test-postgres.sh)");
        return;
    }
    let app = spawn_app().await;
    let url = app.database.as_ref().unwrap().url.clone();
    let section = app
        .post("/v4/VaultSection", json!({"Name": "at rest"}))
        .await
        .expect(201)
        .guid("VaultSectionGuid");
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

    // The rows as PostgreSQL holds them: every column of every item as text.
    let rows = crate::pg::texts(&url, "SELECT v::text FROM vault_items v");
    assert_eq!(rows.len(), 2);
    for row in &rows {
        for clear in ["note-7f3a", "door code", "second-note-9c2e"] {
            assert!(!row.contains(clear), "{clear:?} in clear: {row}");
        }
    }
    // Empty Notes are sealed too: no row tells them apart.
    let stored = crate::pg::texts(&url, "SELECT notes FROM vault_items ORDER BY id");
    assert!(
        stored.iter().all(|n| n.len() >= 50),
        "every item's Notes sealed: {stored:?}"
    );
}
