//! Every route of the API, declared in one place.

pub mod admin;
pub mod api_keys;
pub mod dev;
pub mod docs;
pub mod groups;
pub mod health;
pub mod history;
pub mod items;
pub mod openapi;
pub mod operators;
pub mod outbox;
pub mod sections;

use actix_web::{HttpRequest, error, web};

use crate::error::{AppError, ErrorCode};
use crate::http::body::{BodyCap, LARGE_BODY};

/// The whole API surface. Each resource family is a scope, so routing tests
/// one static prefix per family before any path pattern. The dev clock exists
/// only with `--dev`.
pub fn configure(cfg: &mut web::ServiceConfig, dev: bool) {
    use web::{delete, get, patch, post, put, scope};
    cfg.service(resource("/health", "GET").route(get().to(health::health)));

    cfg.service(
        scope("/v4/VaultItem")
            .service(
                resource("/{guid}", "GET, PUT, PATCH, DELETE")
                    .app_data(BodyCap(LARGE_BODY))
                    .route(get().to(items::get_item))
                    .route(put().to(items::replace_item))
                    .route(patch().to(items::patch_item))
                    .route(delete().to(items::delete_item)),
            )
            .service(
                resource("", "GET, POST")
                    .app_data(BodyCap(LARGE_BODY))
                    .route(get().to(items::list_items))
                    .route(post().to(items::create_item)),
            )
            .service(resource("/{guid}/Reveal", "GET").route(get().to(items::reveal_item)))
            .service(resource("/{guid}/Otp", "GET").route(get().to(items::item_otp)))
            .service(resource("/{guid}/History", "GET").route(get().to(items::item_history)))
            .service(
                resource("/{guid}/Usage", "GET, POST")
                    .route(get().to(items::list_usage))
                    .route(post().to(items::add_usage)),
            )
            .service(
                resource("/{guid}/Usage/{usage}", "DELETE").route(delete().to(items::remove_usage)),
            ),
    );

    cfg.service(
        scope("/v4/VaultSection")
            .service(
                resource("", "GET, POST")
                    .route(get().to(sections::list_sections))
                    .route(post().to(sections::create_section)),
            )
            .service(
                resource("/{guid}", "GET, PUT, DELETE")
                    .route(get().to(sections::get_section))
                    .route(put().to(sections::rename_section))
                    .route(delete().to(sections::delete_section)),
            )
            .service(resource("/{guid}/History", "GET").route(get().to(sections::section_history)))
            .service(
                resource("/{guid}/Authorization", "GET, POST")
                    .route(get().to(sections::list_authorizations))
                    .route(post().to(sections::create_authorization)),
            )
            .service(
                resource("/{guid}/Authorization/{authorization}", "DELETE")
                    .route(delete().to(sections::delete_authorization)),
            ),
    );

    cfg.service(
        scope("/v4/ApiKey")
            .service(
                resource("/{guid}", "GET, PUT, DELETE")
                    .route(get().to(api_keys::get_key))
                    .route(put().to(api_keys::replace_key))
                    .route(delete().to(api_keys::delete_key)),
            )
            .service(
                resource("", "GET, POST")
                    .route(get().to(api_keys::list_keys))
                    .route(post().to(api_keys::create_key)),
            )
            .service(resource("/{guid}/Revoke", "POST").route(post().to(api_keys::revoke_key)))
            .service(
                resource("/{guid}/Regenerate", "POST").route(post().to(api_keys::regenerate_key)),
            )
            .service(resource("/{guid}/History", "GET").route(get().to(api_keys::key_history))),
    );

    cfg.service(
        scope("/v4/Operator")
            .service(
                resource("", "GET, POST")
                    .route(get().to(operators::list_operators))
                    .route(post().to(operators::create_operator)),
            )
            .service(
                resource("/{guid}", "GET, PUT, PATCH, DELETE")
                    .route(get().to(operators::get_operator))
                    .route(put().to(operators::replace_operator))
                    .route(patch().to(operators::patch_operator))
                    .route(delete().to(operators::delete_operator)),
            ),
    );

    cfg.service(
        scope("/v4/OperatorGroup")
            .service(
                resource("", "GET, POST")
                    .route(get().to(groups::list_groups))
                    .route(post().to(groups::create_group)),
            )
            .service(
                resource("/{guid}", "GET, PUT, DELETE")
                    .route(get().to(groups::get_group))
                    .route(put().to(groups::replace_group))
                    .route(delete().to(groups::delete_group)),
            )
            .service(resource("/{guid}/Member", "GET").route(get().to(groups::list_members)))
            .service(
                resource("/{guid}/Member/{operator}", "POST, DELETE")
                    .route(post().to(groups::add_member))
                    .route(delete().to(groups::remove_member)),
            ),
    );

    cfg.service(resource("/v4/History", "GET").route(get().to(history::list_history)));
    cfg.service(resource("/v4/Outbox", "GET").route(get().to(outbox::list_outbox)));

    if dev {
        cfg.service(
            resource("/v4/Dev/Clock", "GET, PUT, DELETE")
                .route(get().to(dev::get_clock))
                .route(put().to(dev::set_clock))
                .route(delete().to(dev::reset_clock)),
        );
    }
}

/// A resource whose unsupported methods get a JSON 405 listing the allowed ones.
fn resource(path: &str, allowed: &'static str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move |req: HttpRequest| async move {
        method_not_allowed(&req, allowed)
    }))
}

fn method_not_allowed(req: &HttpRequest, allowed: &'static str) -> actix_web::HttpResponse {
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
    res.headers_mut().insert(
        actix_web::http::header::ALLOW,
        actix_web::http::header::HeaderValue::from_static(allowed),
    );
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
