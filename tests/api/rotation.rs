//! Issue 15, part 1: Regenerate with a grace period. The previous secret
//! works beside the new one until `PreviousKeyExpiresAt`, to the millisecond;
//! one previous secret at most; revoke ends both; history says which secret
//! was used; the contact is told when the grace period starts and, if the
//! old secret is still in use, an hour before it ends.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

async fn regenerate(app: &TestApp, guid: &str, body: Option<Value>) -> Res {
    app.send(
        &app.admin_key,
        Method::POST,
        &format!("/v4/ApiKey/{guid}/Regenerate"),
        body.as_ref(),
    )
    .await
}

async fn status_with(app: &TestApp, key: &str) -> Res {
    app.send(key, Method::GET, "/v4/VaultSection", None).await
}

#[tokio::test]
async fn the_previous_secret_works_until_the_last_millisecond_and_not_at_the_boundary() {
    let app = quiet_app("2030-01-01T10:00:00Z").await;
    let k = app.create_key(json!({})).await;
    let res = regenerate(&app, &k.guid, Some(json!({"GracePeriodHours": 2})))
        .await
        .expect(200);
    let new_key = res.guid("Key");
    assert_ne!(new_key, k.key);
    assert_eq!(res.body["PreviousKeyExpiresAt"], "2030-01-01T12:00:00.000Z");
    assert!(
        res.body["PreviousMaskedKey"]
            .as_str()
            .is_some_and(|m| m.starts_with("coffre_") && m != res.body["MaskedKey"]),
        "{}",
        res.text
    );

    app.set_now("2030-01-01T11:59:59.999Z");
    status_with(&app, &k.key).await.expect(200);
    status_with(&app, &new_key).await.expect(200);
    let shown = app.get(&format!("/v4/ApiKey/{}", k.guid)).await.expect(200);
    assert_eq!(
        shown.body["PreviousKeyExpiresAt"],
        "2030-01-01T12:00:00.000Z"
    );

    app.set_now("2030-01-01T12:00:00Z");
    let refused = status_with(&app, &k.key).await.expect(401);
    assert_eq!(refused.code(), "PreviousKeyExpired");
    assert!(
        refused.message().contains("2030-01-01T12:00:00.000Z")
            && refused.message().contains(&k.guid)
            && refused.message().contains("new secret"),
        "{}",
        refused.message()
    );
    status_with(&app, &new_key).await.expect(200);
    let shown = app.get(&format!("/v4/ApiKey/{}", k.guid)).await.expect(200);
    assert_eq!(shown.body["PreviousKeyExpiresAt"], Value::Null);
    assert_eq!(shown.body["PreviousMaskedKey"], Value::Null);
}

#[tokio::test]
async fn without_a_grace_period_the_old_secret_stops_at_once_and_bad_bodies_change_nothing() {
    let app = quiet_app("2030-01-01T10:00:00Z").await;
    // Absent, empty, {} and 0: today's behaviour.
    for body in [None, Some(json!({})), Some(json!({"GracePeriodHours": 0}))] {
        let k = app.create_key(json!({})).await;
        let res = regenerate(&app, &k.guid, body.clone()).await.expect(200);
        assert_eq!(res.body["PreviousKeyExpiresAt"], Value::Null, "{body:?}");
        status_with(&app, &k.key).await.expect(401);
        status_with(&app, &res.guid("Key")).await.expect(200);
    }
    let k = app.create_key(json!({})).await;
    let res = read(
        app.client
            .post(app.url(&format!("/v4/ApiKey/{}/Regenerate", k.guid)))
            .bearer_auth(&app.admin_key)
            .header("Content-Type", "application/json")
            .body("")
            .send()
            .await
            .unwrap(),
    )
    .await
    .expect(200);
    status_with(&app, &k.key).await.expect(401);
    status_with(&app, &res.guid("Key")).await.expect(200);

    // Out of range, not a number, unknown fields: 400, nothing changes.
    let k = app.create_key(json!({})).await;
    for body in [
        json!({"GracePeriodHours": 169}),
        json!({"GracePeriodHours": -1}),
        json!({"GracePeriodHours": "2"}),
        json!({"GracePeriodHours": 1.5}),
        json!({"GraceHours": 2}),
    ] {
        let res = regenerate(&app, &k.guid, Some(body.clone()))
            .await
            .expect(400);
        assert!(
            res.message().contains("GracePeriodHours") || res.message().contains("GraceHours"),
            "{body}: {}",
            res.message()
        );
        status_with(&app, &k.key).await.expect(200);
    }
    let res = regenerate(&app, &k.guid, Some(json!({"GracePeriodHours": 169})))
        .await
        .expect(400);
    assert!(res.message().contains("0 to 168"), "{}", res.message());
    let history = app
        .get(&format!("/v4/ApiKey/{}/History", k.guid))
        .await
        .expect(200);
    assert!(
        history
            .body
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["Action"] != "Regenerated"),
        "{}",
        history.text
    );
}

#[tokio::test]
async fn regenerating_again_ends_the_earlier_grace_period_and_revoking_ends_both() {
    let app = quiet_app("2030-01-01T10:00:00Z").await;
    let k = app.create_key(json!({})).await;
    let second = regenerate(&app, &k.guid, Some(json!({"GracePeriodHours": 24})))
        .await
        .expect(200)
        .guid("Key");
    app.set_now("2030-01-01T11:00:00Z");
    let third = regenerate(&app, &k.guid, Some(json!({"GracePeriodHours": 1})))
        .await
        .expect(200);
    assert_eq!(
        third.body["PreviousKeyExpiresAt"],
        "2030-01-01T12:00:00.000Z"
    );
    let third = third.guid("Key");
    status_with(&app, &k.key).await.expect(401);
    status_with(&app, &second).await.expect(200);
    status_with(&app, &third).await.expect(200);

    let revoked = app
        .post(&format!("/v4/ApiKey/{}/Revoke", k.guid), json!({}))
        .await
        .expect(200);
    assert_eq!(revoked.body["PreviousKeyExpiresAt"], Value::Null);
    assert_eq!(
        status_with(&app, &second).await.expect(401).code(),
        "KeyRevoked"
    );
    assert_eq!(
        status_with(&app, &third).await.expect(401).code(),
        "KeyRevoked"
    );

    // A revoked key's secret was not working: regenerating gives it no grace.
    let fourth = regenerate(&app, &k.guid, Some(json!({"GracePeriodHours": 5})))
        .await
        .expect(200);
    assert_eq!(fourth.body["PreviousKeyExpiresAt"], Value::Null);
    status_with(&app, &third).await.expect(401);
    status_with(&app, &fourth.guid("Key")).await.expect(200);

    // Deleting forgets both secrets.
    let fifth = regenerate(&app, &k.guid, Some(json!({"GracePeriodHours": 5})))
        .await
        .expect(200)
        .guid("Key");
    app.delete(&format!("/v4/ApiKey/{}", k.guid))
        .await
        .expect(204);
    assert_eq!(
        status_with(&app, &fourth.guid("Key"))
            .await
            .expect(401)
            .code(),
        "Unauthorized"
    );
    assert_eq!(
        status_with(&app, &fifth).await.expect(401).code(),
        "Unauthorized"
    );
}

#[tokio::test]
async fn history_says_which_secret_each_change_was_made_with() {
    let app = quiet_app("2030-01-01T10:00:00Z").await;
    let k = app.create_key(json!({})).await;
    app.make_admin(&k.operator_guid).await;
    let new_key = regenerate(&app, &k.guid, Some(json!({"GracePeriodHours": 1})))
        .await
        .expect(200)
        .guid("Key");
    app.send(
        &k.key,
        Method::POST,
        "/v4/VaultSection",
        Some(&json!({"Name": "old"})),
    )
    .await
    .expect(201);
    app.send(
        &new_key,
        Method::POST,
        "/v4/VaultSection",
        Some(&json!({"Name": "new"})),
    )
    .await
    .expect(201);
    let history = app
        .get(&format!("/v4/ApiKey/{}/History", k.guid))
        .await
        .expect(200);
    let lines = history.body.as_array().unwrap();
    // Newest first: the section made with the new secret, then the old.
    let sections: Vec<&Value> = lines
        .iter()
        .filter(|h| h["ObjectType"] == "VaultSection")
        .collect();
    assert_eq!(sections.len(), 2, "{}", history.text);
    assert_eq!(sections[0]["SecretUsed"], "Current", "{}", history.text);
    assert_eq!(sections[1]["SecretUsed"], "Previous", "{}", history.text);
    // The Regenerate itself was made by the bootstrap key with its current secret.
    let regenerated = lines.iter().find(|h| h["Action"] == "Regenerated").unwrap();
    assert_eq!(regenerated["SecretUsed"], "Current");
    assert!(
        regenerated["Details"]
            .as_str()
            .unwrap()
            .contains("2030-01-01T11:00:00.000Z")
    );
}

#[tokio::test]
async fn the_contact_is_told_once_when_a_grace_period_starts() {
    let app = quiet_app("2030-01-01T10:00:00Z").await;
    let k = app
        .create_key(json!({"Name": "Billing export", "ContactEmail": "ops@example.com"}))
        .await;
    regenerate(&app, &k.guid, Some(json!({"GracePeriodHours": 3})))
        .await
        .expect(200);
    regenerate(&app, &k.guid, None).await.expect(200);
    let mails = app.outbox("?Kind=GracePeriodStarted").await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    let m = &mails[0];
    assert_eq!(m["To"], "ops@example.com");
    assert_eq!(m["ApiKeyGuid"], k.guid.as_str());
    let subject = m["Subject"].as_str().unwrap();
    assert!(
        subject.contains("Billing export") && subject.contains("2030-01-01T13:00:00.000Z"),
        "{subject}"
    );
    let body = m["Body"].as_str().unwrap();
    assert!(!body.contains(&k.key), "never the secret");
}

#[tokio::test]
async fn an_oauth_client_s_previous_secret_obtains_tokens_only_during_its_grace_period() {
    let app = quiet_app("2030-01-01T10:00:00Z").await;
    let c = app.create_client(json!({})).await;
    let old_token = app.token(&c, None).await;
    let res = app
        .post(
            &format!("/v4/OAuthClient/{}/Regenerate", c.guid),
            json!({"GracePeriodHours": 1}),
        )
        .await
        .expect(200);
    assert_eq!(res.body["PreviousKeyExpiresAt"], "2030-01-01T11:00:00.000Z");
    // Tokens issued before die at Regenerate, grace or not (issue 16).
    app.send(&old_token, Method::GET, "/v4/VaultItem", None)
        .await
        .expect(401);
    // The previous secret still obtains tokens, which die with the grace period.
    app.set_now("2030-01-01T10:59:00Z");
    let answer = app
        .post_form(
            "/oauth2/token",
            Some((&c.client_id, &c.secret)),
            &form(&[("grant_type", "client_credentials")]),
        )
        .await
        .expect(200);
    assert_eq!(answer.body["expires_in"], 60, "{}", answer.text);
    let token = answer.guid("access_token");
    app.send(&token, Method::GET, "/v4/VaultItem", None)
        .await
        .expect(200);
    app.set_now("2030-01-01T11:00:00Z");
    app.send(&token, Method::GET, "/v4/VaultItem", None)
        .await
        .expect(401);
    let refused = app
        .post_form(
            "/oauth2/token",
            Some((&c.client_id, &c.secret)),
            &form(&[("grant_type", "client_credentials")]),
        )
        .await
        .expect(401);
    assert_eq!(refused.body["error"], "invalid_client");
    assert!(
        refused.body["error_description"]
            .as_str()
            .unwrap()
            .contains("grace period ended"),
        "{}",
        refused.text
    );
    let current = ClientHandle {
        secret: res.guid("ClientSecret"),
        ..c
    };
    app.token(&current, None).await;
}

#[tokio::test]
async fn an_hour_before_the_end_only_a_still_used_previous_secret_gets_a_reminder_once() {
    let app = quiet_app("2030-01-01T10:00:00Z").await;
    let used = app.create_key(json!({"Name": "still used"})).await;
    let idle = app.create_key(json!({"Name": "moved on"})).await;
    for k in [&used, &idle] {
        regenerate(&app, &k.guid, Some(json!({"GracePeriodHours": 2})))
            .await
            .expect(200);
    }
    // The idle key's old secret was last used more than an hour before the
    // reminder instant; the other's within that hour.
    app.set_now("2030-01-01T10:30:00Z");
    status_with(&app, &idle.key).await.expect(200);
    app.set_now("2030-01-01T10:45:00Z");
    status_with(&app, &used.key).await.expect(200);

    app.set_now("2030-01-01T10:59:59.999Z");
    let next = coffre::lifecycle::run_grace_reminders(&app.state)
        .await
        .unwrap();
    assert_eq!(next, Some(at("2030-01-01T11:00:00Z").timestamp_millis()));
    assert!(app.outbox("?Kind=GracePeriodEnding").await.is_empty());

    app.set_now("2030-01-01T11:40:00Z");
    let (a, b) = tokio::join!(
        coffre::lifecycle::run_grace_reminders(&app.state),
        coffre::lifecycle::run_grace_reminders(&app.state)
    );
    assert_eq!(
        (a.unwrap(), b.unwrap()),
        (None, None),
        "no grace period left to remind"
    );
    coffre::lifecycle::run_grace_reminders(&app.state)
        .await
        .unwrap();
    let mails = app.outbox("?Kind=GracePeriodEnding").await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0]["ApiKeyGuid"], used.guid.as_str());
    let body = mails[0]["Body"].as_str().unwrap();
    assert!(
        body.contains("2030-01-01T12:00:00.000Z") && body.contains("2030-01-01T10:45:00.000Z"),
        "{body}"
    );
}

#[tokio::test]
async fn the_reminder_job_wakes_for_a_new_grace_period_and_writes_at_its_instant() {
    let app = app().now(at("2030-01-01T10:00:00Z")).spawn().await;
    let k = app.create_key(json!({})).await;
    regenerate(&app, &k.guid, Some(json!({"GracePeriodHours": 3})))
        .await
        .expect(200);
    app.set_now("2030-01-01T11:30:00Z");
    status_with(&app, &k.key).await.expect(200);
    // The job sleeps until 12:00 (end − 1 h): moving the clock there wakes it.
    app.set_now("2030-01-01T12:00:00Z");
    app.eventually("the grace reminder", || async {
        app.outbox("?Kind=GracePeriodEnding").await.len() == 1
    })
    .await;
}
