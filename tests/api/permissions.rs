//! The permission matrix, generated from the server's own declaration (the
//! `x-coffre-permission` and `x-coffre-requires` of every operation in
//! `/openapi.json`) and checked against every operation:
//! - a key holding every permission but the required one gets 403
//!   MissingPermission naming it, and so does an OAuth access token carrying
//!   every scope but the required one;
//! - a key holding every permission whose operator lacks the declared right
//!   (Administrators, View or Change on the section) gets the documented 403
//!   or 404, and a filtered list shows nothing it may not view;
//! - the explicit-only permissions are refused to a key without
//!   EnablePermissions.
//!
//! The declaration is also checked against what SPEC §3–5 say each family of
//! routes needs, so a weakened declaration fails here too.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

/// Every permission, as the server names them.
fn all() -> Vec<&'static str> {
    coffre::types::permissions::all_names().to_vec()
}

/// One operation of the document, with a concrete request for it.
struct Operation {
    method: Method,
    template: String,
    id: String,
    permission: String,
    requires: String,
    url: String,
    body: Option<Value>,
    documented: Vec<u16>,
}

/// The objects every path parameter can name.
struct Fixtures {
    section: String,
    item: String,
    usage: String,
    authorization: String,
    key: String,
    client: String,
    operator: String,
    group: String,
}

async fn fixtures(app: &TestApp) -> Fixtures {
    let section = app
        .post("/v4/VaultSection", json!({"Name": "Matrix"}))
        .await
        .expect(201)
        .guid("VaultSectionGuid");
    let item = app
        .post(
            "/v4/VaultItem",
            json!({"Name": "m", "VaultSectionGuid": section, "VaultItemType": "CredentialSet", "Password": "p"}),
        )
        .await
        .expect(201)
        .guid("VaultItemGuid");
    // A new password keeps the first as version 1.
    app.patch(&format!("/v4/VaultItem/{item}"), json!({"Password": "q"}))
        .await
        .expect(204);
    let usage = app
        .post(
            &format!("/v4/VaultItem/{item}/Usage"),
            json!({"ConsumerType": "monitor", "ConsumerName": "m"}),
        )
        .await
        .expect(201)
        .guid("UsageGuid");
    let group = app
        .post("/v4/OperatorGroup", json!({"Description": "Matrix group"}))
        .await
        .expect(201)
        .guid("OperatorGroupGuid");
    let authorization = app
        .post(
            &format!("/v4/VaultSection/{section}/Authorization"),
            json!({"AuthorizationType": "ViewVaultSection", "OperatorGroupId": group}),
        )
        .await
        .expect(201)
        .guid("AuthorizationId");
    let operator = app
        .post(
            "/v4/Operator",
            json!({"FullName": "M", "Email": "m@example.com", "Login": "m"}),
        )
        .await
        .expect(201)
        .guid("OperatorGuid");
    let key = app.create_key(json!({})).await.guid;
    let client = app.create_client(json!({})).await.guid;
    Fixtures {
        section,
        item,
        usage,
        authorization,
        key,
        client,
        operator,
        group,
    }
}

/// A body that passes parsing, so the rights are what decides.
fn body_for(id: &str, f: &Fixtures) -> Value {
    match id {
        "create_item" => json!({"Name": "x", "VaultSectionGuid": f.section,
            "VaultItemType": "CredentialSet", "Password": "p"}),
        "replace_item" | "patch_item" | "rename_section" => json!({"Name": "x"}),
        "create_authorization" => {
            json!({"AuthorizationType": "ViewVaultSection", "OperatorGuid": f.operator})
        }
        "add_usage" => json!({"ConsumerType": "monitor", "ConsumerName": "x"}),
        "set_clock" => json!({"Now": "2030-01-01T00:00:00Z"}),
        _ => json!({}),
    }
}

async fn operations(app: &TestApp, f: &Fixtures) -> Vec<Operation> {
    let doc = app.openapi_document().await;
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let url = path
                .replace("{VaultSectionGuid}", &f.section)
                .replace("{VaultItemGuid}", &f.item)
                .replace("{UsageGuid}", &f.usage)
                .replace("{Version}", "1")
                .replace("{AuthorizationId}", &f.authorization)
                .replace("{ApiKeyGuid}", &f.key)
                .replace("{OAuthClientGuid}", &f.client)
                .replace("{OperatorGuid}", &f.operator)
                .replace("{OperatorGroupGuid}", &f.group);
            assert!(
                !url.contains('{'),
                "{path}: a path parameter without a fixture"
            );
            let id = op["operationId"].as_str().unwrap().to_string();
            out.push(Operation {
                method: Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                template: path.clone(),
                body: op.get("requestBody").map(|_| body_for(&id, f)),
                id,
                permission: op["x-coffre-permission"].as_str().unwrap().to_string(),
                requires: op["x-coffre-requires"].as_str().unwrap().to_string(),
                url,
                documented: op["responses"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .map(|k| k.parse().unwrap())
                    .collect(),
            });
        }
    }
    assert!(out.len() > 50, "{} operations", out.len());
    out
}

/// The permission SPEC §4 names for a route: its object is the route's
/// resource, its action the method's (a POST on an existing object is an
/// Update; Reveal and usage have their own). The dev clock needs none.
fn expected_permission(op: &Operation) -> String {
    let t = op.template.as_str();
    let family = t.split('/').nth(2).unwrap_or("");
    if !t.starts_with("/v4/") || family == "Dev" || family == "Session" {
        return "none".into();
    }
    let object = if family == "VaultSection" && t.contains("/Authorization") {
        "VaultSectionAuthorization"
    } else {
        family
    };
    let action = match op.method.as_str() {
        "GET" if t.ends_with("/Reveal") => "Reveal",
        "GET" => "Read",
        "POST" | "DELETE" if t.contains("/Usage") => "Use",
        "POST" if t.ends_with("/Revoke") || t.ends_with("/Regenerate") => "Update",
        "POST" if t.ends_with("/Restore") => "Update",
        "POST" | "DELETE" if t.contains("/Member/") => "Update",
        "POST" => "Create",
        "PUT" | "PATCH" => "Update",
        _ => "Delete",
    };
    format!("{object}.{action}")
}

/// What SPEC §3–5 say each family of routes needs besides its permission.
fn expected_requirement(op: &Operation) -> &'static [&'static str] {
    let family = op.template.split('/').nth(2).unwrap_or("");
    match family {
        "ApiKey" | "OAuthClient" | "Operator" | "OperatorGroup" | "History" | "Outbox" | "Dev" => {
            &["Administrators"]
        }
        "VaultItem" if op.method == Method::GET && op.template == "/v4/VaultItem" => &["filtered"],
        "VaultItem" if op.method == Method::GET || op.template.contains("/Usage") => {
            &["ViewVaultSection"]
        }
        "VaultItem" => &["ChangeVaultSection"],
        "VaultSection" if op.template == "/v4/VaultSection" && op.method == Method::GET => {
            &["filtered"]
        }
        "VaultSection" if op.template == "/v4/VaultSection" => &["none"],
        "VaultSection" if op.template.contains("/Authorization") && op.method != Method::GET => {
            &["ChangeVaultSection or Administrators"]
        }
        "VaultSection" if op.method == Method::GET => &["ViewVaultSection or Administrators"],
        "VaultSection" => &["ChangeVaultSection"],
        // The console's sign-in and sign-out check the key or cookie
        // themselves; saying who is signed in needs just a caller.
        "Session" if op.method == Method::GET => &["authenticated"],
        _ => &["none"],
    }
}

async fn call(app: &TestApp, key: &str, op: &Operation) -> Res {
    app.send(key, op.method.clone(), &op.url, op.body.as_ref())
        .await
}

#[tokio::test]
async fn every_operation_refuses_a_key_without_its_permission_or_its_operator_right() {
    let app = app().config(|c| c.dev = true).spawn().await;
    let f = fixtures(&app).await;
    let ops = operations(&app, &f).await;

    // The declaration itself: every operation under /v4 but the dev clock
    // names the permission the specification gives it, and needs the
    // operator right it gives it.
    for op in &ops {
        let what = format!("{} {}", op.method, op.template);
        assert_eq!(op.permission, expected_permission(op), "{what}");
        assert!(
            expected_requirement(op).contains(&op.requires.as_str()),
            "{what}: declared {}, the specification says {:?}",
            op.requires,
            expected_requirement(op)
        );
    }

    // 1. Every permission but the required one.
    let mut without = std::collections::HashMap::new();
    for p in all() {
        let others: Vec<&str> = all().into_iter().filter(|q| *q != p).collect();
        let k = app
            .create_key(json!({"EnablePermissions": true, "Permissions": others}))
            .await;
        app.make_admin(&k.operator_guid).await;
        without.insert(p, k.key);
    }
    for op in ops.iter().filter(|op| op.permission != "none") {
        let res = call(&app, &without[op.permission.as_str()], op).await;
        let what = format!("{} {} without {}", op.method, op.template, op.permission);
        assert_eq!(res.status, 403, "{what}: {}", res.text);
        assert_eq!(res.code(), "MissingPermission", "{what}");
        assert!(
            res.message().contains(&op.permission),
            "{what}: {}",
            res.text
        );
    }

    // 1b. The same through OAuth: a client allowed every scope, whose token
    //     carries every scope but the one the operation needs.
    let scopes: Vec<&str> = coffre::types::permissions::all_scopes().collect();
    let client = app.create_client(json!({"Scopes": scopes})).await;
    app.make_admin(&client.operator_guid).await;
    for op in ops.iter().filter(|op| op.permission != "none") {
        let scope = coffre::types::Permission::parse(&op.permission)
            .unwrap()
            .scope();
        let others: Vec<&str> = scopes.iter().copied().filter(|s| *s != scope).collect();
        let token = app.token(&client, Some(&others.join(" "))).await;
        let res = call(&app, &token, op).await;
        let what = format!("{} {} with a token without {scope}", op.method, op.template);
        assert_eq!(res.status, 403, "{what}: {}", res.text);
        assert_eq!(res.code(), "MissingPermission", "{what}");
        assert!(
            res.message().contains(scope) && res.message().contains(&op.permission),
            "{what}: {}",
            res.text
        );
    }

    // 2. Every permission, but an operator without the right: first with no
    //    right at all, then (for section writes) with View only.
    let outsider = app
        .create_key(json!({"EnablePermissions": true, "Permissions": all()}))
        .await;
    let viewer = app
        .create_key(json!({"EnablePermissions": true, "Permissions": all()}))
        .await;
    app.post(
        &format!("/v4/VaultSection/{}/Authorization", f.section),
        json!({"AuthorizationType": "ViewVaultSection", "OperatorGuid": viewer.operator_guid}),
    )
    .await
    .expect(201);
    for op in &ops {
        let what = format!("{} {} ({})", op.method, op.template, op.requires);
        let res = call(&app, &outsider.key, op).await;
        let expected: &[u16] = match op.requires.as_str() {
            "Administrators" => &[403],
            "ViewVaultSection"
            | "ChangeVaultSection"
            | "ViewVaultSection or Administrators"
            | "ChangeVaultSection or Administrators" => &[404],
            "filtered" => &[200],
            _ => continue,
        };
        assert!(
            expected.contains(&res.status),
            "{what}: {} {}",
            res.status,
            res.text
        );
        assert!(
            op.documented.contains(&res.status),
            "{what}: {} undocumented",
            res.status
        );
        match op.requires.as_str() {
            "Administrators" => assert_eq!(res.code(), "NotAdministrator", "{what}"),
            "filtered" => {
                assert!(
                    !res.text.contains(&f.section),
                    "{what}: shows a section it cannot view"
                );
                assert!(
                    !res.text.contains(&f.item),
                    "{what}: shows an item it cannot view"
                );
            }
            _ => assert!(res.code().ends_with("NotFound"), "{what}: {}", res.text),
        }
        if op.requires.starts_with("ChangeVaultSection") {
            let res = call(&app, &viewer.key, op).await;
            assert_eq!(res.status, 403, "{what} with View only: {}", res.text);
            assert_eq!(res.code(), "ChangeVaultSectionRequired", "{what}");
        }
    }

    // 3. The explicit-only permissions need EnablePermissions.
    let implicit = app.create_key(json!({"EnablePermissions": false})).await;
    app.make_admin(&implicit.operator_guid).await;
    for op in ops.iter().filter(|op| {
        op.permission.starts_with("ApiKey.")
            || op.permission.starts_with("OAuthClient.")
            || op.permission == "VaultItem.Reveal"
    }) {
        let res = call(&app, &implicit.key, op).await;
        let what = format!("{} {}", op.method, op.template);
        assert_eq!(res.status, 403, "{what}: {}", res.text);
        assert_eq!(res.code(), "MissingPermission", "{what}");
        assert!(res.message().contains(&op.permission), "{what}");
    }

    // Nothing above changed anything: the fixtures are all still there.
    app.get(&format!("/v4/VaultItem/{}", f.item))
        .await
        .expect(200);
    app.get(&format!("/v4/ApiKey/{}", f.key)).await.expect(200);
    app.get(&format!("/v4/OAuthClient/{}", f.client))
        .await
        .expect(200);
    let ids: Vec<&str> = ops.iter().map(|op| op.id.as_str()).collect();
    assert!(ids.contains(&"delete_item") && ids.contains(&"set_clock"));
    assert!(ids.contains(&"delete_oauth_client") && ids.contains(&"token"));
}
