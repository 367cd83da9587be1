//! Issue 15, part 2: each key's LastUsedFrom and UseCount, the list filters
//! (`UnusedForDays`, `Status`), and `revoke_unused_after_days`: a warning 7
//! days before, the revocation at the instant, exactly once each.

use std::net::IpAddr;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

fn client_from(local: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(local.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

async fn key_shown(app: &TestApp, guid: &str) -> Value {
    app.get(&format!("/v4/ApiKey/{guid}"))
        .await
        .expect(200)
        .body
}

#[tokio::test]
async fn use_count_and_last_used_from_follow_the_forwarded_client_and_survive_a_restart() {
    let app = app()
        .now(at("2030-01-01T10:00:00Z"))
        .config(|c| {
            c.scheduler = false;
            c.trusted_proxies = vec!["127.0.0.2/32".parse().unwrap()];
        })
        .spawn()
        .await;
    let k = app.create_key(json!({})).await;
    let shown = key_shown(&app, &k.guid).await;
    assert_eq!(
        (shown["UseCount"].clone(), shown["LastUsedFrom"].clone()),
        (json!(0), Value::Null)
    );

    let proxy = client_from("127.0.0.2");
    for _ in 0..3 {
        let res = proxy
            .get(app.url("/v4/VaultSection"))
            .bearer_auth(&k.key)
            .header("x-forwarded-for", "6.6.6.6, 203.0.113.9")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    let shown = key_shown(&app, &k.guid).await;
    assert_eq!(
        shown["UseCount"], 3,
        "the admin's own requests are not this key's"
    );
    assert_eq!(shown["LastUsedFrom"], "203.0.113.9");
    assert_eq!(shown["LastUsedAt"], "2030-01-01T10:00:00.000Z");

    // From a peer that is not a trusted proxy, its own address.
    app.set_now("2030-01-01T10:05:00Z");
    let stranger = client_from("127.0.0.1");
    stranger
        .get(app.url("/v4/VaultSection"))
        .bearer_auth(&k.key)
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    let shown = key_shown(&app, &k.guid).await;
    assert_eq!(
        (shown["UseCount"].clone(), shown["LastUsedFrom"].clone()),
        (json!(4), json!("127.0.0.1"))
    );

    // A stop flushes what memory counted; a restart reads it back.
    let guid = k.guid.clone();
    let app = app.restart(at("2030-01-01T11:00:00Z"), |_| {}).await;
    let shown = key_shown(&app, &guid).await;
    assert_eq!(shown["UseCount"], 4, "{shown}");
    assert_eq!(shown["LastUsedFrom"], "127.0.0.1");
    assert_eq!(shown["LastUsedAt"], "2030-01-01T10:05:00.000Z");
}

#[tokio::test]
async fn the_list_filters_by_days_unused_and_by_status() {
    let app = app()
        .now(at("2030-01-01T00:00:00Z"))
        .config(|c| c.scheduler = false)
        .spawn()
        .await;
    let used = app.create_key(json!({"Name": "used"})).await;
    let never = app.create_key(json!({"Name": "never"})).await;
    app.create_key(json!({"Name": "expiring", "ExpirationDate": "2030-01-05"}))
        .await;
    app.send(&used.key, Method::GET, "/v4/VaultSection", None)
        .await
        .expect(200);
    app.set_now("2030-01-11T00:00:00Z");
    app.create_key(json!({"Name": "late"})).await;
    app.set_now("2030-01-12T00:00:00Z");
    app.send(&used.key, Method::GET, "/v4/VaultSection", None)
        .await
        .expect(200);
    app.post(&format!("/v4/ApiKey/{}/Revoke", never.guid), json!({}))
        .await
        .expect(200);

    let names = |query: &'static str| {
        let app = &app;
        async move {
            let res = app.get(&format!("/v4/ApiKey{query}")).await.expect(200);
            let mut names: Vec<String> = res
                .body
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k["Name"].as_str().unwrap().to_string())
                .filter(|n| ["used", "never", "expiring", "late"].contains(&n.as_str()))
                .collect();
            names.sort();
            names
        }
    };
    app.set_now("2030-01-20T00:00:00Z");
    // now − 9 days = 2030-01-11T00:00:00Z: "late" was created exactly then.
    assert_eq!(names("?UnusedForDays=9").await, ["expiring", "never"]);
    assert_eq!(
        names("?UnusedForDays=8").await,
        ["expiring", "late", "never"]
    );
    assert_eq!(
        names("?UnusedForDays=7").await,
        ["expiring", "late", "never", "used"]
    );
    assert_eq!(names("?UnusedForDays=30").await, Vec::<String>::new());
    assert_eq!(names("?Status=Active").await, ["late", "used"]);
    assert_eq!(names("?Status=Expired").await, ["expiring"]);
    assert_eq!(names("?Status=Revoked").await, ["never"]);
    assert_eq!(names("?Status=Active&UnusedForDays=8").await, ["late"]);

    for bad in [
        "?UnusedForDays=-1",
        "?UnusedForDays=x",
        "?UnusedForDays=36501",
    ] {
        let res = app.get(&format!("/v4/ApiKey{bad}")).await.expect(400);
        assert_eq!(res.code(), "InvalidQuery", "{bad}");
        assert!(res.message().contains("0 to 36500"), "{}", res.message());
    }
    let res = app.get("/v4/ApiKey?Status=active").await.expect(400);
    assert!(
        res.message().contains("Active, Expired or Revoked"),
        "{}",
        res.message()
    );
    app.get("/v4/ApiKey?Unused=3").await.expect(400);
    // The same filters on OAuth clients.
    let c = app.create_client(json!({})).await;
    app.set_now("2030-01-20T00:00:00.001Z");
    let clients = app
        .get("/v4/OAuthClient?Status=Active&UnusedForDays=0")
        .await
        .expect(200);
    assert!(clients.text.contains(&c.guid), "{}", clients.text);
    app.get("/v4/OAuthClient?Status=Gone").await.expect(400);
}

async fn stale_app(now: &str) -> TestApp {
    app()
        .now(at(now))
        .config(|c| {
            c.scheduler = false;
            c.revoke_unused_after_days = 30;
        })
        .spawn()
        .await
}

/// Moves the clock to `now`, uses the administrator's key there (so only
/// the test's own keys are idle), and runs the unused sweep.
async fn unused_sweep(app: &TestApp, now: &str) -> coffre::lifecycle::UnusedReport {
    app.set_now(now);
    app.get("/v4/Operator").await.expect(200);
    coffre::lifecycle::unused_sweep(&app.state, at(now), app.config.revoke_unused_after_days)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_unused_key_is_warned_7_days_before_and_revoked_at_30_exactly_once() {
    let app = stale_app("2030-01-01T00:00:00Z").await;
    let idle = app
        .create_key(json!({"Name": "idle", "ContactEmail": "idle@example.com"}))
        .await;
    // Revoked at 2030-01-31T00:00:00Z unless used; warned from 2030-01-24.
    let report = unused_sweep(&app, "2030-01-23T23:59:59.999Z").await;
    assert_eq!((report.warned, report.revoked), (0, 0));
    app.set_now("2030-01-24T00:00:00Z");
    assert_eq!(unused_sweep(&app, "2030-01-24T00:00:00Z").await.warned, 1);
    assert_eq!(
        unused_sweep(&app, "2030-01-25T00:00:00Z").await.warned,
        0,
        "once"
    );
    let warnings = app.outbox("?Kind=UnusedWarning").await;
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0]["To"], "idle@example.com");
    assert!(
        warnings[0]["Subject"]
            .as_str()
            .unwrap()
            .contains("will be revoked on 2030-01-31T00:00:00.000Z unless used"),
        "{}",
        warnings[0]["Subject"]
    );

    // Two sweeps racing at the instant: one revocation, one e-mail, one line.
    app.set_now("2030-01-31T00:00:00Z");
    let (a, b) = tokio::join!(
        unused_sweep(&app, "2030-01-31T00:00:00Z"),
        unused_sweep(&app, "2030-01-31T00:00:00Z")
    );
    assert_eq!(a.revoked + b.revoked, 1);
    assert_eq!(unused_sweep(&app, "2030-02-01T00:00:00Z").await.revoked, 0);
    let revoked = app.outbox("?Kind=UnusedRevoked").await;
    assert_eq!(revoked.len(), 1, "{revoked:?}");
    let res = app
        .send(&idle.key, Method::GET, "/v4/VaultSection", None)
        .await
        .expect(401);
    assert_eq!(res.code(), "KeyRevoked");
    assert_eq!(key_shown(&app, &idle.guid).await["Status"], "Revoked");
    let history = app
        .get(&format!("/v4/ApiKey/{}/History", idle.guid))
        .await
        .expect(200);
    let lines: Vec<&Value> = history
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["Action"] == "Revoked")
        .collect();
    assert_eq!(lines.len(), 1, "{}", history.text);
    assert_eq!(lines[0]["ContactFirstName"], "coffre");
    assert_eq!(lines[0]["SecretUsed"], Value::Null);
    assert!(
        lines[0]["Details"]
            .as_str()
            .unwrap()
            .contains("Unused for 30 days")
    );
}

#[tokio::test]
async fn a_key_used_after_the_warning_is_not_revoked_and_is_warned_again_later() {
    let app = stale_app("2030-01-01T00:00:00Z").await;
    let k = app.create_key(json!({})).await;
    app.set_now("2030-01-24T00:00:00Z");
    assert_eq!(unused_sweep(&app, "2030-01-24T00:00:00Z").await.warned, 1);
    app.set_now("2030-01-25T12:00:00Z");
    app.send(&k.key, Method::GET, "/v4/VaultSection", None)
        .await
        .expect(200);
    // The use is only in memory: the sweep flushes it first.
    app.set_now("2030-01-31T00:00:00Z");
    let report = unused_sweep(&app, "2030-01-31T00:00:00Z").await;
    assert_eq!((report.warned, report.revoked), (0, 0));
    app.send(&k.key, Method::GET, "/v4/VaultSection", None)
        .await
        .expect(200);
    // Now idle since 2030-01-31: a new warning on 2030-02-23, revocation on 03-02.
    app.set_now("2030-02-23T00:00:00Z");
    assert_eq!(unused_sweep(&app, "2030-02-23T00:00:00Z").await.warned, 1);
    let warnings = app.outbox("?Kind=UnusedWarning").await;
    assert_eq!(warnings.len(), 2);
    assert!(
        warnings[0]["Subject"]
            .as_str()
            .unwrap()
            .contains("2030-03-02T00:00:00.000Z")
    );
    app.set_now("2030-03-02T00:00:00Z");
    assert_eq!(unused_sweep(&app, "2030-03-02T00:00:00Z").await.revoked, 1);
}

#[tokio::test]
async fn the_midnight_sweep_of_the_server_revokes_unused_clients_and_their_tokens_die() {
    let app = app()
        .now(at("2030-01-01T12:00:00Z"))
        .config(|c| c.revoke_unused_after_days = 30)
        .spawn()
        .await;
    let c = app.create_client(json!({})).await;
    let token = app.token(&c, None).await;
    // The token endpoint's use counts: idle from 2030-01-01T12:00, revoked at
    // the first midnight sweep on or after 2030-01-31T12:00. The
    // administrator's key, used on 2030-01-20, is not.
    app.set_now("2030-01-20T00:00:00Z");
    app.get("/v4/Operator").await.expect(200);
    app.set_now("2030-02-01T00:00:00Z");
    app.eventually("the unused client's revocation", || async {
        app.get(&format!("/v4/OAuthClient/{}", c.guid)).await.body["Status"] == "Revoked"
    })
    .await;
    app.send(&token, Method::GET, "/v4/VaultItem", None)
        .await
        .expect(401);
    assert_eq!(app.outbox("?Kind=UnusedRevoked").await.len(), 1);
    assert_eq!(app.state.auth.tokens.len(), 0, "its tokens are gone");
}
