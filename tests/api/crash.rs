//! Crash safety: concurrent writes against a real server on a file database,
//! SIGKILL in the middle, restart. Every write that was acknowledged must be
//! there, readable and decryptable; the file must pass `PRAGMA
//! integrity_check`; nothing unacknowledged may be half there.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

#[derive(Default)]
struct Ledger {
    /// Item GUID → passwords it may hold: the last acknowledged one, plus any
    /// sent after it whose answer never came (in flight at the kill).
    items: HashMap<String, Vec<String>>,
    /// Names of items whose creation was sent but never answered.
    creates_in_flight: Vec<(String, String)>,
    /// API key GUID → its secret, for keys whose creation was acknowledged.
    keys: HashMap<String, String>,
    acknowledged: usize,
}

async fn call(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    method: Method,
    path: &str,
    body: Value,
) -> Option<Res> {
    let res = client
        .request(method, format!("{base}{path}"))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .ok()?;
    let status = res.status().as_u16();
    let text = res.text().await.ok()?;
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Some(Res {
        status,
        headers: Default::default(),
        text,
        body,
    })
}

async fn writer(
    worker: usize,
    base: String,
    key: String,
    section: String,
    ledger: Arc<Mutex<Ledger>>,
) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut mine: Vec<String> = Vec::new();
    for n in 0.. {
        let step = n % 10;
        if step == 9 {
            let body = json!({"Name": format!("crash key {worker}-{n}"), "ContactLogin": format!("crash-{worker}-{n}"),
                "ContactEmail": format!("crash{worker}x{n}@example.com")});
            match call(&client, &base, &key, Method::POST, "/v4/ApiKey", body).await {
                Some(res) if res.status == 201 => {
                    let mut l = ledger.lock().unwrap();
                    l.keys.insert(res.guid("ApiKeyGuid"), res.guid("Key"));
                    l.acknowledged += 1;
                }
                Some(res) => panic!("key creation failed: {}", res.text),
                None => return,
            }
        } else if step >= 6 && !mine.is_empty() {
            let guid = mine[n % mine.len()].clone();
            let password = format!("pw-{worker}-{n}-updated");
            ledger
                .lock()
                .unwrap()
                .items
                .get_mut(&guid)
                .unwrap()
                .push(password.clone());
            let body = json!({"Name": format!("item {worker}-{n}"), "Password": password});
            match call(
                &client,
                &base,
                &key,
                Method::PUT,
                &format!("/v4/VaultItem/{guid}"),
                body,
            )
            .await
            {
                Some(res) if res.status == 204 => {
                    let mut l = ledger.lock().unwrap();
                    // Acknowledged: earlier values can no longer be the current one.
                    l.items.insert(guid, vec![password]);
                    l.acknowledged += 1;
                }
                Some(res) => panic!("update failed: {}", res.text),
                None => return,
            }
        } else {
            let name = format!("item {worker}-{n}");
            let password = format!("pw-{worker}-{n}");
            ledger
                .lock()
                .unwrap()
                .creates_in_flight
                .push((name.clone(), password.clone()));
            let body = json!({"Name": name, "VaultSectionGuid": section, "VaultItemType": "CredentialSet",
                "UserName": format!("user-{worker}-{n}"), "Password": password});
            match call(&client, &base, &key, Method::POST, "/v4/VaultItem", body).await {
                Some(res) if res.status == 201 => {
                    let guid = res.guid("VaultItemGuid");
                    let mut l = ledger.lock().unwrap();
                    l.creates_in_flight.retain(|(n, _)| *n != name);
                    l.items.insert(guid.clone(), vec![password]);
                    l.acknowledged += 1;
                    mine.push(guid);
                }
                Some(res) => panic!("create failed: {}", res.text),
                None => return,
            }
        }
    }
}

#[tokio::test]
async fn acknowledged_writes_survive_a_sigkill_and_nothing_else_is_half_there() {
    if crate::pg::skip_on_postgres("it checks the SQLite file and its WAL after a SIGKILL") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let start = || {
        let mut cmd = coffre();
        cmd.arg("--data-dir")
            .arg(&data)
            .args(["--listen", "127.0.0.1:0", "serve"])
            .env("RUST_LOG", "warn");
        ServerProcess::start(cmd)
    };
    let mut server = start();
    let key = server.bootstrap_key();
    let client = reqwest::Client::new();
    let list = read(
        client
            .get(server.url("/v4/VaultSection"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let section = list.body[0]["VaultSectionGuid"]
        .as_str()
        .unwrap()
        .to_string();

    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let workers: Vec<_> = (0..8)
        .map(|w| {
            tokio::spawn(writer(
                w,
                server.address.clone(),
                key.clone(),
                section.clone(),
                ledger.clone(),
            ))
        })
        .collect();
    // Let the load build, then kill mid-flight.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while ledger.lock().unwrap().acknowledged < 400 {
        assert!(
            std::time::Instant::now() < deadline,
            "the load did not get going"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill9();
    for w in workers {
        w.await.unwrap();
    }
    let ledger = Arc::try_unwrap(ledger).ok().unwrap().into_inner().unwrap();
    assert!(ledger.acknowledged >= 400);

    let server = start();
    let get = |path: String| {
        let client = client.clone();
        let url = server.url(&path);
        let key = key.clone();
        async move { read(client.get(url).bearer_auth(key).send().await.unwrap()).await }
    };

    // Every acknowledged item: present, with one of the passwords it may hold,
    // decrypted by Reveal.
    for (guid, passwords) in &ledger.items {
        let res = get(format!("/v4/VaultItem/{guid}/Reveal"))
            .await
            .expect(200);
        let pw = res.body["Password"].as_str().unwrap();
        assert!(
            passwords.iter().any(|p| p == pw),
            "item {guid}: password {pw:?} is none of {passwords:?}"
        );
    }
    // Every acknowledged key: present and working.
    for (guid, secret) in &ledger.keys {
        get(format!("/v4/ApiKey/{guid}")).await.expect(200);
        let res = read(
            client
                .get(server.url("/v4/VaultSection"))
                .bearer_auth(secret)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            res.status, 200,
            "key {guid} does not authenticate after the crash"
        );
    }
    // Nothing half there: every listed item is either acknowledged or was in
    // flight, and is whole (its sealed secret opens, its creation is in history).
    let listed = get("/v4/VaultItem".into()).await.expect(200);
    let in_flight: HashMap<&str, &str> = ledger
        .creates_in_flight
        .iter()
        .map(|(n, p)| (n.as_str(), p.as_str()))
        .collect();
    for item in listed.body.as_array().unwrap() {
        let guid = item["VaultItemGuid"].as_str().unwrap();
        let name = item["Name"].as_str().unwrap();
        let revealed = get(format!("/v4/VaultItem/{guid}/Reveal"))
            .await
            .expect(200);
        let pw = revealed.body["Password"].as_str().unwrap();
        match ledger.items.get(guid) {
            Some(_) => {}
            None => assert_eq!(
                in_flight.get(name).copied(),
                Some(pw),
                "item {guid} ({name}) was never acknowledged nor in flight"
            ),
        }
        let history = get(format!("/v4/VaultItem/{guid}/History"))
            .await
            .expect(200);
        assert!(
            history.text.contains("\"Created\""),
            "item {guid} has no creation in its history"
        );
    }

    // The file itself is sound.
    drop(server);
    let mut config = test_config(&data);
    config.kdf = TEST_KDF;
    let keys = coffre::datadir::unlock(&config).unwrap().1.derive();
    let db = coffre::datadir::open_database(
        &config,
        &keys,
        coffre::db::Location::File(config.database_path()),
    )
    .unwrap();
    let check: String = db
        .read_blocking(|c| {
            Ok::<_, coffre::error::AppError>(
                c.query_one("PRAGMA integrity_check", &[], |r| r.get(0))?,
            )
        })
        .unwrap();
    assert_eq!(check, "ok");
    db.shutdown();
}
