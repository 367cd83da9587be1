//! The database: an r2d2 pool of keyed SQLCipher connections (or of
//! PostgreSQL sessions, with `database_url`) for reads, one writer thread
//! with group commit for writes, migrations, and online backup (SQLite).
//! Blocking database work never runs on the async workers: reads go to
//! tokio's blocking pool, writes to the writer thread.

pub mod api_keys;
pub mod backup;
pub mod conn;
pub mod connection;
pub mod copy;
pub mod error;
pub mod groups;
pub mod history;
pub mod item_versions;
pub mod items;
pub mod keyring;
pub mod migrate;
pub mod oauth_tokens;
pub mod operators;
pub mod outbox;
pub mod pg;
pub mod pg_tls;
pub mod rights;
pub mod sections;
pub mod snapshot;
pub mod value;
pub mod writer;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::Connection;

pub use conn::{Column, Conn, Dialect, Param, Row, Value, ValueRef};
pub use connection::{ConnectionSettings, Location};
pub use error::{DbError, DbErrorKind, DbResult};
pub use snapshot::Snapshot;
pub use writer::JobError;

pub use writer::{AfterCommit, WriterConn, WriterSnapshot};

use crate::config::Durability;
use crate::crypto::SecretKey;
use writer::Writer;

type Pool = r2d2::Pool<GatedManager>;

/// The pool's connection manager: SQLite's, behind a gate. r2d2 opens
/// connections on its own threads to keep idle ones at hand, even right
/// after a read; SQLCipher frees its global state when the process exits, so
/// a connection still being opened then crashes the process (seen on early
/// exits, about one in 500). Closing the gate refuses new connections and
/// waits for those being opened.
struct GatedManager {
    inner: SqliteConnectionManager,
    gate: Arc<Gate>,
}

#[derive(Debug, Default)]
struct Gate {
    /// Closed, and how many connections are being opened.
    state: std::sync::Mutex<(bool, usize)>,
    settled: std::sync::Condvar,
}

impl Gate {
    fn lock(&self) -> std::sync::MutexGuard<'_, (bool, usize)> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts an opening in; false once closed.
    fn enter(&self) -> bool {
        let mut state = self.lock();
        if state.0 {
            return false;
        }
        state.1 += 1;
        true
    }

    fn leave(&self) {
        let mut state = self.lock();
        state.1 -= 1;
        if state.1 == 0 {
            self.settled.notify_all();
        }
    }

    fn is_closed(&self) -> bool {
        self.lock().0
    }

    /// Refuses new openings, and waits for those under way.
    fn close(&self) {
        let mut state = self.lock();
        state.0 = true;
        while state.1 > 0 {
            state = self.settled.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }
}

impl r2d2::ManageConnection for GatedManager {
    type Connection = Connection;
    type Error = rusqlite::Error;

    fn connect(&self) -> rusqlite::Result<Connection> {
        if !self.gate.enter() {
            return Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_MISUSE),
                Some("the database is closed".into()),
            ));
        }
        let result = self.inner.connect();
        self.gate.leave();
        result
    }

    fn is_valid(&self, conn: &mut Connection) -> rusqlite::Result<()> {
        self.inner.is_valid(conn)
    }

    fn has_broken(&self, conn: &mut Connection) -> bool {
        self.gate.is_closed() || self.inner.has_broken(conn)
    }
}

/// r2d2 keeps idle connections at hand on its own threads and reports their
/// failures here: logged, except the gate's refusals after `shutdown`.
#[derive(Debug)]
struct PoolErrors {
    gate: Arc<Gate>,
}

impl r2d2::HandleError<rusqlite::Error> for PoolErrors {
    fn handle_error(&self, error: rusqlite::Error) {
        if !self.gate.is_closed() {
            log::error!("database connection pool: {error}");
        }
    }
}

#[derive(Debug, Clone)]
pub struct DbOptions {
    pub durability: Durability,
    pub busy_timeout: Duration,
    pub pool_size: u32,
    pub group_commit_max: usize,
}

impl Default for DbOptions {
    fn default() -> Self {
        Self {
            durability: Durability::Full,
            busy_timeout: Duration::from_millis(5000),
            pool_size: 8,
            group_commit_max: 256,
        }
    }
}

#[derive(Debug)]
pub enum OpenError {
    /// SQLCipher cannot read the file with this key.
    WrongKey,
    /// The file was written by a newer coffre.
    NewerSchema(i64),
    Sqlite(rusqlite::Error),
    /// The configuration cannot work (PostgreSQL: a refused certificate, a
    /// server that wants TLS).
    Config(String),
    Other(String),
}

/// Where reads are served from.
enum Engine {
    Sqlite {
        pool: Pool,
        gate: Arc<Gate>,
        location: Location,
        settings: ConnectionSettings,
    },
    Postgres {
        pool: r2d2::Pool<pg::Manager>,
        /// The writer session's backend process id (see `writer_backend_pid`).
        writer_pid: Arc<std::sync::atomic::AtomicI32>,
    },
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::WrongKey => f.write_str(
                "the database cannot be decrypted with the key from keyring.json: coffre.db and \
                 keyring.json do not belong together. Restore both from the same backup",
            ),
            OpenError::NewerSchema(v) => write!(
                f,
                "the database is at schema version {v}, newer than this coffre understands ({}); \
                 run a newer coffre",
                migrate::SCHEMA_VERSION
            ),
            OpenError::Sqlite(e) => write!(f, "cannot open the database: {e}"),
            OpenError::Config(e) | OpenError::Other(e) => {
                write!(f, "cannot open the database: {e}")
            }
        }
    }
}

impl std::error::Error for OpenError {}

impl From<rusqlite::Error> for OpenError {
    fn from(e: rusqlite::Error) -> Self {
        if connection::is_wrong_key(&e) {
            OpenError::WrongKey
        } else {
            OpenError::Sqlite(e)
        }
    }
}

pub struct Database {
    engine: Engine,
    writer: Writer,
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database")
            .field("dialect", &self.dialect())
            .finish_non_exhaustive()
    }
}

impl Database {
    /// Opens (creating if needed) and migrates the database.
    pub fn open(
        location: Location,
        key: &SecretKey,
        options: &DbOptions,
    ) -> Result<Database, OpenError> {
        let settings = ConnectionSettings::new(key, options.durability, options.busy_timeout);
        if let Location::File(path) = &location
            && !path.exists()
        {
            // Created 0600 before SQLite sees it: SQLite gives the -wal and
            // -shm files the database file's mode.
            crate::fsutil::create_private_file(path)
                .map_err(|e| OpenError::Other(format!("cannot create {}: {e}", path.display())))?;
        }
        let mut writer_conn = settings.open(&location)?;
        // The first real read: with a wrong key this is where SQLCipher fails.
        writer_conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })?;
        if let Location::File(path) = &location {
            let mode: String =
                writer_conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(OpenError::Other(format!(
                    "WAL mode refused (journal_mode = {mode})"
                )));
            }
            if let Some(dir) = path.parent() {
                crate::fsutil::restrict_files_in(dir)
                    .map_err(|e| OpenError::Other(e.to_string()))?;
            }
        }
        migrate::migrate(&mut writer_conn).map_err(|e| match e {
            migrate::MigrateError::Newer(v) => OpenError::NewerSchema(v),
            migrate::MigrateError::Sqlite(e) => OpenError::from(e),
            migrate::MigrateError::Postgres(e) => OpenError::Other(e.to_string()),
        })?;

        let (target, flags) = location.open_target();
        let init_settings = settings.clone();
        let gate = Arc::new(Gate::default());
        let manager = GatedManager {
            inner: SqliteConnectionManager::file(target)
                .with_flags(flags)
                .with_init(move |c| init_settings.prepare(c)),
            gate: gate.clone(),
        };
        let pool = r2d2::Pool::builder()
            .max_size(options.pool_size)
            .min_idle(Some(options.pool_size.min(2)))
            .test_on_check_out(false)
            .connection_timeout(Duration::from_secs(10))
            .error_handler(Box::new(PoolErrors { gate: gate.clone() }))
            .build(manager)
            .map_err(|e| OpenError::Other(format!("connection pool: {e}")))?;
        let writer = Writer::start(WriterConn::Sqlite(writer_conn), options.group_commit_max)
            .map_err(|e| OpenError::Other(format!("cannot start the writer thread: {e}")))?;
        Ok(Database {
            engine: Engine::Sqlite {
                pool,
                gate,
                location,
                settings,
            },
            writer,
        })
    }

    /// Connects to PostgreSQL (`database_url`, checked by the configuration)
    /// and migrates it; no key is needed (the keyring is read from it after).
    pub fn open_postgres(target: &pg::Target, options: &DbOptions) -> Result<Database, OpenError> {
        let unreachable = |e: postgres::Error| match pg::configuration_problem(&e) {
            Some(problem) => OpenError::Config(problem),
            None => OpenError::Other(format!(
                "cannot use the PostgreSQL database: {}",
                DbError::Postgres(e)
            )),
        };
        let mut session = pg::PgSession::connect(target).map_err(unreachable)?;
        migrate::migrate_postgres(session.client()).map_err(|e| match e {
            migrate::MigrateError::Newer(v) => OpenError::NewerSchema(v),
            migrate::MigrateError::Postgres(e) => unreachable(e),
            migrate::MigrateError::Sqlite(e) => OpenError::Sqlite(e),
        })?;
        let pool = r2d2::Pool::builder()
            .max_size(options.pool_size)
            .min_idle(Some(options.pool_size.min(2)))
            .test_on_check_out(false)
            .connection_timeout(Duration::from_secs(10))
            .build(pg::Manager {
                target: target.clone(),
            })
            .map_err(|e| OpenError::Other(format!("PostgreSQL connection pool: {e}")))?;
        let writer_pid = Arc::new(std::sync::atomic::AtomicI32::new(
            writer::backend_pid(&mut session).map_err(unreachable)?,
        ));
        let writer = Writer::start(
            WriterConn::Postgres {
                session: Box::new(std::cell::RefCell::new(session)),
                target: Box::new(target.clone()),
                backend_pid: writer_pid.clone(),
            },
            options.group_commit_max,
        )
        .map_err(|e| OpenError::Other(format!("cannot start the writer thread: {e}")))?;
        Ok(Database {
            engine: Engine::Postgres { pool, writer_pid },
            writer,
        })
    }

    /// On PostgreSQL, the backend process id of this process's writer
    /// session, which sends the notifications its own writes cause.
    pub fn writer_backend_pid(&self) -> Option<i32> {
        match &self.engine {
            Engine::Sqlite { .. } => None,
            Engine::Postgres { writer_pid, .. } => {
                Some(writer_pid.load(std::sync::atomic::Ordering::SeqCst))
            }
        }
    }

    pub fn dialect(&self) -> Dialect {
        match self.engine {
            Engine::Sqlite { .. } => Dialect::Sqlite,
            Engine::Postgres { .. } => Dialect::Postgres,
        }
    }

    /// The SQLite file or memory database; `None` on PostgreSQL.
    pub fn location(&self) -> Option<&Location> {
        match &self.engine {
            Engine::Sqlite { location, .. } => Some(location),
            Engine::Postgres { .. } => None,
        }
    }

    /// Runs `f` on a pooled connection, on the blocking pool. Each statement
    /// reads one consistent snapshot; reads that must agree across statements
    /// open a transaction themselves.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Conn<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: JobError,
    {
        let engine = match &self.engine {
            Engine::Sqlite { pool, .. } => ReadPool::Sqlite(pool.clone()),
            Engine::Postgres { pool, .. } => ReadPool::Postgres(pool.clone()),
        };
        tokio::task::spawn_blocking(move || engine.read(f))
            .await
            .map_err(|e| E::writer_failure(&format!("read task: {e}")))?
    }

    /// `read` for callers outside the async runtime.
    pub fn read_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Conn<'_>) -> Result<T, E>,
        E: JobError,
    {
        match &self.engine {
            Engine::Sqlite { pool, .. } => read_on(pool, f),
            Engine::Postgres { pool, .. } => read_postgres(pool, f),
        }
    }

    /// Runs `f` in a write transaction; resolves once it is committed (durably,
    /// with `durability = "full"`). On error nothing `f` did is kept.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Conn<'_>, &mut AfterCommit) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: JobError,
    {
        self.writer.write(f).await
    }

    pub fn write_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Conn<'_>, &mut AfterCommit) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: JobError,
    {
        self.writer.write_blocking(f)
    }

    /// The writer's queue and group sizes, for the metrics.
    pub fn writer_stats(&self) -> WriterSnapshot {
        self.writer.stats()
    }

    /// Bytes the database takes: the file and its WAL on disk, or the pages
    /// of an in-memory database (`conn` reads their count).
    pub fn size_bytes(&self, conn: &Conn<'_>) -> DbResult<u64> {
        let location = match &self.engine {
            Engine::Sqlite { location, .. } => location,
            Engine::Postgres { .. } => {
                let bytes: i64 =
                    conn.query_one("SELECT pg_database_size(current_database())", &[], |r| {
                        r.get(0)
                    })?;
                return Ok(bytes.max(0) as u64);
            }
        };
        match location {
            Location::File(path) => {
                let mut wal = path.clone().into_os_string();
                wal.push("-wal");
                let len = |p: &std::path::Path| std::fs::metadata(p).map_or(0, |m| m.len());
                Ok(len(path) + len(std::path::Path::new(&wal)))
            }
            Location::Memory(_) => {
                let bytes: i64 = conn.query_one(
                    "SELECT page_count * page_size FROM pragma_page_count, pragma_page_size",
                    &[],
                    |r| r.get(0),
                )?;
                Ok(bytes.max(0) as u64)
            }
        }
    }

    /// How this database's connections are opened (a backup's copy is
    /// opened the same way); `None` on PostgreSQL.
    pub fn settings(&self) -> Option<&ConnectionSettings> {
        match &self.engine {
            Engine::Sqlite { settings, .. } => Some(settings),
            Engine::Postgres { .. } => None,
        }
    }

    /// A fresh keyed SQLite connection (for `backup`, which must not share
    /// the pool's). PostgreSQL is backed up with its own tools (`pg_dump`).
    pub fn connect(&self) -> Result<Connection, OpenError> {
        match &self.engine {
            Engine::Sqlite {
                settings, location, ..
            } => Ok(settings.open(location)?),
            Engine::Postgres { .. } => Err(OpenError::Other(
                "the database is PostgreSQL: back it up with pg_dump".into(),
            )),
        }
    }

    /// Lets queued writes finish and closes the writer's connection; the
    /// pool opens no more connections (and none is being opened), and its
    /// idle ones are closed here and now. A connection closed by another
    /// thread while the process exits would crash it: SQLCipher's crypto
    /// state is freed at exit (seen about once in 300 stops under load).
    pub fn shutdown(&self) {
        self.writer.shutdown();
        if let Engine::Sqlite { pool, gate, .. } = &self.engine {
            gate.close();
            // Past the gate every connection counts as broken: handed back, it
            // is closed by the thread handing it back instead of kept idle.
            while let Some(idle) = pool.try_get() {
                drop(idle);
            }
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        self.shutdown();
    }
}

enum ReadPool {
    Sqlite(Pool),
    Postgres(r2d2::Pool<pg::Manager>),
}

impl ReadPool {
    fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Conn<'_>) -> Result<T, E>,
        E: JobError,
    {
        match self {
            ReadPool::Sqlite(pool) => read_on(pool, f),
            ReadPool::Postgres(pool) => read_postgres(pool, f),
        }
    }
}

fn read_postgres<T, E, F>(pool: &r2d2::Pool<pg::Manager>, f: F) -> Result<T, E>
where
    F: FnOnce(&Conn<'_>) -> Result<T, E>,
    E: JobError,
{
    let conn = pool
        .get()
        .map_err(|e| E::writer_failure(&format!("connection pool: {e}")))?;
    f(&Conn::postgres(&conn))
}

fn read_on<T, E, F>(pool: &Pool, f: F) -> Result<T, E>
where
    F: FnOnce(&Conn<'_>) -> Result<T, E>,
    E: JobError,
{
    let conn = pool
        .get()
        .map_err(|e| E::writer_failure(&format!("connection pool: {e}")))?;
    f(&Conn::sqlite(&conn))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_the_gate_waits_for_openings_under_way_and_refuses_new_ones() {
        let gate = Arc::new(Gate::default());
        assert!(gate.enter(), "an opening under way");
        let (tx, rx) = std::sync::mpsc::channel();
        let closing = {
            let gate = gate.clone();
            std::thread::spawn(move || {
                gate.close();
                let _ = tx.send(());
            })
        };
        assert!(
            rx.recv_timeout(Duration::from_millis(100)).is_err(),
            "close returned while a connection was being opened"
        );
        gate.leave();
        rx.recv_timeout(Duration::from_secs(10))
            .expect("close returns once the opening is done");
        closing.join().unwrap();
        assert!(!gate.enter(), "no opening after close");
    }

    #[test]
    fn a_closed_database_opens_no_connection() {
        let keys = crate::crypto::Keyring::generate().derive();
        let db =
            Database::open(Location::memory(), &keys.sqlcipher, &DbOptions::default()).unwrap();
        db.read_blocking(|c| {
            c.query_one("SELECT 1", &[], |r| r.get::<i64>(0))
                .map_err(crate::error::AppError::from)
        })
        .unwrap();
        db.shutdown();
        let Engine::Sqlite { gate, .. } = &db.engine else {
            unreachable!()
        };
        let state = *gate.lock();
        assert_eq!(state, (true, 0), "closed, nothing being opened");
    }

    /// A connection closed by another thread while the process exits
    /// crashes it (SQLCipher's crypto state is freed at exit): `shutdown`
    /// closes every idle connection itself, and one handed back later is
    /// closed by whoever hands it back.
    #[test]
    fn shutdown_closes_the_pooled_connections_on_its_own_thread() {
        let keys = crate::crypto::Keyring::generate().derive();
        let db =
            Database::open(Location::memory(), &keys.sqlcipher, &DbOptions::default()).unwrap();
        let Engine::Sqlite { pool, .. } = &db.engine else {
            unreachable!()
        };
        let held = pool.get().unwrap();
        assert!(pool.state().connections >= 1);
        db.shutdown();
        assert_eq!(pool.state().connections, 1, "only the one held is open");
        drop(held);
        assert_eq!(pool.state().connections, 0, "none left to close at exit");
        assert!(pool.try_get().is_none());
    }
}
