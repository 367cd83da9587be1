//! `GET /v4/Outbox` (SPEC §6): needs `Outbox.Read` and Administrators.

use actix_web::{HttpResponse, web};

use crate::auth::{OperatorContext, Permission, Principal};
use crate::error::AppResult;
use crate::outbox::{self, OutboxMessage, OutboxQuery};
use crate::routes::docs::ReadErrors;
use crate::state::AppState;

#[utoipa::path(get, path = "/v4/Outbox", tag = "Outbox", params(OutboxQuery),
    responses((status = 200, description = "E-mails written by coffre, newest first", body = [OutboxMessage]), ReadErrors))]
pub async fn list_outbox(
    state: web::Data<AppState>,
    caller: Principal,
    query: web::Query<OutboxQuery>,
) -> AppResult<HttpResponse> {
    caller.require(Permission::OUTBOX_READ)?;
    let filter = query.into_inner().filter()?;
    let messages = state
        .db
        .read(move |conn| {
            OperatorContext::load(conn, caller.operator_id())?.require_admin()?;
            Ok(outbox::list(conn, &filter)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(messages))
}
