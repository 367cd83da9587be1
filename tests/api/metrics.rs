//! Prometheus metrics (issue 14, item 5): `GET /metrics` on a listener of its
//! own, never on the API's address; every metric the issue lists, with values
//! that follow what happened; labels bounded (route patterns, never a GUID);
//! the text checked by `promtool check metrics` (Debian `prometheus`; the test
//! says so and skips that step when promtool is absent — `.ci/run` installs it).

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

/// The samples of a scrape: `name{labels}` → value.
fn samples(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
        out.insert(series.to_string(), value.parse::<f64>().unwrap());
    }
    out
}

fn value(s: &BTreeMap<String, f64>, series: &str) -> f64 {
    *s.get(series)
        .unwrap_or_else(|| panic!("no {series} in {:#?}", s.keys().collect::<Vec<_>>()))
}

/// `promtool check metrics` on `text`; None when promtool is not installed.
fn promtool(text: &str) -> Option<(bool, String)> {
    let binary = std::env::var("PROMTOOL").unwrap_or_else(|_| "promtool".into());
    let mut child = match Command::new(&binary)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(_) => return None,
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some((out.status.success(), said))
}

async fn scrape(app: &TestApp) -> (String, BTreeMap<String, f64>) {
    let base = app.metrics_address.as_ref().expect("metrics_listen is set");
    let res = app
        .client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = res.text().await.unwrap();
    let parsed = samples(&text);
    (text, parsed)
}

#[tokio::test]
async fn metrics_follow_what_happened_on_their_own_listener_and_pass_promtool() {
    let app = app()
        .config(|c| c.metrics_listen = Some("127.0.0.1:0".parse().unwrap()))
        .spawn()
        .await;
    // Never on the API's own address.
    app.get("/metrics").await.expect(404);

    // Traffic: reads of two different items, a miss, a wrong key, an unknown path.
    let section = app
        .post("/v4/VaultSection", json!({"Name": "metered"}))
        .await
        .expect(201)
        .guid("VaultSectionGuid");
    let mut items = Vec::new();
    for n in 0..2 {
        let item = app
            .post(
                "/v4/VaultItem",
                json!({"Name": format!("i{n}"), "VaultSectionGuid": section,
                       "VaultItemType": "Certificate", "Value": "x"}),
            )
            .await
            .expect(201)
            .guid("VaultItemGuid");
        app.get(&format!("/v4/VaultItem/{item}")).await.expect(200);
        items.push(item);
    }
    app.send("coffre_wrong", Method::GET, "/v4/VaultItem", None)
        .await
        .expect(401);
    app.get("/v4/NoSuchThing").await.expect(404);
    app.send(&app.admin_key, Method::PATCH, "/health", None)
        .await
        .expect(405);

    // Keys in every state, as of a clock moved to 2026-06-17.
    let soon = app
        .create_key(json!({"ExpirationDate": "2026-06-17"}))
        .await;
    app.create_key(json!({"ExpirationDate": "2026-06-30"}))
        .await;
    app.create_key(json!({"ExpirationDate": "2026-06-16"}))
        .await;
    let revoked = app.create_key(json!({})).await;
    app.post(&format!("/v4/ApiKey/{}/Revoke", revoked.guid), json!({}))
        .await
        .expect(200);
    app.send(&revoked.key, Method::GET, "/v4/VaultItem", None)
        .await
        .expect(401);
    app.set_now("2026-06-17T00:00:00Z");
    app.eventually("the sweep after the clock moved", || async {
        let (_, s) = scrape(&app).await;
        s.get("coffre_sweep_runs_total").copied().unwrap_or(0.0) >= 2.0
    })
    .await;
    app.send(&soon.key, Method::GET, "/v4/VaultItem", None)
        .await
        .expect(200);

    let (text, s) = scrape(&app).await;
    let item_route = r#"route="/v4/VaultItem/{VaultItemGuid}",method="GET""#;
    assert_eq!(
        value(
            &s,
            &format!(r#"coffre_http_requests_total{{{item_route},status="200"}}"#)
        ),
        2.0
    );
    assert_eq!(
        value(
            &s,
            &format!("coffre_http_request_duration_seconds_count{{{item_route}}}")
        ),
        2.0
    );
    assert_eq!(
        value(
            &s,
            &format!(r#"coffre_http_request_duration_seconds_bucket{{{item_route},le="+Inf"}}"#)
        ),
        2.0
    );
    // /metrics on the API's address and /v4/NoSuchThing.
    assert_eq!(
        value(
            &s,
            r#"coffre_http_requests_total{route="unmatched",method="GET",status="404"}"#
        ),
        2.0
    );
    assert_eq!(
        value(
            &s,
            r#"coffre_http_requests_total{route="/health",method="PATCH",status="405"}"#
        ),
        1.0
    );
    for item in &items {
        assert!(!text.contains(item.as_str()), "a raw GUID in a label");
    }
    assert_eq!(
        value(&s, r#"coffre_auth_failures_total{reason="invalid_key"}"#),
        1.0
    );
    assert_eq!(
        value(&s, r#"coffre_auth_failures_total{reason="revoked"}"#),
        1.0
    );
    // The bootstrap key, `soon` (until 2026-06-18) and the one of 2026-06-30.
    assert_eq!(value(&s, r#"coffre_api_keys{status="Active"}"#), 3.0);
    assert_eq!(value(&s, r#"coffre_api_keys{status="Expired"}"#), 1.0);
    assert_eq!(value(&s, r#"coffre_api_keys{status="Revoked"}"#), 1.0);
    assert_eq!(value(&s, "coffre_api_keys_expiring_7d"), 1.0);
    // The sweep wrote the expiry notice and the due reminders.
    assert!(value(&s, r#"coffre_outbox_messages{status="Pending"}"#) >= 2.0);
    assert!(value(&s, "coffre_sweep_runs_total") >= 2.0);
    assert!(value(&s, "coffre_sweep_duration_seconds_count") >= 2.0);
    assert_eq!(value(&s, "coffre_writer_queue_depth"), 0.0);
    assert!(value(&s, "coffre_group_commit_batch_size_count") >= 8.0);
    assert!(
        value(&s, "coffre_group_commit_batch_size_sum")
            >= value(&s, "coffre_group_commit_batch_size_count")
    );
    assert!(value(&s, "coffre_database_bytes") > 4096.0);
    assert!(value(&s, "coffre_auth_limiter_addresses") >= 1.0);

    match promtool(&text) {
        None => skip_without_tool(
            "promtool is not installed (Debian `prometheus`; .ci/run installs it): \
             the text was not checked by promtool",
        ),
        Some((ok, said)) => assert!(ok, "promtool check metrics:\n{said}\n{text}"),
    }
}

#[tokio::test]
async fn labels_stay_bounded_whatever_paths_and_methods_clients_send() {
    let app = app()
        .config(|c| c.metrics_listen = Some("127.0.0.1:0".parse().unwrap()))
        .spawn()
        .await;
    let series = |text: &str| text.lines().filter(|l| !l.starts_with('#')).count();
    app.get(&format!("/v4/VaultItem/{}", uuid::Uuid::new_v4()))
        .await
        .expect(404);
    app.get(&format!("/v4/Nope/{}", uuid::Uuid::new_v4()))
        .await
        .expect(404);
    let before = series(&scrape(&app).await.0);
    for n in 0..40 {
        app.get(&format!("/v4/VaultItem/{}", uuid::Uuid::new_v4()))
            .await
            .expect(404);
        app.get(&format!("/v4/Nope/{}/{n}", uuid::Uuid::new_v4()))
            .await
            .expect(404);
        let method = Method::from_bytes(format!("BREW{n}").as_bytes()).unwrap();
        app.send(&app.admin_key, method, "/v4/VaultItem", None)
            .await;
    }
    let (text, s) = scrape(&app).await;
    // Only the series of the first unusual method are new; nothing per GUID or per path.
    assert!(
        series(&text) <= before + 20,
        "{} series before, {} after:\n{text}",
        before,
        series(&text)
    );
    assert_eq!(
        value(
            &s,
            r#"coffre_http_requests_total{route="unmatched",method="GET",status="404"}"#
        ),
        41.0
    );
}

#[tokio::test]
async fn without_metrics_listen_nothing_is_served() {
    let app = spawn_app().await;
    assert!(app.metrics_address.is_none());
    app.get("/metrics").await.expect(404);
}
