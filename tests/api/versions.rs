//! Secret versions (issue 15, part 4): every change to an item's sealed
//! values keeps the values it replaces, listed, revealed and restored through
//! the API, kept to `secret_versions_kept`, deleted with the item.

use base64::Engine;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

async fn section(app: &TestApp) -> String {
    app.post("/v4/VaultSection", json!({"Name": "Versions"}))
        .await
        .expect(201)
        .guid("VaultSectionGuid")
}

async fn credential_set(app: &TestApp, section: &str, password: &str) -> String {
    app.post(
        "/v4/VaultItem",
        json!({"Name": "db", "VaultSectionGuid": section, "VaultItemType": "CredentialSet",
               "UserName": "app", "Password": password}),
    )
    .await
    .expect(201)
    .guid("VaultItemGuid")
}

async fn versions(app: &TestApp, item: &str) -> Vec<Value> {
    app.get(&format!("/v4/VaultItem/{item}/Versions"))
        .await
        .expect(200)
        .body
        .as_array()
        .unwrap()
        .clone()
}

fn numbers(list: &[Value]) -> Vec<i64> {
    list.iter()
        .map(|v| v["Version"].as_i64().unwrap())
        .collect()
}

async fn set_password(app: &TestApp, item: &str, password: &str) {
    app.patch(
        &format!("/v4/VaultItem/{item}"),
        json!({"Password": password}),
    )
    .await
    .expect(204);
}

async fn history_actions(app: &TestApp, item: &str) -> Vec<(String, String)> {
    app.get(&format!("/v4/VaultItem/{item}/History"))
        .await
        .expect(200)
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["Action"].as_str().unwrap().to_string(),
                h["Details"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_new_value_keeps_the_old_one_dated_and_signed_by_whoever_wrote_it() {
    let app = spawn_app().await;
    let s = section(&app).await;
    let item = credential_set(&app, &s, "one").await;
    assert!(
        versions(&app, &item).await.is_empty(),
        "create keeps nothing"
    );

    // Neither a change of other fields nor a rewrite of the same value is a version.
    app.patch(&format!("/v4/VaultItem/{item}"), json!({"Name": "db2"}))
        .await
        .expect(204);
    app.put(
        &format!("/v4/VaultItem/{item}"),
        json!({"Name": "db2", "UserName": "app", "Password": "one"}),
    )
    .await
    .expect(204);
    set_password(&app, &item, "one").await;
    assert!(versions(&app, &item).await.is_empty());

    // Another operator's key writes a new password an hour later.
    let other = app
        .create_key(json!({"ContactFirstName": "Ada", "ContactLastName": "Lovelace"}))
        .await;
    app.post(
        &format!("/v4/VaultSection/{s}/Authorization"),
        json!({"AuthorizationType": "ChangeVaultSection", "OperatorGuid": other.operator_guid}),
    )
    .await
    .expect(201);
    app.set_now("2026-06-15T13:00:00Z");
    app.send(
        &other.key,
        Method::PATCH,
        &format!("/v4/VaultItem/{item}"),
        Some(&json!({"Password": "two"})),
    )
    .await
    .expect(204);

    let list = versions(&app, &item).await;
    assert_eq!(numbers(&list), [1]);
    // Version 1: the values the bootstrap key wrote at creation.
    assert_eq!(list[0]["CreatedAt"], "2026-06-15T12:00:00.000Z");
    assert_eq!(
        list[0]["CreatedBy"]["ApiKeyGuid"],
        app.admin_key_guid.as_str()
    );
    assert!(!list[0].to_string().contains("one"), "no value in the list");

    let old = app
        .get(&format!("/v4/VaultItem/{item}/Versions/1/Reveal"))
        .await
        .expect(200);
    assert_eq!(old.body["Password"], "one");
    assert_eq!(old.body["UserName"], "app");
    assert_eq!(old.body["VaultItemGuid"], item.as_str());
    let now = app
        .get(&format!("/v4/VaultItem/{item}/Reveal"))
        .await
        .expect(200);
    assert_eq!(now.body["Password"], "two");
    assert!(
        history_actions(&app, &item)
            .await
            .contains(&("VersionRevealed".into(), "Version: 1".into()))
    );

    // Restoring makes "one" current as version 3; "two" (version 2, Ada's) is kept.
    app.set_now("2026-06-15T14:00:00Z");
    app.post(
        &format!("/v4/VaultItem/{item}/Versions/1/Restore"),
        json!({}),
    )
    .await
    .expect(204);
    let now = app
        .get(&format!("/v4/VaultItem/{item}/Reveal"))
        .await
        .expect(200);
    assert_eq!(now.body["Password"], "one");
    let list = versions(&app, &item).await;
    assert_eq!(numbers(&list), [2, 1]);
    assert_eq!(list[0]["CreatedAt"], "2026-06-15T13:00:00.000Z");
    assert_eq!(list[0]["CreatedBy"]["ApiKeyGuid"], other.guid.as_str());
    assert_eq!(list[0]["CreatedBy"]["ContactFirstName"], "Ada");
    assert_eq!(list[0]["CreatedBy"]["ContactLastName"], "Lovelace");
    let two = app
        .get(&format!("/v4/VaultItem/{item}/Versions/2/Reveal"))
        .await
        .expect(200);
    assert_eq!(two.body["Password"], "two");
    assert!(
        history_actions(&app, &item)
            .await
            .contains(&("VersionRestored".into(), "Version: 1".into()))
    );

    // Restoring values equal to the current ones changes nothing.
    app.post(
        &format!("/v4/VaultItem/{item}/Versions/1/Restore"),
        json!({}),
    )
    .await
    .expect(204);
    assert_eq!(numbers(&versions(&app, &item).await), [2, 1]);

    // The current values (3) are the item's, not a kept version; nor is
    // anything else that is not a kept number.
    for n in ["3", "0", "-1", "99", "one", "1.0"] {
        let res = app
            .get(&format!("/v4/VaultItem/{item}/Versions/{n}/Reveal"))
            .await
            .expect(404);
        assert_eq!(res.code(), "VaultItemVersionNotFound", "{n}");
        let res = app
            .post(
                &format!("/v4/VaultItem/{item}/Versions/{n}/Restore"),
                json!({}),
            )
            .await
            .expect(404);
        assert_eq!(res.code(), "VaultItemVersionNotFound", "{n}");
    }
}

#[tokio::test]
async fn only_the_last_kept_versions_stay_and_none_when_off() {
    let app = app().config(|c| c.secret_versions_kept = 3).spawn().await;
    let s = section(&app).await;
    let item = credential_set(&app, &s, "p1").await;
    for n in 2..=7 {
        set_password(&app, &item, &format!("p{n}")).await;
    }
    // p7 is current; p4, p5, p6 kept.
    assert_eq!(numbers(&versions(&app, &item).await), [6, 5, 4]);
    for n in 4..=6 {
        let res = app
            .get(&format!("/v4/VaultItem/{item}/Versions/{n}/Reveal"))
            .await
            .expect(200);
        assert_eq!(res.body["Password"], format!("p{n}"));
    }
    app.get(&format!("/v4/VaultItem/{item}/Versions/3/Reveal"))
        .await
        .expect(404);

    let off = crate::helpers::app()
        .config(|c| c.secret_versions_kept = 0)
        .spawn()
        .await;
    let s = section(&off).await;
    let item = credential_set(&off, &s, "a").await;
    set_password(&off, &item, "b").await;
    set_password(&off, &item, "c").await;
    assert!(versions(&off, &item).await.is_empty());
}

#[tokio::test]
async fn an_archive_version_brings_back_its_certificate_and_a_file_its_size() {
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let app = spawn_app().await;
    let s = section(&app).await;
    let root = b64(include_bytes!("../fixtures/acme-root-right.p12"));
    let item = app
        .post(
            "/v4/VaultItem",
            json!({"Name": "tls", "VaultSectionGuid": s, "VaultItemType": "CertificateArchive",
                   "CertificateArchive": {"Password": "right", "ArchiveData": root}}),
        )
        .await
        .expect(201)
        .guid("VaultItemGuid");
    app.patch(
        &format!("/v4/VaultItem/{item}"),
        json!({"CertificateArchive": {"Password": "pw", "ArchiveData": pfx_base64("pw", false)}}),
    )
    .await
    .expect(204);
    let issuer = |v: &Value| {
        v["CertificateArchive"]["Issuer"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let got = app.get(&format!("/v4/VaultItem/{item}")).await.expect(200);
    assert!(issuer(&got.body).contains("Acme Client"), "{}", got.text);

    let old = app
        .get(&format!("/v4/VaultItem/{item}/Versions/1/Reveal"))
        .await
        .expect(200);
    assert!(issuer(&old.body).contains("Acme Test Root"), "{}", old.text);
    assert_eq!(old.body["CertificateArchive"]["ArchiveData"], root.as_str());
    assert_eq!(old.body["CertificateArchive"]["Password"], "right");

    app.post(
        &format!("/v4/VaultItem/{item}/Versions/1/Restore"),
        json!({}),
    )
    .await
    .expect(204);
    let got = app.get(&format!("/v4/VaultItem/{item}")).await.expect(200);
    assert!(issuer(&got.body).contains("Acme Test Root"), "{}", got.text);
    let now = app
        .get(&format!("/v4/VaultItem/{item}/Reveal"))
        .await
        .expect(200);
    assert_eq!(now.body["CertificateArchive"]["ArchiveData"], root.as_str());
    assert_eq!(now.body["CertificateArchive"]["Password"], "right");

    let file = app
        .post(
            "/v4/VaultItem",
            json!({"Name": "f", "VaultSectionGuid": s, "VaultItemType": "File",
                   "FileInfo": {"Name": "a.bin", "Data": b64(b"four")}}),
        )
        .await
        .expect(201)
        .guid("VaultItemGuid");
    app.patch(
        &format!("/v4/VaultItem/{file}"),
        json!({"FileInfo": {"Data": b64(b"seven!!")}}),
    )
    .await
    .expect(204);
    app.post(
        &format!("/v4/VaultItem/{file}/Versions/1/Restore"),
        json!({}),
    )
    .await
    .expect(204);
    let got = app
        .get(&format!("/v4/VaultItem/{file}/Reveal"))
        .await
        .expect(200);
    assert_eq!(got.body["FileInfo"]["Size"], 4);
    assert_eq!(got.body["FileInfo"]["Data"], b64(b"four"));
}

#[tokio::test]
async fn a_viewer_reads_versions_but_only_change_restores_and_delete_takes_them_along() {
    let app = spawn_app().await;
    let s = section(&app).await;
    let item = credential_set(&app, &s, "one").await;
    set_password(&app, &item, "two").await;

    let viewer = app
        .create_key(json!({"EnablePermissions": true,
            "Permissions": ["VaultItem.Read", "VaultItem.Reveal", "VaultItem.Update"]}))
        .await;
    app.post(
        &format!("/v4/VaultSection/{s}/Authorization"),
        json!({"AuthorizationType": "ViewVaultSection", "OperatorGuid": viewer.operator_guid}),
    )
    .await
    .expect(201);
    let as_viewer = |method: Method, path: String| {
        let app = &app;
        let key = viewer.key.clone();
        async move { app.send(&key, method, &path, Some(&json!({}))).await }
    };
    let list = as_viewer(Method::GET, format!("/v4/VaultItem/{item}/Versions"))
        .await
        .expect(200);
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    let old = as_viewer(
        Method::GET,
        format!("/v4/VaultItem/{item}/Versions/1/Reveal"),
    )
    .await
    .expect(200);
    assert_eq!(old.body["Password"], "one");
    let refused = as_viewer(
        Method::POST,
        format!("/v4/VaultItem/{item}/Versions/1/Restore"),
    )
    .await
    .expect(403);
    assert_eq!(refused.code(), "ChangeVaultSectionRequired");
    let now = app
        .get(&format!("/v4/VaultItem/{item}/Reveal"))
        .await
        .expect(200);
    assert_eq!(now.body["Password"], "two", "the refusal changed nothing");

    let count = |app: &TestApp| {
        let db = app.state.db.clone();
        async move {
            db.read(|c| {
                Ok::<_, coffre::error::AppError>(c.query_one(
                    "SELECT count(*) FROM vault_item_versions",
                    &[],
                    |r| r.get::<i64>(0),
                )?)
            })
            .await
            .unwrap()
        }
    };
    assert_eq!(count(&app).await, 2, "version 1 and the current row");
    app.delete(&format!("/v4/VaultItem/{item}"))
        .await
        .expect(204);
    assert_eq!(count(&app).await, 0, "deleted with the item");
}
