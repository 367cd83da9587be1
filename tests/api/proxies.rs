//! Behind reverse proxies (issue 14, items 2 and 3): `Forwarded` and
//! `X-Forwarded-*` are believed only from `trusted_proxies`, and the client
//! they name is what history records and what the failed-auth limiter counts;
//! a valid key is never refused. The loopback network gives each test several
//! real peers (127.0.0.1, 127.0.0.2, …) on one machine; one test puts a real
//! nginx in front.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

/// A client whose connections come from `local` (a loopback address).
fn client_from(local: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(local.parse::<IpAddr>().unwrap())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

async fn send_as(
    app: &TestApp,
    client: &reqwest::Client,
    key: &str,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<serde_json::Value>,
) -> Res {
    let mut req = client.request(method, app.url(path)).bearer_auth(key);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    read(req.send().await.unwrap()).await
}

/// The ClientAddress history recorded for the creation of a new section.
async fn recorded_address(
    app: &TestApp,
    client: &reqwest::Client,
    headers: &[(&str, &str)],
) -> String {
    let created = send_as(
        app,
        client,
        &app.admin_key,
        Method::POST,
        "/v4/VaultSection",
        headers,
        Some(json!({"Name": format!("s {}", uuid::Uuid::new_v4())})),
    )
    .await
    .expect(201);
    let guid = created.guid("VaultSectionGuid");
    let history = app
        .get(&format!("/v4/VaultSection/{guid}/History"))
        .await
        .expect(200);
    let line = &history.body[0];
    assert_eq!(line["Action"], "Created", "{}", history.text);
    line["ClientAddress"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn forwarded_headers_name_the_client_only_when_a_trusted_proxy_sends_them() {
    let app = app()
        .config(|c| c.trusted_proxies = vec!["127.0.0.2/32".parse().unwrap()])
        .spawn()
        .await;
    let proxy = client_from("127.0.0.2");
    let stranger = client_from("127.0.0.1");

    // Without headers, the peer itself.
    assert_eq!(recorded_address(&app, &proxy, &[]).await, "127.0.0.2");
    // From the trusted proxy: the right-most hop it did not add itself.
    let xff = [("x-forwarded-for", "6.6.6.6, 203.0.113.9")];
    assert_eq!(recorded_address(&app, &proxy, &xff).await, "203.0.113.9");
    let fwd = [(
        "forwarded",
        r#"for=6.6.6.6, for="[2001:db8::7]:4711";proto=https"#,
    )];
    assert_eq!(recorded_address(&app, &proxy, &fwd).await, "2001:db8::7");
    // From anyone else, the same headers are ignored.
    assert_eq!(recorded_address(&app, &stranger, &xff).await, "127.0.0.1");
    assert_eq!(recorded_address(&app, &stranger, &fwd).await, "127.0.0.1");

    // The scheme, likewise: HSTS only when a trusted proxy says the client used HTTPS.
    let via_proxy = send_as(
        &app,
        &proxy,
        &app.admin_key,
        Method::GET,
        "/health",
        &[
            ("x-forwarded-proto", "https"),
            ("x-forwarded-for", "203.0.113.9"),
        ],
        None,
    )
    .await
    .expect(200);
    assert_eq!(
        via_proxy.headers["strict-transport-security"],
        "max-age=31536000"
    );
    let spoofed = send_as(
        &app,
        &stranger,
        &app.admin_key,
        Method::GET,
        "/health",
        &[("x-forwarded-proto", "https")],
        None,
    )
    .await
    .expect(200);
    assert!(!spoofed.headers.contains_key("strict-transport-security"));

    // Changes made by coffre itself carry no address.
    let all = app.get("/v4/History?Limit=10000").await.expect(200);
    let init = all
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["ApiKeyGuid"] == "")
        .expect("a line written by init");
    assert_eq!(init["ClientAddress"], "");
}

/// The status of `GET /v4/VaultItem` with `key` through `client`, claiming
/// to forward for `forwarded_for` when given.
async fn list_items(
    app: &TestApp,
    client: &reqwest::Client,
    key: &str,
    forwarded_for: Option<&str>,
) -> u16 {
    let headers: Vec<(&str, &str)> = forwarded_for
        .map(|ip| ("x-forwarded-for", ip))
        .into_iter()
        .collect();
    let res = send_as(
        app,
        client,
        key,
        Method::GET,
        "/v4/VaultItem",
        &headers,
        None,
    )
    .await;
    if res.status == 429 {
        assert!(res.headers.contains_key("retry-after"));
    }
    res.status
}

#[tokio::test]
async fn the_failed_auth_limit_counts_each_forwarded_client_and_never_refuses_a_valid_key() {
    let app = app()
        .config(|c| {
            c.trusted_proxies = vec!["127.0.0.2/32".parse().unwrap()];
            c.auth_failure_limit = 3;
        })
        .spawn()
        .await;
    let proxy = client_from("127.0.0.2");
    let stranger = client_from("127.0.0.1");
    let (wrong, valid) = ("coffre_AAAAAAAAAAAA_wrong", app.admin_key.as_str());

    for _ in 0..3 {
        assert_eq!(
            list_items(&app, &proxy, wrong, Some("203.0.113.1")).await,
            401
        );
    }
    assert_eq!(
        list_items(&app, &proxy, wrong, Some("203.0.113.1")).await,
        429
    );
    // The same proxy's other clients are not affected…
    assert_eq!(
        list_items(&app, &proxy, wrong, Some("203.0.113.2")).await,
        401
    );
    // …and the blocked client's valid key still works, through the proxy.
    assert_eq!(
        list_items(&app, &proxy, valid, Some("203.0.113.1")).await,
        200
    );
    // The proxy itself (no header) is a client of its own.
    assert_eq!(list_items(&app, &proxy, wrong, None).await, 401);

    // An untrusted peer cannot spread its failures over made-up addresses…
    for i in 0..3 {
        let forged = format!("198.51.100.{i}");
        assert_eq!(list_items(&app, &stranger, wrong, Some(&forged)).await, 401);
    }
    assert_eq!(
        list_items(&app, &stranger, wrong, Some("198.51.100.99")).await,
        429
    );
    // …nor get someone else blocked by naming them: 203.0.113.2 behind the
    // proxy has had one failure only.
    assert_eq!(
        list_items(&app, &proxy, wrong, Some("203.0.113.2")).await,
        401
    );
    assert_eq!(list_items(&app, &stranger, valid, None).await, 200);
}

/// A real nginx, started by the test on loopback, in front of coffre.
pub(crate) struct Nginx {
    child: std::process::Child,
    pub(crate) port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) fn nginx_binary() -> Option<String> {
    ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(|p| p.to_string())
}

pub(crate) fn start_nginx(binary: &str, upstream: &str) -> Nginx {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let d = dir.path().display();
    let conf = format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\n\
         error_log {d}/error.log warn;\nevents {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
         server {{\n    listen 127.0.0.1:{port};\n    location / {{\n      proxy_pass {upstream};\n\
         proxy_set_header Host $http_host;\n\
         proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n\
         proxy_set_header X-Forwarded-Proto $scheme;\n    }}\n  }}\n}}\n"
    );
    let path = dir.path().join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    let child = std::process::Command::new(binary)
        .arg("-e")
        .arg(dir.path().join("error.log"))
        .arg("-p")
        .arg(dir.path())
        .arg("-c")
        .arg(&path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nginx did not start: {}",
            std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Nginx {
        child,
        port,
        _dir: dir,
    }
}

#[tokio::test]
async fn behind_a_real_nginx_each_client_is_known_by_its_own_address() {
    let Some(binary) = nginx_binary() else {
        skip_without_tool("nginx is not installed (apt-get install nginx-light; .ci/run does)");
        return;
    };
    // nginx connects to coffre from 127.0.0.1: that is the trusted proxy.
    let app = app()
        .config(|c| {
            c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
            c.auth_failure_limit = 2;
        })
        .spawn()
        .await;
    let nginx = start_nginx(&binary, &app.address);
    let via = |local: &str, path: &str| {
        (
            client_from(local),
            format!("http://127.0.0.1:{}{path}", nginx.port),
        )
    };

    // A client that forges X-Forwarded-For is still known by its real address,
    // which nginx appended.
    let (alice, url) = via("127.0.0.5", "/v4/VaultSection");
    let created = read(
        alice
            .post(&url)
            .bearer_auth(&app.admin_key)
            .header("x-forwarded-for", "6.6.6.6")
            .json(&json!({"Name": "via nginx"}))
            .send()
            .await
            .unwrap(),
    )
    .await
    .expect(201);
    let guid = created.guid("VaultSectionGuid");
    let history = app
        .get(&format!("/v4/VaultSection/{guid}/History"))
        .await
        .expect(200);
    assert_eq!(
        history.body[0]["ClientAddress"], "127.0.0.5",
        "{}",
        history.text
    );

    // Failures count per client behind the proxy.
    let (mallory, url) = via("127.0.0.6", "/v4/VaultItem");
    for expected in [401, 401, 429] {
        let res = read(
            mallory
                .get(&url)
                .bearer_auth("coffre_x")
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(res.status, expected, "{}", res.text);
    }
    let res = read(
        mallory
            .get(&url)
            .bearer_auth(&app.admin_key)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(res.status, 200, "a valid key is never refused");
    let (_, url) = via("127.0.0.5", "/v4/VaultItem");
    let res = read(
        alice
            .get(&url)
            .bearer_auth("coffre_x")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        res.status, 401,
        "another client behind nginx is not blocked"
    );
}
