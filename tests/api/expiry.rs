//! Key expiry at midnight UTC, reminders, the outbox, exactly-once under
//! reruns, restarts and concurrent sweepers, time zones, the dev clock.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn the_midnight_sweep_writes_exactly_one_complete_expiry_e_mail() {
    let app = quiet_app("2029-12-31T12:00:00Z").await;
    let k = app.create_key(json!({"ExpirationDate": "2030-01-01", "ContactFirstName": "Ada", "ContactLastName": "Lovelace",
        "Name": "Supplier feed", "ContactEmail": "ada@example.com"})).await;
    app.make_admin(&k.operator_guid).await;

    app.set_now("2030-01-01T23:59:59Z");
    app.send(&k.key, Method::GET, "/v4/Operator", None)
        .await
        .expect(200);
    assert!(app.sweep("2030-01-01T23:59:59Z").await.expired == 0);
    app.set_now("2030-01-02T00:00:00Z");
    let res = app
        .send(&k.key, Method::GET, "/v4/Operator", None)
        .await
        .expect(401);
    assert_eq!(res.code(), "KeyExpired", "expired before the sweep ran");
    assert!(app.outbox("?Kind=KeyExpired").await.is_empty());

    let report = app.sweep("2030-01-02T00:00:00Z").await;
    assert_eq!(report.expired, 1);
    let mails = app.outbox("?Kind=KeyExpired").await;
    assert_eq!(mails.len(), 1);
    let m = &mails[0];
    assert_eq!(m["To"], "ada@example.com");
    assert_eq!(m["ApiKeyGuid"], k.guid.as_str());
    assert_eq!(m["Kind"], "KeyExpired");
    assert_eq!(
        m["Subject"],
        "Your coffre API key \"Supplier feed\" has expired"
    );
    let body = m["Body"].as_str().unwrap();
    let masked = app.get(&format!("/v4/ApiKey/{}", k.guid)).await.body["MaskedKey"]
        .as_str()
        .unwrap()
        .to_string();
    for needle in [
        "Hello Ada Lovelace",
        &masked,
        "2030-01-02T00:00:00.000Z",
        "2030-01-01",
        "extend its ExpirationDate",
        "Regenerate",
    ] {
        assert!(body.contains(needle), "{needle} missing:\n{body}");
    }
    assert!(
        !body.contains(&k.key[20..60]),
        "the secret never goes into an e-mail"
    );
    assert_eq!(
        app.get(&format!("/v4/ApiKey/{}", k.guid)).await.body["Status"],
        "Expired"
    );
    let history = app
        .get(&format!("/v4/ApiKey/{}/History", k.guid))
        .await
        .body;
    assert_eq!(history[0]["Action"], "Expired");
    assert_eq!(history[0]["ContactFirstName"], "coffre");

    // Again, later: nothing new.
    assert!(app.sweep("2030-01-02T00:00:01Z").await.expired == 0);
    assert!(app.sweep("2030-01-09T00:00:00Z").await.expired == 0);
    assert_eq!(app.outbox("?Kind=KeyExpired").await.len(), 1);
    assert_eq!(
        app.outbox("?Kind=ExpiryReminder").await.len(),
        1,
        "the 1-day reminder of 23:59:59"
    );
}

#[tokio::test]
async fn reminders_fire_seven_days_and_one_day_before() {
    let app = quiet_app("2029-12-01T00:00:00Z").await;
    let k = app
        .create_key(json!({"ExpirationDate": "2030-01-10", "Name": "Nightly"}))
        .await;
    let reminders = |when: &str| {
        let (db, when) = (app.state.db.clone(), at(when));
        async move {
            let mut days = Vec::new();
            coffre::expiry::sweep_with(&db, when, &[7, 1], |n| days.push(n.days_before))
                .await
                .unwrap();
            days
        }
    };
    assert_eq!(
        reminders("2030-01-03T00:00:00Z").await,
        Vec::<u32>::new(),
        "8 days before"
    );
    assert_eq!(
        reminders("2030-01-04T00:00:00Z").await,
        vec![7],
        "exactly 7 days before"
    );
    assert_eq!(reminders("2030-01-05T00:00:00Z").await, Vec::<u32>::new());
    assert_eq!(
        reminders("2030-01-09T23:59:59Z").await,
        Vec::<u32>::new(),
        "1 day and 1 second before"
    );
    assert_eq!(reminders("2030-01-10T00:00:00Z").await, vec![1]);
    assert_eq!(app.sweep("2030-01-11T00:00:00Z").await.expired, 1);
    let mails = app.outbox("").await;
    let subjects: Vec<&str> = mails
        .iter()
        .map(|m| m["Subject"].as_str().unwrap())
        .collect();
    assert_eq!(
        subjects,
        [
            "Your coffre API key \"Nightly\" has expired",
            "Your coffre API key \"Nightly\" expires within 1 day",
            "Your coffre API key \"Nightly\" expires within 7 days",
        ]
    );
    assert!(mails.iter().all(|m| m["ApiKeyGuid"] == k.guid.as_str()));
    assert_eq!(app.outbox("?Kind=ExpiryReminder").await.len(), 2);
    assert_eq!(app.outbox("?Since=2030-01-10T00:00:00Z").await.len(), 2);
    app.get("/v4/Outbox?Kind=Spam").await.expect(400);
}

#[tokio::test]
async fn an_empty_reminder_list_turns_reminders_off() {
    let app = app()
        .now(at("2029-12-01T00:00:00Z"))
        .config(|c| {
            c.scheduler = false;
            c.reminder_days = vec![];
        })
        .spawn()
        .await;
    app.create_key(json!({"ExpirationDate": "2030-01-10"}))
        .await;
    assert!(app.sweep("2030-01-10T00:00:00Z").await.reminded == 0);
    assert_eq!(app.sweep("2030-01-11T00:00:00Z").await.expired, 1);
}

#[tokio::test]
async fn extending_an_expired_key_arms_new_reminders_and_a_new_expiry_notice() {
    let app = quiet_app("2029-12-30T00:00:00Z").await;
    let k = app
        .create_key(json!({"ExpirationDate": "2030-01-01"}))
        .await;
    app.sweep("2030-01-02T00:00:00Z").await;
    app.set_now("2030-01-02T09:00:00Z");
    let mut body = app.get(&format!("/v4/ApiKey/{}", k.guid)).await.body;
    body["ExpirationDate"] = json!("2030-01-20");
    app.put(&format!("/v4/ApiKey/{}", k.guid), body)
        .await
        .expect(204);
    assert_eq!(
        app.get(&format!("/v4/ApiKey/{}", k.guid)).await.body["Status"],
        "Active"
    );
    assert_eq!(
        app.sweep("2030-01-13T00:00:00Z").await.reminded,
        0,
        "8 days before"
    );
    assert_eq!(
        app.sweep("2030-01-14T00:00:00Z").await.reminded,
        1,
        "7 days before"
    );
    assert_eq!(app.sweep("2030-01-21T00:00:00Z").await.expired, 1);
    assert_eq!(
        app.outbox("?Kind=KeyExpired").await.len(),
        2,
        "one notice per expiry instant"
    );
}

#[tokio::test]
async fn a_restart_after_three_missed_midnights_catches_up_with_one_e_mail_per_key() {
    let app = quiet_app("2029-12-31T08:00:00Z").await;
    let mut keys = Vec::new();
    for date in ["2029-12-31", "2030-01-01", "2030-01-02"] {
        keys.push(app.create_key(json!({"ExpirationDate": date})).await.guid);
    }
    // Down from 2029-12-31 08:00 until 2030-01-03 08:00: three midnights missed.
    let app = app
        .restart(at("2030-01-03T08:00:00Z"), |c| c.scheduler = true)
        .await;
    app.eventually("the start-up sweep", || async {
        app.outbox("?Kind=KeyExpired").await.len() >= 3
    })
    .await;
    // A second server start (or run) adds nothing.
    assert!(app.sweep("2030-01-03T08:00:01Z").await.expired == 0);
    let mails = app.outbox("").await;
    assert_eq!(mails.len(), 3);
    let mut to: Vec<String> = mails
        .iter()
        .map(|m| m["ApiKeyGuid"].as_str().unwrap().to_string())
        .collect();
    to.sort();
    keys.sort();
    assert_eq!(to, keys);
}

#[tokio::test]
async fn a_notice_already_written_is_never_written_again() {
    // As after a crash between the e-mail and anything else: the UNIQUE
    // constraint, not a check, keeps it single.
    let app = quiet_app("2029-12-31T08:00:00Z").await;
    let k = app
        .create_key(json!({"ExpirationDate": "2030-01-01"}))
        .await;
    let expires = at("2030-01-02T00:00:00Z").timestamp_millis();
    let guid = k.guid.clone();
    app.state
        .db
        .write(move |c, _| {
            c.execute(
                "INSERT INTO outbox (guid, kind, api_key_guid, expires_at, days_before, to_address, subject, body, created_at)
                 VALUES ('00000000-0000-4000-8000-0000000000EE', 'KeyExpired', ?1, ?2, 0, 'x@example.com', 's', 'b', 0)",
                &[&guid, &expires],
            )?;
            Ok::<_, coffre::error::AppError>(())
        })
        .await
        .unwrap();
    let report = app.sweep("2030-01-02T00:00:00Z").await;
    assert!(report.expired == 0, "no second e-mail");
    assert_eq!(app.outbox("").await.len(), 1);
    assert_eq!(
        app.get(&format!("/v4/ApiKey/{}", k.guid)).await.body["Status"],
        "Expired"
    );
}

#[tokio::test]
async fn concurrent_sweeps_in_several_processes_write_no_duplicate() {
    let app = quiet_app("2029-12-01T00:00:00Z").await;
    for _ in 0..40 {
        app.create_key(json!({"ExpirationDate": "2030-01-01"}))
            .await;
    }
    let data = app.config.data_dir.clone();
    let sweepers: Vec<_> = (0..4)
        .map(|_| {
            let mut cmd = coffre();
            cmd.arg("--data-dir")
                .arg(&data)
                .args(["sweep", "--now", "2030-01-02T00:00:00Z"]);
            std::thread::spawn(move || run(&mut cmd))
        })
        .collect();
    let in_server = app.sweep("2030-01-02T00:00:00Z").await;
    let mut reported = in_server.expired;
    for s in sweepers {
        let out = s.join().unwrap();
        assert_eq!(out.code, 0, "{}", out.stderr);
        reported += out
            .stdout
            .lines()
            .filter(|l| l.starts_with("expired "))
            .count();
    }
    assert_eq!(reported, 40, "each expiry reported by exactly one sweeper");
    let mails = app.outbox("").await;
    assert_eq!(mails.len(), 40);
    let mut keys: Vec<&str> = mails
        .iter()
        .map(|m| m["ApiKeyGuid"].as_str().unwrap())
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 40);
}

/// Time zones far from UTC, as POSIX TZ strings that need no zoneinfo files
/// (POSIX counts west as positive): UTC+14 as Pacific/Kiritimati, UTC-10 as
/// America/Adak in winter.
const FAR_ZONES: [&str; 2] = ["XXX-14", "YYY10"];

/// The sweep command under a time zone far from UTC: the day never shifts.
fn sweep_in_zone(zone: &str, data: &std::path::Path, now: &str) -> String {
    let out = run(coffre()
        .env("TZ", zone)
        .arg("--data-dir")
        .arg(data)
        .args(["sweep", "--now", now]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout
}

#[tokio::test]
async fn time_zones_never_shift_the_day() {
    for zone in FAR_ZONES {
        let app = quiet_app("2029-12-31T12:00:00Z").await;
        app.create_key(json!({"ExpirationDate": "2030-01-01"}))
            .await;
        let data = app.config.data_dir.clone();
        assert!(
            sweep_in_zone(zone, &data, "2030-01-01T23:59:59Z").contains("0 key(s) expired"),
            "{zone}"
        );
        // The same instant written with the zone's own offset.
        let local = if zone == FAR_ZONES[0] {
            "2030-01-02T13:59:59+14:00"
        } else {
            "2030-01-01T13:59:59-10:00"
        };
        assert!(
            sweep_in_zone(zone, &data, local).contains("0 key(s) expired"),
            "{zone}"
        );
        let out = sweep_in_zone(zone, &data, "2030-01-02T00:00:00Z");
        assert!(out.contains("1 key(s) expired"), "{zone}: {out}");
        assert!(out.contains("at 2030-01-02T00:00:00.000Z"), "{zone}: {out}");
    }
}

#[tokio::test]
async fn the_dev_clock_moves_expiry_and_runs_the_sweep_in_any_time_zone() {
    for zone in FAR_ZONES {
        let mut cmd = coffre();
        cmd.env("TZ", zone)
            .args(["--dev", "--listen", "127.0.0.1:0", "serve"]);
        let server = ServerProcess::start(cmd);
        let boot = server.bootstrap_key();
        server
            .call(
                Method::PUT,
                "/v4/Dev/Clock",
                &boot,
                Some(json!({"Now": "2029-12-31T12:00:00Z"})),
            )
            .await
            .expect(200);
        let k = server.call(Method::POST, "/v4/ApiKey", &boot, Some(json!({"Name": "tz", "ContactLogin": "tz", "ContactEmail": "tz@example.com",
            "ExpirationDate": "2030-01-01", "EnablePermissions": true, "Permissions": ["ApiKey.Read"]}))).await.expect(201);
        let key = k.guid("Key");
        let clock = server
            .call(
                Method::PUT,
                "/v4/Dev/Clock",
                &boot,
                Some(json!({"Now": "2030-01-01T23:59:58Z"})),
            )
            .await
            .expect(200);
        assert_eq!(clock.body["IsRealTime"], false);
        // The operator of `key` is not an administrator: 403 (not 401) proves the key still works.
        server
            .call(Method::GET, "/v4/ApiKey", &key, None)
            .await
            .expect(403);
        server
            .call(
                Method::PUT,
                "/v4/Dev/Clock",
                &boot,
                Some(json!({"Now": "2030-01-02T00:00:00Z"})),
            )
            .await
            .expect(200);
        let res = server
            .call(Method::GET, "/v4/ApiKey", &key, None)
            .await
            .expect(401);
        assert_eq!(res.code(), "KeyExpired", "{zone}");
        // The midnight was swept before the PUT answered.
        let mails = server
            .call(Method::GET, "/v4/Outbox", &boot, None)
            .await
            .expect(200);
        assert_eq!(
            mails.body.as_array().unwrap().len(),
            2,
            "{zone}: the 1-day reminder and the expiry: {}",
            mails.text
        );
        let reset = server
            .call(Method::DELETE, "/v4/Dev/Clock", &boot, None)
            .await
            .expect(200);
        assert_eq!(reset.body["IsRealTime"], true);
        let res = server
            .call(
                Method::PUT,
                "/v4/Dev/Clock",
                &boot,
                Some(json!({"Now": "tomorrow"})),
            )
            .await
            .expect(400);
        assert_eq!(res.code(), "InvalidDateTime");
    }
}

#[tokio::test]
async fn the_dev_clock_does_not_exist_without_dev() {
    let app = spawn_app().await;
    let res = app
        .put("/v4/Dev/Clock", json!({"Now": "2030-01-02T00:00:00Z"}))
        .await
        .expect(404);
    assert_eq!(res.code(), "RouteNotFound");
    app.get("/v4/Dev/Clock").await.expect(404);
}

#[tokio::test]
async fn the_outbox_needs_its_permission_and_an_administrator() {
    let app = spawn_app().await;
    let k = app
        .create_key(json!({"EnablePermissions": true, "Permissions": ["Outbox.Read"]}))
        .await;
    let res = app
        .send(&k.key, Method::GET, "/v4/Outbox", None)
        .await
        .expect(403);
    assert_eq!(res.code(), "NotAdministrator");
    let other = app
        .create_key(json!({"EnablePermissions": true, "Permissions": ["History.Read"]}))
        .await;
    app.make_admin(&other.operator_guid).await;
    let res = app
        .send(&other.key, Method::GET, "/v4/Outbox", None)
        .await
        .expect(403);
    assert!(res.message().contains("Outbox.Read"));
}

#[tokio::test]
async fn sweep_and_outbox_commands_print_what_they_did() {
    let app = quiet_app("2029-12-31T12:00:00Z").await;
    let k = app
        .create_key(json!({"ExpirationDate": "2030-01-01", "Name": "cli key"}))
        .await;
    let data = app.config.data_dir.clone();
    let out =
        run(coffre()
            .arg("--data-dir")
            .arg(&data)
            .args(["sweep", "--now", "2030-01-02T00:00:00Z"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains(&format!("expired  {}  \"cli key\"", k.guid)),
        "{}",
        out.stdout
    );
    let out = run(coffre()
        .arg("--data-dir")
        .arg(&data)
        .args(["outbox", "--json"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mails: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(mails.as_array().unwrap().len(), 1);
    assert_eq!(mails[0]["ApiKeyGuid"], k.guid.as_str());
    let out = run(coffre().arg("--data-dir").arg(&data).arg("outbox"));
    assert!(
        out.stdout
            .contains("Subject: Your coffre API key \"cli key\" has expired"),
        "{}",
        out.stdout
    );
    let out = run(coffre()
        .arg("--data-dir")
        .arg(&data)
        .args(["sweep", "--now", "soon"]));
    assert_eq!(out.code, 2);
}
