//! The web console (issue 13), black-box: the page and its assets served
//! from the binary under a strict CSP with sound caching; and the sessions
//! it signs in with — cookie flags, the key never echoed, the same-origin
//! check on changes, the binding to the key (revoke, regenerate, delete,
//! expiry, a deactivated operator), the idle timeout and lifetime under the
//! frozen clock, sign-out, the failed-auth limit, `Secure` over TLS and
//! behind a trusted HTTPS proxy. The browser tests (`tests/browser/`) drive
//! the same through Chromium.

use std::net::IpAddr;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::tls_client::{KeyKind, certificate, connect, write_pair};

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

async fn fetch(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> Res {
    let mut req = app.client.get(app.url(path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    read(req.send().await.unwrap()).await
}

/// `POST /v4/Session` with `key` in the body, from `origin` if given.
async fn sign_in_from(app: &TestApp, key: &str, origin: Option<&str>) -> Res {
    let mut req = app.client.post(app.url("/v4/Session"));
    if let Some(o) = origin {
        req = req.header("Origin", o);
    }
    send_key(req, key).await
}

/// Sends `req` (a sign-in) with `key` in its body.
async fn send_key(req: reqwest::RequestBuilder, key: &str) -> Res {
    read(req.json(&json!({ "ApiKey": key })).send().await.unwrap()).await
}

/// The session cookie's value from a response's Set-Cookie.
fn cookie_of(res: &Res) -> String {
    let header = set_cookie(res);
    header
        .strip_prefix("coffre_session=")
        .and_then(|rest| rest.split(';').next())
        .unwrap_or_else(|| panic!("no session cookie in {header:?}"))
        .to_string()
}

fn set_cookie(res: &Res) -> String {
    res.headers
        .get("set-cookie")
        .unwrap_or_else(|| panic!("no Set-Cookie: {}", res.text))
        .to_str()
        .unwrap()
        .to_string()
}

async fn sign_in(app: &TestApp, key: &str) -> String {
    cookie_of(&sign_in_from(app, key, None).await.expect(201))
}

/// A request with the session cookie, from `origin` if given.
async fn by_cookie(
    app: &TestApp,
    cookie: &str,
    method: Method,
    path: &str,
    origin: Option<&str>,
    body: Option<Value>,
) -> Res {
    let mut req = app
        .client
        .request(method, app.url(path))
        .header("Cookie", format!("coffre_session={cookie}"));
    if let Some(o) = origin {
        req = req.header("Origin", o);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    read(req.send().await.unwrap()).await
}

async fn read_by_cookie(app: &TestApp, cookie: &str, path: &str) -> Res {
    by_cookie(app, cookie, Method::GET, path, None, None).await
}

#[tokio::test]
async fn the_page_and_its_assets_come_from_the_binary_under_a_strict_csp() {
    let app = spawn_app().await;
    let page = fetch(&app, "/", &[]).await.expect(200);
    assert_eq!(page.headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(page.headers["content-security-policy"], CSP);
    assert_eq!(page.headers["x-frame-options"], "DENY");
    assert_eq!(page.headers["x-content-type-options"], "nosniff");
    assert_eq!(page.headers["referrer-policy"], "same-origin");
    assert_eq!(page.headers["cache-control"], "no-cache");
    // Nothing inline: no script or style element with content, no style or
    // event-handler attribute, nothing from another host.
    let html = &page.text;
    assert!(!html.contains("<style"), "{html}");
    assert!(!html.contains("style="), "{html}");
    assert!(!html.contains(" on"), "an inline event handler: {html}");
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("//cdn"));
    for tag in html.split("<script").skip(1) {
        assert!(tag.contains("src=\"/console/"), "an inline script: {tag}");
        assert!(tag.split_once('>').unwrap().1.starts_with("</script>"));
    }

    // Every asset the page names is served, with its type and a year of
    // caching; the JavaScript never builds markup from strings or evals.
    let mut names: Vec<String> = html
        .split(['"', '\''])
        .filter(|s| s.starts_with("/console/"))
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    assert!(names.iter().any(|n| n.ends_with("/app.js")), "{names:?}");
    let console = coffre::console::Console::get();
    let base = console.asset_base();
    for name in &names {
        let path = name
            .strip_prefix(&base)
            .unwrap_or_else(|| panic!("{name} outside {base}"));
        assert!(console.asset_paths().contains(&path), "{name}");
    }
    for path in console.asset_paths() {
        let res = fetch(&app, &format!("{base}{path}"), &[]).await.expect(200);
        let ct = res.headers["content-type"].to_str().unwrap();
        let expected = match path.rsplit('.').next().unwrap() {
            "js" => "text/javascript; charset=utf-8",
            "css" => "text/css; charset=utf-8",
            "svg" => "image/svg+xml",
            other => panic!("an asset of an unexpected kind: {other}"),
        };
        assert_eq!(ct, expected, "{path}");
        assert_eq!(
            res.headers["cache-control"], "public, max-age=31536000, immutable",
            "{path}"
        );
        assert_eq!(res.headers["content-security-policy"], CSP, "{path}");
        if path.ends_with(".js") {
            for banned in [
                "innerHTML",
                "outerHTML",
                "insertAdjacentHTML",
                "eval(",
                "new Function",
                "document.write",
            ] {
                assert!(!res.text.contains(banned), "{path} uses {banned}");
            }
            // Nothing a browser would store that a script can read.
            for banned in [
                "localStorage",
                "sessionStorage",
                "document.cookie",
                "indexedDB",
            ] {
                assert!(!res.text.contains(banned), "{path} uses {banned}");
            }
        }
    }
}

#[tokio::test]
async fn the_page_is_revalidated_by_etag_and_other_versions_or_methods_are_refused() {
    let app = spawn_app().await;
    let page = fetch(&app, "/", &[]).await.expect(200);
    let etag = page.headers["etag"].to_str().unwrap().to_string();
    let again = fetch(&app, "/", &[("If-None-Match", &etag)]).await;
    assert_eq!(again.status, 304);
    assert!(again.text.is_empty());
    assert_eq!(again.headers["etag"], etag.as_str());
    fetch(&app, "/", &[("If-None-Match", "\"something else\"")])
        .await
        .expect(200);

    let base = coffre::console::Console::get().asset_base();
    let app_js = fetch(&app, &format!("{base}app.js"), &[]).await.expect(200);
    let tag = app_js.headers["etag"].to_str().unwrap().to_string();
    assert_eq!(
        fetch(&app, &format!("{base}app.js"), &[("If-None-Match", &tag)])
            .await
            .status,
        304
    );

    // Another version's files, and files that do not exist: our JSON 404.
    for path in [
        "/console/0000000000000000/app.js".to_string(),
        format!("{base}nothing.js"),
        format!("{base}..%2F..%2Fopenapi.json"),
        format!("{base}index.html"),
    ] {
        let res = fetch(&app, &path, &[]).await;
        assert_eq!(res.status, 404, "{path}: {}", res.text);
        assert_eq!(res.code(), "NotFound", "{path}");
    }
    let res = read(app.client.post(app.url("/")).send().await.unwrap()).await;
    assert_eq!(res.status, 405);
    assert_eq!(res.code(), "MethodNotAllowed");
    assert_eq!(res.headers["allow"], "GET");
}

#[tokio::test]
async fn signing_in_sets_an_http_only_strict_cookie_and_never_echoes_the_key() {
    let app = spawn_app().await;
    let res = sign_in_from(&app, &app.admin_key, None).await.expect(201);
    let header = set_cookie(&res);
    let attributes: Vec<&str> = header.split("; ").skip(1).collect();
    assert!(attributes.contains(&"HttpOnly"), "{header}");
    assert!(attributes.contains(&"SameSite=Strict"), "{header}");
    assert!(attributes.contains(&"Path=/"), "{header}");
    assert!(!attributes.contains(&"Secure"), "plain HTTP: {header}");
    assert!(
        !header.contains("Max-Age") && !header.contains("Expires"),
        "a browser-session cookie: {header}"
    );
    let cookie = cookie_of(&res);
    assert_eq!(cookie.len(), 43, "256 random bits");
    assert!(!res.text.contains(&app.admin_key), "{}", res.text);
    assert!(!header.contains(&app.admin_key));
    let secret = app.admin_key.rsplit('_').next().unwrap();
    assert!(!res.text.contains(secret) && !cookie.contains(secret));
    assert_eq!(res.body["ApiKeyGuid"], app.admin_key_guid.as_str());
    assert_eq!(res.body["IsAdministrator"], true);
    assert_eq!(res.body["IdleTimeoutMinutes"], 30);
    assert!(res.body["SessionEndsAt"].is_string());

    // The cookie reads what the key reads, and says who it is.
    let me = read_by_cookie(&app, &cookie, "/v4/Session")
        .await
        .expect(200);
    assert_eq!(me.body["ApiKeyGuid"], app.admin_key_guid.as_str());
    assert!(!me.text.contains(&app.admin_key));
    read_by_cookie(&app, &cookie, "/v4/ApiKey")
        .await
        .expect(200);
    // With a key instead of the cookie, the same description, no session.
    let by_key = app.get("/v4/Session").await.expect(200);
    assert_eq!(by_key.body["SessionEndsAt"], Value::Null);
    // No key and no cookie: 401.
    let none = fetch(&app, "/v4/Session", &[]).await;
    assert_eq!(none.status, 401);
    // A made-up cookie: 401, saying the session is not a current one.
    let made_up = read_by_cookie(&app, &"A".repeat(43), "/v4/ApiKey").await;
    assert_eq!(made_up.status, 401);
    assert_eq!(made_up.code(), "SessionEnded");
}

#[tokio::test]
async fn bad_sign_ins_are_refused_in_our_shape_and_open_nothing() {
    let app = spawn_app().await;
    let post = |body: &'static str, ct: &'static str| {
        let req = app
            .client
            .post(app.url("/v4/Session"))
            .header("Content-Type", ct)
            .body(body);
        async move { read(req.send().await.unwrap()).await }
    };
    for (body, ct, status, code) in [
        ("{}", "application/json", 400, "FieldRequired"),
        ("{\"ApiKey\": 5}", "application/json", 400, "InvalidField"),
        (
            "{\"ApiKey\": \"x\", \"Extra\": 1}",
            "application/json",
            400,
            "InvalidField",
        ),
        ("{", "application/json", 400, "MalformedJson"),
        (
            "ApiKey=x",
            "application/x-www-form-urlencoded",
            415,
            "UnsupportedMediaType",
        ),
        (
            "{\"ApiKey\": \"coffre_nope\"}",
            "application/json",
            401,
            "Unauthorized",
        ),
        (
            "{\"ApiKey\": \"\"}",
            "application/json",
            401,
            "Unauthorized",
        ),
    ] {
        let res = post(body, ct).await;
        assert_eq!(res.status, status, "{body}: {}", res.text);
        assert_eq!(res.code(), code, "{body}: {}", res.text);
        assert!(res.headers.get("set-cookie").is_none(), "{body}");
    }
    assert!(app.state.sessions.is_empty());
}

/// The console signs in with an API key only: an OAuth client's secret, its
/// id or one of its access tokens opens no session, each in our 401.
#[tokio::test]
async fn an_oauth_clients_secret_or_access_token_cannot_sign_in() {
    let app = spawn_app().await;
    let client = app.create_client(json!({})).await;
    let token = app.token(&client, None).await;
    for presented in [&client.secret, &client.client_id, &token] {
        let res = sign_in_from(&app, presented, None).await;
        assert_eq!(res.status, 401, "{}", res.text);
        assert_eq!(res.code(), "Unauthorized", "{}", res.text);
        assert!(res.headers.get("set-cookie").is_none());
    }
    assert!(app.state.sessions.is_empty());
    // And the token still works where it belongs.
    let res = app.send(&token, Method::GET, "/v4/VaultItem", None).await;
    assert_eq!(res.status, 200, "{}", res.text);
}

/// A key's previous secret keeps working for API calls during a grace
/// period, but a session opened with it would outlive the grace (a session
/// is bound to the key, not to the secret presented): sign-in refuses it.
#[tokio::test]
async fn a_keys_previous_secret_in_its_grace_period_cannot_sign_in() {
    let app = spawn_app().await;
    let k = app.create_key(json!({})).await;
    let res = app
        .send(
            &app.admin_key,
            Method::POST,
            &format!("/v4/ApiKey/{}/Regenerate", k.guid),
            Some(&json!({"GracePeriodHours": 2})),
        )
        .await
        .expect(200);
    let new_key = res.guid("Key");
    // The previous secret still works for the API...
    app.send(&k.key, Method::GET, "/v4/VaultSection", None)
        .await
        .expect(200);
    // ...but opens no session, and says which secret to use instead.
    let refused = sign_in_from(&app, &k.key, None).await;
    assert_eq!(refused.status, 401, "{}", refused.text);
    assert_eq!(
        refused.code(),
        "PreviousKeyCannotSignIn",
        "{}",
        refused.text
    );
    assert!(
        refused.message().contains("current secret"),
        "{}",
        refused.text
    );
    assert!(refused.headers.get("set-cookie").is_none());
    assert!(app.state.sessions.is_empty());
    sign_in(&app, &new_key).await;
}

#[tokio::test]
async fn a_session_acts_with_exactly_the_permissions_and_rights_of_its_key() {
    let app = spawn_app().await;
    let reader = app
        .create_key(
            json!({"EnablePermissions": true, "Permissions": ["VaultSection.Read", "ApiKey.Read"]}),
        )
        .await;
    let cookie = sign_in(&app, &reader.key).await;
    read_by_cookie(&app, &cookie, "/v4/VaultSection")
        .await
        .expect(200);
    let res = read_by_cookie(&app, &cookie, "/v4/VaultItem").await;
    assert_eq!(res.status, 403);
    assert_eq!(res.code(), "MissingPermission");
    assert!(res.message().contains("VaultItem.Read"));
    // ApiKey.Read, but the operator is not an administrator.
    let res = read_by_cookie(&app, &cookie, "/v4/ApiKey").await;
    assert_eq!(res.status, 403);
    assert_eq!(res.code(), "NotAdministrator");
    let me = read_by_cookie(&app, &cookie, "/v4/Session")
        .await
        .expect(200);
    assert_eq!(
        me.body["Permissions"],
        json!(["ApiKey.Read", "VaultSection.Read"])
    );
    assert_eq!(me.body["IsAdministrator"], false);
}

#[tokio::test]
async fn a_change_by_cookie_must_come_from_the_servers_own_origin() {
    let app = spawn_app().await;
    let cookie = sign_in(&app, &app.admin_key).await;
    let own = app.address.clone();
    let create = |origin: Option<&'static str>, name: &'static str| {
        let (app, cookie) = (&app, cookie.clone());
        async move {
            by_cookie(
                app,
                &cookie,
                Method::POST,
                "/v4/VaultSection",
                origin,
                Some(json!({"Name": name})),
            )
            .await
        }
    };
    for (origin, name) in [
        (None, "no origin"),
        (Some("http://evil.example"), "evil"),
        (Some("null"), "null origin"),
        (Some("https://127.0.0.1"), "other scheme"),
    ] {
        let res = create(origin, name).await;
        assert_eq!(res.status, 403, "{origin:?}: {}", res.text);
        assert_eq!(res.code(), "CrossOriginRequest", "{origin:?}");
        assert!(res.message().contains("Origin") || res.message().contains("Referer"));
    }
    // Another port of the same host is another origin.
    let other_port = format!("http://127.0.0.1:{}", free_local_port());
    let res = by_cookie(
        &app,
        &cookie,
        Method::POST,
        "/v4/VaultSection",
        Some(&other_port),
        Some(json!({"Name": "port"})),
    )
    .await;
    assert_eq!(res.status, 403, "{}", res.text);
    // Deleting and editing are changes too.
    let section = app
        .post("/v4/VaultSection", json!({"Name": "kept"}))
        .await
        .expect(201)
        .guid("VaultSectionGuid");
    let res = by_cookie(
        &app,
        &cookie,
        Method::DELETE,
        &format!("/v4/VaultSection/{section}"),
        Some("http://evil.example"),
        None,
    )
    .await;
    assert_eq!(res.status, 403);
    let res = by_cookie(
        &app,
        &cookie,
        Method::PUT,
        &format!("/v4/VaultSection/{section}"),
        Some("http://evil.example"),
        Some(json!({"Name": "renamed"})),
    )
    .await;
    assert_eq!(res.status, 403);
    // None of that changed anything.
    let names: Vec<String> = app
        .get("/v4/VaultSection")
        .await
        .expect(200)
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["Name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["Vault items", "kept"]);

    // From the server's own origin, by Origin or by Referer: accepted.
    by_cookie(
        &app,
        &cookie,
        Method::POST,
        "/v4/VaultSection",
        Some(&own),
        Some(json!({"Name": "mine"})),
    )
    .await
    .expect(201);
    let res = read(
        app.client
            .post(app.url("/v4/VaultSection"))
            .header("Cookie", format!("coffre_session={cookie}"))
            .header("Referer", format!("{own}/#/vault"))
            .json(&json!({"Name": "by referer"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(res.status, 201, "{}", res.text);
    // Reads need no origin.
    read_by_cookie(&app, &cookie, "/v4/VaultSection")
        .await
        .expect(200);
    // A key in a header is unaffected, whatever Origin it names.
    let res = read(
        app.client
            .post(app.url("/v4/VaultSection"))
            .bearer_auth(&app.admin_key)
            .header("Origin", "http://evil.example")
            .json(&json!({"Name": "by key"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(res.status, 201, "{}", res.text);
}

fn free_local_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn a_sign_in_from_another_sites_page_is_refused() {
    let app = spawn_app().await;
    let res = sign_in_from(&app, &app.admin_key, Some("http://evil.example")).await;
    assert_eq!(res.status, 403, "{}", res.text);
    assert_eq!(res.code(), "CrossOriginRequest");
    assert!(res.headers.get("set-cookie").is_none());
    assert!(app.state.sessions.is_empty());
    sign_in_from(&app, &app.admin_key, Some(&app.address))
        .await
        .expect(201);
}

/// The session is refused with SessionEnded naming `why`, and stays dead.
async fn assert_ended(app: &TestApp, cookie: &str, why: &str) {
    let res = read_by_cookie(app, cookie, "/v4/VaultSection").await;
    assert_eq!(res.status, 401, "{why}: {}", res.text);
    assert_eq!(res.code(), "SessionEnded", "{why}");
    assert!(res.message().contains(why), "{why}: {}", res.message());
}

#[tokio::test]
async fn a_session_dies_with_its_key_and_stays_dead() {
    let app = spawn_app().await;
    let key = || app.create_key(json!({}));
    let set_active = |operator: &str, active: bool| {
        let path = format!("/v4/Operator/{operator}");
        let app = &app;
        async move {
            app.patch(&path, json!({ "IsActive": active }))
                .await
                .expect(204);
        }
    };

    // Revoked: the session and the key's own next request both fail.
    let k = key().await;
    let cookie = sign_in(&app, &k.key).await;
    read_by_cookie(&app, &cookie, "/v4/VaultSection")
        .await
        .expect(200);
    app.post(&format!("/v4/ApiKey/{}/Revoke", k.guid), json!({}))
        .await
        .expect(200);
    assert_ended(&app, &cookie, "revoked").await;
    let res = app
        .send(&k.key, Method::GET, "/v4/VaultSection", None)
        .await;
    assert_eq!(res.code(), "KeyRevoked");
    // Regenerating the revoked key does not revive the old session.
    let fresh = app
        .post(&format!("/v4/ApiKey/{}/Regenerate", k.guid), json!({}))
        .await
        .expect(200);
    assert_ended(&app, &cookie, "not a current session").await;
    let fresh_key = fresh.guid("Key");
    let cookie = sign_in(&app, &fresh_key).await;

    // Regenerated.
    app.post(&format!("/v4/ApiKey/{}/Regenerate", k.guid), json!({}))
        .await
        .expect(200);
    assert_ended(&app, &cookie, "new secret").await;

    // Deleted.
    let k = key().await;
    let cookie = sign_in(&app, &k.key).await;
    app.delete(&format!("/v4/ApiKey/{}", k.guid))
        .await
        .expect(204);
    assert_ended(&app, &cookie, "deleted").await;

    // Its operator deactivated, then reactivated: still dead.
    let k = key().await;
    let cookie = sign_in(&app, &k.key).await;
    let other = sign_in(&app, &app.admin_key).await;
    set_active(&k.operator_guid, false).await;
    set_active(&k.operator_guid, true).await;
    assert_ended(&app, &cookie, "not a current session").await;
    read_by_cookie(&app, &other, "/v4/VaultSection")
        .await
        .expect(200);
    let k2 = key().await;
    let cookie = sign_in(&app, &k2.key).await;
    set_active(&k2.operator_guid, false).await;
    assert_ended(&app, &cookie, "not a current session").await;

    // Expired (the frozen clock is 2026-06-15 12:00 UTC): at midnight ending
    // its date the session ends, and extending the key does not revive it.
    let k = app
        .create_key(json!({"ExpirationDate": "2026-06-15"}))
        .await;
    app.set_now("2026-06-15T23:45:00Z");
    let cookie = sign_in(&app, &k.key).await;
    app.set_now("2026-06-15T23:59:59Z");
    read_by_cookie(&app, &cookie, "/v4/VaultSection")
        .await
        .expect(200);
    app.set_now("2026-06-16T00:00:00Z");
    app.put(
        &format!("/v4/ApiKey/{}", k.guid),
        json!({"Name": "extended", "ContactEmail": format!("{}@example.com", uuid::Uuid::new_v4().simple()), "ExpirationDate": "2030-01-01"}),
    )
    .await
    .expect(204);
    app.send(&k.key, Method::GET, "/v4/VaultSection", None)
        .await
        .expect(200);
    assert_ended(&app, &cookie, "expired").await;
}

#[tokio::test]
async fn a_session_ends_after_the_idle_timeout_and_at_its_lifetime_on_the_servers_clock() {
    let app = app()
        .now(at("2026-06-15T12:00:00Z"))
        .config(|c| {
            c.session_idle_timeout_mins = 30;
            c.session_lifetime_hours = 1;
        })
        .spawn()
        .await;
    let cookie = sign_in(&app, &app.admin_key).await;
    app.set_now("2026-06-15T12:29:59Z");
    read_by_cookie(&app, &cookie, "/v4/VaultSection")
        .await
        .expect(200);
    // Each use starts the idle time again.
    app.set_now("2026-06-15T12:59:58Z");
    read_by_cookie(&app, &cookie, "/v4/VaultSection")
        .await
        .expect(200);
    // The lifetime is counted from sign-in, used or not.
    app.set_now("2026-06-15T13:00:00Z");
    assert_ended(&app, &cookie, "maximum lifetime").await;

    let cookie = sign_in(&app, &app.admin_key).await;
    app.set_now("2026-06-15T13:30:00Z");
    assert_ended(&app, &cookie, "idle timeout").await;
    // A new sign-in works at once.
    let cookie = sign_in(&app, &app.admin_key).await;
    read_by_cookie(&app, &cookie, "/v4/VaultSection")
        .await
        .expect(200);
}

#[tokio::test]
async fn signing_out_ends_the_session_and_tells_the_browser_to_forget_it() {
    let app = spawn_app().await;
    let cookie = sign_in(&app, &app.admin_key).await;
    // From another site: refused, the session stands.
    let res = by_cookie(
        &app,
        &cookie,
        Method::DELETE,
        "/v4/Session",
        Some("http://evil.example"),
        None,
    )
    .await;
    assert_eq!(res.status, 403);
    read_by_cookie(&app, &cookie, "/v4/VaultSection")
        .await
        .expect(200);

    let res = by_cookie(
        &app,
        &cookie,
        Method::DELETE,
        "/v4/Session",
        Some(&app.address),
        None,
    )
    .await;
    assert_eq!(res.status, 204, "{}", res.text);
    let header = set_cookie(&res);
    assert!(header.starts_with("coffre_session=;"), "{header}");
    assert!(header.contains("Max-Age=0"), "{header}");
    assert_ended(&app, &cookie, "not a current session").await;
    // Signing out again, or without a session, is fine.
    by_cookie(
        &app,
        &cookie,
        Method::DELETE,
        "/v4/Session",
        Some(&app.address),
        None,
    )
    .await
    .expect(204);
    read(
        app.client
            .delete(app.url("/v4/Session"))
            .send()
            .await
            .unwrap(),
    )
    .await
    .expect(204);
}

#[tokio::test]
async fn failed_sign_ins_count_toward_the_failed_authentication_limit() {
    let app = app().config(|c| c.auth_failure_limit = 3).spawn().await;
    for _ in 0..3 {
        let res = sign_in_from(&app, "coffre_wrong", None).await;
        assert_eq!(res.status, 401);
    }
    let res = sign_in_from(&app, "coffre_wrong", None).await;
    assert_eq!(res.status, 429, "{}", res.text);
    assert!(res.headers.contains_key("retry-after"));
    // A wrong key in a header is limited the same way: one limit for both.
    let res = app
        .send("coffre_wrong", Method::GET, "/v4/VaultSection", None)
        .await;
    assert_eq!(res.status, 429);
    // A valid key is never refused by the limiter.
    sign_in_from(&app, &app.admin_key, None).await.expect(201);
}

#[tokio::test]
async fn a_dev_reset_ends_every_session() {
    let app = app().config(|c| c.dev = true).spawn().await;
    let cookie = sign_in(&app, &app.admin_key).await;
    app.post("/v4/Dev/Reset", json!({})).await.expect(204);
    assert_ended(&app, &cookie, "not a current session").await;
}

#[tokio::test]
async fn the_cookie_is_secure_over_tls_and_from_a_trusted_https_proxy_only() {
    // Directly over TLS (HTTP/2): Secure, and the origin is https.
    let cert = certificate(KeyKind::EcdsaPkcs8, 0x1301);
    let dir = tempfile::tempdir().unwrap();
    let (cert_file, key_file) = write_pair(dir.path(), &cert);
    let tls = app()
        .config(move |c| {
            c.tls_cert_file = Some(cert_file);
            c.tls_key_file = Some(key_file);
        })
        .spawn()
        .await;
    let addr: std::net::SocketAddr = tls.address.rsplit("://").next().unwrap().parse().unwrap();
    let mut h2 = connect(addr, &["h2"], &[&cert]).await.unwrap();
    let res = h2
        .send(
            "POST",
            "/v4/Session",
            None,
            Some(json!({"ApiKey": tls.admin_key})),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 201, "{}", res.text);
    let header = res.headers["set-cookie"].to_str().unwrap().to_string();
    assert!(header.split("; ").any(|a| a == "Secure"), "{header}");
    let cookie = header.split(';').next().unwrap().to_string();
    let own = format!("https://localhost:{}", addr.port());
    let made = h2
        .send_with(
            "POST",
            "/v4/VaultSection",
            None,
            Some(json!({"Name": "over TLS"})),
            &[("cookie", &cookie), ("origin", &own)],
        )
        .await
        .unwrap();
    assert_eq!(made.status, 201, "{}", made.text);
    let refused = h2
        .send_with(
            "POST",
            "/v4/VaultSection",
            None,
            Some(json!({"Name": "x"})),
            &[
                ("cookie", &cookie),
                ("origin", &format!("http://localhost:{}", addr.port())),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        refused.status, 403,
        "http is another origin than https: {}",
        refused.text
    );

    // Behind a trusted proxy that says the client used https: Secure. The
    // same header from anyone else is not believed.
    let app = app()
        .config(|c| c.trusted_proxies = vec!["127.0.0.2/32".parse().unwrap()])
        .spawn()
        .await;
    for (local, secure) in [("127.0.0.2", true), ("127.0.0.1", false)] {
        let client = reqwest::Client::builder()
            .local_address(local.parse::<IpAddr>().unwrap())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let req = client
            .post(app.url("/v4/Session"))
            .header("X-Forwarded-Proto", "https")
            .header("X-Forwarded-For", "192.0.2.7");
        let res = send_key(req, &app.admin_key).await.expect(201);
        let header = set_cookie(&res);
        assert_eq!(
            header.split("; ").any(|a| a == "Secure"),
            secure,
            "from {local}: {header}"
        );
    }
}

#[tokio::test]
async fn behind_a_real_nginx_the_console_signs_in_and_changes_from_the_proxys_origin() {
    use crate::proxies::{nginx_binary, start_nginx};
    let Some(binary) = nginx_binary() else {
        skip_without_tool("nginx is not installed (apt-get install nginx-light; .ci/run does)");
        return;
    };
    let app = app()
        .config(|c| c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()])
        .spawn()
        .await;
    let nginx = start_nginx(&binary, &app.address);
    let front = format!("http://127.0.0.1:{}", nginx.port);
    let page = read(app.client.get(format!("{front}/")).send().await.unwrap())
        .await
        .expect(200);
    assert_eq!(page.headers["content-security-policy"], CSP);
    let req = app
        .client
        .post(format!("{front}/v4/Session"))
        .header("Origin", &front);
    let res = send_key(req, &app.admin_key).await.expect(201);
    let cookie = cookie_of(&res);
    let change = |origin: String| {
        let req = app
            .client
            .post(format!("{front}/v4/VaultSection"))
            .header("Cookie", format!("coffre_session={cookie}"))
            .header("Origin", origin)
            .json(&json!({"Name": "through nginx"}));
        async move { read(req.send().await.unwrap()).await }
    };
    // The page's origin is the proxy's, which nginx passes on as Host.
    change(front.clone()).await.expect(201);
    let res = change(app.address.clone()).await;
    assert_eq!(
        res.status, 403,
        "coffre's own address is not the page's origin here"
    );
}
