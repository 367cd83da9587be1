//! `/v4/Session`: the web console's sign-in (issue 13). `POST` takes an API
//! key once and answers with the session cookie (`auth::session`); `GET`
//! says who is signed in; `DELETE` signs out. The rest of the API accepts the
//! cookie wherever it accepts a key (`auth::principal::authenticate`).

use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::accounts::sessions::{self, SessionInfo};
use crate::auth::Principal;
use crate::auth::principal::{authenticate_key, client_address};
use crate::auth::session::{self as cookie_session, COOKIE, CurrentSession};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::http::ApiJson;
use crate::http::origin;
use crate::routes::docs::{ReadErrors, WriteErrors};
use crate::state::AppState;
use crate::types::SecretUsed;

/// The sign-in's body. Not `Debug`: it holds a key.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct SignInInput {
    /// The API key to sign in with (required); sent this once, never returned.
    #[schema(value_type = String, required = true, example = "coffre_XXXXXXXXXXXX_…")]
    pub api_key: Option<String>,
}

#[utoipa::path(post, path = "/v4/Session", tag = "Session", request_body = SignInInput, security(()),
    description = "Signs in to the web console: checks the API key (a failure counts toward the \
        failed-authentication limit) and answers with the session in a cookie, `coffre_session`, \
        `HttpOnly; SameSite=Strict; Path=/` (and `Secure` over TLS), bound to that key. A browser \
        must send it from this server's own origin.",
    responses(
        (status = 201, description = "Signed in: the session is in the Set-Cookie header", body = SessionInfo,
            headers(("Set-Cookie" = String, description = "coffre_session=…; HttpOnly; SameSite=Strict; Path=/"))),
        WriteErrors))]
pub async fn sign_in(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: ApiJson<SignInInput>,
) -> AppResult<HttpResponse> {
    origin::refuse_other_origin(&req)?;
    let presented = body.0.api_key.ok_or_else(|| {
        AppError::new(
            ErrorCode::FieldRequired,
            "ApiKey is required: send {\"ApiKey\": \"coffre_…\"} with the key to sign in with.",
        )
    })?;
    let principal = authenticate_key(&req, &presented)?;
    // A session outlives the request: opened with a secret that was replaced
    // by a Regenerate, it would keep the key's rights past the grace period.
    if principal.secret_used() == SecretUsed::Previous {
        return Err(AppError::new(
            ErrorCode::PreviousKeyCannotSignIn,
            "This is the key's previous secret: it keeps working for API calls until its grace \
             period ends, but the console needs the key's current secret (the one Regenerate \
             returned). Sign in with that one.",
        ));
    }
    let key = principal.credential().clone();
    let now = state.clock.now_millis();
    let ends_at = state.sessions.ends_at(now);
    // Described first: a session is opened only once the answer is ready.
    let info = state
        .read(principal.into(), move |w| {
            sessions::describe(w, Some(ends_at))
        })
        .await?;
    let value = state.sessions.open(&key, now);
    Ok(HttpResponse::Created()
        .cookie(cookie_session::cookie(&value, client_address(&req).https))
        .json(info))
}

#[utoipa::path(get, path = "/v4/Session", tag = "Session",
    description = "Who is signed in: the key the console session (or the key in the request) \
        acts with, its permissions, whether its operator is an administrator. Never the key.",
    responses((status = 200, description = "The caller", body = SessionInfo), ReadErrors))]
pub async fn current_session(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Principal,
) -> AppResult<HttpResponse> {
    let ends_at = req
        .extensions()
        .get::<CurrentSession>()
        .map(|s| s.ends_at_ms);
    let info = state
        .read(caller.into(), move |w| sessions::describe(w, ends_at))
        .await?;
    Ok(HttpResponse::Ok().json(info))
}

#[utoipa::path(delete, path = "/v4/Session", tag = "Session", security(()),
    description = "Signs out: the session ends on the server and the browser is told to forget \
        the cookie. Answers 204 even when there was no session (signing out twice is fine). A \
        browser must send it from this server's own origin.",
    responses((status = 204, description = "Signed out"), ReadErrors))]
pub async fn sign_out(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let mut res = HttpResponse::NoContent();
    if let Some(cookie) = req.cookie(COOKIE) {
        origin::require_same_origin(&req)?;
        state.sessions.close(cookie.value());
        res.cookie(cookie_session::removal(client_address(&req).https));
    }
    Ok(res.finish())
}
