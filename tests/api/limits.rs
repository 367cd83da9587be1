//! Request bodies cannot hold the server: a body that trickles in gets 408, a
//! crowd of large bodies stays under the memory bound (503 beyond it), and
//! small-body endpoints refuse large ones.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

fn head(app: &TestApp, method: &str, path: &str, key: &str, length: usize) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n",
        app.address.trim_start_matches("http://")
    )
}

/// Reads one response (head and a Content-Length body) or until the peer closes.
async fn read_response(socket: &mut TcpStream) -> (u16, String) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .map_or(0, |n| n.trim().parse().unwrap());
            if buf.len() >= end + 4 + length {
                let status = head[9..12].parse().unwrap();
                let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + length]).into_owned();
                return (status, format!("{head}\r\n\r\n{body}"));
            }
        }
        let n = socket.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return (0, String::from_utf8_lossy(&buf).into_owned());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[tokio::test]
async fn a_body_that_trickles_in_gets_408_and_others_are_served_meanwhile() {
    let app = app().config(|c| c.body_timeout_secs = 1).spawn().await;
    let no_permissions = app
        .create_key(json!({"EnablePermissions": true, "Permissions": []}))
        .await;
    for key in [&app.admin_key, &no_permissions.key] {
        let addr = app.address.trim_start_matches("http://").to_string();
        let mut socket = TcpStream::connect(&addr).await.unwrap();
        let started = Instant::now();
        socket
            .write_all(head(&app, "POST", "/v4/VaultSection", key, 100).as_bytes())
            .await
            .unwrap();
        socket.write_all(br#"{"Na"#).await.unwrap();
        // Meanwhile, the server serves everyone else.
        app.get("/v4/VaultSection").await.expect(200);
        let (status, text) =
            tokio::time::timeout(Duration::from_secs(10), read_response(&mut socket))
                .await
                .expect("an answer, not a connection held open");
        assert!(started.elapsed() < Duration::from_secs(5));
        if key == &app.admin_key {
            assert_eq!(status, 408, "{text}");
            assert!(text.contains("\"Code\":\"BodyTimeout\""), "{text}");
            assert!(text.contains("x-request-id: "), "{text}");
        } else {
            // A key that may not create sections never gets to send a body.
            assert!(status == 403 || status == 408, "{status} {text}");
        }
    }
    let sections = app.get("/v4/VaultSection").await.expect(200).body;
    assert_eq!(sections.as_array().unwrap().len(), 1, "nothing was created");
}

#[tokio::test]
async fn two_hundred_large_bodies_at_once_stay_under_the_memory_bound() {
    const LIMIT_MIB: u32 = 8;
    let app = app()
        .config(|c| c.body_memory_limit_mib = LIMIT_MIB)
        .spawn()
        .await;
    let length = 4 * 1024 * 1024 - 1;
    let mut body = br#"{"Name": "x", "Notes": ""#.to_vec();
    body.resize(length - 2, b'a');
    body.extend_from_slice(br#""}"#);
    let body = std::sync::Arc::new(body);
    let mut clients = Vec::new();
    for _ in 0..200 {
        let addr = app.address.trim_start_matches("http://").to_string();
        let head = head(&app, "POST", "/v4/VaultItem", &app.admin_key, length);
        let body = body.clone();
        clients.push(tokio::spawn(async move {
            let socket = TcpStream::connect(&addr).await.unwrap();
            let (reader, mut writer) = socket.into_split();
            let sending = tokio::spawn(async move {
                // The server may answer and close before taking it all.
                let _ = writer.write_all(head.as_bytes()).await;
                let _ = writer.write_all(&body).await;
                writer
            });
            let mut joined = reader.reunite(sending.await.unwrap()).unwrap();
            read_response(&mut joined).await
        }));
    }
    let mut statuses = std::collections::BTreeMap::new();
    for client in clients {
        let (status, text) = tokio::time::timeout(Duration::from_secs(60), client)
            .await
            .unwrap()
            .unwrap();
        assert!(
            status == 0 || status == 400 || status == 503,
            "{status}: {}",
            &text[..text.len().min(300)]
        );
        if status == 503 {
            assert!(
                text.contains("ServerBusy") && text.contains("retry-after"),
                "{text}"
            );
        }
        *statuses.entry(status).or_insert(0) += 1;
    }
    let budget = &app.state.body_budget;
    assert!(
        budget.peak() <= LIMIT_MIB as usize * 1024 * 1024,
        "held {} bytes of bodies at once",
        budget.peak()
    );
    assert!(statuses.get(&503).copied().unwrap_or(0) > 0, "{statuses:?}");
    assert!(statuses.get(&400).copied().unwrap_or(0) > 0, "{statuses:?}");
    app.eventually("every body is released", || async { budget.in_use() == 0 })
        .await;
    app.get("/health").await;
}
