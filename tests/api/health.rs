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
