//! Several nodes on one PostgreSQL database: each keeps its credentials and
//! access tokens in memory, so each must hear what the others change. The
//! database's triggers send `NOTIFY coffre_changes` at the commit of any
//! change to a credential, an operator's activity or a token
//! (`migrations/postgres/`); this listener, on a connection and thread of
//! its own, reloads both indexes when one arrives, and at least every
//! `cluster_refresh_secs` whatever happens (a notification lost with a
//! dropped connection). A reload keeps the LastUsedAt values not yet
//! written. The node's own changes notify it too; they are already in its
//! indexes, so a notification sent by its own writer session (by backend
//! process id) is not answered: one node alone reloads only on schedule, and
//! its every write does not cost each node a full reload.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use postgres::fallible_iterator::FallibleIterator;

use crate::auth::AuthIndex;
use crate::error::AppError;
use crate::state::AppState;

pub const CHANNEL: &str = "coffre_changes";

/// The listener thread; stopped (and joined) on drop.
pub struct Listener {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Listener {
    /// Starts listening when the database is PostgreSQL; `None` otherwise.
    pub fn start(state: &AppState) -> std::io::Result<Option<Listener>> {
        let Some(url) = state.config.database_url.clone() else {
            return Ok(None);
        };
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (state, stop) = (state.clone(), stop.clone());
            std::thread::Builder::new()
                .name("coffre-listen".into())
                .spawn(move || listen(&state, &url.0, &stop))?
        };
        Ok(Some(Listener {
            stop,
            thread: Some(thread),
        }))
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// How long the listener waits at most before it looks at `stop` again.
const TICK: Duration = Duration::from_millis(200);

fn listen(state: &AppState, url: &str, stop: &AtomicBool) {
    let refresh_every = Duration::from_secs(state.config.cluster_refresh_secs);
    let mut backoff = Duration::from_millis(100);
    while !stop.load(Ordering::SeqCst) {
        let mut client = match connect(state, url) {
            Ok(client) => {
                backoff = Duration::from_millis(100);
                client
            }
            Err(e) => {
                log::warn!("cluster: cannot listen for other nodes' changes: {e}");
                sleep_unless_stopped(backoff, stop);
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        // Whatever changed while this node was not listening.
        reload(state);
        let mut last_reload = Instant::now();
        loop {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            // What this node's own writer notified is already in its
            // indexes: only another node's change calls for a reload.
            let own = state.db.writer_backend_pid();
            let first = client.notifications().timeout_iter(TICK).next();
            let heard = match first {
                Ok(Some(n)) => {
                    // Every notification queued so far is answered by one reload.
                    let mut foreign = Some(n.process_id()) != own;
                    while let Ok(Some(n)) = client.notifications().iter().next() {
                        foreign |= Some(n.process_id()) != own;
                    }
                    foreign
                }
                Ok(None) => false,
                Err(e) => {
                    log::warn!("cluster: the listening connection failed ({e}); reconnecting");
                    break;
                }
            };
            if heard || last_reload.elapsed() >= refresh_every {
                reload(state);
                last_reload = Instant::now();
            }
            if client.is_closed() {
                break;
            }
        }
    }
}

fn connect(state: &AppState, url: &str) -> Result<postgres::Client, crate::db::DbError> {
    let target = crate::db::pg::check_url(url, state.config.database_ca_file.as_deref())
        .map_err(crate::db::DbError::Corrupt)?;
    let mut session = crate::db::pg::PgSession::connect(&target)?;
    session.batch(&format!("LISTEN {CHANNEL}"))?;
    Ok(session.into_client())
}

/// How many times a reload is read again when this process changed an
/// index meanwhile; past that, the notification of that change brings
/// another reload anyway.
const RELOAD_ATTEMPTS: usize = 3;

/// Loads both indexes again from the database, never undoing a change this
/// process made to them after the read began (see `AuthIndex::refresh_from`).
fn reload(state: &AppState) {
    let auth = state.auth.clone();
    let clock = state.clock.clone();
    let result = state.db.read_blocking(move |conn| {
        for _ in 0..RELOAD_ATTEMPTS {
            let seen = auth.index.changes();
            if auth.index.refresh_from(AuthIndex::load(conn)?, seen) {
                break;
            }
        }
        for _ in 0..RELOAD_ATTEMPTS {
            let seen = auth.tokens.changes();
            if auth.tokens.reload(conn, clock.now_millis(), seen)? {
                break;
            }
        }
        Ok::<_, AppError>(())
    });
    if let Err(e) = result {
        log::warn!("cluster: cannot reload the credentials: {e}");
    }
}

fn sleep_unless_stopped(total: Duration, stop: &AtomicBool) {
    let until = Instant::now() + total;
    while !stop.load(Ordering::SeqCst) && Instant::now() < until {
        std::thread::sleep(TICK.min(until - Instant::now()));
    }
}
