//! What a test harness needs from coffre (issue 12, part B): a server that
//! stops at once when idle, yet finishes what it is doing.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn an_idle_server_stops_within_moments_of_sigterm() {
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let mut cmd = coffre();
        cmd.args(["--dev", "--listen", "127.0.0.1:0", "serve"]);
        let server = ServerProcess::start(cmd);
        // A client that keeps its connection open (idle keep-alive).
        let client = reqwest::Client::new();
        let res = client.get(server.url("/health")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let mut server = server;
        signal(&server.child, "TERM");
        let (code, took) = server.wait_exit(Duration::from_secs(30));
        assert_eq!(code, 0, "{}", server.stderr());
        best = best.min(took);
        drop(client);
    }
    // Measured at ~5 ms (debug build); actix's own signal handling took ~300 ms.
    assert!(
        best < Duration::from_millis(250),
        "an idle server took {best:?} to stop"
    );
}

/// Reads an HTTP/1.1 response head and its Content-Length body.
fn read_response(reader: &mut BufReader<TcpStream>) -> (u16, Value) {
    let mut status_line = String::new();
    reader.read_line(&mut status_line).unwrap();
    let status: u16 = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn sigterm_lets_an_in_flight_request_finish_and_stores_last_used_at() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let serve = || {
        let mut cmd = coffre();
        cmd.arg("--data-dir")
            .arg(&dir)
            .args(["--listen", "127.0.0.1:0", "serve"]);
        ServerProcess::start(cmd)
    };
    let server = serve();
    let key = server.bootstrap_key();
    let address = server.address.trim_start_matches("http://").to_string();

    // A request whose head has been taken in (the server said 100 Continue)
    // but whose body has not arrived yet: in flight.
    let body = br#"{"Name": "Sent after SIGTERM"}"#;
    let stream = TcpStream::connect(&address).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    write!(
        writer,
        "POST /v4/VaultSection HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        body.len()
    )
    .unwrap();
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.starts_with("HTTP/1.1 100"), "{line}");
    reader.read_line(&mut line).unwrap();

    let mut server = server;
    signal(&server.child, "TERM");
    // Once the server has taken the signal in, the body goes out.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !server.stderr().contains("SIGTERM received") {
        assert!(Instant::now() < deadline, "the signal was not taken in");
        std::thread::sleep(Duration::from_millis(5));
    }
    writer.write_all(body).unwrap();
    let (status, created) = read_response(&mut reader);
    assert_eq!(status, 201, "{created}");
    let (code, _) = server.wait_exit(Duration::from_secs(30));
    assert_eq!(code, 0, "{}", server.stderr());
    drop(server);

    // The write is there, and so is the LastUsedAt the stop stored.
    let server = serve();
    let client = reqwest::Client::new();
    let get = |path: &str| client.get(server.url(path)).bearer_auth(&key).send();
    let sections: Value = get("/v4/VaultSection").await.unwrap().json().await.unwrap();
    assert!(
        sections
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["Name"] == "Sent after SIGTERM")
    );
    let keys: Value = get("/v4/ApiKey").await.unwrap().json().await.unwrap();
    assert!(keys[0]["LastUsedAt"].is_string(), "{keys}");
}

#[test]
fn keygen_prints_a_fresh_well_formed_key() {
    let first = run(coffre().arg("keygen"));
    let second = run(coffre().arg("keygen"));
    assert_eq!((first.code, second.code), (0, 0), "{}", first.stderr);
    let (a, b) = (first.stdout.trim(), second.stdout.trim());
    assert_ne!(a, b);
    for key in [a, b] {
        assert!(
            coffre::crypto::Token::parse(coffre::crypto::TokenKind::ApiKey, key).is_some(),
            "{key} is not well-formed"
        );
    }
}

#[tokio::test]
async fn dev_takes_a_bootstrap_key_given_in_advance() {
    let key = run(coffre().arg("keygen")).stdout.trim().to_string();
    for from_env in [false, true] {
        let mut cmd = coffre();
        cmd.args(["--dev", "--listen", "127.0.0.1:0"]);
        if from_env {
            cmd.env("COFFRE_DEV_BOOTSTRAP_KEY", &key);
        } else {
            cmd.args(["--dev-bootstrap-key", &key]);
        }
        cmd.arg("serve");
        let server = ServerProcess::start(cmd);
        assert_eq!(server.bootstrap_key(), key);
        let res = reqwest::Client::new()
            .get(server.url("/v4/ApiKey"))
            .basic_auth("any", Some(&key))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let keys: Value = res.json().await.unwrap();
        assert_eq!(keys[0]["Name"], "Bootstrap key");
        assert!(!server.stderr().contains(&key), "the key is never logged");
    }

    // A key that is not well-formed, or one without --dev: exit 2, saying why.
    let mut typo = key.clone();
    let last = typo.pop().unwrap();
    typo.push(if last == 'a' { 'b' } else { 'a' });
    let out = run(coffre().args(["--dev", "--dev-bootstrap-key", &typo, "serve"]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("coffre keygen"), "{}", out.stderr);
    assert!(!out.stderr.contains(&typo), "{}", out.stderr);
    let tmp = tempfile::tempdir().unwrap();
    let out = run(coffre().arg("--data-dir").arg(tmp.path().join("d")).args([
        "--dev-bootstrap-key",
        &key,
        "init",
    ]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--dev"), "{}", out.stderr);
    assert!(!tmp.path().join("d").exists());
}

#[tokio::test]
async fn dev_reset_returns_everything_to_the_state_at_start() {
    let app = app()
        .config(|c| {
            c.dev = true;
            c.auth_failure_limit = 3;
        })
        .spawn()
        .await;
    let at_start = app.get("/v4/VaultItem").await.expect(200).text;
    let keys_at_start = app.get("/v4/ApiKey").await.expect(200).body;

    // A day of a test's work: objects created, changed and deleted, a key
    // made and used, the clock moved, failed logins counted.
    let section = app
        .post("/v4/VaultSection", serde_json::json!({"Name": "Scratch"}))
        .await
        .expect(201)
        .guid("VaultSectionGuid");
    let item = app
        .post(
            "/v4/VaultItem",
            serde_json::json!({"Name": "tmp", "VaultSectionGuid": section, "VaultItemType": "CredentialSet", "Password": "p"}),
        )
        .await
        .expect(201)
        .guid("VaultItemGuid");
    let key = app.create_key(serde_json::json!({})).await;
    app.send(&key.key, reqwest::Method::GET, "/v4/VaultSection", None)
        .await
        .expect(200);
    app.put(
        "/v4/Dev/Clock",
        serde_json::json!({"Now": "2031-01-01T00:00:00Z"}),
    )
    .await
    .expect(200);
    for _ in 0..3 {
        app.send("coffre_nope", reqwest::Method::GET, "/v4/VaultItem", None)
            .await
            .expect(401);
    }
    app.send("coffre_nope", reqwest::Method::GET, "/v4/VaultItem", None)
        .await
        .expect(429);

    let res = app
        .send(&app.admin_key, reqwest::Method::POST, "/v4/Dev/Reset", None)
        .await
        .expect(204);
    assert!(res.text.is_empty());

    assert_eq!(app.get("/v4/VaultItem").await.expect(200).text, at_start);
    app.get(&format!("/v4/VaultItem/{item}")).await.expect(404);
    app.get(&format!("/v4/VaultSection/{section}"))
        .await
        .expect(404);
    // The key made since is gone, for authentication too.
    app.send(&key.key, reqwest::Method::GET, "/v4/VaultSection", None)
        .await
        .expect(401);
    let clock = app.get("/v4/Dev/Clock").await.expect(200).body;
    assert_eq!(clock["IsRealTime"], true);
    // The limiter forgot the failures (the 401 above was the first again).
    app.send("coffre_nope", reqwest::Method::GET, "/v4/VaultItem", None)
        .await
        .expect(401);
    // The keys are as at start; the usage is what this very request counted.
    let mut keys = app.get("/v4/ApiKey").await.expect(200).body;
    assert_eq!(keys.as_array().unwrap().len(), 1);
    for usage in ["LastUsedAt", "LastUsedFrom", "UseCount"] {
        keys[0][usage] = keys_at_start[0][usage].clone();
    }
    assert_eq!(keys, keys_at_start);

    // And it can be done again, as often as a harness likes.
    app.post("/v4/VaultSection", serde_json::json!({"Name": "Again"}))
        .await
        .expect(201);
    app.send(&app.admin_key, reqwest::Method::POST, "/v4/Dev/Reset", None)
        .await
        .expect(204);
    assert_eq!(app.get("/v4/VaultItem").await.expect(200).text, at_start);
    assert!(!app.get("/v4/VaultSection").await.text.contains("Again"));
}

#[tokio::test]
async fn dev_reset_exists_only_with_dev() {
    let app = spawn_app().await;
    let res = app
        .send(&app.admin_key, reqwest::Method::POST, "/v4/Dev/Reset", None)
        .await
        .expect(404);
    assert_eq!(res.code(), "RouteNotFound");
}

/// The Rust helper the README shows, compiled and run here so it cannot rot.
#[path = "../../examples/rust/coffre_server.rs"]
mod coffre_server;

#[tokio::test]
async fn the_readme_rust_helper_starts_resets_and_stops_a_seeded_server() {
    use coffre_server::CoffreServer;
    const KEY: &str = "coffre_Hha6vjwShESv_iqvm5ywOAv4rnQCEABzjTfR5r1Nydx5FhwWe5Us1Uzr0gpOnk";
    let seed = crate::seed::example_seed();
    let server = CoffreServer::start(coffre_bin(), seed.to_str().unwrap(), KEY).unwrap();
    let client = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", server.url);
    let created = client
        .post(url("/v4/VaultSection"))
        .bearer_auth(KEY)
        .json(&serde_json::json!({"Name": "Temporary"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let reset = client
        .post(url("/v4/Dev/Reset"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 204);
    let sections = client
        .get(url("/v4/VaultSection"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(sections.contains("Web shop") && !sections.contains("Temporary"));
    let address = server.url.trim_start_matches("http://").to_string();
    drop(server);
    // Stopped: nothing listens there any more.
    assert!(std::net::TcpStream::connect(address).is_err());
}

/// The pytest fixture the README shows, run with pytest where it is
/// installed (CI's .venv has it), else as the plain script it also is.
#[test]
fn the_readme_pytest_fixture_runs() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/pytest");
    let has_pytest = |python: &str| {
        std::process::Command::new(python)
            .args(["-c", "import pytest"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let venv = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    let venv = venv.to_str().unwrap();
    let mut cmd = if has_pytest("python3") {
        let mut c = std::process::Command::new("python3");
        c.args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "."]);
        c
    } else if has_pytest(venv) {
        let mut c = std::process::Command::new(venv);
        c.args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "."]);
        c
    } else {
        let mut c = std::process::Command::new("python3");
        c.arg("test_with_coffre.py");
        c
    };
    let out = run(cmd
        .current_dir(&dir)
        .env("COFFRE_BIN", coffre_bin())
        .env("PYTHONDONTWRITEBYTECODE", "1"));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("passed"), "{}", out.stdout);
}

#[test]
fn the_readme_shows_the_harness_files_as_they_are() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for file in [
        "examples/pytest/coffre_harness.py",
        "examples/pytest/conftest.py",
        "examples/rust/coffre_server.rs",
    ] {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        assert!(
            readme.contains(&text),
            "README.md does not show {file} as it is"
        );
    }
}
