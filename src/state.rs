//! What every handler can reach.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::auth::rate_limit::FailureLimiter;
use crate::auth::session::Sessions;
use crate::auth::{AuthIndex, Authenticator};
use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::DerivedKeys;
use crate::db::{Database, Snapshot};
use crate::error::{AppError, AppResult};
use crate::http::body::BodyBudget;
use crate::metrics::Metrics;
use crate::scheduler::Sweeper;

#[derive(Clone)]
pub struct AppState {
    pub db: Arc<Database>,
    pub keys: Arc<DerivedKeys>,
    pub clock: Arc<Clock>,
    pub config: Arc<Config>,
    pub auth: Arc<Authenticator>,
    pub sweeper: Arc<Sweeper>,
    /// Bytes of request bodies held at once, bounded.
    pub body_budget: Arc<BodyBudget>,
    /// Opens certificate archives before their write, one at a time.
    pub archives: Arc<crate::vault::pfx::Inspector>,
    /// `--dev`: the database right after start, which a reset returns to.
    pub baseline: Arc<OnceLock<Snapshot>>,
    pub metrics: Arc<Metrics>,
    /// The console's sessions (in memory: a restart signs everyone out).
    pub sessions: Arc<Sessions>,
    /// Told when the sweep has written e-mails, so the sender wakes for them.
    pub outbox_written: Arc<tokio::sync::Notify>,
    /// Wakes the grace-reminder job: a Regenerate set a new grace period.
    pub grace_changed: Arc<tokio::sync::Notify>,
}

impl AppState {
    /// Loads the credential and access-token indexes from the database.
    pub fn new(
        db: Arc<Database>,
        keys: Arc<DerivedKeys>,
        clock: Arc<Clock>,
        config: Config,
    ) -> AppResult<AppState> {
        let index = db.read_blocking(|conn| Ok::<_, AppError>(AuthIndex::load(conn)?))?;
        let limiter = FailureLimiter::new(
            config.auth_failure_limit,
            Duration::from_secs(config.auth_failure_window_secs),
            config.auth_failure_max_addresses as usize,
        );
        let body_budget = Arc::new(BodyBudget::new(
            config.body_memory_limit_mib as usize * 1024 * 1024,
        ));
        let auth = Authenticator::new(Arc::new(index), limiter);
        let now = clock.now_millis();
        db.read_blocking(|conn| Ok::<_, AppError>(auth.tokens.load(conn, now)?))?;
        let sessions = Arc::new(Sessions::new(
            config.session_idle_timeout_mins,
            config.session_lifetime_hours,
        ));
        Ok(AppState {
            db,
            keys,
            clock,
            config: Arc::new(config),
            auth: Arc::new(auth),
            sweeper: Arc::new(Sweeper::default()),
            body_budget,
            archives: Arc::default(),
            baseline: Arc::default(),
            metrics: Arc::default(),
            sessions,
            outbox_written: Arc::default(),
            grace_changed: Arc::default(),
        })
    }

    /// Remembers the database as it is now as the state a reset returns to.
    pub fn capture_baseline(&self) -> AppResult<()> {
        let snapshot = self.db.snapshot()?;
        self.baseline
            .set(snapshot)
            .map_err(|_| AppError::internal("the baseline was captured twice"))
    }

    /// Returns everything to the baseline (`POST /v4/Dev/Reset`): the
    /// database, the key and token indexes that follow it (and the
    /// LastUsedAt values the key index held), the clock (real time again),
    /// the sweeper's memory, the failed-authentication limiter and the
    /// console's sessions. Then sweeps, as at start.
    pub async fn reset_to_baseline(&self) -> AppResult<()> {
        let snapshot = self.baseline.get().cloned().ok_or_else(|| {
            AppError::internal("no baseline to reset to: the server was not started with --dev")
        })?;
        let index = self.auth.index.clone();
        let tokens = self.auth.tokens.clone();
        let clock = self.clock.clone();
        // No sweep may run meanwhile: its writes would land on the restored state.
        self.sweeper
            .forget_after(async {
                self.db
                    .restore(snapshot, move |conn| {
                        index.replace_all(AuthIndex::load(conn)?);
                        // Tokens issued since start are gone with their rows;
                        // left in memory, one could pass for a client made
                        // after the reset in the same row.
                        clock.reset();
                        tokens.load(conn, clock.now_millis())?;
                        Ok::<_, AppError>(())
                    })
                    .await?;
                self.auth.limiter.clear();
                self.sessions.clear();
                Ok::<_, AppError>(())
            })
            .await?;
        if self.config.scheduler {
            self.sweeper.run_if_due(self).await?;
        }
        Ok(())
    }
}
