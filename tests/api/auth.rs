//! Authentication: the three ways to present a key, the failures that must be
//! indistinguishable, expiry and revocation on the very next request, rate limits.

use base64::Engine;
use reqwest::Method;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::helpers::*;

const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A well-formed key (valid checksum) with the given lookup id and secret.
fn well_formed(lookup: &str, secret: &str) -> String {
    let body = format!("coffre_{lookup}_{secret}");
    let d = Sha256::digest(body.as_bytes());
    let mut n = u32::from_be_bytes([d[0], d[1], d[2], d[3]]) as u64;
    let mut sum = [b'0'; 6];
    for c in sum.iter_mut().rev() {
        *c = ALPHABET[(n % 62) as usize];
        n /= 62;
    }
    format!("{body}{}", std::str::from_utf8(&sum).unwrap())
}

#[tokio::test]
async fn a_key_works_as_bearer_as_x_api_key_and_as_basic_password() {
    let app = spawn_app().await;
    let url = app.url("/v4/ApiKey");
    let bearer = app
        .client
        .get(&url)
        .bearer_auth(&app.admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), 200);
    let header = app
        .client
        .get(&url)
        .header("X-Api-Key", &app.admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(header.status(), 200);
    let basic = app
        .client
        .get(&url)
        .basic_auth("any-user-name", Some(&app.admin_key))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 200);
    // An empty X-Api-Key is no key: it does not shadow a valid Authorization.
    for empty in ["", "   "] {
        let res = app
            .client
            .get(&url)
            .header("X-Api-Key", empty)
            .bearer_auth(&app.admin_key)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "X-Api-Key {empty:?}");
    }
}

#[tokio::test]
async fn missing_malformed_unknown_and_wrong_keys_get_the_same_401() {
    let app = spawn_app().await;
    let url = app.url("/v4/ApiKey");
    let lookup = &app.admin_key[7..19];
    let wrong_secret = well_formed(lookup, &"A".repeat(43));
    let unknown = well_formed("ZZZZZZZZZZZZ", &"b".repeat(43));
    let mut typo = app.admin_key.clone().into_bytes();
    typo[30] = if typo[30] == b'x' { b'y' } else { b'x' };
    let typo = String::from_utf8(typo).unwrap();

    let mut bodies = Vec::new();
    let missing = read(app.client.get(&url).send().await.unwrap()).await;
    bodies.push(missing);
    for key in [
        "garbage",
        &typo,
        &unknown,
        &wrong_secret,
        &app.admin_key[..40],
    ] {
        bodies.push(read(app.client.get(&url).bearer_auth(key).send().await.unwrap()).await);
    }
    let basic_garbage = app
        .client
        .get(&url)
        .header("Authorization", "Basic !!!")
        .send()
        .await
        .unwrap();
    bodies.push(read(basic_garbage).await);
    for res in &bodies {
        assert_eq!(res.status, 401, "{}", res.text);
        assert_eq!(res.text, bodies[0].text, "every failure must look the same");
        assert!(res.headers.contains_key("www-authenticate"));
    }
    assert_eq!(bodies[0].code(), "Unauthorized");
    assert!(bodies[0].message().contains("Authorization: Bearer"));
}

#[tokio::test]
async fn a_key_with_expiration_date_works_until_midnight_utc_ending_that_day() {
    let app = app().now(at("2029-12-30T10:00:00Z")).spawn().await;
    let k = app.create_key(json!({"ExpirationDate": "2030-01-01", "EnablePermissions": true, "Permissions": ["Operator.Read"]})).await;
    app.make_admin(&k.operator_guid).await;
    app.set_now("2030-01-01T23:59:59.999Z");
    app.send(&k.key, Method::GET, "/v4/Operator", None)
        .await
        .expect(200);
    let key = app.get(&format!("/v4/ApiKey/{}", k.guid)).await.expect(200);
    assert_eq!(key.body["Status"], "Active");
    assert_eq!(key.body["ExpiresAt"], "2030-01-02T00:00:00.000Z");

    app.set_now("2030-01-02T00:00:00Z");
    let res = app
        .send(&k.key, Method::GET, "/v4/Operator", None)
        .await
        .expect(401);
    assert_eq!(res.code(), "KeyExpired");
    assert!(
        res.message().contains("2030-01-02T00:00:00"),
        "{}",
        res.message()
    );
    let key = app.get(&format!("/v4/ApiKey/{}", k.guid)).await.expect(200);
    assert_eq!(
        key.body["Status"], "Expired",
        "expired before any sweep ran"
    );
}

#[tokio::test]
async fn revoke_and_regenerate_take_effect_on_the_next_request() {
    let app = spawn_app().await;
    let k = app.create_key(json!({})).await;
    app.make_admin(&k.operator_guid).await;
    app.send(&k.key, Method::GET, "/v4/Operator", None)
        .await
        .expect(200);

    let revoked = app
        .post(&format!("/v4/ApiKey/{}/Revoke", k.guid), json!({}))
        .await
        .expect(200);
    assert_eq!(revoked.body["Status"], "Revoked");
    assert!(revoked.body.get("Key").is_none());
    let res = app
        .send(&k.key, Method::GET, "/v4/Operator", None)
        .await
        .expect(401);
    assert_eq!(res.code(), "KeyRevoked");

    let regenerated = app
        .post(&format!("/v4/ApiKey/{}/Regenerate", k.guid), json!({}))
        .await
        .expect(200);
    assert_eq!(
        regenerated.body["Status"], "Active",
        "regenerate revives a revoked key"
    );
    let new_key = regenerated.guid("Key");
    assert_ne!(new_key, k.key);
    assert!(
        regenerated.body["MaskedKey"]
            .as_str()
            .unwrap()
            .ends_with(&new_key[new_key.len() - 4..])
    );
    let old = app
        .send(&k.key, Method::GET, "/v4/Operator", None)
        .await
        .expect(401);
    assert_eq!(
        old.code(),
        "Unauthorized",
        "the old secret is simply unknown now"
    );
    app.send(&new_key, Method::GET, "/v4/Operator", None)
        .await
        .expect(200);

    app.delete(&format!("/v4/ApiKey/{}", k.guid))
        .await
        .expect(204);
    app.send(&new_key, Method::GET, "/v4/Operator", None)
        .await
        .expect(401);
}

#[tokio::test]
async fn repeated_failures_from_one_address_get_429_with_retry_after() {
    let app = app()
        .config(|c| {
            c.auth_failure_limit = 3;
            c.auth_failure_window_secs = 120;
        })
        .spawn()
        .await;
    for _ in 0..3 {
        app.send("nope", Method::GET, "/v4/ApiKey", None)
            .await
            .expect(401);
    }
    let res = app
        .send("nope", Method::GET, "/v4/ApiKey", None)
        .await
        .expect(429);
    assert_eq!(res.code(), "TooManyRequests");
    let retry: u64 = res.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=120).contains(&retry), "{retry}");
    // While blocked, failing attempts keep getting 429, but a valid key from
    // the same address is never refused: the limiter slows guessing, it must
    // not lock out everyone behind a shared address.
    app.send("still-nope", Method::GET, "/v4/ApiKey", None)
        .await
        .expect(429);
    for _ in 0..5 {
        app.get("/v4/ApiKey").await.expect(200);
    }
    app.send("nope", Method::GET, "/v4/ApiKey", None)
        .await
        .expect(429);
    // Unauthenticated endpoints are not affected.
    read(app.client.get(app.url("/health")).send().await.unwrap())
        .await
        .expect(200);
}

#[tokio::test]
async fn a_deactivated_operator_s_key_stops_working_until_reactivated() {
    let app = spawn_app().await;
    let k = app.create_key(json!({})).await;
    app.make_admin(&k.operator_guid).await;
    let path = format!("/v4/Operator/{}", k.operator_guid);
    app.patch(&path, json!({"IsActive": false}))
        .await
        .expect(204);
    let res = app
        .send(&k.key, Method::GET, "/v4/Operator", None)
        .await
        .expect(401);
    assert_eq!(res.code(), "OperatorDeactivated");
    app.patch(&path, json!({"IsActive": true}))
        .await
        .expect(204);
    app.send(&k.key, Method::GET, "/v4/Operator", None)
        .await
        .expect(200);
}

#[tokio::test]
async fn basic_auth_with_an_empty_password_is_just_unauthorized() {
    let app = spawn_app().await;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{}:", app.admin_key));
    let res = app
        .client
        .get(app.url("/v4/ApiKey"))
        .header("Authorization", format!("Basic {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}
