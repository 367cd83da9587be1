//! `Conn`: the connection every repository function takes. It is ours, not
//! the driver's, so that the repositories' signatures carry no driver types:
//! parameters are `&dyn Param` and columns are read as `Column`
//! (`db::value`), rows through `Row::get`, and SQL is written with `?N`
//! placeholders in the common subset both engines understand. Where the
//! dialects truly differ, a repository branches on `dialect()`.

use super::error::{DbError, DbResult};
pub use super::value::{Column, Param, Value, ValueRef};

/// Which SQL dialect a statement must be written in, where they differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
}

/// A connection (pooled for a read, the writer's inside a write transaction).
#[derive(Clone, Copy)]
pub struct Conn<'c> {
    sqlite: &'c rusqlite::Connection,
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
        Conn { sqlite: conn }
    }

    pub fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    /// Runs a statement; returns how many rows it changed.
    pub fn execute(&self, sql: &str, params: &[&dyn Param]) -> DbResult<usize> {
        Ok(self.sqlite.prepare_cached(sql)?.execute(bind(params))?)
    }

    /// The first row, if any.
    pub fn query_opt<T>(
        &self,
        sql: &str,
        params: &[&dyn Param],
        f: impl FnOnce(&Row<'_>) -> DbResult<T>,
    ) -> DbResult<Option<T>> {
        let mut stmt = self.sqlite.prepare_cached(sql)?;
        let mut rows = stmt.query(bind(params))?;
        match rows.next()? {
            Some(row) => f(&Row { sqlite: row }).map(Some),
            None => Ok(None),
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
        let mut stmt = self.sqlite.prepare_cached(sql).map_err(DbError::from)?;
        let mut rows = stmt.query(bind(params)).map_err(DbError::from)?;
        while let Some(row) = rows.next().map_err(DbError::from)? {
            f(&Row { sqlite: row })?;
        }
        Ok(())
    }

    /// Statements without parameters or results (savepoints).
    pub fn batch(&self, sql: &str) -> DbResult<()> {
        Ok(self.sqlite.execute_batch(sql)?)
    }
}

fn first_line(sql: &str) -> &str {
    sql.trim().lines().next().unwrap_or("")
}

/// One row of a result.
pub struct Row<'r> {
    sqlite: &'r rusqlite::Row<'r>,
}

impl Row<'_> {
    pub fn get<T: Column>(&self, index: usize) -> DbResult<T> {
        use rusqlite::types::ValueRef as R;
        let value = match self.sqlite.get_ref(index)? {
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
