//! The data dir on disk: creating it (`init`), unlocking its keyring, opening
//! its database. Errors carry the process exit code SPEC §1 assigns them.

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use crate::config::Config;
use crate::crypto::{DerivedKeys, Keyring, KeyringError, KeyringFile, Protector, SecretBytes};
use crate::db::backup::copy_database;
use crate::db::{ConnectionSettings, Database, DbOptions, Location, OpenError};
use crate::fsutil;

#[derive(Debug)]
pub enum DataDirError {
    /// Exit 2: usage or configuration.
    Usage(String),
    /// Exit 3: wrong passphrase or unreadable key.
    Locked(String),
    /// Exit 1: anything else.
    Failed(String),
}

impl DataDirError {
    pub fn exit_code(&self) -> i32 {
        match self {
            DataDirError::Usage(_) => 2,
            DataDirError::Locked(_) => 3,
            DataDirError::Failed(_) => 1,
        }
    }
}

impl fmt::Display for DataDirError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataDirError::Usage(m) | DataDirError::Locked(m) | DataDirError::Failed(m) => {
                f.write_str(m)
            }
        }
    }
}

impl std::error::Error for DataDirError {}

impl From<KeyringError> for DataDirError {
    fn from(e: KeyringError) -> Self {
        match e {
            KeyringError::WrongSecret(_) => DataDirError::Locked(e.to_string()),
            KeyringError::Corrupt(_) => DataDirError::Locked(e.to_string()),
            KeyringError::Io(_) => DataDirError::Failed(e.to_string()),
        }
    }
}

pub fn db_options(config: &Config) -> DbOptions {
    DbOptions {
        durability: config.durability,
        busy_timeout: std::time::Duration::from_millis(config.busy_timeout_ms),
        pool_size: config.db_pool_size,
        group_commit_max: config.group_commit_max,
    }
}

/// A data dir counts as initialised once its keyring exists.
pub fn is_initialized(config: &Config) -> bool {
    config.keyring_path().exists()
}

/// Refuses a data dir that was initialised already.
pub fn ensure_new(config: &Config) -> Result<(), DataDirError> {
    if is_initialized(config) || config.database_path().exists() {
        return Err(DataDirError::Failed(format!(
            "{} is already initialised (it holds keyring.json or coffre.db); use `coffre serve` \
             to run it, or choose another --data-dir",
            config.data_dir.display()
        )));
    }
    Ok(())
}

/// Creates the data dir (0700), the key material and the keyring.
///
/// Without a passphrase a random 256-bit key is written to `master.key` (0600)
/// and a warning says production should use a passphrase or keep it elsewhere.
pub fn initialize(config: &Config) -> Result<DerivedKeys, DataDirError> {
    let dir = &config.data_dir;
    ensure_new(config)?;
    fsutil::create_private_dir(dir).map_err(|e| {
        DataDirError::Failed(format!("cannot create data dir {}: {e}", dir.display()))
    })?;
    let (protector, secret) = match &config.passphrase {
        Some(passphrase) => (Protector::Passphrase, passphrase.clone()),
        None => {
            let path = config.key_file_path();
            let key = write_new_key_file(&path)?;
            // A log line, so that `log_format = "json"` keeps stderr all JSON.
            log::warn!(
                "no passphrase given, so a random 256-bit key was written to {}. Anyone \
                 with that file and the data dir can read everything: in production set \
                 COFFRE_PASSPHRASE (or passphrase_file), or keep the key file elsewhere \
                 (key_file).",
                path.display()
            );
            (Protector::KeyFile, key)
        }
    };
    let keyring = Keyring::generate();
    let started = Instant::now();
    let file = keyring.seal_to_file(protector, &secret, &config.kdf)?;
    log::info!(
        "keyring created in {} ms (Argon2id {:?})",
        started.elapsed().as_millis(),
        config.kdf
    );
    file.write_atomic(&config.keyring_path())?;
    Ok(keyring.derive())
}

fn write_new_key_file(path: &Path) -> Result<SecretBytes, DataDirError> {
    if path.exists() {
        return Err(DataDirError::Failed(format!(
            "{} already exists; refusing to overwrite a key file. Move it away or set \
             COFFRE_PASSPHRASE",
            path.display()
        )));
    }
    let key: [u8; 32] = crate::crypto::random_bytes();
    let text = zeroize::Zeroizing::new(format!("{}\n", hex::encode(key)));
    let write = || -> std::io::Result<()> {
        let mut f = fsutil::create_private_file(path)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        if let Some(parent) = path.parent() {
            fsutil::sync_dir(parent)?;
        }
        Ok(())
    };
    write().map_err(|e| DataDirError::Failed(format!("cannot write {}: {e}", path.display())))?;
    Ok(SecretBytes::new(key.to_vec()))
}

/// Reads `master.key`: 64 hex digits.
pub fn read_key_file(path: &Path) -> Result<SecretBytes, DataDirError> {
    let text = zeroize::Zeroizing::new(fs::read_to_string(path).map_err(|e| {
        DataDirError::Locked(format!(
            "this data dir is protected by a key file, and {} cannot be read ({e}). Point \
             key_file (COFFRE_KEY_FILE) at its master.key",
            path.display()
        ))
    })?);
    let bytes = hex::decode(text.trim())
        .ok()
        .filter(|b| b.len() == 32)
        .ok_or_else(|| {
            DataDirError::Locked(format!(
                "{} is not a coffre key file (64 hex digits)",
                path.display()
            ))
        })?;
    Ok(SecretBytes::new(bytes))
}

pub fn read_keyring(config: &Config) -> Result<KeyringFile, DataDirError> {
    let path = config.keyring_path();
    if !path.exists() {
        return Err(DataDirError::Usage(format!(
            "{} is not a coffre data dir (no keyring.json); run `coffre init` or `coffre serve` \
             to create one, or pass the right --data-dir",
            config.data_dir.display()
        )));
    }
    Ok(KeyringFile::read(&path)?)
}

/// The secret that unlocks this keyring, from the configuration.
pub fn protector_secret(config: &Config, file: &KeyringFile) -> Result<SecretBytes, DataDirError> {
    match (file.protector(), &config.passphrase) {
        (Protector::Passphrase, Some(p)) => Ok(p.clone()),
        (Protector::Passphrase, None) => Err(DataDirError::Locked(format!(
            "{} is protected by a passphrase: set COFFRE_PASSPHRASE or passphrase_file",
            config.data_dir.display()
        ))),
        (Protector::KeyFile, Some(_)) => Err(DataDirError::Locked(format!(
            "{} is protected by a key file, not a passphrase: unset COFFRE_PASSPHRASE and \
             passphrase_file, or switch it to a passphrase with `coffre rekey` \
             (COFFRE_NEW_PASSPHRASE)",
            config.data_dir.display()
        ))),
        (Protector::KeyFile, None) => read_key_file(&config.key_file_path()),
    }
}

/// Unlocks the keyring: one Argon2id run, then the AEAD tag says whether the
/// secret was right. Nothing is written.
pub fn unlock(config: &Config) -> Result<(KeyringFile, Keyring), DataDirError> {
    let file = read_keyring(config)?;
    let secret = protector_secret(config, &file)?;
    let started = Instant::now();
    let keyring = file.unlock(&secret)?;
    log::info!(
        "keyring unlocked in {} ms (Argon2id m={} KiB, t={}, p={})",
        started.elapsed().as_millis(),
        file.kdf_params().memory_kib,
        file.kdf_params().iterations,
        file.kdf_params().parallelism
    );
    Ok((file, keyring))
}

pub fn open_database(
    config: &Config,
    keys: &DerivedKeys,
    location: Location,
) -> Result<Database, DataDirError> {
    Database::open(location, &keys.sqlcipher, &db_options(config)).map_err(|e| match e {
        OpenError::WrongKey => DataDirError::Locked(e.to_string()),
        OpenError::NewerSchema(_) => DataDirError::Failed(e.to_string()),
        other => DataDirError::Failed(other.to_string()),
    })
}

/// Writes a backup into `dir`, which must not exist: the database copied
/// from `source` through SQLite's backup API (one consistent snapshot, even
/// while a server writes), checked with `quick_check`, and `keyring.json`
/// (never `master.key`) — a data dir of its own, every file 0600. On failure
/// nothing is left behind. `coffre backup` and the scheduled backups both
/// come through here.
pub fn write_backup(
    source: &rusqlite::Connection,
    settings: &ConnectionSettings,
    keyring: &KeyringFile,
    dir: &Path,
) -> Result<(), String> {
    fsutil::create_private_dir(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let written = (|| -> Result<(), String> {
        copy_database(source, &dir.join("coffre.db"), settings)?;
        keyring
            .write_atomic(&dir.join("keyring.json"))
            .map_err(|e| e.to_string())?;
        fsutil::sync_dir(dir).map_err(|e| e.to_string())
    })();
    if written.is_err() {
        let _ = fs::remove_dir_all(dir);
    }
    written
}

/// Holds the data dir's lock file for as long as a server runs, so two servers
/// never share one data dir (their in-memory key indexes would disagree).
/// `sweep` and `backup` do not take it: they are safe beside a server.
pub struct ServeLock {
    _file: fs::File,
}

pub fn lock_for_serving(config: &Config) -> Result<ServeLock, DataDirError> {
    let path = config.data_dir.join("coffre.lock");
    let file = {
        use std::os::unix::fs::OpenOptionsExt;
        fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| DataDirError::Failed(format!("cannot open {}: {e}", path.display())))?
    };
    match file.try_lock() {
        Ok(()) => Ok(ServeLock { _file: file }),
        Err(fs::TryLockError::WouldBlock) => Err(DataDirError::Failed(format!(
            "another coffre server is already running on {}; stop it first or use another \
             --data-dir",
            config.data_dir.display()
        ))),
        Err(fs::TryLockError::Error(e)) => Err(DataDirError::Failed(format!(
            "cannot lock {}: {e}",
            path.display()
        ))),
    }
}

// ---------------------------------------------------------------------------
// PostgreSQL (`database_url`): the keyring lives in the database.

/// Connects to `database_url` and migrates it, then unlocks the keyring the
/// database holds — storing a new one first if it has none and `create`
/// (`serve`, `init`). Two nodes creating at once keep whichever was stored
/// first, and both unlock that one.
pub fn open_postgres(
    config: &Config,
    create: bool,
) -> Result<(Database, KeyringFile, Keyring), DataDirError> {
    let Some(url) = &config.database_url else {
        return Err(DataDirError::Usage("database_url is not set".into()));
    };
    let target = crate::db::pg::check_url(&url.0, config.database_ca_file.as_deref())
        .map_err(DataDirError::Usage)?;
    let db = Database::open_postgres(&target, &db_options(config)).map_err(|e| match e {
        OpenError::Config(_) => DataDirError::Usage(e.to_string()),
        _ => DataDirError::Failed(e.to_string()),
    })?;
    let failed = |e: crate::error::AppError| DataDirError::Failed(e.to_string());
    let load = |db: &Database| {
        db.read_blocking(|c| Ok::<_, crate::error::AppError>(crate::db::keyring::load(c)?))
            .map_err(failed)
    };
    let document = match load(&db)? {
        Some(document) => document,
        None if create => {
            let (protector, secret) = new_postgres_secret(config)?;
            let file = Keyring::generate().seal_to_file(protector, &secret, &config.kdf)?;
            let document = file.to_json()?;
            let stored = db
                .write_blocking(move |c, _| {
                    Ok::<_, crate::error::AppError>(crate::db::keyring::create(c, &document)?)
                })
                .map_err(failed)?;
            if stored {
                log::info!("a new keyring was stored in the database");
            }
            load(&db)?.ok_or_else(|| DataDirError::Failed("the keyring vanished".into()))?
        }
        None => {
            return Err(DataDirError::Usage(
                "the database at database_url holds no coffre keyring: run `coffre init` or \
                 `coffre serve` on it first"
                    .into(),
            ));
        }
    };
    let file = KeyringFile::from_json(&document)?;
    let secret = protector_secret(config, &file)?;
    let keyring = file.unlock(&secret)?;
    Ok((db, file, keyring))
}

/// The secret a new PostgreSQL keyring is sealed with: the passphrase, else
/// the key file — reused if it exists (every node must hold the same one),
/// written otherwise.
fn new_postgres_secret(config: &Config) -> Result<(Protector, SecretBytes), DataDirError> {
    if let Some(passphrase) = &config.passphrase {
        return Ok((Protector::Passphrase, passphrase.clone()));
    }
    let path = config.key_file_path();
    if path.exists() {
        return Ok((Protector::KeyFile, read_key_file(&path)?));
    }
    if let Some(dir) = path.parent()
        && !dir.exists()
    {
        fsutil::create_private_dir(dir)
            .map_err(|e| DataDirError::Failed(format!("cannot create {}: {e}", dir.display())))?;
    }
    let key = write_new_key_file(&path)?;
    log::warn!(
        "no passphrase given, so a random 256-bit key was written to {}: every node needs \
         this file (key_file). In production set COFFRE_PASSPHRASE (or passphrase_file).",
        path.display()
    );
    Ok((Protector::KeyFile, key))
}

/// The keys and database of an existing store, whichever the engine
/// (`sweep`, `outbox`): nothing is created.
pub fn open_existing(config: &Config) -> Result<(DerivedKeys, Database), DataDirError> {
    if config.database_url.is_some() {
        let (db, _, keyring) = open_postgres(config, false)?;
        return Ok((keyring.derive(), db));
    }
    let keys = unlock(config)?.1.derive();
    let db = open_database(config, &keys, Location::File(config.database_path()))?;
    Ok((keys, db))
}
