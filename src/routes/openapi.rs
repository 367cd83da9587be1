//! `GET /openapi.json` and `GET /docs`: the API described from the code
//! (utoipa), complete enough for a generic client or fuzzer to drive every
//! endpoint, and a Swagger UI page served from the binary (no CDN).

use actix_web::{HttpResponse, web};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, ClientCredentials, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Scopes,
    SecurityRequirement, SecurityScheme,
};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::error::{ErrorBody, ErrorMessage};

struct Security;

impl Modify for Security {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("coffre API key")
                    .description(Some("`Authorization: Bearer coffre_…`"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Api-Key",
                "`X-Api-Key: coffre_…`",
            ))),
        );
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some("HTTP Basic with the API key as the password (any user name), as Uptrends clients send it"))
                    .build(),
            ),
        );
        let scopes = Scopes::from_iter(crate::types::permissions::all_names().iter().map(|name| {
            let p = crate::types::Permission::parse(name)
                .unwrap_or_else(|| unreachable!("all_names lists permissions"));
            (p.scope().to_string(), format!("The permission {name}"))
        }));
        components.add_security_scheme(
            "oauth2",
            SecurityScheme::OAuth2(OAuth2::with_description(
                [Flow::ClientCredentials(ClientCredentials::new(
                    "/oauth2/token",
                    scopes,
                ))],
                "OAuth 2.0 client credentials: an OAuthClient trades its ClientId and \
                 ClientSecret at POST /oauth2/token for an access token, sent as \
                 `Authorization: Bearer coffreat_…`. One scope per permission.",
            )),
        );
    }
}

/// The ways an operation accepts: a key in any of its three places, or an
/// access token carrying the scope of the operation's permission.
fn security_of(permission: Option<crate::types::Permission>) -> Vec<SecurityRequirement> {
    let no_scopes: [&str; 0] = [];
    vec![
        SecurityRequirement::new("bearer", no_scopes),
        SecurityRequirement::new("apiKey", no_scopes),
        SecurityRequirement::new("basic", no_scopes),
        SecurityRequirement::new("oauth2", permission.map(|p| p.scope())),
    ]
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "coffre",
        description = "An encrypted vault of secrets (Uptrends vault API v4) and API keys with \
            expiry and fine-grained permissions (after Coupa). Every error has the shape \
            `{\"Messages\": [{\"Code\": ..., \"Message\": ...}]}`. Authenticate with an API key in \
            one of three ways: `Authorization: Bearer KEY`, `X-Api-Key: KEY`, or HTTP Basic with \
            the key as the password; or with an OAuth 2.0 access token (client credentials grant \
            at `POST /oauth2/token`) as `Authorization: Bearer TOKEN`, whose scopes \
            (`coffre.<object>.<action>`, one per permission) stand for permissions. The OAuth \
            endpoints answer in OAuth's own shapes (RFC 6749, RFC 7009, RFC 8414)."
    ),
    components(schemas(ErrorBody, ErrorMessage, super::history::HistoryObjectType)),
    modifiers(&Security),
    security(("bearer" = []), ("apiKey" = []), ("basic" = []), ("oauth2" = [])),
    tags(
        (name = "VaultItem", description = "Vault items: credential sets, certificates, certificate archives, files, one-time passwords"),
        (name = "VaultSection", description = "Vault sections and their View/Change authorizations"),
        (name = "ApiKey", description = "API keys: permissions, expiry, revoke, regenerate"),
        (name = "OAuthClient", description = "OAuth 2.0 clients: scopes, expiry, revoke, regenerate"),
        (name = "OAuth", description = "OAuth 2.0 client credentials: tokens, revocation, metadata"),
        (name = "Operator", description = "Operators (account administration)"),
        (name = "OperatorGroup", description = "Operator groups and their members (account administration)"),
        (name = "History", description = "Who changed what, and when"),
        (name = "Outbox", description = "E-mails written by coffre (key expiry)"),
        (name = "Session", description = "The web console's sign-in: an API key exchanged once for a session cookie"),
        (name = "Dev", description = "The dev clock: only with --dev"),
        (name = "Health", description = "Liveness"),
    )
)]
struct ApiDoc;

/// The document for this server: every declared operation (the dev clock
/// only when it exists), each with the extensions `x-coffre-permission` and
/// `x-coffre-requires` and the same in words in its description.
pub fn document(dev: bool) -> utoipa::openapi::OpenApi {
    let mut api = ApiDoc::openapi();
    let mut generated = super::generated();
    generated
        .paths
        .paths
        .retain(|path, _| dev || !super::dev_only(path));
    for item in generated.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            let Some(d) = super::declaration(op) else {
                continue;
            };
            let permission = d.rule.permission.map_or("none", |p| p.name());
            let requires = d.rule.requires;
            let extensions = utoipa::openapi::extensions::ExtensionsBuilder::new()
                .add("x-coffre-permission", permission)
                .add("x-coffre-requires", requires.as_str())
                .build();
            op.extensions
                .get_or_insert_with(Default::default)
                .merge(extensions);
            if d.rule.needs_key() {
                op.security = Some(security_of(d.rule.permission));
            }
            let needs = match d.rule.permission {
                None if requires == crate::http::rules::Requires::None => {
                    "Public: no key is needed.".to_string()
                }
                Some(p) => format!(
                    "Needs the permission `{p}` (OAuth scope `{}`). {}",
                    p.scope(),
                    requires.sentence()
                ),
                None => format!("Needs no permission. {}", requires.sentence()),
            };
            op.description = Some(match op.description.take() {
                Some(d) if !d.is_empty() => format!("{d}\n\n{needs}"),
                _ => needs,
            });
        }
    }
    api.merge(generated);
    if !dev && let Some(tags) = api.tags.as_mut() {
        tags.retain(|t| t.name != "Dev");
    }
    api
}

/// `GET /openapi.json`, precomputed once.
#[derive(Clone)]
pub struct OpenApiJson(pub web::Bytes);

#[utoipa::path(get, path = "/openapi.json", tag = "Health", security(()),
    responses((status = 200, description = "This document (OpenAPI 3.1)", content_type = "application/json")))]
pub async fn openapi_json(doc: web::Data<OpenApiJson>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(doc.0.clone())
}

#[utoipa::path(get, path = "/docs", tag = "Health", security(()),
    responses(
        (status = 308, description = "The human-readable API description lives at /docs/ (Swagger UI, served from the binary)"),
        (status = 200, description = "The Swagger UI page, for clients that follow the redirect", content_type = "text/html")))]
pub async fn docs_page() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header(("Location", "/docs/"))
        .finish()
}

/// The Swagger UI at `/docs/`, reading `/openapi.json`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        SwaggerUi::new("/docs/{_:.*}")
            // The default validator badge fetches from the internet: off.
            .config(
                Config::new(["/openapi.json"])
                    .validator_url("none")
                    .try_it_out_enabled(true),
            ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_documents_its_errors_and_is_authenticated_unless_public() {
        let api = document(true);
        let json = serde_json::to_value(&api).unwrap();
        let paths = json["paths"].as_object().unwrap();
        assert!(paths.len() >= 25, "{} paths", paths.len());
        for (path, item) in paths {
            for (method, op) in item.as_object().unwrap() {
                let responses = op["responses"].as_object().unwrap();
                assert!(
                    responses.keys().any(|c| c.starts_with('2')),
                    "{method} {path}: no success response"
                );
                if op["x-coffre-permission"] != "none" || op["x-coffre-requires"] != "none" {
                    for code in ["400", "401", "403", "404", "429", "500"] {
                        assert!(
                            responses.contains_key(code),
                            "{method} {path}: {code} undocumented"
                        );
                    }
                }
                // JSON bodies; the OAuth forms answer a wrong type with
                // invalid_request (400), as RFC 6749 §5.2 says.
                let json_body = op["requestBody"]["content"]
                    .get("application/json")
                    .is_some();
                if op.get("requestBody").is_some() {
                    assert!(
                        responses.contains_key("413"),
                        "{method} {path}: 413 undocumented"
                    );
                }
                if json_body {
                    for code in ["413", "415"] {
                        assert!(
                            responses.contains_key(code),
                            "{method} {path}: {code} undocumented"
                        );
                    }
                }
            }
        }
        let schemes = json["components"]["securitySchemes"].as_object().unwrap();
        assert!(
            schemes.contains_key("bearer")
                && schemes.contains_key("apiKey")
                && schemes.contains_key("basic")
                && schemes.contains_key("oauth2")
        );
        let flow = &schemes["oauth2"]["flows"]["clientCredentials"];
        assert_eq!(flow["tokenUrl"], "/oauth2/token");
        for scope in crate::types::permissions::all_scopes() {
            assert!(flow["scopes"].get(scope).is_some(), "{scope} undescribed");
        }
        assert!(
            paths["/health"]["get"]["security"]
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s.as_object().unwrap().is_empty())
        );
    }

    #[test]
    fn every_operation_is_declared_once_with_its_permission_and_requirement() {
        let json = serde_json::to_value(document(true)).unwrap();
        let mut seen = Vec::new();
        for (path, item) in json["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let id = op["operationId"].as_str().unwrap().to_string();
                let d = crate::routes::declarations()
                    .iter()
                    .find(|d| d.operation_id == id)
                    .unwrap_or_else(|| panic!("{method} {path} ({id}) is not declared"));
                let permission = d.rule.permission.map_or("none", |p| p.name());
                assert_eq!(op["x-coffre-permission"], permission, "{method} {path}");
                assert_eq!(
                    op["x-coffre-requires"],
                    d.rule.requires.as_str(),
                    "{method} {path}"
                );
                let description = op["description"].as_str().unwrap();
                assert!(
                    description.contains(permission) || permission == "none",
                    "{method} {path}: {description}"
                );
                assert!(
                    description.contains(d.rule.requires.sentence())
                        || d.rule.requires == crate::http::rules::Requires::None,
                    "{method} {path}: {description}"
                );
                assert!(!seen.contains(&id), "{id} declared twice");
                seen.push(id);
            }
        }
        assert_eq!(
            seen.len(),
            crate::routes::declarations().len(),
            "every declaration is an operation"
        );
    }

    #[test]
    fn the_document_lists_every_error_code_with_its_status() {
        let json = serde_json::to_value(document(false)).unwrap();
        let code = &json["components"]["schemas"]["ErrorCode"];
        let names = code["enum"].as_array().unwrap();
        let description = code["description"].as_str().unwrap();
        for c in crate::error::ErrorCode::ALL {
            assert!(names.contains(&serde_json::json!(c.as_str())), "{c:?}");
            assert!(
                description.contains(&format!("`{}` ({})", c.as_str(), c.status().as_u16())),
                "{c:?}"
            );
        }
        assert_eq!(
            json["components"]["schemas"]["ErrorMessage"]["properties"]["Code"]["$ref"],
            "#/components/schemas/ErrorCode"
        );
    }

    #[test]
    fn every_authenticated_operation_says_which_schemes_and_scope_it_accepts() {
        let json = serde_json::to_value(document(true)).unwrap();
        for (path, item) in json["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let security = op["security"].as_array().unwrap();
                let permission = op["x-coffre-permission"].as_str().unwrap();
                if permission == "none" && op["x-coffre-requires"] == "none" {
                    assert!(
                        security.iter().all(|s| s.as_object().unwrap().is_empty()),
                        "{method} {path} is public"
                    );
                    continue;
                }
                let oauth = security
                    .iter()
                    .find_map(|s| s.get("oauth2"))
                    .unwrap_or_else(|| panic!("{method} {path}: no oauth2"));
                let expected: Vec<&str> = crate::types::Permission::parse(permission)
                    .map(|p| p.scope())
                    .into_iter()
                    .collect();
                assert_eq!(oauth, &serde_json::json!(expected), "{method} {path}");
                for scheme in ["bearer", "apiKey", "basic"] {
                    assert!(
                        security.iter().any(|s| s.get(scheme).is_some()),
                        "{method} {path}: no {scheme}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_dev_clock_is_described_only_in_dev_mode() {
        let with = serde_json::to_value(document(true)).unwrap();
        let without = serde_json::to_value(document(false)).unwrap();
        assert!(with["paths"].get("/v4/Dev/Clock").is_some());
        assert!(without["paths"].get("/v4/Dev/Clock").is_none());
    }
}
