//! One unit of work: a database hop — a read, or a write transaction on the
//! writer thread — made on behalf of one caller at one instant. It carries
//! what every rule needs (the connection, who is acting, the time, the
//! services) and the checks and records every rule makes (Administrators,
//! section rights, history lines, refusals, work to do after the commit).
//! `AppState::read` and `AppState::write` build it, in one place; when the
//! route a key is calling is declared as needing Administrators, they check
//! that before the rule runs.

use std::cell::{OnceCell, RefCell};

use chrono::{DateTime, Utc};

use crate::audit::{self, Actor, Change};
use crate::auth::Principal;
use crate::db::{self, AfterCommit, Conn};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::http::rules::Requires;
use crate::state::AppState;
use crate::types::{PermissionSet, SectionRights};

/// Who a unit of work acts for.
#[derive(Debug, Clone)]
pub enum Caller {
    /// A request, made with this key.
    Key(Principal),
    /// coffre itself: init, the expiry sweep, a seed. Holds every right.
    System(&'static str),
}

impl From<Principal> for Caller {
    fn from(p: Principal) -> Self {
        Caller::Key(p)
    }
}

impl Caller {
    pub fn actor(&self) -> Actor {
        match self {
            Caller::Key(p) => p.actor(),
            Caller::System(what) => Actor::system(what),
        }
    }
}

pub struct Work<'a> {
    pub conn: &'a Conn<'a>,
    pub state: &'a AppState,
    pub caller: &'a Caller,
    pub now: DateTime<Utc>,
    is_admin: OnceCell<bool>,
    /// Writes only: actions for after the commit.
    after: Option<RefCell<&'a mut AfterCommit>>,
}

impl<'a> Work<'a> {
    fn new(
        conn: &'a Conn<'a>,
        state: &'a AppState,
        caller: &'a Caller,
        now: DateTime<Utc>,
        after: Option<&'a mut AfterCommit>,
    ) -> Work<'a> {
        Work {
            conn,
            state,
            caller,
            now,
            is_admin: OnceCell::new(),
            after: after.map(RefCell::new),
        }
    }

    pub fn now_ms(&self) -> i64 {
        self.now.timestamp_millis()
    }

    /// The calling key, for rules that only a request can meet.
    pub fn key(&self) -> AppResult<&'a Principal> {
        match self.caller {
            Caller::Key(p) => Ok(p),
            Caller::System(what) => Err(AppError::internal(format!(
                "{what} ran a rule that needs a calling key"
            ))),
        }
    }

    /// The operator the caller acts as.
    pub fn operator_id(&self) -> AppResult<i64> {
        Ok(self.key()?.operator_id())
    }

    /// What the caller may do (coffre itself: everything).
    pub fn permissions(&self) -> PermissionSet {
        match self.caller {
            Caller::Key(p) => p.permissions(),
            Caller::System(_) => PermissionSet::all(),
        }
    }

    pub fn is_admin(&self) -> AppResult<bool> {
        if let Some(known) = self.is_admin.get() {
            return Ok(*known);
        }
        let admin = match self.caller {
            Caller::Key(p) => db::rights::is_administrator(self.conn, p.operator_id())?,
            Caller::System(_) => true,
        };
        Ok(*self.is_admin.get_or_init(|| admin))
    }

    pub fn require_admin(&self) -> AppResult<()> {
        if self.is_admin()? {
            Ok(())
        } else {
            Err(AppError::new(
                ErrorCode::NotAdministrator,
                "Only members of the Administrators group may do this; an administrator can add \
                 this key's operator to the group (POST /v4/OperatorGroup/{guid}/Member/{OperatorGuid}).",
            ))
        }
    }

    /// The caller's rights on a section (coffre itself: all).
    pub fn rights(&self, section_id: i64) -> AppResult<SectionRights> {
        match self.caller {
            Caller::Key(p) => Ok(db::rights::section_rights(
                self.conn,
                p.operator_id(),
                section_id,
            )?),
            Caller::System(_) => Ok(SectionRights {
                view: true,
                change: true,
            }),
        }
    }

    /// Writes a history line, as the caller, now.
    pub fn record(&self, change: Change<'_>) -> AppResult<()> {
        audit::record(self.conn, &self.caller.actor(), self.now_ms(), change)?;
        Ok(())
    }

    /// Records a refusal and returns `error`, marked so that the line is
    /// committed although the request fails.
    pub fn refuse(&self, change: Change<'_>, error: AppError) -> AppError {
        match self.record(change) {
            Ok(()) => error.keeping_writes(),
            Err(e) => e,
        }
    }

    /// Runs `action` once the write is committed (in commit order, on the
    /// writer thread): how in-memory indexes follow the database.
    pub fn after_commit(&self, action: impl FnOnce() + Send + 'static) -> AppResult<()> {
        match &self.after {
            Some(after) => {
                after.borrow_mut().push(action);
                Ok(())
            }
            None => Err(AppError::internal(
                "a read asked for an after-commit action",
            )),
        }
    }
}

impl AppState {
    /// Runs `rule` in a read hop (a pooled connection on the blocking pool).
    pub async fn read<T, F>(&self, caller: Caller, rule: F) -> AppResult<T>
    where
        F: FnOnce(&Work<'_>) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let (state, now) = (self.clone(), self.clock.now());
        self.db
            .read(move |conn| {
                let work = Work::new(conn, &state, &caller, now, None);
                work.check_route()?;
                rule(&work)
            })
            .await
    }

    /// Runs `rule` in a write transaction; resolves once it is committed.
    pub async fn write<T, F>(&self, caller: Caller, rule: F) -> AppResult<T>
    where
        F: FnOnce(&Work<'_>) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let (state, now) = (self.clone(), self.clock.now());
        self.db
            .write(move |conn, after| {
                let work = Work::new(conn, &state, &caller, now, Some(after));
                work.check_route()?;
                rule(&work)
            })
            .await
    }

    /// `read`, for callers outside the async runtime (benchmarks, tools).
    pub fn read_blocking<T, F>(&self, caller: Caller, rule: F) -> AppResult<T>
    where
        F: FnOnce(&Work<'_>) -> AppResult<T>,
    {
        let now = self.clock.now();
        self.db.read_blocking(|conn| {
            let work = Work::new(conn, self, &caller, now, None);
            work.check_route()?;
            rule(&work)
        })
    }

    /// `write`, for callers outside the async runtime (CLI commands).
    pub fn write_blocking<T, F>(&self, caller: Caller, rule: F) -> AppResult<T>
    where
        F: FnOnce(&Work<'_>) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let (state, now) = (self.clone(), self.clock.now());
        self.db.write_blocking(move |conn, after| {
            let work = Work::new(conn, &state, &caller, now, Some(after));
            rule(&work)
        })
    }
}

impl Work<'_> {
    /// The operator right the called route is declared to need, where it
    /// does not depend on a section: Administrators.
    fn check_route(&self) -> AppResult<()> {
        match self.caller {
            Caller::Key(p) if p.route_requires() == Requires::Administrators => {
                self.require_admin()
            }
            _ => Ok(()),
        }
    }
}
