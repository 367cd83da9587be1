//! `coffre init`: create a data dir, its administrators and the bootstrap key.

use std::sync::Arc;

use crate::accounts::bootstrap;
use crate::cli::CliError;
use crate::clock::Clock;
use crate::config::Config;
use crate::datadir;
use crate::db::Location;
use crate::state::AppState;

pub fn run(config: Config, json: bool) -> Result<(), CliError> {
    if config.dev {
        return Err(CliError::usage(
            "init creates a data dir on disk, and --dev keeps nothing on disk: drop --dev, or run \
             `coffre serve --dev` directly",
        ));
    }
    let keys = Arc::new(datadir::initialize(&config)?);
    let db = Arc::new(datadir::open_database(
        &config,
        &keys,
        Location::File(config.database_path()),
    )?);
    let state = AppState::new(db.clone(), keys, Arc::new(Clock::system()), config.clone())?;
    let created = bootstrap::ensure(&state);
    db.shutdown();
    let Some(boot) = created? else {
        return Err(CliError::failed(
            "the new database was already bootstrapped; this should not happen",
        ));
    };
    if json {
        println!(
            "{}",
            serde_json::json!({ "ApiKeyGuid": boot.api_key_guid, "Key": boot.key.as_str() })
        );
    } else {
        println!("coffre: initialised {}", config.data_dir.display());
        println!("coffre bootstrap key: {}", boot.key.as_str());
        eprintln!("coffre: the bootstrap key above is shown once and never again: store it now.");
    }
    Ok(())
}
