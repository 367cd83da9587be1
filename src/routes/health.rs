//! `GET /health`: 200 once the database answers a real query. No authentication.
//!
//! The query reads the schema version from the encrypted file itself (not a
//! constant like `SELECT 1`): it proves the file is readable with our key and
//! at the schema this binary expects.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::migrate::SCHEMA_VERSION;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Health {
    /// Always `ok` when the response is 200.
    #[schema(example = "ok")]
    pub status: &'static str,
}

#[utoipa::path(get, path = "/health", tag = "Health", security(()),
    responses(
        (status = 200, description = "The database answers", body = Health),
        (status = 500, description = "The database does not answer", body = crate::error::ErrorBody),
        (status = 503, description = "The database is busy", body = crate::error::ErrorBody)))]
pub async fn health(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let version = state
        .db
        .read(|conn| Ok::<_, AppError>(crate::db::migrate::schema_version(conn)?))
        .await?;
    if version != SCHEMA_VERSION {
        return Err(AppError::internal(format!(
            "schema version {version}, expected {SCHEMA_VERSION}"
        )));
    }
    Ok(HttpResponse::Ok().json(Health { status: "ok" }))
}
