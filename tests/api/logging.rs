//! `log_format = "json"` (issue 14, item 6): every line the real binary
//! writes to stderr is one JSON object, request lines name the client, and
//! no key, secret or passphrase ever appears.

use reqwest::Method;
use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn json_logs_are_one_object_per_line_and_never_carry_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let passphrase = "json-logs-passphrase";
    let mut cmd = coffre();
    cmd.arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["--listen", "127.0.0.1:0", "serve"])
        .env("COFFRE_LOG_FORMAT", "json")
        .env("COFFRE_PASSPHRASE", passphrase)
        .env("RUST_LOG", "debug");
    let server = ServerProcess::start(cmd);
    let key = server.bootstrap_key();
    let client = reqwest::Client::new();
    create_credential(&client, &server, &key, "never-in-a-log-line").await;
    let wrong = format!("{}x", &key[..key.len() - 1]);
    call(
        &client,
        Method::GET,
        &server.url("/v4/VaultItem"),
        &wrong,
        None,
    )
    .await
    .expect(401);
    // A head actix refuses before routing, and a malformed JSON body.
    read(
        client
            .post(server.url("/v4/VaultSection"))
            .bearer_auth(&key)
            .header("content-type", "application/json")
            .body("{\"Name\": \"unterminated\n")
            .send()
            .await
            .unwrap(),
    )
    .await
    .expect(400);
    drop(client);
    let (code, log) = tokio::task::spawn_blocking(move || {
        let mut server = server;
        (server.terminate(), server.stderr())
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{log}");

    let lines: Vec<&str> = log.lines().collect();
    assert!(lines.len() > 5, "{log}");
    for line in &lines {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line:?}"));
        for field in ["ts", "level", "target", "msg"] {
            assert!(v[field].is_string(), "{field} missing in {line}");
        }
    }
    let messages: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        messages.iter().any(|m| m["msg"]
            .as_str()
            .unwrap()
            .contains("POST /v4/VaultItem from 127.0.0.1 -> 201")),
        "{log}"
    );
    assert!(messages.iter().any(|m| m["msg"] == "coffre stopped"));
    for secret in [
        key.as_str(),
        wrong.as_str(),
        "never-in-a-log-line",
        passphrase,
    ] {
        assert!(!log.contains(secret), "{secret} in the log");
    }
}
