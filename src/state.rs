//! What every handler can reach.

use std::sync::Arc;
use std::time::Duration;

use crate::auth::rate_limit::FailureLimiter;
use crate::auth::{AuthIndex, Authenticator};
use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::DerivedKeys;
use crate::db::Database;
use crate::error::{AppError, AppResult};
use crate::http::body::BodyBudget;
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
        );
        let body_budget = Arc::new(BodyBudget::new(
            config.body_memory_limit_mib as usize * 1024 * 1024,
        ));
        let auth = Authenticator::new(Arc::new(index), limiter);
        let now = clock.now_millis();
        db.read_blocking(|conn| Ok::<_, AppError>(auth.tokens.load(conn, now)?))?;
        Ok(AppState {
            db,
            keys,
            clock,
            config: Arc::new(config),
            auth: Arc::new(auth),
            sweeper: Arc::new(Sweeper::default()),
            body_budget,
            archives: Arc::default(),
        })
    }
}
