//! The same-origin check of requests a browser authenticates by itself —
//! with the console's session cookie. A browser attaches the cookie to any
//! request to this server, whoever asked for it; what another site cannot
//! forge is the `Origin` header (or, failing that, `Referer`), so a request
//! that changes state must name this server's own origin there. JSON
//! clients that send a key in a header are not concerned: a page on
//! another site cannot make a browser send them our key.
//!
//! This server's origin is the scheme the client used (`https` when the
//! request came over TLS, directly or through a trusted proxy:
//! `ClientAddress`) and the `Host` the client addressed. Behind a proxy,
//! the proxy must pass the client's `Host` on, port included (nginx:
//! `proxy_set_header Host $http_host`; `$host` drops the port).

use actix_web::HttpRequest;
use actix_web::http::header;

use crate::auth::principal::client_address;
use crate::error::{AppError, AppResult, ErrorCode};

/// `scheme://host[:port]`, lower case, without the scheme's default port.
fn normalise(scheme: &str, authority: &str) -> Option<String> {
    let scheme = scheme.to_ascii_lowercase();
    let authority = authority.trim().to_ascii_lowercase();
    if authority.is_empty() || authority.contains(['/', '@', ' ', '?', '#']) {
        return None;
    }
    let default_port = match scheme.as_str() {
        "http" => ":80",
        "https" => ":443",
        _ => return None,
    };
    let authority = authority.strip_suffix(default_port).unwrap_or(&authority);
    Some(format!("{scheme}://{authority}"))
}

/// The origin of a URL (`Origin` or `Referer`): its scheme and authority.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    normalise(scheme, authority)
}

/// This server's origin, as the client addressed it.
pub fn own_origin(req: &HttpRequest) -> Option<String> {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()))?;
    let scheme = if client_address(req).https {
        "https"
    } else {
        "http"
    };
    normalise(scheme, &host)
}

/// What the browser says the request came from: `Origin`, else `Referer`.
fn claimed(req: &HttpRequest) -> Option<(&'static str, String)> {
    let text = |name| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    text(header::ORIGIN)
        .map(|o| ("Origin", o))
        .or_else(|| text(header::REFERER).map(|r| ("Referer", r)))
}

fn refused(detail: String) -> AppError {
    AppError::new(
        ErrorCode::CrossOriginRequest,
        format!(
            "This request changes data with the console's session cookie, so it must come from \
             the console's own origin, and {detail}. Use the console itself, or call the API \
             with the key in a header (Authorization: Bearer <key>) instead of the cookie."
        ),
    )
}

/// For a state-changing request authenticated by the session cookie: its
/// `Origin` (else `Referer`) must be this server's origin.
pub fn require_same_origin(req: &HttpRequest) -> AppResult<()> {
    let own = own_origin(req)
        .ok_or_else(|| refused("the request has no usable Host header".to_string()))?;
    match claimed(req) {
        None => Err(refused(
            "it carries neither an Origin nor a Referer header".to_string(),
        )),
        Some((name, value)) => match origin_of(&value) {
            Some(theirs) if theirs == own => Ok(()),
            _ => Err(refused(format!(
                "its {name} ({}) is not {own}",
                value.chars().take(100).collect::<String>()
            ))),
        },
    }
}

/// For the sign-in: a browser always names the page's origin on a POST, so
/// a sign-in from another site's page (login CSRF) is refused; a client
/// that names no origin (curl, a test) is not a browser and may sign in.
pub fn refuse_other_origin(req: &HttpRequest) -> AppResult<()> {
    if claimed(req).is_none() {
        return Ok(());
    }
    require_same_origin(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_compare_by_scheme_host_and_port() {
        assert_eq!(
            origin_of("http://127.0.0.1:8080/#/keys").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(
            origin_of("HTTPS://Vault.Example.com:443").as_deref(),
            Some("https://vault.example.com")
        );
        assert_eq!(
            normalise("http", "[::1]:80").as_deref(),
            Some("http://[::1]")
        );
        assert_eq!(origin_of("null"), None);
        assert_eq!(origin_of("http://evil@127.0.0.1"), None);
        assert_eq!(origin_of("javascript://x"), None);
        assert_ne!(
            origin_of("http://127.0.0.1:8081"),
            origin_of("http://127.0.0.1:8080")
        );
    }
}
