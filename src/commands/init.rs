//! `coffre init`: create a data dir.

use crate::cli::CliError;
use crate::config::Config;
use crate::datadir;
use crate::db::Location;

pub fn run(config: Config, json: bool) -> Result<(), CliError> {
    if config.dev {
        return Err(CliError::usage(
            "init creates a data dir on disk, and --dev keeps nothing on disk: drop --dev, or run \
             `coffre serve --dev` directly",
        ));
    }
    let keys = datadir::initialize(&config)?;
    let db = datadir::open_database(&config, &keys, Location::File(config.database_path()))?;
    db.shutdown();
    if json {
        println!("{}", serde_json::json!({ "DataDir": config.data_dir }));
    } else {
        println!("coffre: initialised {}", config.data_dir.display());
    }
    Ok(())
}
