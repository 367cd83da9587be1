//! `coffre rekey`: re-wrap the data key under a new passphrase. Only
//! keyring.json changes (atomically); the database is not re-encrypted.

use std::io::IsTerminal;

use crate::cli::CliError;
use crate::config::Config;
use crate::crypto::{KeyringFile, Protector, SecretBytes};
use crate::datadir;

fn new_passphrase() -> Result<SecretBytes, CliError> {
    if let Ok(p) = std::env::var("COFFRE_NEW_PASSPHRASE") {
        if p.is_empty() {
            return Err(CliError::usage(
                "COFFRE_NEW_PASSPHRASE is empty: give the new passphrase",
            ));
        }
        return Ok(SecretBytes::from(p));
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::usage(
            "no new passphrase: set COFFRE_NEW_PASSPHRASE, or run rekey on a terminal to be asked",
        ));
    }
    let first = rpassword::prompt_password("New passphrase: ")
        .map_err(|e| CliError::failed(format!("cannot read the passphrase: {e}")))?;
    let second = rpassword::prompt_password("Repeat it: ")
        .map_err(|e| CliError::failed(format!("cannot read the passphrase: {e}")))?;
    if first != second {
        return Err(CliError::usage(
            "the two passphrases differ; nothing was changed",
        ));
    }
    if first.is_empty() {
        return Err(CliError::usage(
            "the passphrase is empty; nothing was changed",
        ));
    }
    Ok(SecretBytes::from(first))
}

pub fn run(config: Config) -> Result<(), CliError> {
    if config.dev {
        return Err(CliError::usage("--dev has no keyring to rekey"));
    }
    if config.database_url.is_some() {
        return rekey_postgres(&config);
    }
    let (old_file, keyring) = datadir::unlock(&config)?;
    let new = new_passphrase()?;
    let path = config.keyring_path();
    let new_file = keyring
        .seal_to_file(Protector::Passphrase, &new, &config.kdf)
        .map_err(|e| CliError::failed(e.to_string()))?;
    new_file
        .write_atomic(&path)
        .map_err(|e| CliError::failed(e.to_string()))?;
    // Read it back before anything else changes: the new passphrase must open it.
    KeyringFile::read(&path)
        .and_then(|f| f.unlock(&new))
        .map_err(|e| CliError::failed(format!("the new keyring does not read back: {e}")))?;
    println!(
        "coffre: passphrase changed for {} (the data was not re-encrypted)",
        config.data_dir.display()
    );
    if old_file.protector() == Protector::KeyFile {
        let key_file = config.key_file_path();
        if key_file == config.data_dir.join("master.key") {
            match std::fs::remove_file(&key_file) {
                Ok(()) => println!(
                    "coffre: {} is no longer needed and was removed",
                    key_file.display()
                ),
                Err(e) => println!(
                    "coffre: {} is no longer needed; remove it ({e})",
                    key_file.display()
                ),
            }
        } else {
            println!(
                "coffre: {} is no longer needed; you may destroy it",
                key_file.display()
            );
        }
    }
    Ok(())
}

/// With PostgreSQL the keyring is the database's `keyring` row: rewritten in
/// one transaction, then read back with the new passphrase.
fn rekey_postgres(config: &Config) -> Result<(), CliError> {
    let (db, _, keyring) = datadir::open_postgres(config, false)?;
    let new = new_passphrase()?;
    let document = keyring
        .seal_to_file(Protector::Passphrase, &new, &config.kdf)
        .and_then(|f| f.to_json())
        .map_err(|e| CliError::failed(e.to_string()))?;
    let written = db.write_blocking(move |c, _| {
        Ok::<_, crate::error::AppError>(crate::db::keyring::replace(c, &document)?)
    });
    let stored = written.and_then(|()| {
        db.read_blocking(|c| Ok::<_, crate::error::AppError>(crate::db::keyring::load(c)?))
    });
    db.shutdown();
    let stored = stored
        .map_err(|e| CliError::failed(e.to_string()))?
        .ok_or_else(|| CliError::failed("the keyring row vanished"))?;
    KeyringFile::from_json(&stored)
        .and_then(|f| f.unlock(&new))
        .map_err(|e| CliError::failed(format!("the new keyring does not read back: {e}")))?;
    println!("coffre: passphrase changed for the database (the data was not re-encrypted)");
    Ok(())
}
