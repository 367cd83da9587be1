//! Account administration (API keys, operators, groups, the outbox, the global
//! history, the dev clock): the key must hold the permission and act as an
//! operator in Administrators. Both checks, then the work, in one database hop.

use actix_web::web;
use rusqlite::Connection;

use crate::auth::{OperatorContext, Permission, Principal};
use crate::db::AfterCommit;
use crate::error::AppResult;
use crate::state::AppState;

pub async fn admin_read<T, F>(
    state: &web::Data<AppState>,
    caller: Principal,
    p: Option<Permission>,
    f: F,
) -> AppResult<T>
where
    F: FnOnce(&Connection, &Principal) -> AppResult<T> + Send + 'static,
    T: Send + 'static,
{
    if let Some(p) = p {
        caller.require(p)?;
    }
    state
        .db
        .read(move |conn| {
            OperatorContext::load(conn, caller.operator_id())?.require_admin()?;
            f(conn, &caller)
        })
        .await
}

pub async fn admin_write<T, F>(
    state: &web::Data<AppState>,
    caller: Principal,
    p: Permission,
    f: F,
) -> AppResult<T>
where
    F: FnOnce(&Connection, &mut AfterCommit, &Principal) -> AppResult<T> + Send + 'static,
    T: Send + 'static,
{
    caller.require(p)?;
    state
        .db
        .write(move |conn, after| {
            OperatorContext::load(conn, caller.operator_id())?.require_admin()?;
            f(conn, after, &caller)
        })
        .await
}
