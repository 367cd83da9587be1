//! What every handler can reach.

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::DerivedKeys;
use crate::db::Database;

#[derive(Clone)]
pub struct AppState {
    pub db: Arc<Database>,
    pub keys: Arc<DerivedKeys>,
    pub clock: Arc<Clock>,
    pub config: Arc<Config>,
}

impl AppState {
    pub fn new(db: Database, keys: DerivedKeys, clock: Arc<Clock>, config: Config) -> AppState {
        AppState {
            db: Arc::new(db),
            keys: Arc::new(keys),
            clock,
            config: Arc::new(config),
        }
    }
}
