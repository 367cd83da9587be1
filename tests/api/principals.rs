//! `/v4/Operator` and `/v4/OperatorGroup`: uniqueness, the Administrators rules, members.

use serde_json::json;

use crate::helpers::*;

async fn administrators(app: &TestApp) -> String {
    let groups = app.get("/v4/OperatorGroup").await.expect(200);
    groups
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["IsAdministratorsGroup"] == true)
        .unwrap()["OperatorGroupGuid"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn init_creates_administrators_with_an_admin_operator_and_the_bootstrap_key() {
    let app = spawn_app().await;
    let groups = app.get("/v4/OperatorGroup").await.expect(200);
    assert_eq!(
        groups.body,
        json!([{"OperatorGroupGuid": administrators(&app).await, "Description": "Administrators", "IsAdministratorsGroup": true}])
    );
    let ops = app.get("/v4/Operator").await.expect(200);
    let admin = &ops.body[0];
    assert_eq!(admin["Login"], "admin");
    assert_eq!(admin["IsActive"], true);
    let members = app
        .get(&format!(
            "/v4/OperatorGroup/{}/Member",
            administrators(&app).await
        ))
        .await
        .expect(200);
    assert_eq!(
        members.body,
        json!([{"OperatorGuid": admin["OperatorGuid"]}])
    );
    let key = app
        .get(&format!("/v4/ApiKey/{}", app.admin_key_guid))
        .await
        .expect(200);
    assert_eq!(key.body["OperatorGuid"], admin["OperatorGuid"]);
    assert_eq!(
        key.body["Permissions"].as_array().unwrap().len(),
        coffre::types::permissions::all_names().len(),
        "every permission"
    );
}

#[tokio::test]
async fn operators_are_created_read_replaced_patched_and_deleted() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/v4/Operator",
            json!({"FullName": "Alan Turing", "Email": "alan@example.com", "Login": "alan"}),
        )
        .await
        .expect(201);
    let guid = res.guid("OperatorGuid");
    assert_eq!(res.headers["location"], format!("/v4/Operator/{guid}"));
    assert_eq!(res.body["IsActive"], true);
    let path = format!("/v4/Operator/{guid}");
    app.put(
        &path,
        json!({"FullName": "A. M. Turing", "Email": "amt@example.com", "Login": "amt"}),
    )
    .await
    .expect(204);
    app.patch(&path, json!({"IsActive": false}))
        .await
        .expect(204);
    let got = app.get(&path).await.expect(200);
    assert_eq!(
        got.body,
        json!({"OperatorGuid": guid, "Hash": got.body["Hash"], "FullName": "A. M. Turing", "Email": "amt@example.com", "Login": "amt", "IsActive": false})
    );
    assert_ne!(got.body["Hash"], res.body["Hash"], "the operator changed");
    let res = app.put(&path, json!({"FullName": "x"})).await.expect(400);
    assert_eq!(res.code(), "FieldRequired");
    app.delete(&path).await.expect(204);
    app.get(&path).await.expect(404);
}

#[tokio::test]
async fn operator_e_mail_and_login_are_unique() {
    let app = spawn_app().await;
    app.post(
        "/v4/Operator",
        json!({"FullName": "One", "Email": "one@example.com", "Login": "one"}),
    )
    .await
    .expect(201);
    let res = app
        .post(
            "/v4/Operator",
            json!({"FullName": "Two", "Email": "ONE@example.com", "Login": "two"}),
        )
        .await
        .expect(409);
    assert_eq!(res.code(), "EmailTaken");
    let res = app
        .post(
            "/v4/Operator",
            json!({"FullName": "Two", "Email": "two@example.com", "Login": "One"}),
        )
        .await
        .expect(409);
    assert_eq!(res.code(), "LoginTaken");
    let res = app
        .post(
            "/v4/Operator",
            json!({"FullName": "Two", "Email": "two@example.com", "Login": "admin"}),
        )
        .await
        .expect(409);
    assert_eq!(res.code(), "LoginTaken");
}

#[tokio::test]
async fn an_api_key_s_operator_is_deleted_with_the_key_not_alone() {
    let app = spawn_app().await;
    let k = app.create_key(json!({})).await;
    let res = app
        .delete(&format!("/v4/Operator/{}", k.operator_guid))
        .await
        .expect(400);
    assert_eq!(res.code(), "OperatorHasApiKey");
}

#[tokio::test]
async fn administrators_cannot_be_deleted_renamed_or_emptied() {
    let app = spawn_app().await;
    let admins = administrators(&app).await;
    let res = app
        .delete(&format!("/v4/OperatorGroup/{admins}"))
        .await
        .expect(400);
    assert_eq!(res.code(), "AdministratorsGroupFixed");
    app.put(
        &format!("/v4/OperatorGroup/{admins}"),
        json!({"Description": "Admins"}),
    )
    .await
    .expect(400);
    let admin_op = app.get("/v4/Operator").await.body[0]["OperatorGuid"]
        .as_str()
        .unwrap()
        .to_string();
    let res = app
        .delete(&format!("/v4/OperatorGroup/{admins}/Member/{admin_op}"))
        .await
        .expect(400);
    assert_eq!(res.code(), "LastAdministrator");
    let res = app
        .patch(
            &format!("/v4/Operator/{admin_op}"),
            json!({"IsActive": false}),
        )
        .await
        .expect(400);
    assert_eq!(res.code(), "LastAdministrator");

    // With a second administrator, the first may leave.
    let other = app
        .post(
            "/v4/Operator",
            json!({"FullName": "Second", "Email": "second@example.com", "Login": "second"}),
        )
        .await
        .expect(201);
    let other = other.guid("OperatorGuid");
    app.post(
        &format!("/v4/OperatorGroup/{admins}/Member/{other}"),
        json!({}),
    )
    .await
    .expect(201);
    app.delete(&format!("/v4/OperatorGroup/{admins}/Member/{admin_op}"))
        .await
        .expect(204);
    // The bootstrap key now acts as a non-administrator.
    let res = app.get("/v4/Operator").await.expect(403);
    assert_eq!(res.code(), "NotAdministrator");
}

#[tokio::test]
async fn groups_and_members_round_trip() {
    let app = spawn_app().await;
    let res = app
        .post("/v4/OperatorGroup", json!({"Description": "Support"}))
        .await
        .expect(201);
    let group = res.guid("OperatorGroupGuid");
    assert_eq!(res.body["IsAdministratorsGroup"], false);
    app.post("/v4/OperatorGroup", json!({"Description": "support"}))
        .await
        .expect(409);
    let res = app
        .post(
            "/v4/OperatorGroup",
            json!({"Description": "Admins 2", "IsAdministratorsGroup": true}),
        )
        .await
        .expect(400);
    assert_eq!(res.code(), "AdministratorsGroupExists");

    let op = app
        .post(
            "/v4/Operator",
            json!({"FullName": "M", "Email": "m@example.com", "Login": "m"}),
        )
        .await
        .expect(201)
        .guid("OperatorGuid");
    let member = app
        .post(&format!("/v4/OperatorGroup/{group}/Member/{op}"), json!({}))
        .await
        .expect(201);
    assert_eq!(member.body, json!({"OperatorGuid": op}));
    app.post(&format!("/v4/OperatorGroup/{group}/Member/{op}"), json!({}))
        .await
        .expect(409);
    let list = app
        .get(&format!("/v4/OperatorGroup/{group}/Member"))
        .await
        .expect(200);
    assert_eq!(list.body, json!([{"OperatorGuid": op}]));
    app.delete(&format!("/v4/OperatorGroup/{group}/Member/{op}"))
        .await
        .expect(204);
    app.delete(&format!("/v4/OperatorGroup/{group}/Member/{op}"))
        .await
        .expect(404);
    app.put(
        &format!("/v4/OperatorGroup/{group}"),
        json!({"Description": "Support desk"}),
    )
    .await
    .expect(204);
    assert_eq!(
        app.get(&format!("/v4/OperatorGroup/{group}")).await.body["Description"],
        "Support desk"
    );
    app.delete(&format!("/v4/OperatorGroup/{group}"))
        .await
        .expect(204);
    app.get(&format!("/v4/OperatorGroup/{group}"))
        .await
        .expect(404);
}

#[tokio::test]
async fn history_records_every_change_with_the_contact_names_and_filters() {
    let app = spawn_app().await;
    let k = app
        .create_key(json!({"ContactFirstName": "Hedy", "ContactLastName": "Lamarr"}))
        .await;
    app.make_admin(&k.operator_guid).await;
    app.set_now("2026-06-16T08:00:00Z");
    let g = app
        .send(
            &k.key,
            reqwest::Method::POST,
            "/v4/OperatorGroup",
            Some(&json!({"Description": "Radio"})),
        )
        .await
        .expect(201)
        .guid("OperatorGroupGuid");
    app.send(
        &k.key,
        reqwest::Method::PUT,
        &format!("/v4/OperatorGroup/{g}"),
        Some(&json!({"Description": "Radio 2"})),
    )
    .await
    .expect(204);

    let all = app.get("/v4/History").await.expect(200);
    let entries = all.body.as_array().unwrap();
    let ids: Vec<i64> = entries
        .iter()
        .map(|e| e["HistoryId"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first");
    assert_eq!(entries[0]["Action"], "Updated");
    assert_eq!(entries[0]["ObjectGuid"], g.as_str());
    assert_eq!(entries[0]["Details"], "Fields: Description");
    assert_eq!(entries[0]["ContactFirstName"], "Hedy");
    assert_eq!(entries[0]["ContactLastName"], "Lamarr");
    assert_eq!(entries[0]["Timestamp"], "2026-06-16T08:00:00.000Z");

    let groups_only = app
        .get("/v4/History?ObjectType=OperatorGroup")
        .await
        .expect(200);
    assert!(
        groups_only
            .body
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["ObjectType"] == "OperatorGroup")
    );
    let since = app
        .get("/v4/History?Since=2026-06-16T00:00:00Z")
        .await
        .expect(200);
    assert_eq!(since.body.as_array().unwrap().len(), 2);
    let limited = app.get("/v4/History?Limit=1").await.expect(200);
    assert_eq!(limited.body.as_array().unwrap().len(), 1);
    for bad in [
        "ObjectType=Nope",
        "Since=yesterday",
        "Limit=0",
        "Colour=red",
    ] {
        let res = app.get(&format!("/v4/History?{bad}")).await.expect(400);
        assert!(!res.message().is_empty(), "{bad}");
    }
}

/// A key in Administrators that may manage operators and groups but holds no
/// `ApiKey.*` permission: weaker than the bootstrap key.
async fn weaker_administrator(app: &TestApp) -> ApiKeyHandle {
    let weak = app
        .create_key(json!({"EnablePermissions": true, "Permissions": [
            "Operator.Read", "Operator.Update", "Operator.Delete",
            "OperatorGroup.Read", "OperatorGroup.Update", "History.Read"]}))
        .await;
    app.make_admin(&weak.operator_guid).await;
    weak
}

#[tokio::test]
async fn a_weaker_administrator_cannot_disable_or_redirect_a_stronger_key_s_operator() {
    use reqwest::Method;
    let app = spawn_app().await;
    let weak = weaker_administrator(&app).await;
    let boot_op = app
        .get(&format!("/v4/ApiKey/{}", app.admin_key_guid))
        .await
        .expect(200)
        .guid("OperatorGuid");
    let admins = administrators(&app).await;
    let other = app
        .post("/v4/OperatorGroup", json!({"Description": "Support"}))
        .await
        .expect(201)
        .guid("OperatorGroupGuid");
    let path = format!("/v4/Operator/{boot_op}");
    let before = app.get(&path).await.expect(200).body;

    let refused = [
        (
            Method::PATCH,
            path.clone(),
            Some(json!({"IsActive": false})),
        ),
        (
            Method::PATCH,
            path.clone(),
            Some(json!({"Email": "mallory@example.com"})),
        ),
        (
            Method::PATCH,
            path.clone(),
            Some(json!({"Login": "mallory"})),
        ),
        (
            Method::PUT,
            path.clone(),
            Some(
                json!({"FullName": "Administrator", "Email": "mallory@example.com", "Login": "admin"}),
            ),
        ),
        (Method::DELETE, path.clone(), None),
        (
            Method::DELETE,
            format!("/v4/OperatorGroup/{admins}/Member/{boot_op}"),
            None,
        ),
        (
            Method::POST,
            format!("/v4/OperatorGroup/{other}/Member/{boot_op}"),
            None,
        ),
    ];
    for (method, p, body) in &refused {
        let res = app.send(&weak.key, method.clone(), p, body.as_ref()).await;
        assert_eq!(res.status, 403, "{method} {p} {body:?}: {}", res.text);
        assert_eq!(res.code(), "PermissionNotHeld", "{method} {p}");
        assert!(res.message().contains("ApiKey.Create"), "{}", res.text);
    }
    // Nothing changed: the bootstrap key still works, its operator is as it was.
    assert_eq!(app.get(&path).await.expect(200).body, before);
    let members = app
        .get(&format!("/v4/OperatorGroup/{admins}/Member"))
        .await
        .expect(200)
        .text;
    assert!(members.contains(&boot_op));
    // Each refusal is in the history, as the weaker key's doing.
    let history = app.get("/v4/History?Limit=100").await.expect(200).body;
    let refusals: Vec<_> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["Action"] == "Refused")
        .collect();
    assert_eq!(refusals.len(), refused.len(), "{history:#}");
    assert!(
        refusals
            .iter()
            .all(|h| h["ApiKeyGuid"] == weak.guid.as_str())
    );

    // What is not a takeover stays allowed: renaming, and acting on a key
    // the caller outranks.
    app.send(
        &weak.key,
        Method::PATCH,
        &path,
        Some(&json!({"FullName": "Root"})),
    )
    .await
    .expect(204);
    let weaker = app
        .create_key(json!({"EnablePermissions": true, "Permissions": ["Operator.Read"]}))
        .await;
    app.send(
        &weak.key,
        Method::PATCH,
        &format!("/v4/Operator/{}", weaker.operator_guid),
        Some(&json!({"IsActive": false})),
    )
    .await
    .expect(204);
    app.send(&weaker.key, Method::GET, "/v4/Operator", None)
        .await
        .expect(401);
}
