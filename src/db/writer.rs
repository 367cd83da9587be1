//! The single writer. SQLite allows one writer at a time anyway; giving it one
//! thread and one connection lets concurrent requests share a commit (group
//! commit): the writer takes every job queued so far, runs each inside its own
//! SAVEPOINT (a failing job rolls back alone), commits once — one fsync for
//! the whole group — and only then answers each job. Nothing is acknowledged
//! before it is durable.
//!
//! Jobs may also leave `AfterCommit` actions (updating in-memory indexes); they
//! run on the writer thread after the commit, in commit order, so an index can
//! never see changes out of order or changes that were rolled back.
//!
//! A few tasks need the connection to themselves, outside any transaction
//! (restoring a snapshot): `exclusive` runs one between two groups.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use std::cell::RefCell;

use rusqlite::Connection;

use super::conn::Conn;
use super::error::DbError;
use super::pg::PgSession;

/// The writer's connection. On PostgreSQL every transaction first takes one
/// transaction-level advisory lock, so the writes of every node that shares
/// the database are serialised exactly as this thread serialises its own.
pub enum WriterConn {
    Sqlite(Connection),
    Postgres {
        session: Box<RefCell<PgSession>>,
        target: Box<super::pg::Target>,
        /// The backend process id of `session` (0 before it is known): the
        /// sender of the notifications this node's own writes cause, which
        /// its listener need not answer (`crate::cluster`).
        backend_pid: Arc<AtomicI32>,
    },
}

/// The backend process id of a PostgreSQL session.
pub fn backend_pid(session: &mut PgSession) -> Result<i32, postgres::Error> {
    Ok(session
        .client()
        .query_one("SELECT pg_backend_pid()", &[])?
        .get(0))
}

/// The advisory lock every write transaction takes on PostgreSQL (and the
/// migrations at start): any fixed 64-bit number, "coffre" in ASCII.
pub const WRITE_LOCK: i64 = 0x636f_6666_7265;

impl WriterConn {
    fn conn(&self) -> Conn<'_> {
        match self {
            WriterConn::Sqlite(c) => Conn::sqlite(c),
            WriterConn::Postgres { session, .. } => Conn::postgres(session),
        }
    }

    fn batch(&self, sql: &str) -> Result<(), DbError> {
        self.conn().batch(sql)
    }

    fn begin(&self) -> Result<(), DbError> {
        match self {
            WriterConn::Sqlite(c) => Ok(c.execute_batch("BEGIN IMMEDIATE")?),
            WriterConn::Postgres {
                session,
                target,
                backend_pid: pid,
            } => {
                if session.borrow().is_closed() {
                    // The server restarted or the connection dropped: a new one.
                    let mut fresh = PgSession::connect(target)?;
                    pid.store(backend_pid(&mut fresh)?, Ordering::SeqCst);
                    *session.borrow_mut() = fresh;
                }
                Ok(session.borrow_mut().batch(&format!(
                    "BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK})"
                ))?)
            }
        }
    }

    /// The transaction was lost (rolled back by the engine, or the
    /// connection with it).
    fn transaction_lost(&self) -> bool {
        match self {
            WriterConn::Sqlite(c) => c.is_autocommit(),
            WriterConn::Postgres { session, .. } => session.borrow().is_closed(),
        }
    }
}

/// What a job's error type must offer the writer.
pub trait JobError: From<DbError> + Send + 'static {
    /// A refusal that recorded itself: its writes are committed, then it fails.
    fn keeps_writes(&self) -> bool {
        false
    }
    /// The database rolled back the transaction this job's writes were in.
    fn rolled_back() -> Self;
    /// The writer itself could not run the job.
    fn writer_failure(what: &str) -> Self;
}

type Finish = Box<dyn FnOnce(Result<(), DbError>) + Send>;
/// Called with the connection, or with the reason the job cannot run at all;
/// says whether its writes are to be kept, and how to answer once the group
/// is committed (or not).
type Job = Box<dyn FnOnce(Result<Conn<'_>, DbError>) -> (bool, Finish) + Send>;
/// Runs alone on the writer's connection, outside any transaction.
type Exclusive = Box<dyn FnOnce(&mut Connection) + Send>;

enum Task {
    Job(Job),
    Exclusive(Exclusive),
}

/// Work to do once the change is committed.
#[derive(Default)]
pub struct AfterCommit {
    actions: Vec<Box<dyn FnOnce() + Send>>,
}

impl AfterCommit {
    pub fn push(&mut self, action: impl FnOnce() + Send + 'static) {
        self.actions.push(Box::new(action));
    }

    fn run(self) {
        for action in self.actions {
            action();
        }
    }
}

pub struct Writer {
    sender: Mutex<Option<mpsc::Sender<Task>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    stats: Arc<WriterStats>,
}

/// Upper bounds of the group-size buckets (jobs per commit).
pub const BATCH_BOUNDS: [u64; 10] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 1024];

/// What the writer has done, for the metrics: counted with relaxed atomics,
/// never a lock on the writer's path.
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Jobs submitted and not yet taken by the writer thread.
    queued: AtomicUsize,
    /// Groups by size: `batches[i]` counts groups of at most
    /// `BATCH_BOUNDS[i]` jobs (and more than the bound before); the last
    /// slot counts larger groups.
    batches: [AtomicU64; BATCH_BOUNDS.len() + 1],
    jobs: AtomicU64,
}

/// A consistent-enough copy of `WriterStats`.
#[derive(Debug, Clone, Default)]
pub struct WriterSnapshot {
    pub queued: usize,
    /// Groups per bucket of `BATCH_BOUNDS`, then the overflow.
    pub batches: Vec<u64>,
    /// Jobs in all groups (the histogram's sum).
    pub jobs: u64,
}

impl WriterStats {
    fn group(&self, size: usize) {
        let size = size as u64;
        let slot = BATCH_BOUNDS
            .iter()
            .position(|&b| size <= b)
            .unwrap_or(BATCH_BOUNDS.len());
        self.batches[slot].fetch_add(1, Ordering::Relaxed);
        self.jobs.fetch_add(size, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> WriterSnapshot {
        WriterSnapshot {
            queued: self.queued.load(Ordering::Relaxed),
            batches: self
                .batches
                .iter()
                .map(|b| b.load(Ordering::Relaxed))
                .collect(),
            jobs: self.jobs.load(Ordering::Relaxed),
        }
    }
}

/// Why a job's writes were not kept although it succeeded.
enum Lost {
    Commit(DbError),
    RolledBack,
}

impl Writer {
    pub fn start(conn: WriterConn, group_commit_max: usize) -> std::io::Result<Writer> {
        let (sender, receiver) = mpsc::channel::<Task>();
        let stats = Arc::new(WriterStats::default());
        let loop_stats = stats.clone();
        let thread = std::thread::Builder::new()
            .name("coffre-writer".into())
            .spawn(move || writer_loop(conn, receiver, group_commit_max.max(1), &loop_stats))?;
        Ok(Writer {
            sender: Mutex::new(Some(sender)),
            thread: Mutex::new(Some(thread)),
            stats,
        })
    }

    pub fn stats(&self) -> WriterSnapshot {
        self.stats.snapshot()
    }

    fn submit<E: JobError>(&self, task: Task) -> Result<(), E> {
        let guard = self
            .sender
            .lock()
            .map_err(|_| E::writer_failure("writer lock poisoned"))?;
        match guard.as_ref() {
            Some(sender) => {
                self.stats.queued.fetch_add(1, Ordering::Relaxed);
                sender.send(task).map_err(|_| {
                    self.stats.queued.fetch_sub(1, Ordering::Relaxed);
                    E::writer_failure("writer thread stopped")
                })
            }
            None => Err(E::writer_failure("the database is shutting down")),
        }
    }

    /// Runs `f` with the writer's connection to itself, between two groups
    /// of writes and outside any transaction; resolves with its result.
    pub async fn exclusive<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: JobError,
    {
        let (done, receiver) = tokio::sync::oneshot::channel();
        self.submit::<E>(Task::Exclusive(Box::new(move |conn| {
            let _ = done.send(f(conn));
        })))?;
        receiver
            .await
            .map_err(|_| E::writer_failure("exclusive task panicked or was dropped"))?
    }

    fn job<T, E, F>(f: F) -> (Job, tokio::sync::oneshot::Receiver<Result<T, E>>)
    where
        F: FnOnce(&Conn<'_>, &mut AfterCommit) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: JobError,
    {
        let (done, receiver) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn: Result<Conn<'_>, DbError>| {
            let mut after = AfterCommit::default();
            let result = match conn {
                Ok(conn) => f(&conn, &mut after),
                Err(e) => Err(E::from(e)),
            };
            // A recorded refusal keeps its history line: committed, then the error.
            let keep = match &result {
                Ok(_) => true,
                Err(e) => e.keeps_writes(),
            };
            let finish: Finish = Box::new(move |commit: Result<(), DbError>| {
                let outcome = match (result, commit) {
                    (Ok(value), Ok(())) => {
                        after.run();
                        Ok(value)
                    }
                    (Err(e), Ok(())) => Err(e),
                    (_, Err(e)) => Err(E::from(e)),
                };
                // The requester may have gone away (client disconnected): fine.
                let _ = done.send(outcome);
            });
            (keep, finish)
        });
        (job, receiver)
    }

    /// Runs `f` in a transaction on the writer thread; resolves once committed.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Conn<'_>, &mut AfterCommit) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: JobError,
    {
        let (job, receiver) = Self::job(f);
        self.submit::<E>(Task::Job(job))?;
        receiver
            .await
            .map_err(|_| E::writer_failure("write job panicked or was dropped"))?
    }

    /// Same, for callers outside the async runtime (CLI commands).
    pub fn write_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Conn<'_>, &mut AfterCommit) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: JobError,
    {
        let (job, receiver) = Self::job(f);
        self.submit::<E>(Task::Job(job))?;
        receiver
            .blocking_recv()
            .map_err(|_| E::writer_failure("write job panicked or was dropped"))?
    }

    /// Finishes queued jobs, then closes the connection.
    pub fn shutdown(&self) {
        if let Ok(mut sender) = self.sender.lock() {
            sender.take();
        }
        let handle = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(handle) = handle
            && handle.join().is_err()
        {
            log::error!("the writer thread panicked while shutting down");
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn writer_loop(
    mut conn: WriterConn,
    receiver: mpsc::Receiver<Task>,
    max: usize,
    stats: &WriterStats,
) {
    let take = |task: Task| {
        stats.queued.fetch_sub(1, Ordering::Relaxed);
        task
    };
    let mut next = receiver.recv().ok().map(take);
    while let Some(task) = next.take() {
        let first = match task {
            Task::Exclusive(f) => {
                match &mut conn {
                    WriterConn::Sqlite(c) => run_exclusive(c, f),
                    // Dropped unrun: its requester hears so.
                    WriterConn::Postgres { .. } => {
                        log::error!("writer: exclusive tasks are for SQLite only");
                    }
                }
                next = receiver.recv().ok().map(take);
                continue;
            }
            Task::Job(job) => job,
        };
        let mut batch = vec![first];
        while batch.len() < max {
            match receiver.try_recv().map(take) {
                Ok(Task::Job(job)) => batch.push(job),
                // It waits for this group, then runs alone.
                Ok(exclusive) => {
                    next = Some(exclusive);
                    break;
                }
                Err(_) => break,
            }
        }
        stats.group(batch.len());
        run_batch(&conn, batch);
        if next.is_none() {
            next = receiver.recv().ok().map(take);
        }
    }
    log::debug!("writer: queue closed, connection closing");
}

fn run_exclusive(conn: &mut Connection, f: Exclusive) {
    if catch_unwind(AssertUnwindSafe(|| f(conn))).is_err() {
        log::error!("writer: an exclusive task panicked");
    }
    if !conn.is_autocommit() {
        log::error!("writer: an exclusive task left a transaction open; rolling it back");
        let _ = conn.execute_batch("ROLLBACK");
    }
}

fn answer(finish: Finish, lost: Option<&Lost>) {
    let result = match lost {
        None => Ok(()),
        Some(Lost::Commit(DbError::Sqlite(rusqlite::Error::SqliteFailure(f, m)))) => Err(
            DbError::Sqlite(rusqlite::Error::SqliteFailure(*f, m.clone())),
        ),
        Some(Lost::Commit(_) | Lost::RolledBack) => Err(DbError::RolledBack),
    };
    if catch_unwind(AssertUnwindSafe(|| finish(result))).is_err() {
        log::error!("writer: an after-commit action panicked");
    }
}

fn run_batch(conn: &WriterConn, batch: Vec<Job>) {
    // Jobs that succeeded and wait for the group's commit.
    let mut pending: Vec<Finish> = Vec::with_capacity(batch.len());
    let mut in_transaction = false;
    for job in batch {
        if !in_transaction {
            if let Err(e) = conn.begin() {
                log::warn!("writer: cannot begin a write transaction: {e}");
                let (_, finish) = job(Err(e));
                finish(Ok(()));
                continue;
            }
            in_transaction = true;
        }
        if let Err(e) = conn.batch("SAVEPOINT job") {
            log::error!("writer: cannot open a savepoint: {e}");
            let (_, finish) = job(Err(e));
            finish(Ok(()));
            continue;
        }
        match catch_unwind(AssertUnwindSafe(|| job(Ok(conn.conn())))) {
            Ok((true, finish)) => {
                let _ = conn.batch("RELEASE job");
                pending.push(finish);
            }
            Ok((false, finish)) => {
                let _ = conn.batch("ROLLBACK TO job; RELEASE job");
                // It answers with its own error; nothing of it is kept.
                finish(Ok(()));
            }
            Err(_) => {
                log::error!("writer: a write job panicked; its changes were rolled back");
                let _ = conn.batch("ROLLBACK TO job; RELEASE job");
                // Its reply channel was dropped with it: the requester sees an error.
            }
        }
        if conn.transaction_lost() {
            // SQLite rolled the whole transaction back (an I/O error, a full
            // disk): the jobs before this one are gone too. Say so, and start
            // a new transaction for the rest of the group.
            log::error!("writer: the group's transaction was rolled back by SQLite");
            for finish in pending.drain(..) {
                answer(finish, Some(&Lost::RolledBack));
            }
            in_transaction = false;
        }
    }
    if !in_transaction {
        return;
    }
    let lost = conn.batch("COMMIT").err().map(|e| {
        log::error!("writer: commit failed, rolling back the group: {e}");
        let _ = conn.batch("ROLLBACK");
        Lost::Commit(e)
    });
    for finish in pending {
        // Each job hears why: a full disk is a 507, not an internal error.
        answer(finish, lost.as_ref());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[derive(Debug)]
    struct Failed {
        what: String,
        keep: bool,
    }

    impl From<DbError> for Failed {
        fn from(e: DbError) -> Self {
            Failed {
                what: e.to_string(),
                keep: false,
            }
        }
    }

    impl JobError for Failed {
        fn keeps_writes(&self) -> bool {
            self.keep
        }
        fn rolled_back() -> Self {
            Failed {
                what: "rolled back".into(),
                keep: false,
            }
        }
        fn writer_failure(what: &str) -> Self {
            Failed {
                what: what.into(),
                keep: false,
            }
        }
    }

    fn writer() -> Arc<Writer> {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (x INTEGER PRIMARY KEY)")
            .unwrap();
        Arc::new(Writer::start(WriterConn::Sqlite(conn), 64).unwrap())
    }

    fn insert(c: &Conn<'_>, x: i64) -> Result<(), Failed> {
        c.execute("INSERT INTO t (x) VALUES (?1)", &[&x])?;
        Ok(())
    }

    fn refused(keep: bool) -> Failed {
        Failed {
            what: "refused".into(),
            keep,
        }
    }

    #[test]
    fn a_failing_or_panicking_job_rolls_back_alone_and_the_others_commit() {
        let w = writer();
        let committed = Arc::new(AtomicUsize::new(0));
        // Submitted together from several threads, so they tend to share a group.
        let handles: Vec<_> = (0..40)
            .map(|i| {
                let (w, committed) = (w.clone(), committed.clone());
                std::thread::spawn(move || {
                    w.write_blocking(move |c, after| {
                        insert(c, i)?;
                        match i % 4 {
                            1 => Err(refused(false)),
                            #[allow(clippy::panic)]
                            2 => panic!("job {i} panics"),
                            _ => {
                                after.push(move || {
                                    committed.fetch_add(1, Ordering::SeqCst);
                                });
                                Ok(i)
                            }
                        }
                    })
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        for (i, r) in results.iter().enumerate() {
            assert_eq!(r.is_ok(), i % 4 == 0 || i % 4 == 3, "job {i}: {r:?}");
        }
        let kept: Vec<i64> = w
            .write_blocking(|c, _| {
                c.query_all("SELECT x FROM t ORDER BY x", &[], |r| r.get(0))
                    .map_err(Failed::from)
            })
            .unwrap();
        assert_eq!(
            kept,
            (0..40)
                .filter(|i| i % 4 == 0 || i % 4 == 3)
                .collect::<Vec<_>>()
        );
        assert_eq!(
            committed.load(Ordering::SeqCst),
            20,
            "after-commit actions ran for committed jobs only"
        );
    }

    #[test]
    fn a_recorded_refusal_keeps_its_writes_and_still_answers_with_its_error() {
        let w = writer();
        let err = w
            .write_blocking(|c, after| {
                insert(c, 7)?;
                after.push(|| unreachable!("after-commit actions are for successes only"));
                Err::<(), _>(refused(true))
            })
            .unwrap_err();
        assert_eq!(err.what, "refused");
        let kept: i64 = w
            .write_blocking(|c, _| {
                c.query_one("SELECT count(*) FROM t WHERE x = 7", &[], |r| r.get(0))
                    .map_err(Failed::from)
            })
            .unwrap();
        assert_eq!(kept, 1);
    }

    #[tokio::test]
    async fn an_exclusive_task_runs_between_groups_with_the_connection_to_itself() {
        let w = writer();
        // Queued behind a write, ahead of another: it sees the first, not the second.
        let first = {
            let w = w.clone();
            tokio::task::spawn_blocking(move || w.write_blocking(|c, _| insert(c, 1)))
        };
        first.await.unwrap().unwrap();
        let seen = w
            .exclusive(|conn: &mut Connection| {
                assert!(conn.is_autocommit(), "outside any transaction");
                conn.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0))
                    .map_err(|e| Failed::from(DbError::from(e)))
            })
            .await
            .unwrap();
        assert_eq!(seen, 1);
        let w2 = w.clone();
        tokio::task::spawn_blocking(move || w2.write_blocking(|c, _| insert(c, 2)))
            .await
            .unwrap()
            .unwrap();
    }

    #[test]
    fn shutdown_finishes_queued_work_then_refuses_more() {
        let w = writer();
        w.write_blocking(|c, _| insert(c, 1)).unwrap();
        w.shutdown();
        let err = w.write_blocking(|c, _| insert(c, 2)).unwrap_err();
        assert_eq!(err.what, "the database is shutting down");
    }
}
