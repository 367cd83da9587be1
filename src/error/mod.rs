//! One error type for the whole API. What the client reads (a stable code and a
//! message saying what is wrong and how to fix it) is kept apart from the cause
//! (logged with the request id, never sent). Shape, after Uptrends:
//! `{"Messages": [{"Code": "...", "Message": "..."}]}`.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::{DbError, DbErrorKind, JobError};

mod code;

pub use code::ErrorCode;

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ErrorMessage {
    /// Stable, machine-readable code, e.g. `VaultItemInUse`.
    #[serde(serialize_with = "code_name")]
    #[schema(value_type = ErrorCode)]
    pub code: ErrorCode,
    /// What is wrong and how to fix it.
    pub message: String,
}

fn code_name<S: serde::Serializer>(code: &ErrorCode, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(code.as_str())
}

/// Every error response has this body.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ErrorBody {
    pub messages: Vec<ErrorMessage>,
}

impl ErrorBody {
    pub fn one(code: ErrorCode, message: impl Into<String>) -> Self {
        ErrorBody {
            messages: vec![ErrorMessage {
                code,
                message: message.into(),
            }],
        }
    }
}

pub const INTERNAL_MESSAGE: &str = "An internal error occurred. Nothing was changed by this \
    request unless it succeeded; retry, and if it persists, give the X-Request-Id of this \
    response to the administrator, who will find the cause in the server log.";

#[derive(Debug)]
pub struct AppError {
    status: StatusCode,
    messages: Vec<ErrorMessage>,
    /// For the log only.
    cause: Option<String>,
    retry_after: Option<u64>,
    /// A refusal whose history line must be kept: the write job commits what
    /// it wrote (only that line) and still answers with this error.
    keeps_writes: bool,
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// An error with its code (which gives the status) and a message saying
    /// what is wrong and how to fix it.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status: code.status(),
            messages: ErrorBody::one(code, message).messages,
            cause: None,
            retry_after: None,
            keeps_writes: false,
        }
    }

    pub fn too_many_requests(retry_after_secs: u64, message: impl Into<String>) -> Self {
        let mut e = Self::new(ErrorCode::TooManyRequests, message);
        e.retry_after = Some(retry_after_secs.max(1));
        e
    }

    /// A failure that is ours, not the client's. `cause` goes to the log only.
    pub fn internal(cause: impl fmt::Display) -> Self {
        let mut e = Self::new(ErrorCode::InternalError, INTERNAL_MESSAGE);
        e.cause = Some(cause.to_string());
        e
    }

    /// The database stayed locked (another coffre process writing) past the busy timeout.
    pub fn busy(cause: impl fmt::Display) -> Self {
        let mut e = Self::new(
            ErrorCode::DatabaseBusy,
            "The database is busy with another writer (for example a `coffre sweep` running \
             beside the server). Nothing was changed; retry in a moment.",
        );
        e.cause = Some(cause.to_string());
        e.retry_after = Some(1);
        e
    }

    /// Tells the client when to come back (`Retry-After`, seconds).
    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs.max(1));
        self
    }

    /// Marks a refusal that has recorded itself (a history line): the writer
    /// commits that line instead of rolling the job back.
    pub fn keeping_writes(mut self) -> Self {
        self.keeps_writes = true;
        self
    }

    /// The same error, each message prefixed with where it arose (for
    /// example a seed file's entry).
    pub fn in_context(mut self, context: &str) -> Self {
        for m in &mut self.messages {
            m.message = format!("{context}: {}", m.message);
        }
        self
    }

    /// Adds another message (several validation problems in one response).
    pub fn and(mut self, other: AppError) -> Self {
        self.messages.extend(other.messages);
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The first message's code, as clients read it.
    pub fn code(&self) -> &'static str {
        self.messages.first().map_or("", |m| m.code.as_str())
    }

    pub fn messages(&self) -> &[ErrorMessage] {
        &self.messages
    }

    pub fn cause(&self) -> Option<&str> {
        self.cause.as_deref()
    }

    /// Seconds the client should wait, if the error says.
    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.code())?;
        if let Some(cause) = &self.cause {
            write!(f, ": {cause}")?;
        }
        Ok(())
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        if let Some(secs) = self.retry_after {
            res.insert_header((header::RETRY_AFTER, HeaderValue::from(secs)));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            res.insert_header((
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"coffre\", Basic realm=\"coffre\""),
            ));
        }
        res.json(ErrorBody {
            messages: self.messages.clone(),
        })
    }
}

impl AppError {
    /// The disk holding the database is full. Nothing of the request was kept.
    pub fn storage_full(cause: impl fmt::Display) -> Self {
        let mut e = Self::new(
            ErrorCode::StorageFull,
            "The server's storage is full, so nothing was written. Reads still work; writes \
             will resume by themselves once space is freed on the disk holding the data dir. \
             Retry later, or tell the administrator.",
        );
        e.cause = Some(cause.to_string());
        e.retry_after = Some(60);
        e
    }

    /// The database file or its directory cannot be written.
    pub fn storage_read_only(cause: impl fmt::Display) -> Self {
        let mut e = Self::new(
            ErrorCode::StorageReadOnly,
            "The database cannot be written: its file or directory is read-only (for example a \
             file system remounted read-only). Nothing was changed and reads still work; the \
             administrator must make the data dir writable again, then retry.",
        );
        e.cause = Some(cause.to_string());
        e.retry_after = Some(60);
        e
    }

    /// The database file or its directory vanished, or the disk failed.
    pub fn storage_unavailable(cause: impl fmt::Display) -> Self {
        let mut e = Self::new(
            ErrorCode::StorageUnavailable,
            "The database's storage cannot be used (its files or directory are missing, or the \
             disk reported an I/O error). Nothing was changed by this request; the \
             administrator will find the cause in the server log. Retry later.",
        );
        e.cause = Some(cause.to_string());
        e.retry_after = Some(60);
        e
    }
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        match e.kind() {
            DbErrorKind::Busy => AppError::busy(e),
            DbErrorKind::Full => AppError::storage_full(e),
            DbErrorKind::ReadOnly => AppError::storage_read_only(e),
            DbErrorKind::Unavailable => AppError::storage_unavailable(e),
            _ => AppError::internal(e),
        }
    }
}

impl JobError for AppError {
    fn keeps_writes(&self) -> bool {
        self.keeps_writes
    }

    fn rolled_back() -> Self {
        AppError::from(DbError::RolledBack)
    }

    fn writer_failure(what: &str) -> Self {
        AppError::internal(what)
    }
}

impl From<crate::types::InvalidGuid> for AppError {
    fn from(e: crate::types::InvalidGuid) -> Self {
        AppError::new(
            ErrorCode::InvalidGuid,
            format!(
                "{} {:?} is not a GUID: expected 32 hexadecimal digits in the form \
                 XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX (any case).",
                e.field, e.shown
            ),
        )
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        AppError::internal(format!("blocking task: {e}"))
    }
}

impl From<crate::crypto::SealError> for AppError {
    fn from(e: crate::crypto::SealError) -> Self {
        AppError::internal(format!("sealed field: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    #[test]
    fn internal_errors_keep_their_cause_out_of_the_body() {
        let e = AppError::internal("disk I/O error at /secret/path");
        let res = e.error_response();
        assert_eq!(res.status(), 500);
        let body = res.into_body().try_into_bytes().unwrap();
        let text = std::str::from_utf8(&body).unwrap();
        assert!(!text.contains("/secret/path"));
        assert!(text.contains("\"Code\":\"InternalError\""));
        assert!(e.to_string().contains("/secret/path"));
    }

    #[test]
    fn storage_failures_get_their_own_codes() {
        use rusqlite::ffi;
        let failure = |code: i32| {
            AppError::from(DbError::Sqlite(rusqlite::Error::SqliteFailure(
                ffi::Error::new(code),
                Some("database or disk is full".into()),
            )))
        };
        for (code, status, name) in [
            (ffi::SQLITE_FULL, 507, "StorageFull"),
            (ffi::SQLITE_READONLY, 503, "StorageReadOnly"),
            (ffi::SQLITE_CANTOPEN, 503, "StorageUnavailable"),
            (ffi::SQLITE_IOERR_WRITE, 503, "StorageUnavailable"),
            (ffi::SQLITE_BUSY, 503, "DatabaseBusy"),
            (ffi::SQLITE_CORRUPT, 500, "InternalError"),
        ] {
            let e = failure(code);
            assert_eq!((e.status().as_u16(), e.code()), (status, name), "{code}");
            let body = e.error_response().into_body().try_into_bytes().unwrap();
            assert!(!std::str::from_utf8(&body).unwrap().contains("disk is full"));
        }
        assert_eq!(AppError::rolled_back().code(), "StorageUnavailable");
    }

    #[test]
    fn too_many_requests_says_when_to_come_back() {
        let res = AppError::too_many_requests(42, "slow down").error_response();
        assert_eq!(res.headers().get("retry-after").unwrap(), "42");
    }
}
