//! `GET /openapi.json` and `GET /docs`: the API described from the code
//! (utoipa), complete enough for a generic client or fuzzer to drive every
//! endpoint, and a Swagger UI page served from the binary (no CDN).

use actix_web::{HttpResponse, web};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::{Config, SwaggerUi};

use super::{api_keys, dev, groups, health, history, items, operators, outbox, sections};
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
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "coffre",
        description = "An encrypted vault of secrets (Uptrends vault API v4) and API keys with \
            expiry and fine-grained permissions (after Coupa). Every error has the shape \
            `{\"Messages\": [{\"Code\": ..., \"Message\": ...}]}`. Authenticate with an API key in \
            one of three ways: `Authorization: Bearer KEY`, `X-Api-Key: KEY`, or HTTP Basic with \
            the key as the password."
    ),
    paths(
        health::health,
        api_keys::list_keys, api_keys::get_key, api_keys::create_key, api_keys::replace_key,
        api_keys::revoke_key, api_keys::regenerate_key, api_keys::delete_key, api_keys::key_history,
        operators::list_operators, operators::get_operator, operators::create_operator,
        operators::replace_operator, operators::patch_operator, operators::delete_operator,
        groups::list_groups, groups::get_group, groups::create_group, groups::replace_group,
        groups::delete_group, groups::list_members, groups::add_member, groups::remove_member,
        sections::list_sections, sections::get_section, sections::create_section,
        sections::rename_section, sections::delete_section, sections::section_history,
        sections::list_authorizations, sections::create_authorization, sections::delete_authorization,
        items::list_items, items::get_item, items::create_item, items::replace_item, items::patch_item,
        items::delete_item, items::reveal_item, items::item_otp, items::item_history,
        items::list_usage, items::add_usage, items::remove_usage,
        history::list_history,
        outbox::list_outbox,
        dev::get_clock, dev::set_clock, dev::reset_clock,
    ),
    components(schemas(ErrorBody, ErrorMessage, super::history::HistoryObjectType)),
    modifiers(&Security),
    security(("bearer" = []), ("apiKey" = []), ("basic" = [])),
    tags(
        (name = "VaultItem", description = "Vault items: credential sets, certificates, certificate archives, files, one-time passwords"),
        (name = "VaultSection", description = "Vault sections and their View/Change authorizations"),
        (name = "ApiKey", description = "API keys: permissions, expiry, revoke, regenerate"),
        (name = "Operator", description = "Operators (account administration)"),
        (name = "OperatorGroup", description = "Operator groups and their members (account administration)"),
        (name = "History", description = "Who changed what, and when"),
        (name = "Outbox", description = "E-mails written by coffre (key expiry)"),
        (name = "Dev", description = "The dev clock: only with --dev"),
        (name = "Health", description = "Liveness"),
    )
)]
struct ApiDoc;

/// The document for this server: the dev clock is described only when it exists.
pub fn document(dev: bool) -> utoipa::openapi::OpenApi {
    let mut api = ApiDoc::openapi();
    if !dev {
        api.paths
            .paths
            .retain(|path, _| !path.starts_with("/v4/Dev/"));
        if let Some(tags) = api.tags.as_mut() {
            tags.retain(|t| t.name != "Dev");
        }
    }
    api
}

/// `/openapi.json` and the Swagger UI at `/docs/`.
pub fn configure(cfg: &mut web::ServiceConfig, api: utoipa::openapi::OpenApi) {
    cfg.service(
        SwaggerUi::new("/docs/{_:.*}")
            .url("/openapi.json", api)
            // The default validator badge fetches from the internet: off.
            .config(
                Config::new(["/openapi.json"])
                    .validator_url("none")
                    .try_it_out_enabled(true),
            ),
    )
    .route(
        "/docs",
        web::get().to(|| async {
            HttpResponse::PermanentRedirect()
                .insert_header(("Location", "/docs/"))
                .finish()
        }),
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
                if path != "/health" {
                    for code in ["400", "401", "403", "404", "429", "500"] {
                        assert!(
                            responses.contains_key(code),
                            "{method} {path}: {code} undocumented"
                        );
                    }
                }
                if op.get("requestBody").is_some() {
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
        );
        assert!(
            paths["/health"]["get"]["security"]
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s.as_object().unwrap().is_empty())
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
    fn the_dev_clock_is_described_only_in_dev_mode() {
        let with = serde_json::to_value(document(true)).unwrap();
        let without = serde_json::to_value(document(false)).unwrap();
        assert!(with["paths"].get("/v4/Dev/Clock").is_some());
        assert!(without["paths"].get("/v4/Dev/Clock").is_none());
    }
}
