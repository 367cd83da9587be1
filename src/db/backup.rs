//! Online backup with SQLite's backup API, between two keyed connections: a
//! consistent snapshot even while the server writes (WAL readers do not block
//! the writer), re-encrypted page by page into the destination file.

use std::path::Path;

use rusqlite::Connection;
use rusqlite::backup::{Backup, StepResult};

use super::connection::{ConnectionSettings, Location};

/// Opens the database to copy and proves the key reads it.
pub fn open_source(
    settings: &ConnectionSettings,
    path: &Path,
) -> Result<Connection, super::OpenError> {
    let source = settings.open(&Location::File(path.to_path_buf()))?;
    source.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })?;
    Ok(source)
}

/// Copies `source` into a new database file at `dest` (which must not exist),
/// then checks the copy reads back whole.
pub fn copy_database(
    source: &Connection,
    dest: &Path,
    settings: &ConnectionSettings,
) -> Result<(), String> {
    if dest.exists() {
        return Err(format!("{} already exists", dest.display()));
    }
    // Create the file 0600 before SQLite opens it.
    drop(
        crate::fsutil::create_private_file(dest)
            .map_err(|e| format!("cannot create {}: {e}", dest.display()))?,
    );
    let mut target = settings
        .open(&Location::File(dest.to_path_buf()))
        .map_err(|e| format!("cannot open {}: {e}", dest.display()))?;
    {
        let backup = Backup::new(source, &mut target)
            .map_err(|e| format!("cannot start the backup: {e}"))?;
        // One step of every page: the whole copy is taken under one read
        // transaction, so it is a single consistent snapshot.
        loop {
            match backup.step(-1).map_err(|e| format!("backup failed: {e}"))? {
                StepResult::Done => break,
                StepResult::More | StepResult::Busy | StepResult::Locked => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                _ => std::thread::sleep(std::time::Duration::from_millis(20)),
            }
        }
    }
    let check: String = target
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(|e| format!("the copy cannot be read back: {e}"))?;
    if check != "ok" {
        return Err(format!("the copy failed its integrity check: {check}"));
    }
    target
        .close()
        .map_err(|(_, e)| format!("cannot close the copy: {e}"))?;
    Ok(())
}
