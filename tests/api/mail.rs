//! The outbox delivered over SMTP, against a real SMTP server on loopback
//! (aiosmtpd, see `smtp.rs`): delivered once and well-formed, retried after
//! the server comes back, permanent and temporary refusals, STARTTLS with a
//! private CA, STARTTLS required, implicit TLS with credentials that never
//! show, hostile names and addresses; and the configuration's mistakes.

use std::time::Duration;

use coffre::config::{Config, StartTls};
use coffre::mail::SmtpUrl;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::smtp::{Options, SmtpServer, TestPki, header, raw, test_pki};

const FROM: &str = "coffre <coffre@example.org>";

/// A server delivering to `url`, without reminders (one notice per key).
async fn mail_app(url: &str, configure: impl FnOnce(&mut Config) + 'static) -> TestApp {
    let url = SmtpUrl::parse(url).unwrap();
    app()
        .config(move |c| {
            c.smtp_url = Some(url);
            c.mail_from = Some(FROM.into());
            c.reminder_days = vec![];
            configure(c);
        })
        .spawn()
        .await
}

/// The outbox once `ready` holds for it (the sender works in the background).
async fn outbox_when(app: &TestApp, what: &str, ready: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let messages = app.outbox("").await;
        if !messages.is_empty() && ready(&messages) {
            return messages;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}: {messages:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn by_to<'a>(messages: &'a [Value], to: &str) -> &'a Value {
    messages
        .iter()
        .find(|m| m["To"] == to)
        .unwrap_or_else(|| panic!("no message to {to}: {messages:#?}"))
}

/// A key that expires at 2026-06-16T00:00:00Z (the tests start at noon the day before).
async fn key_expiring_tonight(app: &TestApp, extra: Value) -> ApiKeyHandle {
    let mut body = json!({"ExpirationDate": "2026-06-15"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    app.create_key(body).await
}

const MIDNIGHT: &str = "2026-06-16T00:00:00Z";

/// An `smtps://` server with `pki`'s certificate that wants this login.
fn smtps_server(pki: &TestPki, user: &str, password: &str) -> SmtpServer {
    SmtpServer::start(&Options {
        tls: Some((pki.cert.clone(), pki.key.clone())),
        implicit_tls: true,
        auth: Some((user.into(), password.into())),
        ..Options::default()
    })
}

/// A server delivering to `url` with one key expired at midnight: its
/// message once the first attempt is recorded, and its LastError.
async fn first_attempt(
    url: &str,
    configure: impl FnOnce(&mut Config) + 'static,
) -> (TestApp, Value, String) {
    let app = mail_app(url, configure).await;
    key_expiring_tonight(&app, json!({})).await;
    app.set_now(MIDNIGHT);
    let m = outbox_when(&app, "a first attempt", |m| m[0]["Attempts"] == 1).await;
    let error = m[0]["LastError"].as_str().unwrap_or_default().to_string();
    (app, m[0].clone(), error)
}

#[tokio::test]
async fn an_expiry_notice_is_delivered_once_as_a_well_formed_utf8_e_mail() {
    crate::require_smtp!();
    let server = SmtpServer::plain();
    let app = mail_app(&server.url("smtp"), |_| {}).await;
    let k = key_expiring_tonight(
        &app,
        json!({"Name": "Flux fournisseur « été »", "ContactFirstName": "Zoë",
            "ContactLastName": "Ångström", "ContactEmail": "zoe@example.com"}),
    )
    .await;
    app.set_now(MIDNIGHT);

    let received = server.wait_for_messages(1).await;
    let sent = outbox_when(&app, "Sent", |m| m[0]["Status"] == "Sent").await;
    let api = &sent[0];
    assert_eq!(api["ApiKeyGuid"], k.guid.as_str());
    assert_eq!(api["Attempts"], 1);
    assert_eq!(api["SentAt"], "2026-06-16T00:00:00.000Z");
    assert_eq!(api["LastError"], Value::Null);
    assert_eq!(api["NextAttemptAt"], Value::Null);
    let guid = api["OutboxMessageGuid"].as_str().unwrap();
    let id = format!("<{}@example.org>", guid.to_ascii_lowercase());
    assert_eq!(api["MessageId"], id.as_str());

    let m = &received[0];
    assert_eq!(m["mail_from"], "coffre@example.org");
    assert_eq!(m["rcpt_tos"], json!(["zoe@example.com"]));
    assert_eq!(m["defects"], json!([]), "Python's parser found defects");
    assert_eq!(header(m, "From"), ["coffre <coffre@example.org>"]);
    assert_eq!(header(m, "To"), ["zoe@example.com"]);
    assert_eq!(header(m, "Subject"), [api["Subject"].as_str().unwrap()]);
    assert!(header(m, "Subject")[0].contains("« été »"));
    assert_eq!(header(m, "Message-ID"), [id.as_str()]);
    assert_eq!(header(m, "Date"), ["Tue, 16 Jun 2026 00:00:00 +0000"]);
    assert_eq!(header(m, "MIME-Version"), ["1.0"]);
    assert_eq!(header(m, "Content-Type"), ["text/plain; charset=\"utf-8\""]);
    assert_eq!(header(m, "Auto-Submitted"), ["auto-generated"]);
    let encoding = &header(m, "Content-Transfer-Encoding")[0];
    assert!(
        encoding == "quoted-printable" || encoding == "base64",
        "{encoding}"
    );
    let body = m["body"].as_str().unwrap().replace("\r\n", "\n");
    assert_eq!(body, api["Body"].as_str().unwrap());
    assert!(body.contains("Hello Zoë Ångström,"));
    let bytes = raw(m);
    assert!(bytes.is_ascii(), "7-bit on the wire");
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(
        text.contains("\r\nContent-Type: text/plain; charset=utf-8\r\n"),
        "{text}"
    );
    assert!(bytes.split(|b| *b == b'\n').all(|l| l.len() <= 999));

    // Nothing more is sent, and the command line shows the same state.
    let out = run(coffre()
        .arg("--data-dir")
        .arg(&app.config.data_dir)
        .args(["outbox", "--json"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let listed: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(listed[0]["Status"], "Sent");
    assert_eq!(listed[0]["MessageId"], id.as_str());
    let out = run(coffre()
        .arg("--data-dir")
        .arg(&app.config.data_dir)
        .arg("outbox"));
    assert!(
        out.stdout
            .contains("Status: Sent at 2026-06-16T00:00:00.000Z after 1 attempt"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains(&format!("Message-ID: {id}")));
    assert_eq!(server.messages().len(), 1);
}

#[tokio::test]
async fn a_server_down_then_up_gets_the_message_after_a_retry_exactly_once() {
    crate::require_smtp!();
    let port = {
        let s = SmtpServer::plain();
        let port = s.port;
        s.stop();
        port
    };
    let url = format!("smtp://127.0.0.1:{port}");
    let app = mail_app(&url, |c| c.mail_retry_initial_secs = 30).await;
    key_expiring_tonight(&app, json!({"ContactEmail": "first@example.com"})).await;
    app.set_now(MIDNIGHT);
    let m = outbox_when(&app, "a failed attempt", |m| m[0]["Attempts"] == 1).await;
    assert_eq!(m[0]["Status"], "Pending");
    assert_eq!(m[0]["NextAttemptAt"], "2026-06-16T00:00:30.000Z");
    let error = m[0]["LastError"].as_str().unwrap();
    assert!(
        error.contains(&format!("cannot open a session with {url}")),
        "{error}"
    );

    let server = SmtpServer::start(&Options {
        port: Some(port),
        ..Options::default()
    });
    app.set_now("2026-06-16T00:00:30Z");
    let received = server.wait_for_messages(1).await;
    let m = outbox_when(&app, "Sent", |m| m[0]["Status"] == "Sent").await;
    assert_eq!(m[0]["Attempts"], 2);
    assert_eq!(m[0]["SentAt"], "2026-06-16T00:00:30.000Z");
    assert_eq!(m[0]["LastError"], Value::Null);
    assert_eq!(
        header(&received[0], "Message-ID"),
        [m[0]["MessageId"].as_str().unwrap()]
    );

    // Exactly once: a later message goes out, and the first is not sent again.
    app.create_key(json!({"ExpirationDate": "2026-06-20", "ContactEmail": "second@example.com"}))
        .await;
    app.set_now("2026-06-21T00:00:00Z");
    let received = server.wait_for_messages(2).await;
    let to: Vec<&Value> = received.iter().map(|m| &m["rcpt_tos"][0]).collect();
    assert_eq!(
        to,
        [&json!("first@example.com"), &json!("second@example.com")]
    );
    outbox_when(&app, "both Sent", |m| {
        m.iter().all(|x| x["Status"] == "Sent")
    })
    .await;
    assert_eq!(server.messages().len(), 2);
}

#[tokio::test]
async fn a_permanent_refusal_fails_at_once_and_a_temporary_one_is_retried_until_the_last_attempt() {
    crate::require_smtp!();
    let server = SmtpServer::plain();
    let app = mail_app(&server.url("smtp"), |c| {
        c.mail_retry_initial_secs = 30;
        c.mail_max_attempts = 3;
    })
    .await;
    key_expiring_tonight(&app, json!({"ContactEmail": "reject-me@example.com"})).await;
    key_expiring_tonight(&app, json!({"ContactEmail": "tempfail-me@example.com"})).await;
    app.set_now(MIDNIGHT);
    let m = outbox_when(&app, "one attempt each", |m| {
        m.len() == 2 && m.iter().all(|x| x["Attempts"] == 1)
    })
    .await;
    let rejected = by_to(&m, "reject-me@example.com");
    assert_eq!(rejected["Status"], "Failed");
    assert_eq!(rejected["NextAttemptAt"], Value::Null);
    let error = rejected["LastError"].as_str().unwrap();
    assert!(
        error.contains("550") && error.contains("permanent"),
        "{error}"
    );
    let delayed = by_to(&m, "tempfail-me@example.com");
    assert_eq!(delayed["Status"], "Pending");
    assert!(delayed["LastError"].as_str().unwrap().contains("451"));
    assert_eq!(delayed["NextAttemptAt"], "2026-06-16T00:00:30.000Z");

    app.set_now("2026-06-16T00:00:30Z");
    let m = outbox_when(&app, "a second attempt", |m| {
        by_to(m, "tempfail-me@example.com")["Attempts"] == 2
    })
    .await;
    let delayed = by_to(&m, "tempfail-me@example.com");
    assert_eq!(delayed["Status"], "Pending");
    assert_eq!(
        delayed["NextAttemptAt"], "2026-06-16T00:01:30.000Z",
        "twice as long"
    );

    app.set_now("2026-06-16T00:01:30Z");
    let m = outbox_when(&app, "the last attempt", |m| {
        by_to(m, "tempfail-me@example.com")["Attempts"] == 3
    })
    .await;
    let delayed = by_to(&m, "tempfail-me@example.com");
    assert_eq!(delayed["Status"], "Failed");
    assert_eq!(delayed["NextAttemptAt"], Value::Null);
    assert_eq!(
        by_to(&m, "reject-me@example.com")["Attempts"],
        1,
        "never retried"
    );
    assert!(server.messages().is_empty());

    let failed = app.get("/v4/Outbox?Status=Failed").await.expect(200);
    assert_eq!(failed.body.as_array().unwrap().len(), 2);
    let res = app.get("/v4/Outbox?Status=Lost").await.expect(400);
    assert_eq!(res.code(), "InvalidQuery");
}

#[tokio::test]
async fn starttls_is_verified_against_the_private_ca_of_mail_ca_file() {
    crate::require_smtp!();
    let pki = test_pki();
    let server = SmtpServer::start(&Options {
        tls: Some((pki.cert.clone(), pki.key.clone())),
        require_starttls: true,
        ..Options::default()
    });
    // Without the CA, the certificate is not trusted: nothing is sent.
    let (_, m, error) = first_attempt(&server.url("smtp"), |_| {}).await;
    assert!(
        error.contains("STARTTLS") && error.contains("certificate"),
        "{error}"
    );
    assert_eq!(m["Status"], "Pending");

    let ca = pki.ca.clone();
    let trusting = mail_app(&server.url("smtp"), move |c| {
        c.mail_ca_file = Some(ca);
        c.smtp_starttls = StartTls::Required;
    })
    .await;
    key_expiring_tonight(&trusting, json!({"ContactEmail": "tls@example.com"})).await;
    trusting.set_now(MIDNIGHT);
    let received = server.wait_for_messages(1).await;
    assert_eq!(received[0]["tls"], true);
    assert_eq!(received[0]["rcpt_tos"], json!(["tls@example.com"]));
    outbox_when(&trusting, "Sent", |m| m[0]["Status"] == "Sent").await;
    assert_eq!(server.messages().len(), 1);
}

#[tokio::test]
async fn without_starttls_nothing_is_sent_when_it_is_required_or_a_password_would_travel() {
    crate::require_smtp!();
    let server = SmtpServer::plain();
    let (_, m, error) = first_attempt(&server.url("smtp"), |c| {
        c.smtp_starttls = StartTls::Required
    })
    .await;
    assert!(
        error.contains("does not offer STARTTLS") && error.contains("smtp_starttls = \"required\""),
        "{error}"
    );
    assert_eq!(m["Status"], "Pending");

    let url = format!("smtp://ada:hunter2@127.0.0.1:{}", server.port);
    let (_, _, error) = first_attempt(&url, |_| {}).await;
    assert!(
        error.contains("never sends the SMTP password in clear"),
        "{error}"
    );
    assert!(
        !error.contains("hunter2") && !error.contains("ada"),
        "{error}"
    );
    assert!(server.events("auth").is_empty(), "no AUTH was tried");
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn implicit_tls_refused_credentials_are_retried_and_never_shown() {
    crate::require_smtp!();
    let pki = test_pki();
    let server = smtps_server(&pki, "ada", "correct horse");
    let ca = pki.ca.clone();
    let url = format!("smtps://ada:hunter2-wrong@127.0.0.1:{}", server.port);
    let (app, m, error) = first_attempt(&url, move |c| c.mail_ca_file = Some(ca)).await;
    // The server's answer repeats the user name and password: none of it is kept.
    let auth = server.events("auth");
    assert_eq!(auth.len(), 1);
    assert_eq!(auth[0]["success"], false);
    assert!(
        error.contains("refused the SMTP credentials (535)"),
        "{error}"
    );
    assert!(
        !error.contains("hunter2") && !error.contains("ada"),
        "{error}"
    );
    assert_eq!(m["Status"], "Pending", "credentials can be fixed: retried");
    let text = app.get("/v4/Outbox").await.text;
    assert!(!text.contains("hunter2"));
}

/// The real binary: the password comes from smtp_password_file, the message
/// goes out over implicit TLS, and the log never shows the password.
#[tokio::test]
async fn the_binary_delivers_over_smtps_with_a_password_file_and_logs_no_secret() {
    crate::require_smtp!();
    let pki = test_pki();
    let server = smtps_server(&pki, "ada@corp", "correct horse");
    let password_file = pki.dir.path().join("smtp-password");
    std::fs::write(&password_file, "correct horse\n").unwrap();
    let mut cmd = coffre();
    cmd.args(["--dev", "--listen", "127.0.0.1:0", "serve"])
        .env("RUST_LOG", "debug")
        .env(
            "COFFRE_SMTP_URL",
            format!("smtps://ada%40corp@127.0.0.1:{}", server.port),
        )
        .env("COFFRE_SMTP_PASSWORD_FILE", &password_file)
        .env("COFFRE_MAIL_FROM", FROM)
        .env("COFFRE_MAIL_CA_FILE", &pki.ca)
        .env("COFFRE_REMINDER_DAYS", "");
    let mut process = ServerProcess::start(cmd);
    let boot = process.bootstrap_key();
    let feed = json!({"Name": "feed", "ContactLogin": "feed", "ContactEmail": "feed@example.com",
        "ExpirationDate": "2030-01-01"});
    process
        .call(Method::POST, "/v4/ApiKey", &boot, Some(feed))
        .await
        .expect(201);
    let midnight = json!({"Now": "2030-01-02T00:00:00Z"});
    process
        .call(Method::PUT, "/v4/Dev/Clock", &boot, Some(midnight))
        .await
        .expect(200);
    let received = server.wait_for_messages(1).await;
    assert_eq!(received[0]["tls"], true);
    assert_eq!(received[0]["rcpt_tos"], json!(["feed@example.com"]));
    let auth = server.events("auth");
    assert_eq!(auth.len(), 1);
    assert_eq!(auth[0]["success"], true);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let res = process.call(Method::GET, "/v4/Outbox", &boot, None).await;
        if res.body[0]["Status"] == "Sent" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{}", res.text);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(process.terminate(), 0);
    let log = process.stderr();
    assert!(
        log.contains(&format!(
            "outbox delivery through smtps://127.0.0.1:{}",
            server.port
        )),
        "{log}"
    );
    assert!(log.contains("outbox: 1 sent"), "{log}");
    assert!(
        !log.contains("correct horse") && !log.contains("ada%40corp") && !log.contains("ada@corp")
    );
}

#[tokio::test]
async fn names_and_addresses_cannot_add_a_header_or_a_recipient() {
    crate::require_smtp!();
    let server = SmtpServer::plain();
    let app = mail_app(&server.url("smtp"), |_| {}).await;
    // The API refuses line breaks in names outright…
    let res = app
        .post(
            "/v4/ApiKey",
            json!({"Name": "x\r\nBcc: victim@evil.test", "ContactLogin": "crlf",
            "ContactEmail": "crlf@example.com"}),
        )
        .await
        .expect(400);
    assert_eq!(res.code(), "InvalidField");
    // …and what it accepts stays text: quotes, angle brackets, encoded-word
    // look-alikes, Unicode line separators, "Bcc:".
    let hostile = "Zoë \"feed\" <ops@evil.test> =?utf-8?q?Bcc=3A_x?= Bcc: victim@evil.test \u{2028}X-Injected: yes";
    key_expiring_tonight(
        &app,
        json!({"Name": hostile, "ContactFirstName": "Ève\u{2028}Bcc: victim@evil.test",
        "ContactEmail": "zoe@example.com"}),
    )
    .await;
    // Rows written before validation existed (or by hand) are no safer.
    let now = at(MIDNIGHT).timestamp_millis();
    app.state
        .db
        .write(move |c, _| {
            for (n, to, subject) in [
                (1, "ada@example.com", "Notice\r\nBcc: victim@evil.test"),
                (2, "ada@example.com\r\nBcc: victim@evil.test", "Notice"),
            ] {
                c.execute(
                    "INSERT INTO outbox (guid, kind, api_key_guid, expires_at, days_before, to_address, subject, body, created_at, next_attempt_at)
                     VALUES (?1, 'KeyExpired', ?2, ?3, 0, ?4, ?5, 'b', ?3, ?3)",
                    &[&format!("00000000-0000-4000-8000-0000000000A{n}"), &format!("00000000-0000-4000-8000-0000000000B{n}"), &now, &to, &subject],
                )?;
            }
            Ok::<_, coffre::error::AppError>(())
        })
        .await
        .unwrap();
    app.set_now(MIDNIGHT);
    let received = server.wait_for_messages(2).await;
    let m = outbox_when(&app, "three attempts", |m| {
        m.len() == 3 && m.iter().all(|x| x["Attempts"] == 1)
    })
    .await;
    for r in &received {
        assert_eq!(r["defects"], json!([]));
        assert!(
            header(r, "Bcc").is_empty() && header(r, "X-Injected").is_empty(),
            "{r:#}"
        );
        assert_eq!(header(r, "To").len(), 1);
        assert_eq!(r["rcpt_tos"].as_array().unwrap().len(), 1);
        assert_ne!(r["rcpt_tos"][0], "victim@evil.test");
    }
    let to_zoe = received
        .iter()
        .find(|r| r["rcpt_tos"][0] == "zoe@example.com")
        .unwrap();
    let api = by_to(&m, "zoe@example.com");
    assert_eq!(
        header(to_zoe, "Subject"),
        [api["Subject"].as_str().unwrap()]
    );
    let bad_address = m
        .iter()
        .find(|x| x["OutboxMessageGuid"] == "00000000-0000-4000-8000-0000000000A2")
        .unwrap();
    assert_eq!(bad_address["Status"], "Failed");
    assert!(
        bad_address["LastError"]
            .as_str()
            .unwrap()
            .contains("recipient address")
    );
}

#[tokio::test]
async fn without_smtp_url_messages_stay_pending_and_untried() {
    let app = app().config(|c| c.reminder_days = vec![]).spawn().await;
    key_expiring_tonight(&app, json!({})).await;
    app.sweep(MIDNIGHT).await;
    let m = app.outbox("").await;
    assert_eq!(m[0]["Status"], "Pending");
    assert_eq!(m[0]["Attempts"], 0);
    assert_eq!(m[0]["LastError"], Value::Null);
    assert_eq!(m[0]["SentAt"], Value::Null);
    assert_eq!(m[0]["MessageId"], Value::Null);
    assert_eq!(m[0]["NextAttemptAt"], m[0]["CreatedAt"]);
    let pending = app.get("/v4/Outbox?Status=Pending").await.expect(200);
    assert_eq!(pending.body.as_array().unwrap().len(), 1);
    let sent = app.get("/v4/Outbox?Status=Sent").await.expect(200);
    assert!(sent.body.as_array().unwrap().is_empty());
}

#[test]
fn mail_settings_are_checked_at_start_and_never_echo_the_password() {
    let tmp = tempfile::tempdir().unwrap();
    let serve = |env: &[(&str, String)]| {
        let mut cmd = coffre();
        cmd.args(["--dev", "--listen", "127.0.0.1:0", "serve"]);
        for (k, v) in env {
            cmd.env(k, v);
        }
        run(&mut cmd)
    };
    let url = (
        "COFFRE_SMTP_URL",
        "smtps://ada:hunter2@mail.example.com".to_string(),
    );
    let from = ("COFFRE_MAIL_FROM", FROM.to_string());
    for (env, names) in [
        (
            vec![(
                "COFFRE_SMTP_URL",
                "http://ada:hunter2@mail.example.com".to_string(),
            )],
            "smtp_url",
        ),
        (
            vec![(
                "COFFRE_SMTP_URL",
                "smtp://ada:hunter2@mail.example.com:70000".to_string(),
            )],
            "smtp_url",
        ),
        (vec![url.clone()], "mail_from"),
        (
            vec![url.clone(), ("COFFRE_MAIL_FROM", "not an address".into())],
            "mail_from",
        ),
        (
            vec![
                url.clone(),
                from.clone(),
                (
                    "COFFRE_MAIL_CA_FILE",
                    tmp.path().join("none.pem").display().to_string(),
                ),
            ],
            "mail_ca_file",
        ),
        (
            vec![
                url.clone(),
                from.clone(),
                (
                    "COFFRE_SMTP_PASSWORD_FILE",
                    tmp.path().join("none").display().to_string(),
                ),
            ],
            "smtp_password_file",
        ),
        (
            vec![
                url.clone(),
                from.clone(),
                ("COFFRE_SMTP_STARTTLS", "always".into()),
            ],
            "COFFRE_SMTP_STARTTLS",
        ),
        (
            vec![
                url.clone(),
                from.clone(),
                ("COFFRE_MAIL_MAX_ATTEMPTS", "0".into()),
            ],
            "mail_max_attempts",
        ),
    ] {
        let out = serve(&env);
        assert_eq!(out.code, 2, "{env:?}: {}", out.stderr);
        assert!(out.stderr.contains(names), "{env:?}: {}", out.stderr);
        assert!(!out.stderr.contains("hunter2"), "{}", out.stderr);
    }
    // A CA file without a certificate is refused too.
    let empty = tmp.path().join("empty.pem");
    std::fs::write(&empty, "nothing here\n").unwrap();
    let out = serve(&[
        url,
        from,
        ("COFFRE_MAIL_CA_FILE", empty.display().to_string()),
    ]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("holds no usable PEM certificate"),
        "{}",
        out.stderr
    );
}

/// lettre writes the end of DATA on its own after the message: with Nagle's
/// algorithm on, each message waits for the server's delayed ACK (40 ms on
/// Linux). 25 messages over one session take well under a second without it.
#[tokio::test]
async fn messages_go_out_back_to_back_without_waiting_for_delayed_acks() {
    crate::require_smtp!();
    let server = SmtpServer::start(&Options {
        brief: true,
        ..Options::default()
    });
    let app = mail_app(&server.url("smtp"), |_| {}).await;
    for i in 0..25 {
        key_expiring_tonight(&app, json!({"ContactEmail": format!("n{i}@example.com")})).await;
    }
    app.set_now(MIDNIGHT);
    let received = server.wait_for_messages(25).await;
    let span = received[24]["t"].as_f64().unwrap() - received[0]["t"].as_f64().unwrap();
    assert!(
        span < 0.6,
        "24 messages after the first took {span:.3} s: ~40 ms each means Nagle's algorithm \
         holds the end of DATA until the server's delayed ACK"
    );
}

/// As after a crash between the server's "accepted" and the write that
/// records it: the message is sent again, as the same e-mail.
#[tokio::test]
async fn a_message_resent_after_a_lost_record_is_the_same_e_mail() {
    crate::require_smtp!();
    let server = SmtpServer::plain();
    let app = mail_app(&server.url("smtp"), |_| {}).await;
    key_expiring_tonight(&app, json!({})).await;
    app.set_now(MIDNIGHT);
    server.wait_for_messages(1).await;
    outbox_when(&app, "Sent", |m| m[0]["Status"] == "Sent").await;
    app.state
        .db
        .write(|c, _| {
            c.execute(
                "UPDATE outbox SET status = 'Pending', attempts = 0, sent_at = NULL, \
                 message_id = NULL",
                &[],
            )?;
            Ok::<_, coffre::error::AppError>(())
        })
        .await
        .unwrap();
    let app = app.restart(at("2026-06-16T00:05:00Z"), |_| {}).await;
    let received = server.wait_for_messages(2).await;
    let (first, again) = (raw(&received[0]), raw(&received[1]));
    assert_eq!(first, again, "byte for byte the same e-mail");
    assert_eq!(header(&received[1], "Message-ID").len(), 1);
    let m = outbox_when(&app, "Sent again", |m| m[0]["Status"] == "Sent").await;
    assert_eq!(
        m[0]["MessageId"],
        header(&received[1], "Message-ID")[0].as_str()
    );
}
