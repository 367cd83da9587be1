use crate::helpers::spawn_app;

#[tokio::test]
async fn health_answers_ok_after_a_real_query_with_the_security_headers() {
    let app = spawn_app().await;
    let res = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let h = res.headers();
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(uuid::Uuid::parse_str(h["x-request-id"].to_str().unwrap()).is_ok());
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!({"Status": "ok"})
    );
}

#[tokio::test]
async fn a_plain_request_id_sent_by_the_client_is_echoed() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/health"))
        .header("X-Request-Id", "trace-42")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "trace-42");
    let res = app
        .client
        .get(app.url("/health"))
        .header("X-Request-Id", "bad id\t!")
        .send()
        .await
        .unwrap();
    assert_ne!(res.headers()["x-request-id"], "bad id\t!");
}

#[tokio::test]
async fn unknown_routes_get_a_json_404() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/v4/Nothing/Here"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert!(res.headers().contains_key("x-request-id"));
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["Messages"][0]["Code"], "RouteNotFound");
    assert!(
        body["Messages"][0]["Message"]
            .as_str()
            .unwrap()
            .contains("/v4/Nothing/Here")
    );
}

#[tokio::test]
async fn wrong_methods_get_a_json_405_with_allow() {
    let app = spawn_app().await;
    let res = app.client.delete(app.url("/health")).send().await.unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "GET");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["Messages"][0]["Code"], "MethodNotAllowed");
}

/// Sends `raw` bytes on a fresh connection and reads until the server closes it.
async fn raw_exchange(app: &crate::helpers::TestApp, raw: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.address.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    socket.write_all(raw).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        socket.read_to_end(&mut out),
    )
    .await
    .expect("the server closes the connection after the error")
    .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

/// The last response in `wire` (responses framed by Content-Length): status,
/// lower-cased head, body.
fn last_response(wire: &str) -> (u16, String, serde_json::Value) {
    let mut rest = wire;
    loop {
        let (head, after) = rest.split_once("\r\n\r\n").unwrap();
        let head = head.to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .map_or(0, |n| n.trim().parse().unwrap());
        let (body, next) = after.split_at(length);
        if next.is_empty() {
            let status = head[9..12].parse().unwrap();
            let json = serde_json::from_str(body).unwrap_or(serde_json::Value::Null);
            return (status, head, json);
        }
        rest = next;
    }
}

#[tokio::test]
async fn malformed_request_heads_get_the_json_error_shape_and_a_request_id() {
    let app = spawn_app().await;
    let many_headers: String = (0..200).map(|i| format!("X-H{i}: v\r\n")).collect();
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "a NUL byte in a header",
            b"GET /health HTTP/1.1\r\nHost: x\r\nX-Bad: a\0b\r\n\r\n".to_vec(),
            400,
            "MalformedRequest",
        ),
        (
            "a folded header",
            b"GET /health HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n".to_vec(),
            400,
            "MalformedRequest",
        ),
        (
            "a malformed request line",
            b"GET /health HTTP/1.1 extra\r\nHost: x\r\n\r\n".to_vec(),
            400,
            "MalformedRequest",
        ),
        (
            "too many headers",
            format!("GET /health HTTP/1.1\r\nHost: x\r\n{many_headers}\r\n").into_bytes(),
            431,
            "RequestHeadersTooLarge",
        ),
        (
            "a good request, then a bad one on the same connection",
            b"GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\nX-Bad: \x01\r\n\r\n".to_vec(),
            400,
            "MalformedRequest",
        ),
    ];
    for (what, raw, status, code) in cases {
        let wire = raw_exchange(&app, &raw).await;
        let (got, head, body) = last_response(&wire);
        assert_eq!(got, status, "{what}: {wire}");
        assert!(head.contains("x-request-id: "), "{what}: {wire}");
        assert!(head.contains("content-type: application/json"), "{what}");
        assert!(head.contains("cache-control: no-store"), "{what}");
        assert_eq!(body["Messages"][0]["Code"], code, "{what}: {wire}");
    }
    // The server is still there for everyone else.
    let res = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(res.status(), 200);
}
