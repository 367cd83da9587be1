//! `GET /v4/Outbox` (SPEC §6): needs `Outbox.Read` and Administrators.

use actix_web::{HttpResponse, web};

use crate::auth::Principal;
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
    let filter = query.into_inner().filter()?;
    let messages = state
        .read(caller.into(), move |w| Ok(outbox::list(w.conn, &filter)?))
        .await?;
    Ok(HttpResponse::Ok().json(messages))
}
