//! `GET /health`: 200 once the database answers a real query. No authentication.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::AppResult;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Health {
    /// Always `ok` when the response is 200.
    pub status: &'static str,
}

pub async fn health(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    state
        .db
        .read(|conn| {
            Ok(conn
                .prepare_cached("SELECT 1")?
                .query_row([], |r| r.get::<_, i64>(0))?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Health { status: "ok" }))
}
