//! Routes registered only with `--dev`: the dev clock (SPEC §7), to move the
//! server's clock and test expiry (setting it past a midnight UTC runs the
//! expiry sweep before the response, as if that midnight had come), and the
//! reset, which returns everything to the state right after start, so each
//! test of a harness can start clean without restarting the server.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Principal;
use crate::error::AppResult;
use crate::http::ApiJson;
use crate::routes::docs::{ReadErrors, WriteErrors};
use crate::state::AppState;
use crate::time::parse_instant;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ClockInput {
    /// The instant the clock jumps to (RFC 3339); it keeps ticking from there.
    #[schema(example = "2030-01-02T00:00:00Z")]
    pub now: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ClockState {
    #[schema(format = DateTime)]
    pub now: String,
    /// False while the clock is moved.
    pub is_real_time: bool,
}

fn clock_state(state: &AppState) -> ClockState {
    ClockState {
        now: crate::time::rfc3339(state.clock.now_millis()),
        is_real_time: state.clock.is_real(),
    }
}

/// No permission names the dev clock: being an administrator is enough
/// (declared in `routes::api!`, checked by this read).
async fn require_admin(state: &web::Data<AppState>, caller: Principal) -> AppResult<()> {
    state.read(caller.into(), |_| Ok(())).await
}

async fn after_move(state: &web::Data<AppState>) -> AppResult<HttpResponse> {
    if state.config.scheduler {
        state.sweeper.run_if_due(state).await?;
    }
    Ok(HttpResponse::Ok().json(clock_state(state)))
}

#[utoipa::path(get, path = "/v4/Dev/Clock", tag = "Dev",
    responses((status = 200, description = "The server's clock (--dev only)", body = ClockState), ReadErrors))]
pub async fn get_clock(state: web::Data<AppState>, caller: Principal) -> AppResult<HttpResponse> {
    require_admin(&state, caller).await?;
    Ok(HttpResponse::Ok().json(clock_state(&state)))
}

#[utoipa::path(put, path = "/v4/Dev/Clock", tag = "Dev", request_body = ClockInput,
    responses((status = 200, description = "Moved; a crossed midnight has been swept", body = ClockState), WriteErrors))]
pub async fn set_clock(
    state: web::Data<AppState>,
    caller: Principal,
    body: ApiJson<ClockInput>,
) -> AppResult<HttpResponse> {
    let at = parse_instant("Now", &body.0.now)?;
    require_admin(&state, caller).await?;
    state.clock.jump_to(at);
    after_move(&state).await
}

#[utoipa::path(delete, path = "/v4/Dev/Clock", tag = "Dev",
    responses((status = 200, description = "Back to real time", body = ClockState), ReadErrors))]
pub async fn reset_clock(state: web::Data<AppState>, caller: Principal) -> AppResult<HttpResponse> {
    require_admin(&state, caller).await?;
    state.clock.reset();
    after_move(&state).await
}

#[utoipa::path(post, path = "/v4/Dev/Reset", tag = "Dev",
    responses((status = 204, description = "Back to the state right after start (the bootstrap, and the seed if any), the clock to real time (--dev only)"), ReadErrors))]
pub async fn reset(state: web::Data<AppState>, caller: Principal) -> AppResult<HttpResponse> {
    require_admin(&state, caller).await?;
    state.reset_to_baseline().await?;
    Ok(HttpResponse::NoContent().finish())
}
