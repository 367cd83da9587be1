//! Bad input, table-driven, against every write endpoint: each gets the right
//! 4xx in our error shape, and nothing stored changes.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

/// Everything the API would show, to compare before and after (the secret is
/// checked once at the end: a Reveal is itself recorded in the history).
async fn snapshot(app: &TestApp, item: &str, section: &str) -> Vec<String> {
    let mut all = Vec::new();
    for path in [
        "/v4/ApiKey".to_string(),
        "/v4/Operator".into(),
        "/v4/OperatorGroup".into(),
        "/v4/VaultSection".into(),
        "/v4/VaultItem".into(),
        format!("/v4/VaultSection/{section}/Authorization"),
        format!("/v4/VaultItem/{item}/Usage"),
        "/v4/History?Limit=10000".into(),
    ] {
        let res = app.get(&path).await.expect(200);
        // A key's usage (LastUsedAt, LastUsedFrom, UseCount) moves with
        // every request; everything else must not.
        let text = if path == "/v4/ApiKey" {
            let mut v = res.body.clone();
            for k in v.as_array_mut().unwrap() {
                for usage in ["LastUsedAt", "LastUsedFrom", "UseCount"] {
                    k[usage] = Value::Null;
                }
            }
            v.to_string()
        } else {
            res.text
        };
        all.push(format!("{path}: {text}"));
    }
    all
}

fn assert_error_shape(res: &Res, status: u16, context: &str) {
    assert_eq!(res.status, status, "{context}: {}", res.text);
    let messages = res.body["Messages"]
        .as_array()
        .unwrap_or_else(|| panic!("{context}: no Messages in {}", res.text));
    assert!(!messages.is_empty());
    assert!(
        messages[0]["Code"].as_str().is_some_and(|c| !c.is_empty()),
        "{context}"
    );
    assert!(
        messages[0]["Message"]
            .as_str()
            .is_some_and(|m| m.len() > 10),
        "{context}"
    );
    assert!(res.headers.contains_key("x-request-id"), "{context}");
    assert_eq!(res.headers["content-type"], "application/json", "{context}");
}

async fn raw(
    app: &TestApp,
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Res {
    let mut req = app
        .client
        .request(method, app.url(path))
        .bearer_auth(&app.admin_key)
        .body(body);
    if let Some(ct) = content_type {
        req = req.header("Content-Type", ct);
    }
    read(req.send().await.unwrap()).await
}

/// A 3 MiB body: 400 (a field too long) where large bodies are taken, 413 elsewhere.
const LARGE_ONLY: u16 = 0;

#[tokio::test]
async fn every_write_endpoint_refuses_bad_bodies_and_changes_nothing() {
    let app = spawn_app().await;
    let section = app.get("/v4/VaultSection").await.body[0]["VaultSectionGuid"]
        .as_str()
        .unwrap()
        .to_string();
    let item = app
        .post("/v4/VaultItem", json!({"Name": "keep", "VaultSectionGuid": section, "VaultItemType": "CredentialSet", "Password": "unchanged"}))
        .await
        .expect(201)
        .guid("VaultItemGuid");
    app.post(
        &format!("/v4/VaultItem/{item}/Usage"),
        json!({"ConsumerType": "monitor", "ConsumerName": "m"}),
    )
    .await
    .expect(201);
    let key = app.create_key(json!({})).await;
    let group = app
        .post("/v4/OperatorGroup", json!({"Description": "G"}))
        .await
        .expect(201)
        .guid("OperatorGroupGuid");
    let op = key.operator_guid.clone();
    let before = snapshot(&app, &item, &section).await;

    let endpoints: Vec<(Method, String)> = vec![
        (Method::POST, "/v4/ApiKey".into()),
        (Method::PUT, format!("/v4/ApiKey/{}", key.guid)),
        (Method::POST, "/v4/Operator".into()),
        (Method::PUT, format!("/v4/Operator/{op}")),
        (Method::PATCH, format!("/v4/Operator/{op}")),
        (Method::POST, "/v4/OperatorGroup".into()),
        (Method::PUT, format!("/v4/OperatorGroup/{group}")),
        (Method::POST, "/v4/VaultSection".into()),
        (Method::PUT, format!("/v4/VaultSection/{section}")),
        (
            Method::POST,
            format!("/v4/VaultSection/{section}/Authorization"),
        ),
        (Method::POST, "/v4/VaultItem".into()),
        (Method::PUT, format!("/v4/VaultItem/{item}")),
        (Method::PATCH, format!("/v4/VaultItem/{item}")),
        (Method::POST, format!("/v4/VaultItem/{item}/Usage")),
    ];
    let huge = "x".repeat(3 * 1024 * 1024);
    let five_mib = vec![b' '; 5 * 1024 * 1024];
    let json_ct = Some("application/json");
    let cases: Vec<(&str, Option<&str>, Vec<u8>, u16)> = vec![
        ("truncated JSON", json_ct, br#"{"Name": "x", "Notes": "#.to_vec(), 400),
        ("wrong types", json_ct, br#"{"Name": 42, "Description": [1], "VaultItemType": 7, "AuthorizationType": true, "ConsumerType": {}, "FullName": 1}"#.to_vec(), 400),
        ("a null body", json_ct, b"null".to_vec(), 400),
        ("data after the JSON value", json_ct, br#"{"Name": "n"}xyz"#.to_vec(), 400),
        ("two JSON values", json_ct, br#"{"Name": "n"}{"Name": "m"}"#.to_vec(), 400),
        ("an array body", json_ct, b"[]".to_vec(), 400),
        ("nulls everywhere", json_ct, br#"{"Name": null, "Description": null, "FullName": null, "AuthorizationType": null, "ConsumerType": null}"#.to_vec(), 400),
        ("an empty body", json_ct, Vec::new(), 400),
        ("huge strings", json_ct, format!(r#"{{"Name": "{huge}", "Description": "{}", "FullName": "{}", "ConsumerType": "monitor", "ConsumerName": "{}", "AuthorizationType": "ViewVaultSection", "OperatorGuid": "{}"}}"#, &huge[..10], &huge[..10], &huge[..10], &huge[..36]).into_bytes(), LARGE_ONLY),
        ("invalid GUIDs", json_ct, br#"{"Name": "n", "VaultSectionGuid": "not-a-guid", "VaultItemGuid": "nope", "OperatorGuid": "x", "OperatorGroupId": "y", "ApiKeyGuid": "z", "OperatorGroupGuid": "w"}"#.to_vec(), 400),
        ("invalid base64", json_ct, format!(r#"{{"Name": "n", "VaultSectionGuid": "{section}", "VaultItemType": "File", "FileInfo": {{"Name": "f", "Data": "!!not base64!!"}}, "CertificateArchive": {{"ArchiveData": "%%%"}}, "ConsumerType": "monitor"}}"#).into_bytes(), 400),
        ("non-UTF-8 bytes", json_ct, b"{\"Name\": \"\xff\xfe\xfd\"}".to_vec(), 400),
        ("a 5 MiB body", json_ct, five_mib, 413),
        ("text/plain", Some("text/plain"), br#"{"Name": "n"}"#.to_vec(), 415),
        ("a form", Some("application/x-www-form-urlencoded"), b"Name=n".to_vec(), 415),
        ("no content type", None, br#"{"Name": "n"}"#.to_vec(), 415),
    ];
    // Only vault item writes take bodies above 64 KiB (a file or an archive).
    let takes_large_bodies = |path: &str| {
        path == "/v4/VaultItem" || (path.starts_with("/v4/VaultItem/") && !path.ends_with("/Usage"))
    };
    for (method, path) in &endpoints {
        for (what, content_type, body, status) in &cases {
            let status = match *status {
                LARGE_ONLY if takes_large_bodies(path) => &400,
                LARGE_ONLY => &413,
                _ => status,
            };
            let res = raw(&app, method.clone(), path, *content_type, body.clone()).await;
            let context = format!("{method} {path} with {what}");
            assert_error_shape(&res, *status, &context);
            assert!(
                !res.text.contains(&huge[..1000]),
                "{context}: the error echoes the input"
            );
        }
    }

    // Bad GUIDs in paths, on every kind of write.
    for (method, path) in [
        (Method::PUT, "/v4/ApiKey/not-a-guid"),
        (Method::POST, "/v4/ApiKey/not-a-guid/Revoke"),
        (Method::POST, "/v4/ApiKey/not-a-guid/Regenerate"),
        (Method::DELETE, "/v4/ApiKey/123"),
        (Method::DELETE, "/v4/Operator/zzz"),
        (Method::DELETE, "/v4/OperatorGroup/zzz"),
        (Method::POST, "/v4/OperatorGroup/zzz/Member/yyy"),
        (Method::DELETE, "/v4/VaultSection/zzz"),
        (Method::DELETE, "/v4/VaultSection/zzz/Authorization/yyy"),
        (Method::DELETE, "/v4/VaultItem/zzz"),
        (Method::DELETE, "/v4/VaultItem/zzz/Usage/yyy"),
        (Method::GET, "/v4/VaultItem/zzz/Reveal"),
    ] {
        let res = raw(
            &app,
            method.clone(),
            path,
            Some("application/json"),
            b"{}".to_vec(),
        )
        .await;
        assert_error_shape(&res, 400, &format!("{method} {path}"));
        assert_eq!(res.code(), "InvalidGuid", "{method} {path}");
    }

    assert_eq!(
        snapshot(&app, &item, &section).await,
        before,
        "bad input changed stored data"
    );
    let revealed = app.get(&format!("/v4/VaultItem/{item}/Reveal")).await;
    assert_eq!(revealed.body["Password"], "unchanged");
}
