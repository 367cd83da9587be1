//! `Conn`: the connection every repository function takes. It is ours, not
//! the driver's, so that the repositories' signatures carry no driver types:
//! parameters are `&dyn Param` and columns are read as `Column`
//! (`db::value`), rows through `Row::get`, and SQL is written with `?N`
//! placeholders in the common subset both engines understand. Where the
//! dialects truly differ, a repository branches on `dialect()`.

use std::cell::RefCell;

use super::error::{DbError, DbResult};
use super::pg::PgSession;
pub use super::value::{Column, Param, Value, ValueRef};

/// Which SQL dialect a statement must be written in, where they differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A connection (pooled for a read, the writer's inside a write transaction).
#[derive(Clone, Copy)]
pub struct Conn<'c> {
    inner: Inner<'c>,
}

#[derive(Clone, Copy)]
enum Inner<'c> {
    Sqlite(&'c rusqlite::Connection),
    Postgres(&'c RefCell<PgSession>),
}

/// A parameter as SQLite binds it.
struct SqliteParam<'a>(&'a dyn Param);

impl rusqlite::ToSql for SqliteParam<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, Value as V, ValueRef as R};
        Ok(match self.0.value() {
            ValueRef::Null => ToSqlOutput::Borrowed(R::Null),
            ValueRef::Integer(i) => ToSqlOutput::Borrowed(R::Integer(i)),
            ValueRef::Real(r) => ToSqlOutput::Borrowed(R::Real(r)),
            ValueRef::Text(t) => ToSqlOutput::Borrowed(R::Text(t.as_bytes())),
            ValueRef::Blob(b) => ToSqlOutput::Borrowed(R::Blob(b)),
            ValueRef::Guid(g) => ToSqlOutput::Owned(V::Text(g.to_text())),
        })
    }
}

fn bind<'a>(params: &'a [&'a dyn Param]) -> impl rusqlite::Params + 'a {
    rusqlite::params_from_iter(params.iter().map(|p| SqliteParam(*p)))
}

impl<'c> Conn<'c> {
    pub fn sqlite(conn: &'c rusqlite::Connection) -> Self {
        Conn {
            inner: Inner::Sqlite(conn),
        }
    }

    pub fn postgres(session: &'c RefCell<PgSession>) -> Self {
        Conn {
            inner: Inner::Postgres(session),
        }
    }

    pub fn dialect(&self) -> Dialect {
        match self.inner {
            Inner::Sqlite(_) => Dialect::Sqlite,
            Inner::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Runs a statement; returns how many rows it changed.
    pub fn execute(&self, sql: &str, params: &[&dyn Param]) -> DbResult<usize> {
        match self.inner {
            Inner::Sqlite(c) => Ok(c.prepare_cached(sql)?.execute(bind(params))?),
            Inner::Postgres(s) => {
                let n = s.borrow_mut().execute(sql, &values(params))?;
                Ok(usize::try_from(n).unwrap_or(usize::MAX))
            }
        }
    }

    /// The first row, if any.
    pub fn query_opt<T>(
        &self,
        sql: &str,
        params: &[&dyn Param],
        f: impl FnOnce(&Row<'_>) -> DbResult<T>,
    ) -> DbResult<Option<T>> {
        match self.inner {
            Inner::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let mut rows = stmt.query(bind(params))?;
                match rows.next()? {
                    Some(row) => f(&Row::Sqlite(row)).map(Some),
                    None => Ok(None),
                }
            }
            Inner::Postgres(s) => {
                let rows = s.borrow_mut().query(sql, &values(params))?;
                rows.first().map(|r| f(&Row::Postgres(r))).transpose()
            }
        }
    }

    /// The first row, which must exist.
    pub fn query_one<T>(
        &self,
        sql: &str,
        params: &[&dyn Param],
        f: impl FnOnce(&Row<'_>) -> DbResult<T>,
    ) -> DbResult<T> {
        self.query_opt(sql, params, f)?
            .ok_or_else(|| DbError::Missing(format!("no row for {}", first_line(sql))))
    }

    /// Every row, mapped.
    pub fn query_all<T>(
        &self,
        sql: &str,
        params: &[&dyn Param],
        mut f: impl FnMut(&Row<'_>) -> DbResult<T>,
    ) -> DbResult<Vec<T>> {
        let mut out = Vec::new();
        self.for_each(sql, params, |row| {
            out.push(f(row)?);
            Ok::<_, DbError>(())
        })?;
        Ok(out)
    }

    /// Every row, one at a time, without collecting them (long lists).
    pub fn for_each<E: From<DbError>>(
        &self,
        sql: &str,
        params: &[&dyn Param],
        mut f: impl FnMut(&Row<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        match self.inner {
            Inner::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql).map_err(DbError::from)?;
                let mut rows = stmt.query(bind(params)).map_err(DbError::from)?;
                while let Some(row) = rows.next().map_err(DbError::from)? {
                    f(&Row::Sqlite(row))?;
                }
            }
            Inner::Postgres(s) => {
                // Read whole before `f` runs: `f` may use the connection.
                let rows = s
                    .borrow_mut()
                    .query(sql, &values(params))
                    .map_err(DbError::from)?;
                for row in &rows {
                    f(&Row::Postgres(row))?;
                }
            }
        }
        Ok(())
    }

    /// Statements without parameters or results (savepoints).
    pub fn batch(&self, sql: &str) -> DbResult<()> {
        match self.inner {
            Inner::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Inner::Postgres(s) => Ok(s.borrow_mut().batch(sql)?),
        }
    }
}

impl Conn<'_> {
    /// Runs a write whose UNIQUE failure the caller answers and goes on
    /// from (naming the field taken). PostgreSQL aborts the whole
    /// transaction at a failed statement, SQLite only the statement: on
    /// PostgreSQL the write runs under a savepoint it is rolled back to.
    pub fn unique_guarded<T>(&self, f: impl FnOnce() -> DbResult<T>) -> DbResult<T> {
        if self.dialect() == Dialect::Sqlite {
            return f();
        }
        self.batch("SAVEPOINT unique_guard")?;
        match f() {
            Ok(value) => {
                self.batch("RELEASE unique_guard")?;
                Ok(value)
            }
            Err(e) => {
                self.batch("ROLLBACK TO unique_guard; RELEASE unique_guard")?;
                Err(e)
            }
        }
    }
}

fn values<'a>(params: &'a [&'a dyn Param]) -> Vec<ValueRef<'a>> {
    params.iter().map(|p| p.value()).collect()
}

fn first_line(sql: &str) -> &str {
    sql.trim().lines().next().unwrap_or("")
}

/// One row of a result.
pub enum Row<'r> {
    Sqlite(&'r rusqlite::Row<'r>),
    Postgres(&'r postgres::Row),
}

impl Row<'_> {
    pub fn get<T: Column>(&self, index: usize) -> DbResult<T> {
        use rusqlite::types::ValueRef as R;
        let row = match self {
            Row::Sqlite(row) => row,
            Row::Postgres(row) => {
                let value: ValueRef<'_> = row.try_get(index)?;
                return T::column(value)
                    .map_err(|e| DbError::Corrupt(format!("column {index}: {e}")));
            }
        };
        let value = match row.get_ref(index)? {
            R::Null => ValueRef::Null,
            R::Integer(i) => ValueRef::Integer(i),
            R::Real(r) => ValueRef::Real(r),
            R::Text(t) => ValueRef::Text(
                std::str::from_utf8(t)
                    .map_err(|_| DbError::Corrupt(format!("column {index}: text is not UTF-8")))?,
            ),
            R::Blob(b) => ValueRef::Blob(b),
        };
        T::column(value).map_err(|e| DbError::Corrupt(format!("column {index}: {e}")))
    }
}
