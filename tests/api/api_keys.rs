//! `/v4/ApiKey`: fields, validation, shown-once, permissions, history.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

fn new_key_body(n: &str) -> Value {
    json!({
        "Name": format!("Supplier {n}"),
        "Description": "Nightly import",
        "ContactFirstName": "Ada",
        "ContactLastName": "Lovelace",
        "ContactLogin": format!("ada-{n}"),
        "ContactEmail": format!("ada.{n}@example.com"),
        "ExpirationDate": "2031-03-15",
        "EnablePermissions": true,
        "Permissions": ["VaultItem.Read", "VaultSection.Read"]
    })
}

#[tokio::test]
async fn create_returns_201_with_every_field_and_the_key_once() {
    let app = spawn_app().await;
    let res = app.post("/v4/ApiKey", new_key_body("1")).await.expect(201);
    let b = &res.body;
    let guid = res.guid("ApiKeyGuid");
    assert_eq!(res.headers["location"], format!("/v4/ApiKey/{guid}"));
    assert_eq!(guid, guid.to_uppercase());
    assert_eq!(b["Name"], "Supplier 1");
    assert_eq!(b["Description"], "Nightly import");
    assert_eq!(b["ContactFirstName"], "Ada");
    assert_eq!(b["ContactLastName"], "Lovelace");
    assert_eq!(b["ContactEmail"], "ada.1@example.com");
    assert_eq!(b["ExpirationDate"], "2031-03-15");
    assert_eq!(b["ExpiresAt"], "2031-03-16T00:00:00.000Z");
    assert_eq!(b["EnablePermissions"], true);
    assert_eq!(
        b["Permissions"],
        json!(["VaultSection.Read", "VaultItem.Read"])
    );
    assert_eq!(b["Status"], "Active");
    assert!(
        b["CreatedAt"]
            .as_str()
            .unwrap()
            .starts_with("2026-06-15T12:00:00")
    );
    assert_eq!(b["LastUsedAt"], Value::Null);
    assert!(
        b.get("ContactLogin").is_none(),
        "ContactLogin is write-only"
    );
    let key = res.guid("Key");
    assert!(key.starts_with("coffre_") && key.len() == 69);
    let masked = b["MaskedKey"].as_str().unwrap();
    assert_eq!(masked, format!("coffre_{}…{}", &key[7..11], &key[65..]));

    // Never again: not in GET, the list, or the history.
    for path in [
        format!("/v4/ApiKey/{guid}"),
        "/v4/ApiKey".into(),
        format!("/v4/ApiKey/{guid}/History"),
        "/v4/History".into(),
    ] {
        let res = app.get(&path).await.expect(200);
        assert!(!res.text.contains(&key[20..60]), "{path} leaks the key");
        assert!(!res.text.contains("\"Key\""), "{path} has a Key field");
        assert!(!res.text.contains("ada-1"), "{path} leaks ContactLogin");
    }
}

#[tokio::test]
async fn the_key_never_reaches_a_log_line_or_the_database_file() {
    let tmp = tempfile::tempdir().unwrap();
    let server = serve_with_debug_log(&tmp.path().join("d"));
    let boot = server.bootstrap_key();
    let client = reqwest::Client::new();
    let res = read(
        client
            .post(server.url("/v4/ApiKey"))
            .bearer_auth(&boot)
            .json(&new_key_body("x"))
            .send()
            .await
            .unwrap(),
    )
    .await
    .expect(201);
    let key = res.guid("Key");
    let guid = res.guid("ApiKeyGuid");
    read(
        client
            .get(server.url("/v4/ApiKey"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let regen = read(
        client
            .post(server.url(&format!("/v4/ApiKey/{guid}/Regenerate")))
            .bearer_auth(&boot)
            .send()
            .await
            .unwrap(),
    )
    .await
    .expect(200);
    let key2 = regen.guid("Key");

    let log = server.stderr();
    assert!(
        log.contains("request"),
        "debug request lines expected: {log}"
    );
    let db_files = read_all_files(&tmp.path().join("d"));
    for secret in [&boot, &key, &key2] {
        let secret_part = &secret[20..63];
        assert!(!log.contains(secret_part), "a key reached the log");
        for (path, bytes) in &db_files {
            assert!(
                !contains(bytes, secret_part.as_bytes()),
                "a key reached {}",
                path.display()
            );
        }
    }
}

#[tokio::test]
async fn invalid_bodies_get_400s_that_say_what_to_fix_and_change_nothing() {
    let app = spawn_app().await;
    let before = app.get("/v4/ApiKey").await.expect(200).text;
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"ContactLogin": "x", "ContactEmail": "x@example.com"}),
            "FieldRequired",
            "Name",
        ),
        (
            json!({"Name": "n", "ContactEmail": "x@example.com"}),
            "FieldRequired",
            "ContactLogin",
        ),
        (
            json!({"Name": "n", "ContactLogin": "x"}),
            "FieldRequired",
            "ContactEmail",
        ),
        (
            json!({"Name": "n", "ContactLogin": "x", "ContactEmail": "not-an-address"}),
            "InvalidEmail",
            "ContactEmail",
        ),
        (
            json!({"Name": "n", "ContactLogin": "x", "ContactEmail": "x@example.com", "ExpirationDate": "2026-06-14"}),
            "ExpirationDatePast",
            "2026-06-15",
        ),
        (
            json!({"Name": "n", "ContactLogin": "x", "ContactEmail": "x@example.com", "ExpirationDate": "9999-12-31"}),
            "ExpirationDateTooFar",
            "9999-12-30",
        ),
        (
            json!({"Name": "n", "ContactLogin": "x", "ContactEmail": "x@example.com", "ExpirationDate": "15/06/2031"}),
            "InvalidDate",
            "YYYY-MM-DD",
        ),
        (
            json!({"Name": "n", "ContactLogin": "x", "ContactEmail": "x@example.com", "EnablePermissions": true, "Permissions": ["VaultItem.Read", "Vault.Everything"]}),
            "UnknownPermission",
            "VaultItem.Reveal",
        ),
        (
            json!({"Name": "n", "ContactLogin": "x", "ContactEmail": "x@example.com", "Key": "coffre_mine"}),
            "KeyNotSettable",
            "Regenerate",
        ),
        (
            json!({"Name": "n", "ContactLogin": "x", "ContactEmail": "x@example.com", "Colour": "red"}),
            "InvalidField",
            "Colour",
        ),
        (
            json!({"Name": 7, "ContactLogin": "x", "ContactEmail": "x@example.com"}),
            "InvalidField",
            "`Name`",
        ),
        (
            json!({"Name": "x".repeat(201), "ContactLogin": "x", "ContactEmail": "x@example.com"}),
            "FieldTooLong",
            "200",
        ),
    ];
    for (body, code, hint) in cases {
        let res = app.post("/v4/ApiKey", body.clone()).await.expect(400);
        assert_eq!(res.code(), code, "{body}: {}", res.text);
        assert!(res.message().contains(hint), "{body}: {}", res.message());
    }
    let res = app.post("/v4/ApiKey", json!({"Name": "n", "ContactLogin": "x", "ContactEmail": "x@example.com", "EnablePermissions": true, "Permissions": ["Nope"]})).await;
    assert!(
        res.message().contains("\"Nope\""),
        "names the unknown permission: {}",
        res.message()
    );
    // Today is still allowed: the key works until midnight tonight.
    app.post("/v4/ApiKey", json!({"Name": "n", "ContactLogin": "today", "ContactEmail": "t@example.com", "ExpirationDate": "2026-06-15"})).await.expect(201);
    let after = app.get("/v4/ApiKey").await.expect(200).body;
    assert_eq!(
        after.as_array().unwrap().len(),
        serde_json::from_str::<Value>(&before)
            .unwrap()
            .as_array()
            .unwrap()
            .len()
            + 1
    );
}

#[tokio::test]
async fn contact_login_and_email_are_unique_whatever_their_case() {
    let app = spawn_app().await;
    app.post("/v4/ApiKey", new_key_body("u")).await.expect(201);
    let mut same_login = new_key_body("v");
    same_login["ContactLogin"] = json!("ADA-U");
    let res = app.post("/v4/ApiKey", same_login).await.expect(409);
    assert_eq!(res.code(), "LoginTaken");
    let mut same_email = new_key_body("w");
    same_email["ContactEmail"] = json!("Ada.U@Example.com");
    let res = app.post("/v4/ApiKey", same_email).await.expect(409);
    assert_eq!(res.code(), "EmailTaken");
    assert_eq!(
        app.get("/v4/Operator").await.body.as_array().unwrap().len(),
        2,
        "nothing half-created"
    );
}

#[tokio::test]
async fn a_key_with_only_vault_item_read_cannot_create_an_api_key() {
    let app = spawn_app().await;
    let k = app
        .create_key(json!({"EnablePermissions": true, "Permissions": ["VaultItem.Read"]}))
        .await;
    app.make_admin(&k.operator_guid).await;
    let res = app
        .send(&k.key, Method::POST, "/v4/ApiKey", Some(&new_key_body("z")))
        .await
        .expect(403);
    assert_eq!(res.code(), "MissingPermission");
    assert!(res.message().contains("ApiKey.Create"), "{}", res.message());
}

#[tokio::test]
async fn without_enable_permissions_a_key_gets_everything_but_api_keys_and_reveal() {
    let app = spawn_app().await;
    let k = app.create_key(json!({"EnablePermissions": false})).await;
    app.make_admin(&k.operator_guid).await;
    app.send(&k.key, Method::GET, "/v4/Operator", None)
        .await
        .expect(200);
    app.send(&k.key, Method::GET, "/v4/History", None)
        .await
        .expect(200);
    let res = app
        .send(&k.key, Method::GET, "/v4/ApiKey", None)
        .await
        .expect(403);
    assert!(res.message().contains("ApiKey.Read"));
}

#[tokio::test]
async fn a_key_can_never_grant_more_than_it_holds() {
    let app = spawn_app().await;
    let limited = app.create_key(json!({"EnablePermissions": true, "Permissions": ["ApiKey.Create", "ApiKey.Read", "ApiKey.Update", "VaultItem.Read"]})).await;
    app.make_admin(&limited.operator_guid).await;

    let mut wider = new_key_body("g");
    wider["Permissions"] = json!(["VaultItem.Read", "VaultItem.Reveal"]);
    let res = app
        .send(&limited.key, Method::POST, "/v4/ApiKey", Some(&wider))
        .await
        .expect(403);
    assert_eq!(res.code(), "PermissionNotHeld");
    assert!(
        res.message().contains("VaultItem.Reveal"),
        "{}",
        res.message()
    );

    let mut implicit = new_key_body("h");
    implicit["EnablePermissions"] = json!(false);
    app.send(&limited.key, Method::POST, "/v4/ApiKey", Some(&implicit))
        .await
        .expect(403);

    let mut narrow = new_key_body("i");
    narrow["Permissions"] = json!(["VaultItem.Read"]);
    let created = app
        .send(&limited.key, Method::POST, "/v4/ApiKey", Some(&narrow))
        .await
        .expect(201);

    // Nor can it take over a key that holds more than it does.
    let boot = app.admin_key_guid.clone();
    let res = app
        .send(
            &limited.key,
            Method::POST,
            &format!("/v4/ApiKey/{boot}/Regenerate"),
            None,
        )
        .await
        .expect(403);
    assert_eq!(res.code(), "PermissionNotHeld");
    app.send(
        &limited.key,
        Method::POST,
        &format!("/v4/ApiKey/{boot}/Revoke"),
        None,
    )
    .await
    .expect(403);
    app.send(
        &limited.key,
        Method::POST,
        &format!("/v4/ApiKey/{}/Revoke", created.guid("ApiKeyGuid")),
        None,
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn account_administration_needs_an_operator_in_administrators() {
    let app = spawn_app().await;
    let k = app.create_key(json!({"EnablePermissions": true, "Permissions": ["ApiKey.Read", "Operator.Read", "OperatorGroup.Read", "History.Read"]})).await;
    for path in [
        "/v4/ApiKey",
        "/v4/Operator",
        "/v4/OperatorGroup",
        "/v4/History",
    ] {
        let res = app.send(&k.key, Method::GET, path, None).await.expect(403);
        assert_eq!(res.code(), "NotAdministrator", "{path}");
    }
    app.make_admin(&k.operator_guid).await;
    for path in [
        "/v4/ApiKey",
        "/v4/Operator",
        "/v4/OperatorGroup",
        "/v4/History",
    ] {
        app.send(&k.key, Method::GET, path, None).await.expect(200);
    }
}

#[tokio::test]
async fn put_replaces_details_keeps_the_write_only_login_and_syncs_the_operator() {
    let app = spawn_app().await;
    let created = app.post("/v4/ApiKey", new_key_body("p")).await.expect(201);
    let guid = created.guid("ApiKeyGuid");
    let mut body = created.body.clone();
    body.as_object_mut().unwrap().remove("Key");
    body["Name"] = json!("Renamed");
    body["ContactEmail"] = json!("new.p@example.com");
    body.as_object_mut().unwrap().remove("Description");
    app.put(&format!("/v4/ApiKey/{guid}"), body)
        .await
        .expect(204);
    let got = app.get(&format!("/v4/ApiKey/{guid}")).await.expect(200);
    assert_eq!(got.body["Name"], "Renamed");
    assert_eq!(got.body["Description"], "", "PUT empties what it omits");
    assert_eq!(got.body["ContactEmail"], "new.p@example.com");
    let op = app
        .get(&format!("/v4/Operator/{}", got.guid("OperatorGuid")))
        .await
        .expect(200);
    assert_eq!(op.body["Email"], "new.p@example.com");
    assert_eq!(
        op.body["Login"], "ada-p",
        "omitted ContactLogin stays as it was"
    );
    assert_eq!(op.body["FullName"], "Ada Lovelace");

    let res = app
        .put(
            &format!("/v4/ApiKey/{guid}"),
            json!({"ApiKeyGuid": app.admin_key_guid, "Name": "x", "ContactEmail": "q@example.com"}),
        )
        .await
        .expect(400);
    assert_eq!(res.code(), "GuidMismatch");
    let missing = "00000000-0000-4000-8000-000000000000";
    app.put(
        &format!("/v4/ApiKey/{missing}"),
        json!({"Name": "x", "ContactEmail": "q@example.com"}),
    )
    .await
    .expect(404);
    let res = app.get("/v4/ApiKey/not-a-guid").await.expect(400);
    assert_eq!(res.code(), "InvalidGuid");
    app.get(&format!("/v4/ApiKey/{}", guid.to_lowercase()))
        .await
        .expect(200);
}

#[tokio::test]
async fn extending_an_expired_key_makes_it_active_again() {
    let app = app().now(at("2030-01-01T12:00:00Z")).spawn().await;
    let k = app
        .create_key(json!({"ExpirationDate": "2030-01-01"}))
        .await;
    app.make_admin(&k.operator_guid).await;
    app.set_now("2030-01-03T00:00:00Z");
    app.send(&k.key, Method::GET, "/v4/Operator", None)
        .await
        .expect(401);
    let mut body = app
        .get(&format!("/v4/ApiKey/{}", k.guid))
        .await
        .expect(200)
        .body;
    assert_eq!(body["Status"], "Expired");
    // Sending the (past) date back unchanged is fine...
    app.put(&format!("/v4/ApiKey/{}", k.guid), body.clone())
        .await
        .expect(204);
    // ...and a future one revives the key.
    body["ExpirationDate"] = json!("2030-02-01");
    app.put(&format!("/v4/ApiKey/{}", k.guid), body)
        .await
        .expect(204);
    let after = app.get(&format!("/v4/ApiKey/{}", k.guid)).await.expect(200);
    assert_eq!(after.body["Status"], "Active");
    app.send(&k.key, Method::GET, "/v4/Operator", None)
        .await
        .expect(200);
}

#[tokio::test]
async fn last_used_at_is_visible_at_once_and_survives_a_restart_of_the_writer() {
    // No background job: moving the clock wakes the grace-reminder job, which
    // flushes usage first, and would store LastUsedAt before this test looks.
    let app = app().config(|c| c.scheduler = false).spawn().await;
    let k = app.create_key(json!({})).await;
    app.make_admin(&k.operator_guid).await;
    app.set_now("2026-06-15T13:00:00Z");
    app.send(&k.key, Method::GET, "/v4/Operator", None)
        .await
        .expect(200);
    let got = app.get(&format!("/v4/ApiKey/{}", k.guid)).await.expect(200);
    assert_eq!(got.body["LastUsedAt"], "2026-06-15T13:00:00.000Z");
    // Stored by the flush, not by the request.
    let stored: Option<i64> = app
        .state
        .db
        .read(move |c| {
            Ok::<_, coffre::error::AppError>(c.query_one(
                "SELECT last_used_at FROM api_keys WHERE guid = ?1",
                &[&k.guid.clone()],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap();
    assert_eq!(stored, None, "no database write per request");
    assert_eq!(
        coffre::scheduler::flush_last_used(&app.state)
            .await
            .unwrap(),
        2
    );
    let key_guid = app
        .get("/v4/ApiKey")
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["LastUsedAt"] == "2026-06-15T13:00:00.000Z")
        .unwrap()["ApiKeyGuid"]
        .as_str()
        .unwrap()
        .to_string();
    let stored: Option<i64> = app
        .state
        .db
        .read(move |c| {
            Ok::<_, coffre::error::AppError>(c.query_one(
                "SELECT last_used_at FROM api_keys WHERE guid = ?1",
                &[&key_guid],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap();
    assert_eq!(stored, Some(at("2026-06-15T13:00:00Z").timestamp_millis()));
}

#[tokio::test]
async fn deleting_a_key_deletes_its_operator_but_history_keeps_the_names() {
    let app = spawn_app().await;
    let k = app
        .create_key(json!({"ContactFirstName": "Katherine", "ContactLastName": "Johnson"}))
        .await;
    app.make_admin(&k.operator_guid).await;
    app.send(
        &k.key,
        Method::POST,
        "/v4/OperatorGroup",
        Some(&json!({"Description": "Orbit team"})),
    )
    .await
    .expect(201);
    app.delete(&format!("/v4/ApiKey/{}", k.guid))
        .await
        .expect(204);
    app.get(&format!("/v4/ApiKey/{}", k.guid)).await.expect(404);
    app.get(&format!("/v4/Operator/{}", k.operator_guid))
        .await
        .expect(404);

    let history = app
        .get(&format!("/v4/ApiKey/{}/History", k.guid))
        .await
        .expect(200);
    let entries = history.body.as_array().unwrap();
    let made = entries
        .iter()
        .find(|e| e["ObjectType"] == "OperatorGroup")
        .unwrap();
    assert_eq!(made["Action"], "Created");
    assert_eq!(made["ContactFirstName"], "Katherine");
    assert_eq!(made["ContactLastName"], "Johnson");
    assert_eq!(made["ApiKeyGuid"], k.guid.as_str());
    assert_eq!(entries[0]["Action"], "Deleted", "newest first");
}

#[tokio::test]
async fn the_last_administrator_s_key_cannot_be_deleted() {
    let app = spawn_app().await;
    let res = app
        .delete(&format!("/v4/ApiKey/{}", app.admin_key_guid))
        .await
        .expect(400);
    assert_eq!(res.code(), "LastAdministrator");
    app.get("/v4/ApiKey").await.expect(200);
}

#[tokio::test]
async fn the_farthest_expiration_date_still_gives_an_rfc_3339_instant() {
    let app = spawn_app().await;
    let mut body = new_key_body("far");
    body["ExpirationDate"] = json!("9999-12-30");
    let res = app.post("/v4/ApiKey", body).await.expect(201);
    assert_eq!(res.body["ExpiresAt"], "9999-12-31T00:00:00.000Z");
    let mut body = new_key_body("too-far");
    body["ExpirationDate"] = json!("9999-12-31");
    let res = app.post("/v4/ApiKey", body).await.expect(400);
    assert_eq!(res.code(), "ExpirationDateTooFar");
    assert!(res.message().contains("9999-12-30"), "{}", res.text);
}

#[tokio::test]
async fn regenerating_a_key_needs_every_section_right_its_operator_holds() {
    let app = spawn_app().await;
    // An administrator key with every API-key permission but no View on `Payroll`.
    let all: Vec<&str> = vec![
        "ApiKey.Read",
        "ApiKey.Create",
        "ApiKey.Update",
        "ApiKey.Delete",
        "Operator.Read",
        "VaultSection.Read",
        "VaultSectionAuthorization.Read",
        "VaultSectionAuthorization.Create",
        "VaultItem.Read",
    ];
    let admin2 = app
        .create_key(json!({"EnablePermissions": true, "Permissions": all}))
        .await;
    app.make_admin(&admin2.operator_guid).await;
    let section = app
        .post("/v4/VaultSection", json!({"Name": "Payroll"}))
        .await
        .expect(201)
        .guid("VaultSectionGuid");
    let target = app
        .create_key(json!({"EnablePermissions": true, "Permissions": ["VaultItem.Read"]}))
        .await;
    let grant = |operator: String, kind: &'static str| {
        let path = format!("/v4/VaultSection/{section}/Authorization");
        let app = &app;
        async move {
            app.post(
                &path,
                json!({"AuthorizationType": kind, "OperatorGuid": operator}),
            )
            .await
            .expect(201);
        }
    };
    grant(target.operator_guid.clone(), "ViewVaultSection").await;
    let regenerate = format!("/v4/ApiKey/{}/Regenerate", target.guid);
    let revoke = format!("/v4/ApiKey/{}/Revoke", target.guid);

    let res = app
        .send(&admin2.key, Method::POST, &regenerate, None)
        .await
        .expect(403);
    assert_eq!(res.code(), "SectionRightsNotHeld");
    assert!(res.message().contains(&section), "{}", res.text);
    // Revoking first changes nothing: regenerating still hands over the identity.
    app.send(&admin2.key, Method::POST, &revoke, None)
        .await
        .expect(200);
    app.send(&admin2.key, Method::POST, &regenerate, None)
        .await
        .expect(403);
    let history = app
        .get(&format!("/v4/ApiKey/{}/History", target.guid))
        .await
        .expect(200)
        .body;
    assert_eq!(
        history
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h["Action"] == "Refused")
            .count(),
        2,
        "{history:#}"
    );

    // View is not enough when the key's operator holds Change.
    grant(admin2.operator_guid.clone(), "ViewVaultSection").await;
    grant(target.operator_guid.clone(), "ChangeVaultSection").await;
    app.send(&admin2.key, Method::POST, &regenerate, None)
        .await
        .expect(403);
    grant(admin2.operator_guid.clone(), "ChangeVaultSection").await;
    let res = app
        .send(&admin2.key, Method::POST, &regenerate, None)
        .await
        .expect(200);
    let new_key = res.guid("Key");
    app.send(&new_key, Method::GET, "/v4/VaultItem", None)
        .await
        .expect(200);
}
