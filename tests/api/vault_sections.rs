//! `/v4/VaultSection` and its authorizations: visibility, the View/Change
//! rules of the seed, groups.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

async fn default_section(app: &TestApp) -> String {
    let list = app.get("/v4/VaultSection").await.expect(200);
    list.body
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Name"] == "Vault items")
        .unwrap()["VaultSectionGuid"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A non-administrator key (default permissions) and its operator.
async fn member_key(app: &TestApp) -> ApiKeyHandle {
    app.create_key(json!({})).await
}

async fn credential(app: &TestApp, key: &str, section: &str) -> Res {
    let body = json!({"Name": "db login", "VaultSectionGuid": section, "VaultItemType": "CredentialSet", "UserName": "u", "Password": "p4ss"});
    app.send(key, Method::POST, "/v4/VaultItem", Some(&body))
        .await
}

#[tokio::test]
async fn the_default_section_gives_administrators_full_control() {
    let app = spawn_app().await;
    let section = default_section(&app).await;
    let auths = app
        .get(&format!("/v4/VaultSection/{section}/Authorization"))
        .await
        .expect(200);
    let list = auths.body.as_array().unwrap();
    assert_eq!(list.len(), 2);
    let kinds: Vec<&str> = list
        .iter()
        .map(|a| a["AuthorizationType"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"ViewVaultSection") && kinds.contains(&"ChangeVaultSection"));
    for a in list {
        assert_eq!(a["ContextId"], section.as_str());
        assert_eq!(a["OperatorGuid"], "");
        assert_ne!(a["OperatorGroupId"], "");
    }
    credential(&app, &app.admin_key, &section).await.expect(201);
}

#[tokio::test]
async fn a_new_section_belongs_to_its_creator_only() {
    let app = spawn_app().await;
    let alice = member_key(&app).await;
    let bob = member_key(&app).await;
    let res = app
        .send(
            &alice.key,
            Method::POST,
            "/v4/VaultSection",
            Some(&json!({"Name": "Alice's"})),
        )
        .await
        .expect(201);
    let section = res.guid("VaultSectionGuid");
    assert_eq!(
        res.body,
        json!({"VaultSectionGuid": section, "Name": "Alice's"})
    );
    let auths = app
        .send(
            &alice.key,
            Method::GET,
            &format!("/v4/VaultSection/{section}/Authorization"),
            None,
        )
        .await
        .expect(200);
    let list = auths.body.as_array().unwrap();
    assert_eq!(
        list.len(),
        2,
        "View and Change for the creator, nothing else"
    );
    assert!(
        list.iter().all(
            |a| a["OperatorGuid"] == alice.operator_guid.as_str() && a["OperatorGroupId"] == ""
        )
    );

    // Bob sees nothing of it: not in the list, 404 on it and on its items.
    let bobs = app
        .send(&bob.key, Method::GET, "/v4/VaultSection", None)
        .await
        .expect(200);
    assert!(
        bobs.body
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["VaultSectionGuid"] != section.as_str())
    );
    app.send(
        &bob.key,
        Method::GET,
        &format!("/v4/VaultSection/{section}"),
        None,
    )
    .await
    .expect(404);
    let item = credential(&app, &alice.key, &section)
        .await
        .expect(201)
        .guid("VaultItemGuid");
    app.send(
        &bob.key,
        Method::GET,
        &format!("/v4/VaultItem/{item}"),
        None,
    )
    .await
    .expect(404);
    let bob_items = app
        .send(&bob.key, Method::GET, "/v4/VaultItem", None)
        .await
        .expect(200);
    assert_eq!(bob_items.body, json!([]));
    credential(&app, &bob.key, &section).await.expect(404);

    // Administrators list every section and manage its authorizations, but
    // still need View to read its items.
    let admin_list = app.get("/v4/VaultSection").await.expect(200);
    assert!(
        admin_list
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["VaultSectionGuid"] == section.as_str())
    );
    app.get(&format!("/v4/VaultSection/{section}"))
        .await
        .expect(200);
    app.get(&format!("/v4/VaultItem/{item}")).await.expect(404);
    let admin_op = app
        .get(&format!("/v4/ApiKey/{}", app.admin_key_guid))
        .await
        .body["OperatorGuid"]
        .clone();
    app.post(
        &format!("/v4/VaultSection/{section}/Authorization"),
        json!({"AuthorizationType": "ViewVaultSection", "OperatorGuid": admin_op}),
    )
    .await
    .expect(201);
    app.get(&format!("/v4/VaultItem/{item}")).await.expect(200);
    let history = app
        .get(&format!("/v4/VaultSection/{section}/History"))
        .await
        .expect(200);
    assert!(
        history.text.contains("ViewVaultSection for operator"),
        "the grant is in the history"
    );
}

#[tokio::test]
async fn view_without_change_reads_but_gets_403_on_writes() {
    let app = spawn_app().await;
    let section = default_section(&app).await;
    let item = credential(&app, &app.admin_key, &section)
        .await
        .expect(201)
        .guid("VaultItemGuid");
    let viewer = member_key(&app).await;
    app.post(
        &format!("/v4/VaultSection/{section}/Authorization"),
        json!({"AuthorizationType": "ViewVaultSection", "OperatorGuid": viewer.operator_guid}),
    )
    .await
    .expect(201);

    app.send(
        &viewer.key,
        Method::GET,
        &format!("/v4/VaultItem/{item}"),
        None,
    )
    .await
    .expect(200);
    app.send(
        &viewer.key,
        Method::GET,
        &format!("/v4/VaultSection/{section}"),
        None,
    )
    .await
    .expect(200);
    let res = credential(&app, &viewer.key, &section).await.expect(403);
    assert_eq!(res.code(), "ChangeVaultSectionRequired");
    let put = json!({"Name": "x", "VaultItemType": "CredentialSet"});
    app.send(
        &viewer.key,
        Method::PUT,
        &format!("/v4/VaultItem/{item}"),
        Some(&put),
    )
    .await
    .expect(403);
    app.send(
        &viewer.key,
        Method::PATCH,
        &format!("/v4/VaultItem/{item}"),
        Some(&json!({"Name": "x"})),
    )
    .await
    .expect(403);
    app.send(
        &viewer.key,
        Method::DELETE,
        &format!("/v4/VaultItem/{item}"),
        None,
    )
    .await
    .expect(403);
    app.send(
        &viewer.key,
        Method::PUT,
        &format!("/v4/VaultSection/{section}"),
        Some(&json!({"Name": "x"})),
    )
    .await
    .expect(403);
    app.send(
        &viewer.key,
        Method::DELETE,
        &format!("/v4/VaultSection/{section}"),
        None,
    )
    .await
    .expect(403);
    let grant =
        json!({"AuthorizationType": "ViewVaultSection", "OperatorGuid": viewer.operator_guid});
    app.send(
        &viewer.key,
        Method::POST,
        &format!("/v4/VaultSection/{section}/Authorization"),
        Some(&grant),
    )
    .await
    .expect(403);
    assert_eq!(
        app.get(&format!("/v4/VaultItem/{item}")).await.body["Name"],
        "db login",
        "nothing changed"
    );
}

#[tokio::test]
async fn a_group_grant_works_for_every_member_and_stops_when_one_leaves() {
    let app = spawn_app().await;
    let section = app
        .post("/v4/VaultSection", json!({"Name": "Team"}))
        .await
        .expect(201)
        .guid("VaultSectionGuid");
    let group = app
        .post("/v4/OperatorGroup", json!({"Description": "Team"}))
        .await
        .expect(201)
        .guid("OperatorGroupGuid");
    let (a, b) = (member_key(&app).await, member_key(&app).await);
    for m in [&a, &b] {
        app.post(
            &format!("/v4/OperatorGroup/{group}/Member/{}", m.operator_guid),
            json!({}),
        )
        .await
        .expect(201);
    }
    // The seed's own example body, with our group's id.
    let seed_example = json!({
        "ContextId": section,
        "AuthorizationType": "ChangeVaultSection",
        "OperatorGuid": "",
        "OperatorGroupId": group
    });
    let grant = app
        .post(
            &format!("/v4/VaultSection/{section}/Authorization"),
            seed_example,
        )
        .await
        .expect(201);
    assert_eq!(grant.body["AuthorizationType"], "ChangeVaultSection");
    assert_eq!(grant.body["OperatorGroupId"], group.as_str());
    assert_eq!(grant.body["OperatorGuid"], "");

    for m in [&a, &b] {
        credential(&app, &m.key, &section).await.expect(201);
    }
    app.delete(&format!(
        "/v4/OperatorGroup/{group}/Member/{}",
        b.operator_guid
    ))
    .await
    .expect(204);
    credential(&app, &a.key, &section).await.expect(201);
    credential(&app, &b.key, &section).await.expect(404);
    let listed = app
        .send(&b.key, Method::GET, "/v4/VaultItem", None)
        .await
        .expect(200);
    assert_eq!(listed.body, json!([]));
}

#[tokio::test]
async fn change_brings_view_and_nothing_is_stored_twice() {
    let app = spawn_app().await;
    let section = app
        .post("/v4/VaultSection", json!({"Name": "S"}))
        .await
        .expect(201)
        .guid("VaultSectionGuid");
    let op = member_key(&app).await.operator_guid;
    let path = format!("/v4/VaultSection/{section}/Authorization");
    app.post(
        &path,
        json!({"AuthorizationType": "ChangeVaultSection", "OperatorGuid": op}),
    )
    .await
    .expect(201);
    let mine = |list: &Value| {
        list.as_array()
            .unwrap()
            .iter()
            .filter(|a| a["OperatorGuid"] == op.as_str())
            .count()
    };
    assert_eq!(mine(&app.get(&path).await.body), 2, "Change came with View");
    let res = app
        .post(
            &path,
            json!({"AuthorizationType": "ViewVaultSection", "OperatorGuid": op}),
        )
        .await
        .expect(409);
    assert_eq!(res.code(), "AuthorizationExists");
    app.post(
        &path,
        json!({"AuthorizationType": "ChangeVaultSection", "OperatorGuid": op.to_lowercase()}),
    )
    .await
    .expect(409);
    assert_eq!(mine(&app.get(&path).await.body), 2);
}

#[tokio::test]
async fn authorization_bodies_are_checked() {
    let app = spawn_app().await;
    let section = default_section(&app).await;
    let path = format!("/v4/VaultSection/{section}/Authorization");
    let op = member_key(&app).await.operator_guid;
    let group = app
        .post("/v4/OperatorGroup", json!({"Description": "G"}))
        .await
        .expect(201)
        .guid("OperatorGroupGuid");
    let missing = "00000000-0000-4000-8000-000000000001";
    let cases = [
        (
            json!({"AuthorizationType": "ViewVaultSection"}),
            "GranteeRequired",
        ),
        (
            json!({"AuthorizationType": "ViewVaultSection", "OperatorGuid": op, "OperatorGroupId": group}),
            "GranteeRequired",
        ),
        (
            json!({"AuthorizationType": "ViewVaultSection", "OperatorGuid": "", "OperatorGroupId": null}),
            "GranteeRequired",
        ),
        (
            json!({"AuthorizationType": "ViewVaultSection", "OperatorGuid": missing}),
            "OperatorNotFound",
        ),
        (
            json!({"AuthorizationType": "ViewVaultSection", "OperatorGroupId": missing}),
            "OperatorGroupNotFound",
        ),
        (
            json!({"AuthorizationType": "ViewVaultSection", "OperatorGuid": "nope"}),
            "InvalidGuid",
        ),
        (
            json!({"AuthorizationType": "EditVaultSection", "OperatorGuid": op}),
            "InvalidField",
        ),
        (json!({"OperatorGuid": op}), "FieldRequired"),
        (
            json!({"AuthorizationType": "ViewVaultSection", "OperatorGuid": op, "ContextId": missing}),
            "GuidMismatch",
        ),
        (
            json!({"AuthorizationType": "ViewVaultSection", "OperatorGroupId": group, "OperatorGroupGuid": missing}),
            "GuidMismatch",
        ),
    ];
    for (body, code) in cases {
        let res = app.post(&path, body.clone()).await.expect(400);
        assert_eq!(res.code(), code, "{body}: {}", res.text);
    }
    // The alias works.
    let res = app
        .post(
            &path,
            json!({"AuthorizationType": "ViewVaultSection", "OperatorGroupGuid": group}),
        )
        .await
        .expect(201);
    assert_eq!(res.body["OperatorGroupId"], group.as_str());
}

#[tokio::test]
async fn deleting_view_takes_change_with_it_and_the_last_change_stays() {
    let app = spawn_app().await;
    let creator = member_key(&app).await;
    let section = app
        .send(
            &creator.key,
            Method::POST,
            "/v4/VaultSection",
            Some(&json!({"Name": "Mine"})),
        )
        .await
        .expect(201)
        .guid("VaultSectionGuid");
    let path = format!("/v4/VaultSection/{section}/Authorization");
    let list = app.send(&creator.key, Method::GET, &path, None).await.body;
    let id_of = |list: &Value, kind: &str, who: &str| -> String {
        list.as_array()
            .unwrap()
            .iter()
            .find(|a| {
                a["AuthorizationType"] == kind
                    && (a["OperatorGuid"] == who || a["OperatorGroupId"] == who)
            })
            .unwrap()["AuthorizationId"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let creator_change = id_of(&list, "ChangeVaultSection", &creator.operator_guid);
    let creator_view = id_of(&list, "ViewVaultSection", &creator.operator_guid);
    let res = app
        .send(
            &creator.key,
            Method::DELETE,
            &format!("{path}/{creator_change}"),
            None,
        )
        .await
        .expect(400);
    assert_eq!(res.code(), "LastChangeAuthorization");
    app.send(
        &creator.key,
        Method::DELETE,
        &format!("{path}/{creator_view}"),
        None,
    )
    .await
    .expect(400);

    let other = member_key(&app).await;
    app.send(&creator.key, Method::POST, &path, Some(&json!({"AuthorizationType": "ChangeVaultSection", "OperatorGuid": other.operator_guid}))).await.expect(201);
    let list = app.send(&creator.key, Method::GET, &path, None).await.body;
    let other_view = id_of(&list, "ViewVaultSection", &other.operator_guid);
    app.send(
        &creator.key,
        Method::DELETE,
        &format!("{path}/{other_view}"),
        None,
    )
    .await
    .expect(204);
    let list = app.send(&creator.key, Method::GET, &path, None).await.body;
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|a| a["OperatorGuid"] != other.operator_guid.as_str()),
        "View took Change with it"
    );
    app.send(
        &creator.key,
        Method::DELETE,
        &format!("{path}/{other_view}"),
        None,
    )
    .await
    .expect(404);
}

#[tokio::test]
async fn sections_are_renamed_and_deleted_only_when_empty() {
    let app = spawn_app().await;
    let section = app
        .post("/v4/VaultSection", json!({"Name": "Temp"}))
        .await
        .expect(201)
        .guid("VaultSectionGuid");
    app.put(
        &format!("/v4/VaultSection/{section}"),
        json!({"VaultSectionGuid": section, "Name": "Web shop vault items"}),
    )
    .await
    .expect(204);
    assert_eq!(
        app.get(&format!("/v4/VaultSection/{}", section.to_lowercase()))
            .await
            .body["Name"],
        "Web shop vault items"
    );
    let item = credential(&app, &app.admin_key, &section)
        .await
        .expect(201)
        .guid("VaultItemGuid");
    let res = app
        .delete(&format!("/v4/VaultSection/{section}"))
        .await
        .expect(400);
    assert_eq!(res.code(), "VaultSectionNotEmpty");
    app.delete(&format!("/v4/VaultItem/{item}"))
        .await
        .expect(204);
    app.delete(&format!("/v4/VaultSection/{section}"))
        .await
        .expect(204);
    app.get(&format!("/v4/VaultSection/{section}"))
        .await
        .expect(404);
    app.post("/v4/VaultSection", json!({"Name": "  "}))
        .await
        .expect(400);
    app.post(
        "/v4/VaultSection",
        json!({"Name": "x", "VaultSectionGuid": section}),
    )
    .await
    .expect(400);
}
