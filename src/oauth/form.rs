//! The requests of the OAuth endpoints: an `application/x-www-form-urlencoded`
//! body read under the same cap, deadline and memory bound as every body
//! (`http::body`), parameters per RFC 6749 §3.2 (a parameter sent twice is
//! refused, one sent empty counts as omitted, unknown ones are ignored), and
//! the client's credentials from HTTP Basic or from the body (§2.3.1).

use std::collections::BTreeMap;
use std::time::Duration;

use actix_web::HttpRequest;
use actix_web::dev::Payload;
use actix_web::http::header;
use base64::Engine;
use zeroize::Zeroizing;

use super::wire::{OAuthError, OAuthErrorCode};
use crate::auth::client::ClientCredentials;
use crate::http::body;
use crate::state::AppState;

/// The parameters of a form, each once.
#[derive(Debug, Default)]
pub struct Form {
    params: BTreeMap<String, Zeroizing<String>>,
}

impl Form {
    /// Parses a body. Values may be secrets: errors name parameters, never values.
    pub fn parse(body: &[u8]) -> Result<Form, OAuthError> {
        let mut params = BTreeMap::new();
        for (name, value) in form_urlencoded::parse(body) {
            if value.is_empty() {
                continue;
            }
            let value = Zeroizing::new(value.into_owned());
            if params.insert(name.to_string(), value).is_some() {
                return Err(invalid_request(format!(
                    "The parameter {:?} was sent more than once; send each parameter once.",
                    name.chars().take(40).collect::<String>()
                )));
            }
        }
        Ok(Form { params })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(|v| v.as_str())
    }

    /// A parameter that must be there.
    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| invalid_request(format!("The parameter {name} is required.")))
    }
}

pub fn invalid_request(description: impl Into<String>) -> OAuthError {
    OAuthError::new(OAuthErrorCode::InvalidRequest, description)
}

fn is_form(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| {
            essence
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// Reads and parses the body of an OAuth endpoint.
pub async fn read(
    req: &HttpRequest,
    payload: Payload,
    state: &AppState,
) -> Result<Form, OAuthError> {
    if !is_form(req) {
        return Err(invalid_request(
            "The body must be a form: send it with the header `Content-Type: \
             application/x-www-form-urlencoded` (RFC 6749 §3.2).",
        ));
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let timeout = Duration::from_secs(state.config.body_timeout_secs);
    let cap = body::cap_of(req);
    body::read_then(
        payload,
        declared,
        cap,
        timeout,
        &state.body_budget,
        |bytes| Ok(Form::parse(bytes)),
    )
    .await
    .map_err(OAuthError::from_app)?
}

/// `application/x-www-form-urlencoded` decoding of one Basic credential part.
fn form_decode(part: &str) -> String {
    form_urlencoded::parse(format!("v={part}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// `client_id` and `client_secret` from HTTP Basic (`client_secret_basic`),
/// whose parts are form-encoded (RFC 6749 §2.3.1); `None` for a malformed
/// header, which fails client authentication like a wrong secret.
fn from_basic(value: &str) -> Option<ClientCredentials> {
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .ok()
        .map(Zeroizing::new)?;
    let text = std::str::from_utf8(&decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some(ClientCredentials {
        client_id: form_decode(id),
        client_secret: Zeroizing::new(form_decode(secret)),
    })
}

/// The client's credentials, from HTTP Basic or the body but not both
/// (RFC 6749 §2.3: one method per request). `Ok(None)`: none were sent, or
/// malformed ones, which fail authentication.
pub fn client_credentials(
    req: &HttpRequest,
    form: &Form,
) -> Result<Option<ClientCredentials>, OAuthError> {
    let basic = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, rest)| rest.to_string());
    match (basic, form.get("client_secret")) {
        (Some(_), Some(_)) => Err(invalid_request(
            "The client authenticated twice, with HTTP Basic and with client_secret in the \
             body; use one method (RFC 6749 §2.3).",
        )),
        (Some(header), None) => {
            let credentials = from_basic(&header);
            if let (Some(c), Some(id)) = (&credentials, form.get("client_id"))
                && c.client_id != id
            {
                return Err(invalid_request(
                    "client_id in the body differs from the one in HTTP Basic authentication.",
                ));
            }
            Ok(credentials)
        }
        (None, secret) => Ok(form.get("client_id").map(|id| ClientCredentials {
            client_id: id.to_string(),
            client_secret: Zeroizing::new(secret.unwrap_or("").to_string()),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_decoded_once_each_and_empty_ones_are_omitted() {
        let form =
            Form::parse(b"grant_type=client_credentials&scope=a+b%2Ec&client_id=&x=1").unwrap();
        assert_eq!(form.get("grant_type"), Some("client_credentials"));
        assert_eq!(form.get("scope"), Some("a b.c"));
        assert_eq!(form.get("client_id"), None, "empty means omitted");
        assert_eq!(
            form.get("x"),
            Some("1"),
            "unknown parameters are kept, and ignored"
        );
        assert_eq!(
            form.require("nope").unwrap_err().code(),
            OAuthErrorCode::InvalidRequest
        );
    }

    #[test]
    fn a_parameter_sent_twice_is_refused_without_echoing_values() {
        let e = Form::parse(b"scope=a&client_secret=s3cr3t&client_secret=other").unwrap_err();
        assert_eq!(e.code(), OAuthErrorCode::InvalidRequest);
        let text = format!("{e:?}");
        assert!(
            text.contains("client_secret") && !text.contains("s3cr3t"),
            "{text}"
        );
        // An empty duplicate is an omitted one.
        assert!(Form::parse(b"scope=&scope=x").is_ok());
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let header = base64::engine::general_purpose::STANDARD.encode("my%20id:p%3As+s");
        let c = from_basic(&header).unwrap();
        assert_eq!(c.client_id, "my id");
        assert_eq!(c.client_secret.as_str(), "p:s s");
        assert!(from_basic("not base64!").is_none());
        let no_colon = base64::engine::general_purpose::STANDARD.encode("nocolon");
        assert!(from_basic(&no_colon).is_none());
    }
}
