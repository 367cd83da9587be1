//! What can go wrong in the database, classified for the layers above (which
//! turn each kind into an answer) without them knowing the driver.

use std::fmt;

#[derive(Debug)]
pub enum DbError {
    Sqlite(rusqlite::Error),
    Postgres(postgres::Error),
    /// A row that had to exist did not.
    Missing(String),
    /// A stored value that does not fit its type (an unknown item type, …).
    Corrupt(String),
    /// The database rolled back the transaction this write was in, after a
    /// storage error met by another write of its group.
    RolledBack,
}

pub type DbResult<T> = Result<T, DbError>;

/// What a failure means for the request that met it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbErrorKind {
    /// Another process holds the database's lock.
    Busy,
    /// The disk is full.
    Full,
    /// The database cannot be written.
    ReadOnly,
    /// The files are gone or the disk failed.
    Unavailable,
    /// The key does not open the database.
    WrongKey,
    /// A UNIQUE constraint refused the write.
    Unique,
    Other,
}

impl DbError {
    pub fn kind(&self) -> DbErrorKind {
        use rusqlite::ErrorCode as C;
        let f = match self {
            DbError::Sqlite(rusqlite::Error::SqliteFailure(f, _)) => f,
            DbError::Postgres(e) => return postgres_kind(e),
            DbError::RolledBack => return DbErrorKind::Unavailable,
            _ => return DbErrorKind::Other,
        };
        match f.code {
            C::DatabaseBusy | C::DatabaseLocked => DbErrorKind::Busy,
            C::DiskFull => DbErrorKind::Full,
            C::ReadOnly => DbErrorKind::ReadOnly,
            C::CannotOpen | C::SystemIoFailure | C::NotFound => DbErrorKind::Unavailable,
            C::NotADatabase => DbErrorKind::WrongKey,
            C::ConstraintViolation
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
            {
                DbErrorKind::Unique
            }
            _ => DbErrorKind::Other,
        }
    }

    /// For a UNIQUE failure, the column it names, e.g. `operators.email`.
    pub fn unique_column(&self) -> Option<String> {
        match self {
            DbError::Sqlite(rusqlite::Error::SqliteFailure(f, Some(msg)))
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
            {
                msg.strip_prefix("UNIQUE constraint failed: ")
                    .map(str::to_string)
            }
            // PostgreSQL names the constraint: `<table>_<column>_key` for a
            // column's UNIQUE (the PostgreSQL schema keeps that naming).
            DbError::Postgres(e) => {
                let db = e.as_db_error()?;
                if *db.code() != postgres::error::SqlState::UNIQUE_VIOLATION {
                    return None;
                }
                let table = db.table()?;
                let column = db
                    .constraint()?
                    .strip_prefix(table)?
                    .strip_prefix('_')?
                    .strip_suffix("_key")?;
                Some(format!("{table}.{column}"))
            }
            _ => None,
        }
    }
}

fn postgres_kind(e: &postgres::Error) -> DbErrorKind {
    use postgres::error::SqlState as S;
    let Some(db) = e.as_db_error() else {
        // The connection failed or was closed: the server is out of reach.
        return DbErrorKind::Unavailable;
    };
    match db.code() {
        c if *c == S::UNIQUE_VIOLATION => DbErrorKind::Unique,
        c if *c == S::DISK_FULL => DbErrorKind::Full,
        c if *c == S::READ_ONLY_SQL_TRANSACTION => DbErrorKind::ReadOnly,
        c if *c == S::T_R_SERIALIZATION_FAILURE
            || *c == S::T_R_DEADLOCK_DETECTED
            || *c == S::LOCK_NOT_AVAILABLE =>
        {
            DbErrorKind::Busy
        }
        c if *c == S::ADMIN_SHUTDOWN
            || *c == S::CRASH_SHUTDOWN
            || *c == S::CANNOT_CONNECT_NOW
            || *c == S::TOO_MANY_CONNECTIONS =>
        {
            DbErrorKind::Unavailable
        }
        _ => DbErrorKind::Other,
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbError::Sqlite(e) => write!(f, "sqlite: {e}"),
            // The driver's own Display says only "db error": the server's words
            // are in the source.
            DbError::Postgres(e) => match e.as_db_error() {
                Some(db) => write!(f, "postgres: {db}"),
                None => match std::error::Error::source(e) {
                    Some(cause) => write!(f, "postgres: {e}: {cause}"),
                    None => write!(f, "postgres: {e}"),
                },
            },
            DbError::Missing(what) => write!(f, "missing row: {what}"),
            DbError::Corrupt(what) => write!(f, "stored value out of place: {what}"),
            DbError::RolledBack => {
                f.write_str("the write was rolled back with its group after a storage error")
            }
        }
    }
}

impl std::error::Error for DbError {}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        DbError::Sqlite(e)
    }
}

impl From<postgres::Error> for DbError {
    fn from(e: postgres::Error) -> Self {
        DbError::Postgres(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::ffi;

    fn failure(code: i32, message: &str) -> DbError {
        DbError::Sqlite(rusqlite::Error::SqliteFailure(
            ffi::Error::new(code),
            Some(message.into()),
        ))
    }

    #[test]
    fn failures_are_classified() {
        for (code, kind) in [
            (ffi::SQLITE_FULL, DbErrorKind::Full),
            (ffi::SQLITE_READONLY, DbErrorKind::ReadOnly),
            (ffi::SQLITE_READONLY_DBMOVED, DbErrorKind::ReadOnly),
            (ffi::SQLITE_CANTOPEN, DbErrorKind::Unavailable),
            (ffi::SQLITE_IOERR_WRITE, DbErrorKind::Unavailable),
            (ffi::SQLITE_BUSY, DbErrorKind::Busy),
            (ffi::SQLITE_NOTADB, DbErrorKind::WrongKey),
            (ffi::SQLITE_CORRUPT, DbErrorKind::Other),
        ] {
            assert_eq!(failure(code, "x").kind(), kind, "{code}");
        }
        let unique = failure(
            ffi::SQLITE_CONSTRAINT_UNIQUE,
            "UNIQUE constraint failed: operators.email",
        );
        assert_eq!(unique.kind(), DbErrorKind::Unique);
        assert_eq!(unique.unique_column().as_deref(), Some("operators.email"));
    }
}
