//! Every route of the API, declared in one place.

pub mod health;

use actix_web::{HttpRequest, error, web};

use crate::error::AppError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/health", "GET").route(web::get().to(health::health)));
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
        actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
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
        AppError::bad_request(
            "InvalidPath",
            format!("A path parameter is invalid: {err}."),
        )
        .into()
    })
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(
        |err: error::QueryPayloadError, _req: &HttpRequest| {
            AppError::bad_request(
                "InvalidQuery",
                format!("The query string is invalid: {err}."),
            )
            .into()
        },
    )
}
