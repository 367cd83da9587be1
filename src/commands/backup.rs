//! `coffre backup DIR`: a consistent online copy of the data dir — the
//! encrypted database and keyring.json, every file 0600, never master.key.

use std::path::PathBuf;

use crate::cli::CliError;
use crate::config::Config;
use crate::datadir;
use crate::db::backup::open_source;
use crate::db::{ConnectionSettings, OpenError};

pub fn run(config: Config, dir: PathBuf) -> Result<(), CliError> {
    if config.dev {
        return Err(CliError::usage(
            "--dev keeps its database in memory: there is nothing to back up",
        ));
    }
    if dir.exists() {
        return Err(CliError::failed(format!(
            "{} already exists; backup never overwrites: name a directory that does not exist yet",
            dir.display()
        )));
    }
    if config.database_url.is_some() {
        return Err(CliError::usage(
            "the database is PostgreSQL (database_url): back it up with pg_dump, e.g. \
             `pg_dump --format=custom --file=coffre.dump DATABASE`. The dump holds the sealed \
             values and the keyring row; reading it still takes the passphrase or key file",
        ));
    }
    let database = config.database_path();
    if !database.exists() {
        return Err(CliError::usage(format!(
            "{} has no coffre.db; pass the --data-dir of an initialised coffre",
            config.data_dir.display()
        )));
    }
    let (keyring_file, keyring) = datadir::unlock(&config)?;
    let keys = keyring.derive();
    let settings = ConnectionSettings::new(
        &keys.sqlcipher,
        config.durability,
        std::time::Duration::from_millis(config.busy_timeout_ms),
    );
    let source = open_source(&settings, &database).map_err(|e| match e {
        OpenError::WrongKey => CliError {
            code: 3,
            message: "coffre.db cannot be decrypted with this keyring".into(),
        },
        other => CliError::failed(format!("cannot read the database: {other}")),
    })?;

    datadir::write_backup(&source, &settings, &keyring_file, &dir)
        .map_err(|e| CliError::failed(format!("backup failed, nothing was kept: {e}")))?;
    println!(
        "coffre: backup written to {} (coffre.db, keyring.json)",
        dir.display()
    );
    if keyring_file.protector() == crate::crypto::Protector::KeyFile {
        println!(
            "coffre: master.key was not copied; open the backup with key_file (COFFRE_KEY_FILE) \
             pointing at {}",
            config.key_file_path().display()
        );
    }
    Ok(())
}
