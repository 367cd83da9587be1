//! Every route of the API, declared once, in `api!` below: the handler (whose
//! `#[utoipa::path]` gives its method, path and documentation), the
//! permission the key must hold, and the operator right it needs besides.
//! From that one list come the route table, the 405 answers, the OpenAPI
//! document (with `x-coffre-permission` and `x-coffre-requires` on every
//! operation) and the checks: `http::rules::guard` authenticates and checks
//! the permission before the handler runs; `AppState::read`/`write` check
//! Administrators; the vault rules check section rights.

pub mod api_keys;
pub mod dev;
pub mod docs;
pub mod groups;
pub mod health;
pub mod history;
pub mod items;
pub mod oauth;
pub mod oauth_clients;
pub mod openapi;
pub mod operators;
pub mod outbox;
pub mod sections;
pub mod session;

use std::sync::OnceLock;

use actix_web::middleware::from_fn;
use actix_web::{HttpMessage, HttpRequest, error, web};
use utoipa::OpenApi;
use utoipa::openapi::path::{HttpMethod, Operation, PathItem};

use crate::error::{AppError, ErrorCode};
use crate::http::body::{BodyCap, LARGE_BODY};
use crate::http::rules::{Requires, RouteRule, guard};
use crate::metrics::{RoutePattern, UNMATCHED_ROUTE};
use crate::types::Permission;

/// One declared operation.
#[derive(Clone, Copy)]
pub struct Declaration {
    /// The handler's name, which is also its OpenAPI `operationId`.
    pub operation_id: &'static str,
    pub rule: RouteRule,
    /// Takes bodies up to 4 MiB (a file or an archive); others 64 KiB.
    pub large_body: bool,
    /// Registers the handler on a route.
    route: fn(actix_web::Route) -> actix_web::Route,
}

macro_rules! api {
    (@permission none) => { None };
    (@permission $p:ident) => { Some(Permission::$p) };
    (@large large) => { true };
    (@large) => { false };
    ($( $module:ident :: $handler:ident => $permission:ident, $requires:ident $(, $large:ident)? ; )*) => {
        #[derive(OpenApi)]
        #[openapi(paths( $( $module::$handler ),* ))]
        struct Operations;

        /// Every operation, with what it needs.
        pub fn declarations() -> &'static [Declaration] {
            const ALL: &[Declaration] = &[ $( Declaration {
                operation_id: stringify!($handler),
                rule: RouteRule {
                    permission: api!(@permission $permission),
                    requires: Requires::$requires,
                },
                large_body: api!(@large $($large)?),
                route: |r| r.to($module::$handler),
            } ),* ];
            ALL
        }
    };
}

api! {
    health::health                      => none, None;
    openapi::openapi_json               => none, None;
    openapi::docs_page                  => none, None;

    // OAuth 2.0: public, authenticating the client themselves.
    oauth::token                        => none, None;
    oauth::revoke                       => none, None;
    oauth::metadata                     => none, None;

    // The web console's sign-in: public, checking the key itself.
    session::sign_in                    => none, None;
    session::current_session            => none, Authenticated;
    session::sign_out                   => none, None;

    items::list_items                   => ITEM_READ, Filtered;
    items::get_item                     => ITEM_READ, ViewVaultSection;
    items::create_item                  => ITEM_CREATE, ChangeVaultSection, large;
    items::replace_item                 => ITEM_UPDATE, ChangeVaultSection, large;
    items::patch_item                   => ITEM_UPDATE, ChangeVaultSection, large;
    items::delete_item                  => ITEM_DELETE, ChangeVaultSection;
    items::reveal_item                  => ITEM_REVEAL, ViewVaultSection;
    items::item_otp                     => ITEM_READ, ViewVaultSection;
    items::item_history                 => ITEM_READ, ViewVaultSection;
    items::list_versions                => ITEM_READ, ViewVaultSection;
    items::reveal_version               => ITEM_REVEAL, ViewVaultSection;
    items::restore_version              => ITEM_UPDATE, ChangeVaultSection;
    items::list_usage                   => ITEM_READ, ViewVaultSection;
    items::add_usage                    => ITEM_USE, ViewVaultSection;
    items::remove_usage                 => ITEM_USE, ViewVaultSection;

    sections::list_sections             => SECTION_READ, Filtered;
    sections::get_section               => SECTION_READ, ViewOrAdministrators;
    sections::create_section            => SECTION_CREATE, None;
    sections::rename_section            => SECTION_UPDATE, ChangeVaultSection;
    sections::delete_section            => SECTION_DELETE, ChangeVaultSection;
    sections::section_history           => SECTION_READ, ViewOrAdministrators;
    sections::list_authorizations       => AUTHORIZATION_READ, ViewOrAdministrators;
    sections::create_authorization      => AUTHORIZATION_CREATE, ChangeOrAdministrators;
    sections::delete_authorization      => AUTHORIZATION_DELETE, ChangeOrAdministrators;

    api_keys::list_keys                 => API_KEY_READ, Administrators;
    api_keys::get_key                   => API_KEY_READ, Administrators;
    api_keys::create_key                => API_KEY_CREATE, Administrators;
    api_keys::replace_key               => API_KEY_UPDATE, Administrators;
    api_keys::revoke_key                => API_KEY_UPDATE, Administrators;
    api_keys::regenerate_key            => API_KEY_UPDATE, Administrators;
    api_keys::delete_key                => API_KEY_DELETE, Administrators;
    api_keys::key_history               => API_KEY_READ, Administrators;

    oauth_clients::list_oauth_clients   => OAUTH_CLIENT_READ, Administrators;
    oauth_clients::get_oauth_client     => OAUTH_CLIENT_READ, Administrators;
    oauth_clients::create_oauth_client  => OAUTH_CLIENT_CREATE, Administrators;
    oauth_clients::replace_oauth_client => OAUTH_CLIENT_UPDATE, Administrators;
    oauth_clients::revoke_oauth_client  => OAUTH_CLIENT_UPDATE, Administrators;
    oauth_clients::regenerate_oauth_client => OAUTH_CLIENT_UPDATE, Administrators;
    oauth_clients::delete_oauth_client  => OAUTH_CLIENT_DELETE, Administrators;
    oauth_clients::oauth_client_history => OAUTH_CLIENT_READ, Administrators;

    operators::list_operators           => OPERATOR_READ, Administrators;
    operators::get_operator             => OPERATOR_READ, Administrators;
    operators::create_operator          => OPERATOR_CREATE, Administrators;
    operators::replace_operator         => OPERATOR_UPDATE, Administrators;
    operators::patch_operator           => OPERATOR_UPDATE, Administrators;
    operators::delete_operator          => OPERATOR_DELETE, Administrators;

    groups::list_groups                 => GROUP_READ, Administrators;
    groups::get_group                   => GROUP_READ, Administrators;
    groups::create_group                => GROUP_CREATE, Administrators;
    groups::replace_group               => GROUP_UPDATE, Administrators;
    groups::delete_group                => GROUP_DELETE, Administrators;
    groups::list_members                => GROUP_READ, Administrators;
    groups::add_member                  => GROUP_UPDATE, Administrators;
    groups::remove_member               => GROUP_UPDATE, Administrators;

    history::list_history               => HISTORY_READ, Administrators;
    outbox::list_outbox                 => OUTBOX_READ, Administrators;

    dev::get_clock                      => none, Administrators;
    dev::set_clock                      => none, Administrators;
    dev::reset_clock                    => none, Administrators;
    dev::reset                          => none, Administrators;
}

/// Paths that exist only with `--dev`.
pub fn dev_only(path: &str) -> bool {
    path.starts_with("/v4/Dev/")
}

/// The operations of a path item, with their methods, in a fixed order.
pub fn operations(item: &PathItem) -> Vec<(HttpMethod, &Operation)> {
    [
        (HttpMethod::Get, &item.get),
        (HttpMethod::Put, &item.put),
        (HttpMethod::Post, &item.post),
        (HttpMethod::Patch, &item.patch),
        (HttpMethod::Delete, &item.delete),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.as_ref().map(|op| (m, op)))
    .collect()
}

/// The declaration of an operation, by its id.
pub fn declaration(operation: &Operation) -> Option<&'static Declaration> {
    let id = operation.operation_id.as_deref()?;
    declarations().iter().find(|d| d.operation_id == id)
}

/// The operations as utoipa generated them from the handlers.
pub fn generated() -> utoipa::openapi::OpenApi {
    Operations::openapi()
}

fn method(m: &HttpMethod) -> actix_web::http::Method {
    use actix_web::http::Method;
    match m {
        HttpMethod::Get => Method::GET,
        HttpMethod::Put => Method::PUT,
        HttpMethod::Post => Method::POST,
        HttpMethod::Patch => Method::PATCH,
        HttpMethod::Delete => Method::DELETE,
        HttpMethod::Head => Method::HEAD,
        HttpMethod::Options => Method::OPTIONS,
        HttpMethod::Trace => Method::TRACE,
    }
}

/// The whole API surface, from the declarations. Each resource family
/// (`/v4/VaultItem`, …) is a scope, so routing tests one static prefix per
/// family before any path pattern. The dev clock exists only with `--dev`.
pub fn configure(cfg: &mut web::ServiceConfig, dev: bool) {
    let generated = generated();
    let mut scopes: Vec<(String, actix_web::Scope)> = Vec::new();
    for (path, item) in generated.paths.paths.iter() {
        if dev_only(path) && !dev {
            continue;
        }
        let pattern = static_pattern(path);
        let mut allowed: Vec<String> = Vec::new();
        let mut large = false;
        let mut routes = Vec::new();
        for (m, op) in operations(item) {
            let Some(d) = declaration(op) else {
                continue;
            };
            let method = method(&m);
            allowed.push(method.to_string());
            large |= d.large_body;
            let rule = d.rule;
            let route = (d.route)(web::method(method.clone()))
                .wrap(from_fn(move |req, next| guard(rule, pattern, req, next)));
            routes.push(route);
        }
        let family = family_of(path);
        let rest = family.as_ref().map_or(path.as_str(), |f| &path[f.len()..]);
        let mut resource = resource(rest.to_string(), allowed.join(", "), pattern);
        if large {
            resource = resource.app_data(BodyCap(LARGE_BODY));
        }
        for route in routes {
            resource = resource.route(route);
        }
        let Some(family) = family else {
            // Outside /v4 (/health, /openapi.json, /docs): exact paths, no scope
            // (a /docs scope would hide the Swagger UI under /docs/).
            cfg.service(resource);
            continue;
        };
        match scopes.iter_mut().find(|(f, _)| *f == family) {
            Some((_, scope)) => {
                let taken = std::mem::replace(scope, web::scope(""));
                *scope = taken.service(resource);
            }
            None => scopes.push((family.clone(), web::scope(&family).service(resource))),
        }
    }
    for (_, scope) in scopes {
        cfg.service(scope);
    }
}

/// `/v4/VaultItem/{VaultItemGuid}` → `/v4/VaultItem`; none outside `/v4`.
fn family_of(path: &str) -> Option<String> {
    let mut segments = path.split('/').skip(1);
    match (segments.next(), segments.next()) {
        (Some("v4"), Some(family)) => Some(format!("/v4/{family}")),
        _ => None,
    }
}

/// A resource whose unsupported methods get a JSON 405 listing the allowed ones.
pub(crate) fn resource(
    path: String,
    allowed: String,
    pattern: &'static str,
) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move |req: HttpRequest| {
        let allowed = allowed.clone();
        req.extensions_mut().insert(RoutePattern(pattern));
        async move { method_not_allowed(&req, &allowed) }
    }))
}

/// The declared path pattern `path` is, with a lifetime that metrics labels
/// can keep (the list is built once per process).
fn static_pattern(path: &str) -> &'static str {
    static PATTERNS: OnceLock<Vec<String>> = OnceLock::new();
    PATTERNS
        .get_or_init(|| generated().paths.paths.keys().cloned().collect())
        .iter()
        .find(|p| *p == path)
        .map_or(UNMATCHED_ROUTE, String::as_str)
}

fn method_not_allowed(req: &HttpRequest, allowed: &str) -> actix_web::HttpResponse {
    use actix_web::ResponseError;
    let mut res = AppError::new(
        ErrorCode::MethodNotAllowed,
        format!(
            "{} is not allowed on {}; use {allowed}.",
            req.method(),
            req.path()
        ),
    )
    .error_response();
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(allowed) {
        res.headers_mut()
            .insert(actix_web::http::header::ALLOW, value);
    }
    res
}

/// Path segments that fail to parse get our error shape.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err: error::PathError, _req: &HttpRequest| {
        AppError::new(
            ErrorCode::InvalidPath,
            format!("A path parameter is invalid: {err}."),
        )
        .into()
    })
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(
        |err: error::QueryPayloadError, _req: &HttpRequest| {
            AppError::new(
                ErrorCode::InvalidQuery,
                format!("The query string is invalid: {err}."),
            )
            .into()
        },
    )
}
