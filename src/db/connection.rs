//! Opening and keying a SQLite connection. Every connection, pooled or the
//! writer's, goes through `prepare` before any other statement: SQLCipher must
//! see the key first or it cannot read a single page.

use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use zeroize::Zeroizing;

use crate::config::Durability;
use crate::crypto::SecretKey;

/// Where the database lives.
#[derive(Debug, Clone)]
pub enum Location {
    File(std::path::PathBuf),
    /// `--dev`: SQLite's memdb VFS, shared by every connection of this process
    /// that opens the same name, gone when the last one closes.
    Memory(String),
}

impl Location {
    pub fn memory() -> Self {
        Location::Memory(format!(
            "file:/coffre-dev-{}?vfs=memdb",
            uuid::Uuid::new_v4().simple()
        ))
    }

    pub(crate) fn open_target(&self) -> (String, OpenFlags) {
        let base = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        match self {
            Location::File(path) => (
                path.to_string_lossy().into_owned(),
                base | OpenFlags::SQLITE_OPEN_CREATE,
            ),
            Location::Memory(uri) => (uri.clone(), base | OpenFlags::SQLITE_OPEN_CREATE),
        }
    }
}

/// Per-connection settings.
#[derive(Clone)]
pub struct ConnectionSettings {
    /// The `PRAGMA key` statement with the raw SQLCipher key (hex), zeroized on drop.
    key_statement: Arc<Zeroizing<String>>,
    pub durability: Durability,
    pub busy_timeout: Duration,
}

impl std::fmt::Debug for ConnectionSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionSettings")
            .field("durability", &self.durability)
            .field("busy_timeout", &self.busy_timeout)
            .finish_non_exhaustive()
    }
}

impl ConnectionSettings {
    pub fn new(key: &SecretKey, durability: Durability, busy_timeout: Duration) -> Self {
        // A raw 256-bit key (x'...') makes SQLCipher skip its own PBKDF2: ours is
        // already derived, and re-deriving per connection would cost ~0.2 s each.
        let hex = Zeroizing::new(hex::encode(key.expose()));
        let statement = Zeroizing::new(format!("PRAGMA key = \"x'{}'\";", hex.as_str()));
        Self {
            key_statement: Arc::new(statement),
            durability,
            busy_timeout,
        }
    }

    /// Keys the connection and sets the PRAGMAs every connection needs.
    pub fn prepare(&self, conn: &Connection) -> rusqlite::Result<()> {
        // SQLCipher logs a wrong key to stderr; we report it ourselves.
        conn.execute_batch("PRAGMA cipher_log_level = NONE;")?;
        conn.execute_batch(self.key_statement.as_str())?;
        conn.busy_timeout(self.busy_timeout)?;
        let synchronous = match self.durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        conn.execute_batch(&format!(
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = {synchronous}; PRAGMA temp_store = MEMORY;"
        ))?;
        conn.set_prepared_statement_cache_capacity(128);
        Ok(())
    }

    pub fn open(&self, location: &Location) -> rusqlite::Result<Connection> {
        let (target, flags) = location.open_target();
        let conn = Connection::open_with_flags(target, flags)?;
        self.prepare(&conn)?;
        Ok(conn)
    }
}

/// True when SQLite says the file is not a database: with SQLCipher, a wrong key.
pub fn is_wrong_key(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::NotADatabase)
}
