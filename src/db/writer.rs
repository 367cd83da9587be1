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

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::mpsc;
use std::thread::JoinHandle;

use rusqlite::Connection;

use crate::error::{AppError, AppResult};

type Finish = Box<dyn FnOnce(AppResult<()>) + Send>;
/// Called with the connection, or with the reason the job cannot run at all.
type Job = Box<dyn FnOnce(Result<&Connection, AppError>) -> (bool, Finish) + Send>;

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
    sender: Mutex<Option<mpsc::Sender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Writer {
    pub fn start(conn: Connection, group_commit_max: usize) -> std::io::Result<Writer> {
        let (sender, receiver) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("coffre-writer".into())
            .spawn(move || writer_loop(conn, receiver, group_commit_max.max(1)))?;
        Ok(Writer {
            sender: Mutex::new(Some(sender)),
            thread: Mutex::new(Some(thread)),
        })
    }

    fn submit(&self, job: Job) -> AppResult<()> {
        let guard = self
            .sender
            .lock()
            .map_err(|_| AppError::internal("writer lock poisoned"))?;
        match guard.as_ref() {
            Some(sender) => sender
                .send(job)
                .map_err(|_| AppError::internal("writer thread stopped")),
            None => Err(AppError::internal("the database is shutting down")),
        }
    }

    fn job<T, F>(f: F) -> (Job, tokio::sync::oneshot::Receiver<AppResult<T>>)
    where
        F: FnOnce(&Connection, &mut AfterCommit) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let (done, receiver) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn: Result<&Connection, AppError>| {
            let mut after = AfterCommit::default();
            let result = conn.and_then(|conn| f(conn, &mut after));
            let ok = result.is_ok();
            let finish: Finish = Box::new(move |commit: AppResult<()>| {
                let outcome = match (result, commit) {
                    (Ok(value), Ok(())) => {
                        after.run();
                        Ok(value)
                    }
                    (Ok(_), Err(e)) | (Err(e), _) => Err(e),
                };
                // The requester may have gone away (client disconnected): fine.
                let _ = done.send(outcome);
            });
            (ok, finish)
        });
        (job, receiver)
    }

    /// Runs `f` in a transaction on the writer thread; resolves once committed.
    pub async fn write<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&Connection, &mut AfterCommit) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let (job, receiver) = Self::job(f);
        self.submit(job)?;
        receiver
            .await
            .map_err(|_| AppError::internal("write job panicked or was dropped"))?
    }

    /// Same, for callers outside the async runtime (CLI commands).
    pub fn write_blocking<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&Connection, &mut AfterCommit) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let (job, receiver) = Self::job(f);
        self.submit(job)?;
        receiver
            .blocking_recv()
            .map_err(|_| AppError::internal("write job panicked or was dropped"))?
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

fn writer_loop(conn: Connection, receiver: mpsc::Receiver<Job>, max: usize) {
    while let Ok(first) = receiver.recv() {
        let mut batch = vec![first];
        while batch.len() < max {
            match receiver.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        run_batch(&conn, batch);
    }
    log::debug!("writer: queue closed, connection closing");
}

fn run_batch(conn: &Connection, batch: Vec<Job>) {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        log::warn!("writer: cannot begin a write transaction: {e}");
        for job in batch {
            let err = AppError::from(clone_sqlite_error(&e));
            let (_, finish) = job(Err(err));
            finish(Ok(()));
        }
        return;
    }
    let mut finishes: Vec<(bool, Finish)> = Vec::with_capacity(batch.len());
    for job in batch {
        if let Err(e) = conn.execute_batch("SAVEPOINT job") {
            log::error!("writer: cannot open a savepoint: {e}");
            let (_, finish) = job(Err(AppError::from(e)));
            finishes.push((false, finish));
            continue;
        }
        match catch_unwind(AssertUnwindSafe(|| job(Ok(conn)))) {
            Ok((true, finish)) => {
                let _ = conn.execute_batch("RELEASE job");
                finishes.push((true, finish));
            }
            Ok((false, finish)) => {
                let _ = conn.execute_batch("ROLLBACK TO job; RELEASE job");
                finishes.push((false, finish));
            }
            Err(_) => {
                log::error!("writer: a write job panicked; its changes were rolled back");
                let _ = conn.execute_batch("ROLLBACK TO job; RELEASE job");
                // Its reply channel was dropped with it: the requester sees an error.
            }
        }
    }
    let commit = conn.execute_batch("COMMIT").map_err(|e| {
        log::error!("writer: commit failed, rolling back the group: {e}");
        let _ = conn.execute_batch("ROLLBACK");
        AppError::from(e)
    });
    for (ok, finish) in finishes {
        let result = match (&commit, ok) {
            (Err(e), true) => Err(AppError::internal(format!("commit failed: {e}"))),
            _ => Ok(()),
        };
        if catch_unwind(AssertUnwindSafe(|| finish(result))).is_err() {
            log::error!("writer: an after-commit action panicked");
        }
    }
}

/// rusqlite errors are not `Clone`; keep the code and message for each job.
fn clone_sqlite_error(e: &rusqlite::Error) -> rusqlite::Error {
    match e {
        rusqlite::Error::SqliteFailure(code, msg) => {
            rusqlite::Error::SqliteFailure(*code, msg.clone())
        }
        other => rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
            Some(other.to_string()),
        ),
    }
}
