//! Shared pieces of the OpenAPI description: the error responses every
//! operation documents, and the three ways to authenticate.

use std::collections::BTreeMap;

use utoipa::openapi::{RefOr, Response, ResponseBuilder};
use utoipa::{IntoResponses, ToSchema};

use crate::error::ErrorBody;

fn error(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            utoipa::openapi::ContentBuilder::new()
                .schema(Some(utoipa::openapi::Ref::from_schema_name(
                    ErrorBody::name(),
                )))
                .build(),
        )
        .into()
}

fn set(codes: &[(&str, &str)]) -> BTreeMap<String, RefOr<Response>> {
    codes
        .iter()
        .map(|(code, d)| (code.to_string(), error(d)))
        .collect()
}

const COMMON: [(&str, &str); 6] = [
    (
        "400",
        "Invalid input: the message names the field and the rule",
    ),
    ("401", "Missing, unknown, expired or revoked API key"),
    (
        "403",
        "The key lacks a permission, or its operator lacks the rights",
    ),
    (
        "429",
        "Too many failed authentications from this address; see Retry-After",
    ),
    (
        "500",
        "Internal error; the X-Request-Id identifies it in the server log",
    ),
    ("503", "The database is busy with another writer; retry"),
];

/// Errors of operations without a body.
pub struct ReadErrors;

impl IntoResponses for ReadErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let mut m = set(&COMMON);
        m.extend(set(&[(
            "404",
            "No such object, or one the caller may not see",
        )]));
        m
    }
}

/// Errors of operations with a JSON body.
pub struct WriteErrors;

impl IntoResponses for WriteErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let mut m = ReadErrors::responses();
        m.extend(set(&[
            (
                "409",
                "Conflicts with an existing object (a unique name, login or e-mail)",
            ),
            ("413", "Body larger than 4 MiB"),
            ("415", "Body not sent as application/json"),
        ]));
        m
    }
}
