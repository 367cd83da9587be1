//! `/openapi.json` and `/docs`: generated from the code, complete, and usable
//! with no network.

use reqwest::Method;

use crate::helpers::*;

#[tokio::test]
async fn the_openapi_document_describes_every_route_and_every_status_it_answers() {
    let app = spawn_app().await;
    let res = read(
        app.client
            .get(app.url("/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await
    .expect(200);
    let doc = res.body;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for route in [
        "/health",
        "/v4/ApiKey",
        "/v4/ApiKey/{ApiKeyGuid}",
        "/v4/ApiKey/{ApiKeyGuid}/Revoke",
        "/v4/ApiKey/{ApiKeyGuid}/Regenerate",
        "/v4/ApiKey/{ApiKeyGuid}/History",
        "/v4/Operator",
        "/v4/Operator/{OperatorGuid}",
        "/v4/OperatorGroup",
        "/v4/OperatorGroup/{OperatorGroupGuid}",
        "/v4/OperatorGroup/{OperatorGroupGuid}/Member",
        "/v4/OperatorGroup/{OperatorGroupGuid}/Member/{OperatorGuid}",
        "/v4/VaultSection",
        "/v4/VaultSection/{VaultSectionGuid}",
        "/v4/VaultSection/{VaultSectionGuid}/History",
        "/v4/VaultSection/{VaultSectionGuid}/Authorization",
        "/v4/VaultSection/{VaultSectionGuid}/Authorization/{AuthorizationId}",
        "/v4/VaultItem",
        "/v4/VaultItem/{VaultItemGuid}",
        "/v4/VaultItem/{VaultItemGuid}/Reveal",
        "/v4/VaultItem/{VaultItemGuid}/Otp",
        "/v4/VaultItem/{VaultItemGuid}/History",
        "/v4/VaultItem/{VaultItemGuid}/Usage",
        "/v4/VaultItem/{VaultItemGuid}/Usage/{UsageGuid}",
        "/v4/History",
        "/v4/Outbox",
    ] {
        assert!(paths.contains_key(route), "{route} is not described");
    }
    assert!(
        !paths.contains_key("/v4/Dev/Clock"),
        "the dev clock exists only with --dev"
    );

    // Every described operation exists, and what it answers (here, for an
    // object that does not exist) is among its documented statuses.
    let missing = "00000000-0000-4000-8000-0000000000AB";
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let url = path
                .split('/')
                .map(|seg| if seg.starts_with('{') { missing } else { seg })
                .collect::<Vec<_>>()
                .join("/");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let body = op.get("requestBody").map(|_| serde_json::json!({}));
            let res = app
                .send(&app.admin_key, method.clone(), &url, body.as_ref())
                .await;
            assert_ne!(
                res.code(),
                "RouteNotFound",
                "{method} {path} is described but not routed"
            );
            let documented = op["responses"].as_object().unwrap();
            assert!(
                documented.contains_key(&res.status.to_string()),
                "{method} {path} answered {} undocumented: {}",
                res.status,
                res.text
            );
        }
    }

    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["apiKey"]["name"], "X-Api-Key");
    assert_eq!(schemes["basic"]["scheme"], "basic");
    let error = &doc["components"]["schemas"]["ErrorBody"];
    assert!(error["properties"]["Messages"].is_object(), "{error}");
}

#[tokio::test]
async fn the_docs_page_is_served_from_the_binary_and_loads_nothing_from_elsewhere() {
    let app = spawn_app().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let redirect = client.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(redirect.status(), 308);
    assert_eq!(redirect.headers()["location"], "/docs/");
    let page = client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    let assets: Vec<String> = html
        .split(['"', '\''])
        .filter(|s| s.ends_with(".js") || s.ends_with(".css") || s.ends_with(".png"))
        .map(str::to_string)
        .collect();
    assert!(assets.len() >= 4, "{assets:?}");
    for asset in &assets {
        assert!(
            !asset.contains("://"),
            "{asset} would be fetched from the network"
        );
        let url = app.url(&format!("/docs/{}", asset.trim_start_matches("./")));
        let res = client.get(&url).send().await.unwrap();
        assert_eq!(res.status(), 200, "{url}");
    }
    let init = client
        .get(app.url("/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(init.contains("\"/openapi.json\""), "{init}");
    assert!(
        init.contains("\"validatorUrl\": \"none\""),
        "the validator badge would call out: {init}"
    );
    let css = client
        .get(app.url("/docs/swagger-ui.css"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for import in css
        .match_indices("url(")
        .map(|(i, _)| &css[i..(i + 40).min(css.len())])
    {
        assert!(
            import.starts_with("url(data:") || import.starts_with("url(\"data:"),
            "{import}"
        );
    }
}
