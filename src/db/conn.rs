//! `Conn`: the connection every repository function takes. It is ours, not
//! the driver's, so that the repositories' signatures carry no driver types
//! and a second storage engine can plug in here: parameters are `&dyn Param`,
//! rows are read through `Row::get`, and SQL is written with `?N`
//! placeholders in the common subset both engines understand.

use super::error::{DbError, DbResult};

/// A value bound to a statement.
pub trait Param: rusqlite::ToSql + Sync {}

impl<T: rusqlite::ToSql + Sync + ?Sized> Param for T {}

/// A value read from a column.
pub trait Column: rusqlite::types::FromSql {}

impl<T: rusqlite::types::FromSql> Column for T {}

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

fn bind(params: &[&dyn Param]) -> impl rusqlite::Params {
    rusqlite::params_from_iter(params.iter().copied())
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
        Ok(self.sqlite.get(index)?)
    }
}
