//! `ApiJson<T>`: the JSON body extractor every write endpoint uses. Unlike
//! actix's own it answers in our error shape and says exactly what is wrong:
//! 415 without a JSON content type, 413 past the route's cap, 408 for a body
//! that does not arrive in time, 503 when too many bodies are held at once
//! (see `body`), 400 with the path of the offending field. Messages never
//! echo submitted values, which may be secrets.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use serde::de::DeserializeOwned;

use super::body;
use crate::error::{AppError, ErrorCode};
use crate::state::AppState;
use crate::validate;

pub struct ApiJson<T>(pub T);

impl<T> ApiJson<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

fn is_json(req: &HttpRequest) -> bool {
    let Some(value) = req.headers().get(header::CONTENT_TYPE) else {
        return false;
    };
    let Ok(text) = value.to_str() else {
        return false;
    };
    let essence = text
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(req);
        let read = Reading::of(req, payload);
        Box::pin(async move {
            if !json {
                return Err(not_json());
            }
            read.then(parse).await.map(ApiJson)
        })
    }
}

/// What reading a request's body needs, taken from the request before the
/// extractor's future runs.
struct Reading {
    payload: Payload,
    declared: Option<usize>,
    cap: usize,
    state: Option<web::Data<AppState>>,
}

impl Reading {
    fn of(req: &HttpRequest, payload: &mut Payload) -> Reading {
        Reading {
            payload: payload.take(),
            declared: req
                .headers()
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<usize>().ok()),
            cap: body::cap_of(req),
            state: req.app_data::<web::Data<AppState>>().cloned(),
        }
    }

    /// Reads the body under the route's cap, the deadline and the memory
    /// bound, then `parse`s it.
    async fn then<T>(
        self,
        parse: impl FnOnce(&[u8]) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        let state = self
            .state
            .ok_or_else(|| AppError::internal("application state missing"))?;
        let timeout = Duration::from_secs(state.config.body_timeout_secs);
        body::read_then(
            self.payload,
            self.declared,
            self.cap,
            timeout,
            &state.body_budget,
            parse,
        )
        .await
    }
}

fn not_json() -> AppError {
    AppError::new(
        ErrorCode::UnsupportedMediaType,
        "The request body must be JSON: send it with the header \
         `Content-Type: application/json`.",
    )
}

/// `ApiJson` for a body that may be left out: none at all (or only
/// whitespace) is `T::default()`; one that is sent must be JSON, under the
/// same cap, deadline and memory bound.
pub struct OptionalJson<T>(pub T);

impl<T> OptionalJson<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned + Default + 'static> FromRequest for OptionalJson<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(req);
        let read = Reading::of(req, payload);
        Box::pin(async move {
            read.then(move |bytes: &[u8]| {
                if bytes.iter().all(u8::is_ascii_whitespace) {
                    Ok(T::default())
                } else if !json {
                    Err(not_json())
                } else {
                    parse(bytes)
                }
            })
            .await
            .map(OptionalJson)
        })
    }
}

/// Parses a JSON body, turning serde's complaint into a message that names the
/// field and never repeats a submitted value.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::new(
            ErrorCode::BodyMissing,
            "The request body is empty: send a JSON object.",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        describe(&path, &inner)
    })?;
    // One JSON value and nothing after it but whitespace: `{..}xyz` or
    // `{..}{..}` is not "the first object", it is a malformed body.
    de.end().map_err(|e| {
        AppError::new(
            ErrorCode::MalformedJson,
            format!(
                "The request body has data after its JSON value (at line {}, column {}). Send \
                 exactly one JSON object, with nothing after it but whitespace.",
                e.line(),
                e.column()
            ),
        )
    })?;
    Ok(value)
}

fn describe(path: &str, e: &serde_json::Error) -> AppError {
    use serde_json::error::Category;
    let at = format!("line {}, column {}", e.line(), e.column());
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => AppError::new(
            ErrorCode::MalformedJson,
            format!(
                "The request body is not valid JSON ({}, at {at}). Check quotes, commas and braces, and that the text is UTF-8.",
                validate::redact(&e.to_string())
            ),
        ),
        Category::Data => {
            let field = if path == "." || path.is_empty() {
                "the body".to_string()
            } else {
                format!("`{path}`")
            };
            AppError::new(
                ErrorCode::InvalidField,
                format!(
                    "Invalid value for {field}: {}.",
                    validate::redact(&e.to_string())
                ),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[allow(dead_code)]
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "PascalCase")]
    struct Inner {
        digits: u8,
    }

    #[allow(dead_code)]
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "PascalCase")]
    struct Body {
        name: String,
        info: Option<Inner>,
        kind: Option<Kind>,
    }

    #[derive(Debug, Deserialize)]
    enum Kind {
        Alpha,
    }

    fn message(body: &str) -> String {
        let err = parse::<Body>(body.as_bytes()).unwrap_err();
        assert_eq!(err.status(), 400);
        err.messages()[0].message.clone()
    }

    #[test]
    fn names_the_nested_field_that_is_wrong() {
        let m = message(r#"{"Name": "x", "Info": {"Digits": "hunter2"}}"#);
        assert!(m.contains("`Info.Digits`"), "{m}");
        assert!(!m.contains("hunter2"), "{m}");
    }

    #[test]
    fn never_echoes_unknown_variants_or_values() {
        let m = message(r#"{"Name": "x", "Kind": "s3cr3t-value"}"#);
        assert!(!m.contains("s3cr3t"), "{m}");
        assert!(m.contains("Alpha"), "{m}");
    }

    #[test]
    fn reports_missing_and_unknown_fields() {
        assert!(message(r#"{}"#).contains("`Name`"));
        let m = message(r#"{"Name": "x", "Nmae": 1}"#);
        assert!(m.contains("Nmae"), "{m}");
    }

    #[test]
    fn anything_after_the_json_value_is_refused() {
        for body in [
            r#"{"Name": "x"}xyz"#,
            r#"{"Name": "x"}{"Name": "y"}"#,
            r#"{"Name": "x"} ,"#,
        ] {
            let e = parse::<Body>(body.as_bytes()).unwrap_err();
            assert_eq!(
                (e.status().as_u16(), e.code()),
                (400, "MalformedJson"),
                "{body}"
            );
        }
        assert!(parse::<Body>(b"{\"Name\": \"x\"} \r\n\t ").is_ok());
    }

    #[test]
    fn malformed_and_empty_bodies_are_400() {
        assert!(message(r#"{"Name": "#).contains("not valid JSON"));
        let e = parse::<Body>(b"  ").unwrap_err();
        assert_eq!(e.code(), "BodyMissing");
        let e = parse::<Body>(b"{\"Name\": \"\xff\"}").unwrap_err();
        assert_eq!(e.code(), "MalformedJson");
    }
}
