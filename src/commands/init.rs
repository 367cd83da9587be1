//! `coffre init`: create a data dir, its administrators and the bootstrap key,
//! and with `--seed` what the seed file declares, in the same transaction. A
//! seed is first tried on a throwaway in-memory database, so a bad one is
//! refused before anything exists on disk.

use std::sync::Arc;

use crate::accounts::bootstrap;
use crate::cli::CliError;
use crate::clock::Clock;
use crate::config::Config;
use crate::datadir;
use crate::db::Location;
use crate::error::AppError;
use crate::seed;
use crate::state::AppState;
use crate::work::Caller;

pub fn run(config: Config, json: bool) -> Result<(), CliError> {
    if config.dev {
        return Err(CliError::usage(
            "init creates a data dir on disk, and --dev keeps nothing on disk: drop --dev, or run \
             `coffre serve --dev` directly",
        ));
    }
    if config.database_url.is_none() {
        datadir::ensure_new(&config)?;
    }
    let seed = match &config.seed {
        Some(path) => {
            let seed = seed::load(path).map_err(CliError::usage)?;
            seed::dry_run(&config, &seed).map_err(super::seed_refused)?;
            Some(seed)
        }
        None => None,
    };
    let (keys, db) = if config.database_url.is_some() {
        let (db, _, keyring) = datadir::open_postgres(&config, true)?;
        (keyring.derive(), db)
    } else {
        let keys = datadir::initialize(&config)?;
        let db = datadir::open_database(&config, &keys, Location::File(config.database_path()))?;
        (keys, db)
    };
    let (keys, db) = (Arc::new(keys), Arc::new(db));
    let state = AppState::new(db.clone(), keys, Arc::new(Clock::system()), config.clone())?;
    let seeded = seed.clone();
    let created = state.write_blocking(Caller::System("init"), move |w| {
        if !bootstrap::needed(w)? {
            return Err(AppError::internal(
                "the database was initialised already (it has operators and keys): use \
                 `coffre serve` to run it",
            ));
        }
        let boot = bootstrap::run(w)?;
        if let Some(seed) = &seeded {
            seed::apply(w, seed)?;
        }
        Ok(boot)
    });
    db.shutdown();
    let boot = created.map_err(super::seed_refused)?;
    if json {
        println!(
            "{}",
            serde_json::json!({ "ApiKeyGuid": boot.api_key_guid, "Key": boot.key.as_str() })
        );
    } else {
        println!("coffre: initialised {}", config.data_dir.display());
        if let Some(seed) = &seed {
            println!(
                "coffre: seeded from {} ({} entries)",
                seed.path.display(),
                seed.entries.len()
            );
        }
        println!("coffre bootstrap key: {}", boot.key.as_str());
        eprintln!("coffre: the bootstrap key above is shown once and never again: store it now.");
    }
    Ok(())
}
