//! The middleware every response passes through: the client's address
//! (`http::client`, behind trusted proxies the forwarded one), a request id
//! (also in the log line of any 5xx), the security headers of SPEC §9, our
//! JSON error shape even for errors actix produces itself (405, …), a panic
//! guard so no panic ever reaches a client as a dropped connection, and the
//! request's metrics.

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, ResponseError, web};
use futures_util::FutureExt;

use crate::error::{AppError, ErrorBody, ErrorCode};
use crate::http::client::{self, ClientAddress};
use crate::metrics::{RoutePattern, UNMATCHED_ROUTE};
use crate::state::AppState;

/// The id of the current request, in the request's extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A client-supplied id is kept if it is short and plain, so a caller can
/// correlate; anything else is replaced by a fresh UUID.
fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64)
        .filter(|v| {
            v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        })
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let id = request_id(&req);
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let client = client_of(&req, state.as_ref().map(|s| s.get_ref()));
    req.extensions_mut().insert(RequestId(id.clone()));
    req.extensions_mut().insert(client);
    let method = req.method().clone();
    let path = req.path().to_string();

    // The request cannot be kept aside (actix needs sole ownership to route it),
    // so a panic or a middleware error is returned as an error, which actix
    // renders through `AppError::error_response`: still our JSON shape.
    let outcome = AssertUnwindSafe(next.call(req)).catch_unwind().await;
    let mut res = match outcome {
        Ok(Ok(res)) => res.map_into_boxed_body(),
        Ok(Err(e)) => {
            log::error!("request {id}: {method} {path} from {client} failed in middleware: {e}");
            return Err(e);
        }
        Err(_) => {
            log::error!("request {id}: {method} {path} from {client} panicked");
            return Err(AppError::internal("handler panicked").into());
        }
    };

    let status = res.status();
    let took = started.elapsed();
    if status.is_server_error() {
        let cause = res
            .response()
            .error()
            .map(|e| e.to_string())
            .unwrap_or_default();
        log::error!(
            "request {id}: {method} {path} from {client} -> {}: {cause}",
            status.as_u16()
        );
    } else {
        log::debug!(
            "request {id}: {method} {path} from {client} -> {} in {} us",
            status.as_u16(),
            took.as_micros()
        );
    }
    if let Some(state) = &state {
        let route = res
            .request()
            .extensions()
            .get::<RoutePattern>()
            .map_or(UNMATCHED_ROUTE, |r| r.0);
        state.metrics.request(route, &method, status.as_u16(), took);
    }

    if (status.is_client_error() || status.is_server_error()) && !is_json(&res) {
        res = res.into_response(json_error_for(status, &method));
    }

    let headers = res.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&id) {
        headers.insert(REQUEST_ID, value);
    }
    // A response that chose its own caching or referrer policy keeps it
    // (the console's assets); everything else is never stored.
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(header::REFERRER_POLICY) {
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    if client.https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    Ok(res)
}

/// The request's client: the TCP peer, or behind a trusted proxy the client
/// it forwards for.
fn client_of(req: &ServiceRequest, state: Option<&AppState>) -> ClientAddress {
    let peer = req
        .peer_addr()
        .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |a| a.ip());
    match state {
        Some(state) => client::resolve(
            peer,
            state.config.tls_cert_file.is_some(),
            req.headers(),
            &state.config.trusted_proxies,
        ),
        None => ClientAddress {
            ip: peer.to_canonical(),
            https: false,
        },
    }
}

fn is_json(res: &ServiceResponse<BoxBody>) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// Our shape for an error actix produced without a body we control.
fn json_error_for(status: StatusCode, method: &actix_web::http::Method) -> HttpResponse {
    let (code, message) = match status {
        StatusCode::METHOD_NOT_ALLOWED => (
            ErrorCode::MethodNotAllowed,
            format!(
                "{method} is not allowed on this path; /openapi.json lists the methods each path supports."
            ),
        ),
        StatusCode::NOT_FOUND => (
            ErrorCode::NotFound,
            "Nothing exists at this path; /openapi.json lists every endpoint.".to_string(),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => {
            return crate::http::body::payload_too_large(crate::http::body::LARGE_BODY)
                .error_response();
        }
        s if s.is_server_error() => (
            ErrorCode::InternalError,
            crate::error::INTERNAL_MESSAGE.to_string(),
        ),
        s => (
            ErrorCode::BadRequest,
            format!(
                "The request was refused ({}).",
                s.canonical_reason().unwrap_or("client error")
            ),
        ),
    };
    HttpResponse::build(status).json(ErrorBody::one(code, message))
}

/// For unknown routes: a JSON 404 naming what was asked.
pub async fn route_not_found(req: actix_web::HttpRequest) -> Result<HttpResponse, AppError> {
    Err(AppError::new(
        ErrorCode::RouteNotFound,
        format!(
            "There is no endpoint {} {}. Paths are case-sensitive (e.g. /v4/VaultItem); \
             /openapi.json lists every endpoint.",
            req.method(),
            req.path()
        ),
    ))
}
