//! OAuth 2.0 client credentials (issue 16), through the real server: clients
//! beside keys, the token endpoint and its RFC 6749 §5.2 errors, scopes,
//! tokens across the API and their death with their client, expiry at the
//! instant, revocation (RFC 7009), metadata (RFC 8414), history, e-mails and
//! the failed-auth limit. `oauth_library.rs` drives it with libraries we did
//! not write.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

const READ: &str = "coffre.vault_item.read";
const REVEAL: &str = "coffre.vault_item.reveal";

/// Gives `operator` Change on the default section; returns the section.
async fn default_section_for(app: &TestApp, operator: &str) -> String {
    let section = app.get("/v4/VaultSection").await.body[0]["VaultSectionGuid"]
        .as_str()
        .unwrap()
        .to_string();
    app.post(
        &format!("/v4/VaultSection/{section}/Authorization"),
        json!({"AuthorizationType": "ChangeVaultSection", "OperatorGuid": operator}),
    )
    .await
    .expect(201);
    section
}

/// The default section and an item in it; the client's operator can view it.
async fn item_visible_to(app: &TestApp, operator: &str) -> String {
    let section = default_section_for(app, operator).await;
    app.post(
        "/v4/VaultItem",
        json!({"Name": "Shop login", "VaultSectionGuid": section,
               "VaultItemType": "CredentialSet", "UserName": "u", "Password": "s3cret"}),
    )
    .await
    .expect(201)
    .guid("VaultItemGuid")
}

async fn token_request(app: &TestApp, basic: Option<(&str, &str)>, pairs: &[(&str, &str)]) -> Res {
    app.post_form("/oauth2/token", basic, &form(pairs)).await
}

fn basic(c: &ClientHandle) -> Option<(&str, &str)> {
    Some((&c.client_id, &c.secret))
}

const GRANT: (&str, &str) = ("grant_type", "client_credentials");

/// `POST /v4/OAuthClient/{guid}/{action}` (Revoke, Regenerate) as the bootstrap key.
async fn client_action(app: &TestApp, guid: &str, action: &str) -> Res {
    let path = format!("/v4/OAuthClient/{guid}/{action}");
    app.send(&app.admin_key, Method::POST, &path, None).await
}

/// `GET /v4/VaultItem` with `token`: what a token can still do.
async fn items_with(app: &TestApp, token: &str) -> Res {
    app.send(token, Method::GET, "/v4/VaultItem", None).await
}

/// The secret with its last character changed: well-formed length, wrong
/// value (and wrong checksum), never by chance the secret itself.
fn wrong_secret(secret: &str) -> String {
    let (head, last) = secret.split_at(secret.len() - 1);
    format!("{head}{}", if last == "x" { "y" } else { "x" })
}

fn description(res: &Res) -> &str {
    res.body["error_description"].as_str().unwrap_or("")
}

/// An error in RFC 6749 §5.2's shape, never the API's.
#[track_caller]
fn assert_oauth_error(res: &Res, status: u16, error: &str, context: &str) {
    assert_eq!(res.status, status, "{context}: {}", res.text);
    assert_eq!(res.body["error"], error, "{context}: {}", res.text);
    assert!(
        res.body["error_description"]
            .as_str()
            .is_some_and(|d| d.len() > 10),
        "{context}: {}",
        res.text
    );
    assert!(res.body.get("Messages").is_none(), "{context}");
    assert!(
        res.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "{context}"
    );
    assert_eq!(res.headers["cache-control"], "no-store", "{context}");
    if status == 401 {
        assert_eq!(
            res.headers["www-authenticate"], "Basic realm=\"coffre\"",
            "{context}"
        );
    }
}

#[tokio::test]
async fn a_client_gets_a_token_with_basic_or_form_credentials_and_calls_the_api() {
    let app = spawn_app().await;
    let client = app.create_client(json!({})).await;
    let item = item_visible_to(&app, &client.operator_guid).await;

    let by_basic = token_request(&app, basic(&client), &[GRANT])
        .await
        .expect(200);
    assert_eq!(by_basic.headers["cache-control"], "no-store");
    assert_eq!(by_basic.headers["pragma"], "no-cache");
    assert_eq!(by_basic.body["token_type"], "Bearer");
    assert_eq!(by_basic.body["expires_in"], 86_400);
    assert_eq!(by_basic.body["scope"], READ);
    let by_post = token_request(
        &app,
        None,
        &[
            GRANT,
            ("client_id", &client.client_id),
            ("client_secret", &client.secret),
        ],
    )
    .await
    .expect(200);
    let (a, b) = (by_basic.guid("access_token"), by_post.guid("access_token"));
    assert_ne!(a, b);
    for token in [&a, &b] {
        assert!(
            token.starts_with("coffreat_") && token.len() == 71,
            "{token}"
        );
        let res = app
            .send(token, Method::GET, &format!("/v4/VaultItem/{item}"), None)
            .await
            .expect(200);
        assert_eq!(res.body["Name"], "Shop login");
    }
    // Only as Bearer: not as X-Api-Key, nor as a Basic password.
    let res = read(
        app.client
            .get(app.url(&format!("/v4/VaultItem/{item}")))
            .header("X-Api-Key", &a)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((res.status, res.code()), (401, "Unauthorized"));
    // LastUsedAt follows the client's use.
    let got = app.get(&format!("/v4/OAuthClient/{}", client.guid)).await;
    assert!(got.body["LastUsedAt"].as_str().is_some(), "{}", got.text);
}

#[tokio::test]
async fn scopes_narrow_a_token_never_beyond_its_client() {
    let app = spawn_app().await;
    let client = app.create_client(json!({"Scopes": [READ, REVEAL]})).await;
    let item = item_visible_to(&app, &client.operator_guid).await;
    let reveal = format!("/v4/VaultItem/{item}/Reveal");

    let all = token_request(&app, basic(&client), &[GRANT])
        .await
        .expect(200);
    assert_eq!(all.body["scope"], format!("{READ} {REVEAL}"));
    let all = all.guid("access_token");
    let res = app.send(&all, Method::GET, &reveal, None).await.expect(200);
    assert_eq!(res.body["Password"], "s3cret");

    let read_only = app.token(&client, Some(READ)).await;
    let res = app.send(&read_only, Method::GET, &reveal, None).await;
    assert_eq!((res.status, res.code()), (403, "MissingPermission"));
    assert!(res.message().contains(REVEAL), "{}", res.text);
    app.send(
        &read_only,
        Method::GET,
        &format!("/v4/VaultItem/{item}"),
        None,
    )
    .await
    .expect(200);

    for (scope, what) in [
        ("coffre.vault_item.update", "a real scope the client lacks"),
        (
            &format!("{READ} coffre.vault_item.update") as &str,
            "one of two",
        ),
        ("VaultItem.Read", "a permission name is not a scope"),
        ("coffre.nothing.read", "no such scope"),
    ] {
        let res = token_request(&app, basic(&client), &[GRANT, ("scope", scope)]).await;
        assert_oauth_error(&res, 400, "invalid_scope", what);
    }

    // Narrowing the client narrows its live tokens at once; widening it
    // again gives a token back no more than it was issued with.
    let body = |scopes: Value| {
        json!({"Name": "narrowed", "ContactEmail": format!("{}@n.example.com", &client.guid[..8]),
               "Scopes": scopes})
    };
    app.put(
        &format!("/v4/OAuthClient/{}", client.guid),
        body(json!([READ])),
    )
    .await
    .expect(204);
    let res = app.send(&all, Method::GET, &reveal, None).await;
    assert_eq!((res.status, res.code()), (403, "MissingPermission"));
    app.send(&all, Method::GET, &format!("/v4/VaultItem/{item}"), None)
        .await
        .expect(200);
    let res = token_request(&app, basic(&client), &[GRANT, ("scope", REVEAL)]).await;
    assert_oauth_error(&res, 400, "invalid_scope", "after narrowing");
    app.put(
        &format!("/v4/OAuthClient/{}", client.guid),
        body(json!([READ, REVEAL])),
    )
    .await
    .expect(204);
    app.send(&all, Method::GET, &reveal, None).await.expect(200);
    let res = app.send(&read_only, Method::GET, &reveal, None).await;
    assert_eq!(res.status, 403, "issued with read only: {}", res.text);
}

#[tokio::test]
async fn every_token_error_has_its_rfc_6749_shape_and_issues_nothing() {
    let app = spawn_app().await;
    let client = app.create_client(json!({})).await;
    let key = app.create_key(json!({})).await;
    let tokens_before = app.state.auth.tokens.len();
    let wrong = wrong_secret(&client.secret);
    let other = app.create_client(json!({})).await;

    type Case<'a> = (
        &'a str,
        Option<(&'a str, &'a str)>,
        Vec<(&'a str, &'a str)>,
        u16,
        &'a str,
    );
    let cases: Vec<Case<'_>> = vec![
        (
            "no client authentication",
            None,
            vec![GRANT],
            401,
            "invalid_client",
        ),
        (
            "a wrong secret",
            Some((&client.client_id, &wrong)),
            vec![GRANT],
            401,
            "invalid_client",
        ),
        (
            "another client's id",
            Some((&other.client_id, &client.secret)),
            vec![GRANT],
            401,
            "invalid_client",
        ),
        (
            "an API key as the secret",
            Some((&client.client_id, &key.key)),
            vec![GRANT],
            401,
            "invalid_client",
        ),
        (
            "a wrong secret in the body",
            None,
            vec![
                GRANT,
                ("client_id", &client.client_id),
                ("client_secret", &wrong),
            ],
            401,
            "invalid_client",
        ),
        (
            "a client_id without a secret",
            None,
            vec![GRANT, ("client_id", &client.client_id)],
            401,
            "invalid_client",
        ),
        (
            "two authentication methods",
            basic(&client),
            vec![GRANT, ("client_secret", &client.secret)],
            400,
            "invalid_request",
        ),
        (
            "a body client_id that differs from Basic's",
            basic(&client),
            vec![GRANT, ("client_id", &other.client_id)],
            400,
            "invalid_request",
        ),
        (
            "no grant_type",
            basic(&client),
            vec![("scope", READ)],
            400,
            "invalid_request",
        ),
        (
            "an empty grant_type",
            basic(&client),
            vec![("grant_type", "")],
            400,
            "invalid_request",
        ),
        (
            "grant_type sent twice",
            basic(&client),
            vec![GRANT, GRANT],
            400,
            "invalid_request",
        ),
        (
            "the password grant",
            basic(&client),
            vec![
                ("grant_type", "password"),
                ("username", "u"),
                ("password", "p"),
            ],
            400,
            "unsupported_grant_type",
        ),
        (
            "an unknown scope",
            basic(&client),
            vec![GRANT, ("scope", "coffre.everything")],
            400,
            "invalid_scope",
        ),
    ];
    for (what, credentials, pairs, status, error) in &cases {
        let res = token_request(&app, *credentials, pairs).await;
        assert_oauth_error(&res, *status, error, what);
        assert!(
            !res.text.contains(&client.secret[12..40]) && !res.text.contains(&wrong[12..40]),
            "{what}: the answer echoes a secret"
        );
    }

    // Not a form: JSON, no content type, a huge body.
    let raw = |content_type: Option<&'static str>, body: Vec<u8>| {
        let mut req = app
            .client
            .post(app.url("/oauth2/token"))
            .basic_auth(&client.client_id, Some(&client.secret))
            .body(body);
        if let Some(ct) = content_type {
            req = req.header("Content-Type", ct);
        }
        req
    };
    for (what, req, status) in [
        (
            "a JSON body",
            raw(
                Some("application/json"),
                br#"{"grant_type":"client_credentials"}"#.to_vec(),
            ),
            400,
        ),
        (
            "no content type",
            raw(None, b"grant_type=client_credentials".to_vec()),
            400,
        ),
        (
            "a 100 KiB form",
            raw(
                Some("application/x-www-form-urlencoded"),
                format!("grant_type=client_credentials&x={}", "a".repeat(100 * 1024)).into_bytes(),
            ),
            413,
        ),
    ] {
        let res = read(req.send().await.unwrap()).await;
        assert_oauth_error(&res, status, "invalid_request", what);
    }
    let res = read(
        app.client
            .get(app.url("/oauth2/token"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((res.status, res.code()), (405, "MethodNotAllowed"));
    assert_eq!(res.headers["allow"], "POST");

    assert_eq!(
        app.state.auth.tokens.len(),
        tokens_before,
        "a refused request issued a token"
    );
}

#[tokio::test]
async fn keys_and_clients_never_stand_for_each_other() {
    let app = spawn_app().await;
    let client = app.create_client(json!({})).await;
    let key = app.create_key(json!({})).await;

    // Each path sees only its kind.
    let keys = app.get("/v4/ApiKey").await.expect(200);
    assert!(!keys.text.contains(&client.guid));
    let clients = app.get("/v4/OAuthClient").await.expect(200);
    assert!(!clients.text.contains(&key.guid) && clients.text.contains(&client.guid));
    let res = app.get(&format!("/v4/ApiKey/{}", client.guid)).await;
    assert_eq!((res.status, res.code()), (404, "ApiKeyNotFound"));
    let res = app.get(&format!("/v4/OAuthClient/{}", key.guid)).await;
    assert_eq!((res.status, res.code()), (404, "OAuthClientNotFound"));
    for path in [
        format!("/v4/ApiKey/{}/Revoke", client.guid),
        format!("/v4/OAuthClient/{}/Regenerate", key.guid),
    ] {
        assert_eq!(
            app.send(&app.admin_key, Method::POST, &path, None)
                .await
                .status,
            404,
            "{path}"
        );
    }
    let history = app
        .get(&format!("/v4/ApiKey/{}/History", client.guid))
        .await
        .expect(200);
    assert_eq!(history.body, json!([]));

    // A client secret is no API key; an access token is no client secret.
    let res = items_with(&app, &client.secret).await;
    assert_eq!((res.status, res.code()), (401, "Unauthorized"));
    let token = app.token(&client, None).await;
    let res = token_request(&app, Some((&client.client_id, &token)), &[GRANT]).await;
    assert_oauth_error(&res, 401, "invalid_client", "a token as the client secret");
}

#[tokio::test]
async fn a_client_is_created_shown_regenerated_and_deleted_like_a_key() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/v4/OAuthClient",
            json!({"Name": "Supplier feed", "Description": "Invoices", "ContactFirstName": "Ada",
                   "ContactLastName": "Lovelace", "ContactLogin": "ada-oauth",
                   "ContactEmail": "ada@clients.example.com", "ExpirationDate": "2031-03-15",
                   "Scopes": [REVEAL, READ]}),
        )
        .await
        .expect(201);
    let b = &res.body;
    let guid = res.guid("OAuthClientGuid");
    assert_eq!(res.headers["location"], format!("/v4/OAuthClient/{guid}"));
    let client_id = res.guid("ClientId");
    let secret = res.guid("ClientSecret");
    assert!(client_id.starts_with("coffreci_") && secret.starts_with("coffrecs_"));
    assert_eq!(b["Scopes"], json!([READ, REVEAL]));
    assert_eq!(b["ExpiresAt"], "2031-03-16T00:00:00.000Z");
    assert_eq!(b["Status"], "Active");
    assert_eq!(
        b["MaskedClientSecret"],
        format!(
            "coffrecs_{}…{}",
            &secret[9..13],
            &secret[secret.len() - 4..]
        )
    );
    for absent in [
        "Permissions",
        "EnablePermissions",
        "Key",
        "ApiKeyGuid",
        "ContactLogin",
    ] {
        assert!(b.get(absent).is_none(), "{absent} in {b}");
    }
    // The secret is shown once.
    for path in [
        format!("/v4/OAuthClient/{guid}"),
        "/v4/OAuthClient".into(),
        format!("/v4/OAuthClient/{guid}/History"),
        "/v4/History".into(),
    ] {
        let res = app.get(&path).await.expect(200);
        assert!(
            !res.text.contains(&secret[13..50]),
            "{path} leaks the secret"
        );
        assert!(!res.text.contains("\"ClientSecret\""), "{path}");
    }

    // Regenerate: same ClientId, new secret, the old one refused.
    let regen = client_action(&app, &guid, "Regenerate").await.expect(200);
    assert_eq!(regen.body["ClientId"], client_id);
    let new_secret = regen.guid("ClientSecret");
    assert_ne!(new_secret, secret);
    let old = token_request(&app, Some((&client_id, &secret)), &[GRANT]).await;
    assert_oauth_error(&old, 401, "invalid_client", "the old secret");
    token_request(&app, Some((&client_id, &new_secret)), &[GRANT])
        .await
        .expect(200);

    // Validation, as for keys, in the API's own error shape.
    for (body, code) in [
        (
            json!({"Name": "x", "ContactLogin": "x1", "ContactEmail": "x1@e.com"}),
            "FieldRequired",
        ),
        (
            json!({"Name": "x", "ContactLogin": "x2", "ContactEmail": "x2@e.com", "Scopes": []}),
            "FieldRequired",
        ),
        (
            json!({"Name": "x", "ContactLogin": "x3", "ContactEmail": "x3@e.com", "Scopes": ["VaultItem.Read"]}),
            "UnknownScope",
        ),
        (
            json!({"Name": "x", "ContactLogin": "x4", "ContactEmail": "x4@e.com", "Scopes": [READ], "ClientSecret": "coffrecs_x"}),
            "KeyNotSettable",
        ),
        (
            json!({"Name": "x", "ContactLogin": "x5", "ContactEmail": "x5@e.com", "Scopes": [READ], "Permissions": ["VaultItem.Read"]}),
            "InvalidField",
        ),
        (
            json!({"Name": "x", "ContactLogin": "ada-oauth", "ContactEmail": "x6@e.com", "Scopes": [READ]}),
            "LoginTaken",
        ),
    ] {
        let res = app.post("/v4/OAuthClient", body.clone()).await;
        assert_eq!(res.code(), code, "{body}: {}", res.text);
    }
    let res = app.get("/v4/OAuthClient/not-a-guid").await;
    assert_eq!((res.status, res.code()), (400, "InvalidGuid"));

    // Delete: the client, its operator; history stays.
    let operator = regen.guid("OperatorGuid");
    app.delete(&format!("/v4/OAuthClient/{guid}"))
        .await
        .expect(204);
    assert_eq!(
        app.get(&format!("/v4/OAuthClient/{guid}")).await.status,
        404
    );
    assert_eq!(
        app.get(&format!("/v4/Operator/{operator}")).await.status,
        404
    );
    let history = app
        .get(&format!("/v4/OAuthClient/{guid}/History"))
        .await
        .expect(200);
    let actions: Vec<&str> = history
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["Action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["Deleted", "Regenerated", "Created"]);
}

#[tokio::test]
async fn a_caller_never_creates_or_manages_a_client_holding_more_than_it_does() {
    let app = spawn_app().await;
    let weaker = app
        .create_key(json!({"EnablePermissions": true,
            "Permissions": ["OAuthClient.Create", "OAuthClient.Read", "OAuthClient.Update",
                            "OAuthClient.Delete", "Operator.Update", "VaultItem.Read"]}))
        .await;
    app.make_admin(&weaker.operator_guid).await;
    let body = |n: u8, scopes: Value| {
        json!({"Name": "x", "ContactLogin": format!("weak-{n}"),
               "ContactEmail": format!("weak{n}@e.com"), "Scopes": scopes})
    };
    let res = app
        .send(
            &weaker.key,
            Method::POST,
            "/v4/OAuthClient",
            Some(&body(1, json!([READ, REVEAL]))),
        )
        .await;
    assert_eq!((res.status, res.code()), (403, "PermissionNotHeld"));
    assert!(res.message().contains(REVEAL), "{}", res.text);
    app.send(
        &weaker.key,
        Method::POST,
        "/v4/OAuthClient",
        Some(&body(2, json!([READ]))),
    )
    .await
    .expect(201);

    let stronger = app.create_client(json!({"Scopes": [READ, REVEAL]})).await;
    for (method, path) in [
        (
            Method::POST,
            format!("/v4/OAuthClient/{}/Revoke", stronger.guid),
        ),
        (
            Method::POST,
            format!("/v4/OAuthClient/{}/Regenerate", stronger.guid),
        ),
        (Method::DELETE, format!("/v4/OAuthClient/{}", stronger.guid)),
    ] {
        let res = app.send(&weaker.key, method.clone(), &path, None).await;
        assert_eq!(
            (res.status, res.code()),
            (403, "PermissionNotHeld"),
            "{method} {path}"
        );
    }
    // Nor through its operator.
    let res = app
        .send(
            &weaker.key,
            Method::PATCH,
            &format!("/v4/Operator/{}", stronger.operator_guid),
            Some(&json!({"IsActive": false})),
        )
        .await;
    assert_eq!((res.status, res.code()), (403, "PermissionNotHeld"));
    assert!(res.message().contains("OAuth client"), "{}", res.text);
    token_request(&app, basic(&stronger), &[GRANT])
        .await
        .expect(200);
    let history = app
        .get(&format!("/v4/OAuthClient/{}/History", stronger.guid))
        .await
        .expect(200);
    assert!(history.text.contains("Refused"), "{}", history.text);
}

#[tokio::test]
async fn a_token_dies_the_moment_its_client_is_revoked_regenerated_or_deleted() {
    let app = spawn_app().await;
    let client = app.create_client(json!({})).await;

    let token = app.token(&client, None).await;
    items_with(&app, &token).await.expect(200);
    client_action(&app, &client.guid, "Revoke")
        .await
        .expect(200);
    let res = items_with(&app, &token).await;
    assert_eq!((res.status, res.code()), (401, "Unauthorized"));
    let refused = token_request(&app, basic(&client), &[GRANT]).await;
    assert_oauth_error(&refused, 401, "invalid_client", "a revoked client");
    assert!(description(&refused).contains("revoked"));

    // Regenerating brings the client back, not its tokens.
    let regen = client_action(&app, &client.guid, "Regenerate")
        .await
        .expect(200);
    assert_eq!(
        items_with(&app, &token).await.status,
        401,
        "a revoked client's token came back"
    );
    let client = ClientHandle {
        secret: regen.guid("ClientSecret"),
        ..client
    };
    let token = app.token(&client, None).await;
    items_with(&app, &token).await.expect(200);
    client_action(&app, &client.guid, "Regenerate")
        .await
        .expect(200);
    assert_eq!(
        items_with(&app, &token).await.status,
        401,
        "regenerating left a token alive"
    );

    let client = app.create_client(json!({})).await;
    let token = app.token(&client, None).await;
    app.delete(&format!("/v4/OAuthClient/{}", client.guid))
        .await
        .expect(204);
    assert_eq!(
        items_with(&app, &token).await.status,
        401,
        "deleting left a token alive"
    );
}

#[tokio::test]
async fn deactivating_the_operator_kills_its_tokens_for_good() {
    let app = spawn_app().await;
    let client = app.create_client(json!({})).await;
    let token = app.token(&client, None).await;
    let operator = format!("/v4/Operator/{}", client.operator_guid);
    app.patch(&operator, json!({"IsActive": false}))
        .await
        .expect(204);
    let res = items_with(&app, &token).await;
    assert_eq!(res.status, 401, "{}", res.text);
    let res = token_request(&app, basic(&client), &[GRANT]).await;
    assert_oauth_error(&res, 401, "invalid_client", "a deactivated operator");
    app.patch(&operator, json!({"IsActive": true}))
        .await
        .expect(204);
    let res = items_with(&app, &token).await;
    assert_eq!(res.status, 401, "reactivating brought a token back");
    let fresh = app.token(&client, None).await;
    items_with(&app, &fresh).await.expect(200);
}

#[tokio::test]
async fn a_token_expires_at_the_instant_and_never_outlives_its_client() {
    let app = app()
        .now(at("2026-06-15T12:00:00Z"))
        .config(|c| c.oauth_token_lifetime_secs = 3600)
        .spawn()
        .await;
    let lasting = app.create_client(json!({})).await;
    let res = token_request(&app, basic(&lasting), &[GRANT])
        .await
        .expect(200);
    assert_eq!(res.body["expires_in"], 3600);
    let token = res.guid("access_token");
    app.set_now("2026-06-15T12:59:59.999Z");
    items_with(&app, &token).await.expect(200);
    app.set_now("2026-06-15T13:00:00Z");
    let res = items_with(&app, &token).await;
    assert_eq!((res.status, res.code()), (401, "AccessTokenExpired"));
    assert!(
        res.message().contains("2026-06-15T13:00:00.000Z"),
        "{}",
        res.text
    );

    // A client expiring at midnight caps its tokens there.
    app.set_now("2026-06-15T23:30:00Z");
    let ending = app
        .create_client(json!({"ExpirationDate": "2026-06-15"}))
        .await;
    let res = token_request(&app, basic(&ending), &[GRANT])
        .await
        .expect(200);
    assert_eq!(
        res.body["expires_in"], 1800,
        "capped at the client's expiry"
    );
    let token = res.guid("access_token");
    app.set_now("2026-06-15T23:59:59.999Z");
    items_with(&app, &token).await.expect(200);
    app.set_now("2026-06-16T00:00:00Z");
    let res = items_with(&app, &token).await;
    assert_eq!((res.status, res.code()), (401, "AccessTokenExpired"));
    let res = token_request(&app, basic(&ending), &[GRANT]).await;
    assert_oauth_error(&res, 401, "invalid_client", "an expired client");
    assert!(description(&res).contains("expired at 2026-06-16T00:00:00.000Z"));
    let shown = app.get(&format!("/v4/OAuthClient/{}", ending.guid)).await;
    assert_eq!(shown.body["Status"], "Expired");

    // Extending the client brings none of its old tokens back.
    app.put(
        &format!("/v4/OAuthClient/{}", ending.guid),
        json!({"Name": "extended", "ContactEmail": "ext@e.com", "ExpirationDate": "2026-12-31",
               "Scopes": [READ]}),
    )
    .await
    .expect(204);
    let res = items_with(&app, &token).await;
    assert_eq!(res.status, 401, "{}", res.text);
    let fresh = app.token(&ending, None).await;
    items_with(&app, &fresh).await.expect(200);
}

#[tokio::test]
async fn history_names_the_client_and_its_contact() {
    let app = spawn_app().await;
    let client = app
        .create_client(
            json!({"Scopes": ["coffre.vault_item.create", "coffre.vault_item.read"],
                              "ContactFirstName": "Mary", "ContactLastName": "Jackson"}),
        )
        .await;
    let section = default_section_for(&app, &client.operator_guid).await;
    let token = app.token(&client, None).await;
    let item = app
        .send(
            &token,
            Method::POST,
            "/v4/VaultItem",
            Some(&json!({"Name": "by OAuth", "VaultSectionGuid": section,
                         "VaultItemType": "CredentialSet", "Password": "p"})),
        )
        .await
        .expect(201)
        .guid("VaultItemGuid");
    let history = app
        .send(
            &token,
            Method::GET,
            &format!("/v4/VaultItem/{item}/History"),
            None,
        )
        .await
        .expect(200);
    let line = &history.body[0];
    assert_eq!(line["Action"], "Created");
    assert_eq!(line["OAuthClientGuid"], client.guid);
    assert_eq!(line["ApiKeyGuid"], "");
    assert_eq!(line["ContactFirstName"], "Mary");
    assert_eq!(line["ContactLastName"], "Jackson");
    // The client's own history shows what it did.
    let own = app
        .get(&format!("/v4/OAuthClient/{}/History", client.guid))
        .await
        .expect(200);
    assert!(
        own.body
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["ObjectGuid"] == item),
        "{}",
        own.text
    );
    let filtered = app
        .get("/v4/History?ObjectType=OAuthClient")
        .await
        .expect(200);
    assert!(filtered.text.contains(&client.guid));
}

#[tokio::test]
async fn revocation_follows_rfc_7009() {
    let app = spawn_app().await;
    let client = app.create_client(json!({})).await;
    let other = app.create_client(json!({})).await;
    let token = app.token(&client, None).await;
    let theirs = app.token(&other, None).await;
    let revoke = |basic: Option<(&str, &str)>, pairs: Vec<(&str, &str)>| {
        let (app, body) = (&app, form(&pairs));
        let basic = basic.map(|(a, b)| (a.to_string(), b.to_string()));
        async move {
            let basic = basic.as_ref().map(|(a, b)| (a.as_str(), b.as_str()));
            app.post_form("/oauth2/revoke", basic, &body).await
        }
    };

    let res = revoke(basic(&client), vec![("token", &theirs)]).await;
    assert_oauth_error(&res, 400, "unauthorized_client", "another client's token");
    items_with(&app, &theirs).await.expect(200);
    let res = revoke(None, vec![("token", &token)]).await;
    assert_oauth_error(&res, 401, "invalid_client", "no client authentication");
    let res = revoke(basic(&client), vec![]).await;
    assert_oauth_error(&res, 400, "invalid_request", "no token");
    items_with(&app, &token).await.expect(200);

    let res = revoke(
        None,
        vec![
            ("token", &token),
            ("token_type_hint", "access_token"),
            ("client_id", &client.client_id),
            ("client_secret", &client.secret),
        ],
    )
    .await;
    assert_eq!((res.status, res.text.as_str()), (200, ""));
    let res = items_with(&app, &token).await;
    assert_eq!(res.status, 401);
    // Already revoked, unknown, or not a token at all: the same 200.
    for garbage in [token.as_str(), "coffreat_nothing", &client.secret] {
        let res = revoke(basic(&client), vec![("token", garbage)]).await;
        assert_eq!(res.status, 200, "{garbage}: {}", res.text);
    }
}

#[tokio::test]
async fn the_metadata_document_describes_this_server() {
    let app = spawn_app().await;
    let res = read(
        app.client
            .get(app.url("/.well-known/oauth-authorization-server"))
            .send()
            .await
            .unwrap(),
    )
    .await
    .expect(200);
    let m = &res.body;
    assert_eq!(m["issuer"], app.address);
    assert_eq!(m["token_endpoint"], format!("{}/oauth2/token", app.address));
    assert_eq!(
        m["revocation_endpoint"],
        format!("{}/oauth2/revoke", app.address)
    );
    assert_eq!(m["grant_types_supported"], json!(["client_credentials"]));
    let methods = json!(["client_secret_basic", "client_secret_post"]);
    assert_eq!(m["token_endpoint_auth_methods_supported"], methods);
    assert_eq!(m["revocation_endpoint_auth_methods_supported"], methods);
    let scopes: Vec<&str> = coffre::types::permissions::all_scopes().collect();
    assert_eq!(m["scopes_supported"], json!(scopes));
    assert!(scopes.contains(&"coffre.vault_section_authorization.create"));

    let behind = crate::helpers::app()
        .config(|c| c.public_url = Some("https://vault.example.com".into()))
        .spawn()
        .await;
    let res = read(
        behind
            .client
            .get(behind.url("/.well-known/oauth-authorization-server"))
            .header("X-Forwarded-Host", "evil.example.com")
            .send()
            .await
            .unwrap(),
    )
    .await
    .expect(200);
    assert_eq!(res.body["issuer"], "https://vault.example.com");
    assert_eq!(
        res.body["token_endpoint"],
        "https://vault.example.com/oauth2/token"
    );
}

#[tokio::test]
async fn failed_client_authentications_count_and_a_valid_client_is_never_refused() {
    let app = app().config(|c| c.auth_failure_limit = 3).spawn().await;
    let client = app.create_client(json!({})).await;
    let wrong = wrong_secret(&client.secret);
    for i in 0..3 {
        let res = token_request(&app, Some((&client.client_id, &wrong)), &[GRANT]).await;
        assert_eq!(res.status, 401, "failure {i}");
    }
    let res = token_request(&app, Some((&client.client_id, &wrong)), &[GRANT]).await;
    assert_eq!(res.status, 429, "{}", res.text);
    assert_eq!(res.body["error"], "invalid_client");
    assert!(res.headers.contains_key("retry-after"));
    // The same address is limited on the API too, and a valid client still passes.
    let res = app
        .send("coffre_nope", Method::GET, "/v4/VaultItem", None)
        .await;
    assert_eq!(res.status, 429);
    let token = app.token(&client, None).await;
    items_with(&app, &token).await.expect(200);
}

#[tokio::test]
async fn a_client_keeps_at_most_its_quota_of_live_tokens() {
    let app = app()
        .config(|c| c.oauth_tokens_per_client = 2)
        .spawn()
        .await;
    let client = app.create_client(json!({})).await;
    let first = app.token(&client, None).await;
    let second = app.token(&client, None).await;
    let third = app.token(&client, None).await;
    assert_eq!(
        items_with(&app, &first).await.status,
        401,
        "the oldest gives way"
    );
    assert_eq!(items_with(&app, &second).await.status, 200);
    assert_eq!(items_with(&app, &third).await.status, 200);
    assert_eq!(app.state.auth.tokens.len(), 2);
}

#[tokio::test]
async fn tokens_survive_a_restart_and_the_sweep_forgets_expired_ones() {
    let app = spawn_app().await;
    let client = app.create_client(json!({})).await;
    let token = app.token(&client, None).await;
    let app = app.restart(at("2026-06-16T11:00:00Z"), |_| {}).await;
    items_with(&app, &token).await.expect(200);
    assert_eq!(app.state.auth.tokens.len(), 1);

    // The daily sweep, once the token has expired, deletes it.
    app.set_now("2026-06-17T00:00:00Z");
    app.state.sweeper.run_if_due(&app.state).await.unwrap();
    assert_eq!(app.state.auth.tokens.len(), 0);
    let app = app.restart(at("2026-06-15T13:00:00Z"), |_| {}).await;
    assert_eq!(
        app.state.auth.tokens.len(),
        0,
        "deleted, not only forgotten"
    );
}

#[tokio::test]
async fn an_expiring_client_gets_its_e_mails_in_the_outbox() {
    let app = app()
        .now(at("2030-01-01T12:00:00Z"))
        .config(|c| c.scheduler = false)
        .spawn()
        .await;
    let client = app
        .create_client(
            json!({"Name": "Invoice sync", "ExpirationDate": "2030-01-05",
                              "ContactEmail": "ops@clients.example.com"}),
        )
        .await;
    let report = app.sweep("2030-01-06T00:00:00Z").await;
    assert_eq!((report.expired, report.reminded), (1, 0));
    let outbox = app.get("/v4/Outbox").await.expect(200);
    let mail = &outbox.body[0];
    assert_eq!(mail["To"], "ops@clients.example.com");
    assert_eq!(mail["Kind"], "KeyExpired");
    assert_eq!(mail["OAuthClientGuid"], client.guid);
    assert_eq!(mail["ApiKeyGuid"], Value::Null);
    assert_eq!(
        mail["Subject"],
        "Your coffre OAuth client \"Invoice sync\" has expired"
    );
    let body = mail["Body"].as_str().unwrap();
    assert!(
        body.contains(&client.client_id) && body.contains("/v4/OAuthClient/"),
        "{body}"
    );
    assert!(!body.contains(&client.secret[13..40]));
    let history = app
        .get(&format!("/v4/OAuthClient/{}/History", client.guid))
        .await
        .expect(200);
    assert_eq!(history.body[0]["Action"], "Expired");
}

#[tokio::test]
async fn no_secret_or_token_reaches_a_log_line() {
    let tmp = tempfile::tempdir().unwrap();
    let server = serve_with_debug_log(&tmp.path().join("d"));
    let boot = server.bootstrap_key();
    let http = reqwest::Client::new();
    let created = read(
        http.post(server.url("/v4/OAuthClient"))
            .bearer_auth(&boot)
            .json(&json!({"Name": "c", "ContactLogin": "c", "ContactEmail": "c@e.com", "Scopes": [READ]}))
            .send()
            .await
            .unwrap(),
    )
    .await
    .expect(201);
    let (id, secret) = (created.guid("ClientId"), created.guid("ClientSecret"));
    let token = read(
        http.post(server.url("/oauth2/token"))
            .basic_auth(&id, Some(&secret))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
            .send()
            .await
            .unwrap(),
    )
    .await
    .expect(200)
    .guid("access_token");
    read(
        http.get(server.url("/v4/VaultItem"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await
    .expect(200);
    // A failed attempt logs nothing of what it sent either.
    read(
        http.post(server.url("/oauth2/token"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!(
                "grant_type=client_credentials&client_id={id}&client_secret={secret}x"
            ))
            .send()
            .await
            .unwrap(),
    )
    .await
    .expect(401);
    let log = server.stderr();
    assert!(log.contains("/oauth2/token"), "debug logging is on: {log}");
    for leaked in [&secret[9..40], &token[9..40]] {
        assert!(!log.contains(leaked), "the log holds a secret");
    }
    for (path, bytes) in read_all_files(&tmp.path().join("d")) {
        for leaked in [&secret[9..40], &token[9..40]] {
            assert!(
                !contains(&bytes, leaked.as_bytes()),
                "{} holds a secret",
                path.display()
            );
        }
    }
}

#[tokio::test]
async fn a_dev_reset_forgets_the_tokens_issued_since_start() {
    // The clock starts far ahead: the reset returns it to real time, when the
    // token is not yet expired (the sweep after a reset forgets expired ones).
    let app = app()
        .now(at("2099-06-15T12:00:00Z"))
        .config(|c| c.dev = true)
        .spawn()
        .await;
    let before = app.create_client(json!({})).await;
    let old = token_request(&app, basic(&before), &[GRANT])
        .await
        .expect(200)
        .guid("access_token");
    items_with(&app, &old).await.expect(200);

    app.send(&app.admin_key, Method::POST, "/v4/Dev/Reset", None)
        .await
        .expect(204);
    // A client made after the reset takes the first free row again: the old
    // token must not pass for it.
    let after = app.create_client(json!({})).await;
    let res = items_with(&app, &old).await;
    assert_eq!(
        (res.status, res.code()),
        (401, "Unauthorized"),
        "{}",
        res.text
    );
    let fresh = token_request(&app, basic(&after), &[GRANT])
        .await
        .expect(200)
        .guid("access_token");
    items_with(&app, &fresh).await.expect(200);
}
