//! Certificate expiry reminders (issue 15, part 3): a vault certificate's
//! NotAfter, read from the PEM (or the archive), reminders at each offset and
//! at expiry to exactly the operators who can change its section, exactly
//! once across reruns and concurrent sweepers, re-armed by a renewal, stopped
//! by deletion; and `GET /v4/VaultItem?ExpiringWithinDays=N`.

use serde_json::{Value, json};

use crate::helpers::*;

const EXPIRING_2030: &str = include_str!("../fixtures/expiring-20300601.pem");
const EXPIRING_2031: &str = include_str!("../fixtures/expiring-20310601.pem");

async fn quiet_app(now: &str) -> TestApp {
    app()
        .now(at(now))
        .config(|c| c.scheduler = false)
        .spawn()
        .await
}

async fn section(app: &TestApp, name: &str) -> String {
    app.post("/v4/VaultSection", json!({"Name": name}))
        .await
        .expect(201)
        .guid("VaultSectionGuid")
}

async fn certificate(app: &TestApp, section: &str, name: &str, pem: &str) -> String {
    app.post(
        "/v4/VaultItem",
        json!({"Name": name, "VaultSectionGuid": section, "VaultItemType": "Certificate", "Value": pem}),
    )
    .await
    .expect(201)
    .guid("VaultItemGuid")
}

async fn operator(app: &TestApp, login: &str) -> String {
    app.post(
        "/v4/Operator",
        json!({"FullName": format!("Op {login}"), "Email": format!("{login}@example.com"), "Login": login}),
    )
    .await
    .expect(201)
    .guid("OperatorGuid")
}

async fn grant(app: &TestApp, section: &str, kind: &str, to: Value) {
    let mut body = to;
    body["AuthorizationType"] = json!(kind);
    app.post(&format!("/v4/VaultSection/{section}/Authorization"), body)
        .await
        .expect(201);
}

/// Runs the sweep as the server's scheduler does at `now`.
async fn midnight(app: &TestApp, now: &str) {
    app.set_now(now);
    app.state.sweeper.run_if_due(&app.state).await.unwrap();
}

async fn certificate_mails(app: &TestApp) -> Vec<Value> {
    let mut all = app.outbox("?Kind=CertificateReminder").await;
    all.extend(app.outbox("?Kind=CertificateExpired").await);
    all
}

fn recipients(mails: &[Value], kind: &str, days_marker: &str) -> Vec<String> {
    let mut to: Vec<String> = mails
        .iter()
        .filter(|m| m["Kind"] == kind && m["Subject"].as_str().unwrap().contains(days_marker))
        .map(|m| m["To"].as_str().unwrap().to_string())
        .collect();
    to.sort();
    to
}

#[tokio::test]
async fn reminders_go_at_each_offset_and_at_expiry_to_whoever_can_change_the_section() {
    let app = quiet_app("2030-04-01T12:00:00Z").await;
    let s = section(&app, "Identity").await;
    // The bootstrap key's operator created the section: it holds Change.
    let creator = app.get("/v4/Operator").await.expect(200).body[0]["Email"]
        .as_str()
        .unwrap()
        .to_lowercase();
    let direct = operator(&app, "direct").await;
    grant(
        &app,
        &s,
        "ChangeVaultSection",
        json!({"OperatorGuid": direct}),
    )
    .await;
    let member = operator(&app, "member").await;
    let group = app
        .post("/v4/OperatorGroup", json!({"Description": "PKI team"}))
        .await
        .expect(201)
        .guid("OperatorGroupGuid");
    app.post(
        &format!("/v4/OperatorGroup/{group}/Member/{member}"),
        json!({}),
    )
    .await
    .expect(201);
    grant(
        &app,
        &s,
        "ChangeVaultSection",
        json!({"OperatorGroupId": group}),
    )
    .await;
    // Both directly and through the group: still one message.
    grant(
        &app,
        &s,
        "ChangeVaultSection",
        json!({"OperatorGuid": member}),
    )
    .await;
    let gone = operator(&app, "gone").await;
    grant(
        &app,
        &s,
        "ChangeVaultSection",
        json!({"OperatorGuid": gone}),
    )
    .await;
    app.patch(&format!("/v4/Operator/{gone}"), json!({"IsActive": false}))
        .await
        .expect(204);
    let viewer = operator(&app, "viewer").await;
    grant(
        &app,
        &s,
        "ViewVaultSection",
        json!({"OperatorGuid": viewer}),
    )
    .await;

    let item = certificate(&app, &s, "sso signing", EXPIRING_2030).await;
    let got = app.get(&format!("/v4/VaultItem/{item}")).await.expect(200);
    assert_eq!(got.body["NotAfter"], "2030-06-01T00:00:00.000Z");

    let mut expected = vec![
        "direct@example.com".to_string(),
        "member@example.com".to_string(),
        creator,
    ];
    expected.sort();

    midnight(&app, "2030-05-01T00:00:00Z").await; // 31 days before: nothing yet
    assert!(certificate_mails(&app).await.is_empty());
    for (now, marker) in [
        ("2030-05-02T00:00:00Z", "within 30 days"),
        ("2030-05-25T00:00:00Z", "within 7 days"),
        ("2030-05-31T00:00:00Z", "within 1 day"),
    ] {
        midnight(&app, now).await;
        let mails = certificate_mails(&app).await;
        assert_eq!(
            recipients(&mails, "CertificateReminder", marker),
            expected,
            "{now}"
        );
    }
    midnight(&app, "2030-06-01T00:00:00Z").await;
    let mails = certificate_mails(&app).await;
    assert_eq!(
        recipients(&mails, "CertificateExpired", "has expired"),
        expected
    );
    assert_eq!(mails.len(), 12, "four notices, three recipients each");

    // Reruns and later sweeps write nothing more.
    for now in ["2030-06-01T00:00:00Z", "2030-06-02T00:00:00Z"] {
        let report = coffre::certificate_reminders::sweep(&app.state.db, at(now), &[30, 7, 1])
            .await
            .unwrap();
        assert_eq!(report.written(), 0, "{now}");
    }
    assert_eq!(certificate_mails(&app).await.len(), 12);

    let m = mails
        .iter()
        .find(|m| m["Kind"] == "CertificateReminder")
        .unwrap();
    assert_eq!(m["VaultItemGuid"], item.as_str());
    assert!(m["ApiKeyGuid"].is_null() && m["OAuthClientGuid"].is_null());
    let body = m["Body"].as_str().unwrap();
    for needle in [
        "\"sso signing\"",
        "\"Identity\"",
        item.as_str(),
        s.as_str(),
        "2030-06-01T00:00:00.000Z",
        "PUT or PATCH",
    ] {
        assert!(body.contains(needle), "{needle} missing from:\n{body}");
    }
    let der_line = EXPIRING_2030.lines().nth(1).unwrap();
    for m in &mails {
        let text = m.to_string();
        assert!(!text.contains("BEGIN CERTIFICATE") && !text.contains(der_line));
    }

    // A renewed certificate arms new reminders; deleting the item stops them.
    app.patch(
        &format!("/v4/VaultItem/{item}"),
        json!({"Value": EXPIRING_2031}),
    )
    .await
    .expect(204);
    let got = app.get(&format!("/v4/VaultItem/{item}")).await.expect(200);
    assert_eq!(got.body["NotAfter"], "2031-06-01T00:00:00.000Z");
    midnight(&app, "2031-05-02T00:00:00Z").await;
    let mails = certificate_mails(&app).await;
    assert_eq!(mails.len(), 15);
    assert_eq!(
        recipients(&mails, "CertificateReminder", "within 30 days").len(),
        6
    );
    app.delete(&format!("/v4/VaultItem/{item}"))
        .await
        .expect(204);
    midnight(&app, "2031-05-25T00:00:00Z").await;
    assert_eq!(certificate_mails(&app).await.len(), 15);
}

#[tokio::test]
async fn a_sweep_after_downtime_sends_only_the_most_urgent_reminder_and_archives_count() {
    let app = quiet_app("2030-04-01T12:00:00Z").await;
    let s = section(&app, "Late").await;
    certificate(&app, &s, "late", EXPIRING_2030).await;
    // An archive's NotAfter (the fixture's 2100-01-01) is its certificate's.
    let archive = app
        .post(
            "/v4/VaultItem",
            json!({"Name": "tls", "VaultSectionGuid": s, "VaultItemType": "CertificateArchive",
                   "CertificateArchive": {"Password": "pw", "ArchiveData": pfx_base64("pw", false)}}),
        )
        .await
        .expect(201);
    assert_eq!(archive.body["NotAfter"], "2100-01-01T00:00:00.000Z");
    assert_eq!(
        archive.body["CertificateArchive"]["NotAfter"],
        archive.body["NotAfter"]
    );
    // Down from April to the eve of expiry: only the 1-day reminder.
    midnight(&app, "2030-05-31T00:00:00Z").await;
    let mails = certificate_mails(&app).await;
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0]["Subject"]
            .as_str()
            .unwrap()
            .ends_with("within 1 day")
    );
    midnight(&app, "2099-12-31T00:00:00Z").await;
    let archive_mail: Vec<Value> = certificate_mails(&app)
        .await
        .into_iter()
        .filter(|m| {
            m["Subject"]
                .as_str()
                .unwrap()
                .contains("certificate archive")
        })
        .collect();
    assert_eq!(archive_mail.len(), 1);
}

#[tokio::test]
async fn concurrent_sweepers_write_each_certificate_message_once() {
    let app = quiet_app("2030-04-01T12:00:00Z").await;
    let s = section(&app, "Busy").await;
    for login in ["one", "two"] {
        let op = operator(&app, login).await;
        grant(&app, &s, "ChangeVaultSection", json!({"OperatorGuid": op})).await;
    }
    for n in 0..20 {
        certificate(&app, &s, &format!("cert {n}"), EXPIRING_2030).await;
    }
    let data = app.config.data_dir.clone();
    let sweepers: Vec<_> = (0..4)
        .map(|_| {
            let mut cmd = coffre();
            cmd.arg("--data-dir")
                .arg(&data)
                .args(["sweep", "--now", "2030-05-31T00:00:00Z"]);
            std::thread::spawn(move || run(&mut cmd))
        })
        .collect();
    let in_server = coffre::certificate_reminders::sweep(
        &app.state.db,
        at("2030-05-31T00:00:00Z"),
        &[30, 7, 1],
    )
    .await
    .unwrap();
    let mut written = in_server.reminded;
    for s in sweepers {
        let out = s.join().unwrap();
        assert_eq!(out.code, 0, "{}", out.stderr);
        let line = out.stdout.lines().last().unwrap().to_string();
        // "…, N certificate reminder(s) and M certificate expiry message(s) written"
        let n: usize = line
            .split("written, ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no count in {line:?}"));
        written += n;
    }
    // 20 items, three recipients each (the two and the section's creator).
    assert_eq!(written, 60, "each message written by exactly one sweeper");
    let mails = certificate_mails(&app).await;
    assert_eq!(mails.len(), 60);
    let mut keys: Vec<(String, String)> = mails
        .iter()
        .map(|m| {
            (
                m["VaultItemGuid"].as_str().unwrap().to_string(),
                m["To"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 60);
}

#[tokio::test]
async fn expiring_within_days_lists_visible_certificates_soonest_first() {
    let app = quiet_app("2030-04-01T00:00:00Z").await;
    let s = section(&app, "Mine").await;
    let later = certificate(&app, &s, "later", EXPIRING_2031).await;
    let sooner = certificate(&app, &s, "sooner", EXPIRING_2030).await;
    // Not certificates, or no expiry in their text: never listed.
    app.post(
        "/v4/VaultItem",
        json!({"Name": "pw", "VaultSectionGuid": s, "VaultItemType": "CredentialSet", "Password": "x"}),
    )
    .await
    .expect(201);
    let ssh = app
        .post(
            "/v4/VaultItem",
            json!({"Name": "ssh", "VaultSectionGuid": s, "VaultItemType": "Certificate",
                   "Value": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJd0 someone@host"}),
        )
        .await
        .expect(201);
    assert!(ssh.body["NotAfter"].is_null());

    // Someone else's section: invisible to a key without rights on it.
    let stranger = app.create_key(json!({})).await;
    let theirs = app
        .send(
            &stranger.key,
            reqwest::Method::POST,
            "/v4/VaultSection",
            Some(&json!({"Name": "Theirs"})),
        )
        .await
        .expect(201)
        .guid("VaultSectionGuid");
    app.send(
        &stranger.key,
        reqwest::Method::POST,
        "/v4/VaultItem",
        Some(&json!({"Name": "theirs", "VaultSectionGuid": theirs,
                     "VaultItemType": "Certificate", "Value": EXPIRING_2030})),
    )
    .await
    .expect(201);

    let names = |body: &Value| -> Vec<String> {
        body.as_array()
            .unwrap()
            .iter()
            .map(|i| i["VaultItemGuid"].as_str().unwrap().to_string())
            .collect()
    };
    let list = |days: &str| {
        let app = &app;
        let path = format!("/v4/VaultItem?ExpiringWithinDays={days}");
        async move { app.get(&path).await }
    };
    // 2030-06-01 is 61 days away: strictly before now + N days.
    assert!(names(&list("61").await.expect(200).body).is_empty());
    assert_eq!(names(&list("62").await.expect(200).body), [sooner.as_str()]);
    assert_eq!(
        names(&list("3650").await.expect(200).body),
        [sooner.as_str(), later.as_str()]
    );
    // Expired ones stay listed, even with 0.
    app.set_now("2030-07-01T00:00:00Z");
    assert_eq!(names(&list("0").await.expect(200).body), [sooner.as_str()]);
    for bad in ["-1", "3651", "ten", "1.5", ""] {
        let res = list(bad).await.expect(400);
        assert_eq!(res.code(), "InvalidQuery", "{bad:?}");
    }
    // The plain list is unchanged.
    let all = app.get("/v4/VaultItem").await.expect(200);
    assert_eq!(all.body.as_array().unwrap().len(), 4);
}
