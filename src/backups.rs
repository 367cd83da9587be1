//! Scheduled backups (`backup_dir`, `backup_interval_hours`, `backup_keep`):
//! each run writes one backup exactly as `coffre backup` does
//! (`datadir::write_backup`: a consistent snapshot checked with
//! `quick_check`, plus `keyring.json`) into `coffre-backup-<UTC time>` under
//! `backup_dir`, then removes the oldest of those beyond `backup_keep`.
//! Nothing else in `backup_dir` is ever touched.
//!
//! A backup is written under a `.partial` name and renamed once whole, so a
//! crash mid-run never leaves something that looks like a backup. When the
//! next one is due follows from the newest backup's name and the server's
//! clock, so a restart neither skips one nor takes an extra one.

use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::crypto::KeyringFile;
use crate::state::AppState;

const PREFIX: &str = "coffre-backup-";
const PARTIAL: &str = ".partial";
const STAMP: &str = "%Y%m%dT%H%M%SZ";

/// The name of a backup taken at `at`.
pub fn name_at(at: DateTime<Utc>) -> String {
    format!("{PREFIX}{}", at.format(STAMP))
}

/// When the backup called `name` was taken, if it is one of ours.
pub fn taken_at(name: &str) -> Option<DateTime<Utc>> {
    let stamp = name.strip_prefix(PREFIX)?;
    NaiveDateTime::parse_from_str(stamp, STAMP)
        .ok()
        .map(|t| t.and_utc())
}

/// Our backups in `dir`, oldest first.
pub fn list(dir: &Path) -> std::io::Result<Vec<(DateTime<Utc>, PathBuf)>> {
    let mut found = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        if !entry.file_type()?.is_dir() {
            continue;
        }
        if let Some(at) = entry.file_name().to_str().and_then(taken_at) {
            found.push((at, entry.path()));
        }
    }
    found.sort();
    Ok(found)
}

/// When the next backup is due, given the newest one (now when there is
/// none, or when the newest is in the future: the clock went back).
pub fn next_due(
    newest: Option<DateTime<Utc>>,
    interval_hours: u32,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    match newest {
        Some(t) if t <= now => t + chrono::Duration::hours(i64::from(interval_hours)),
        _ => now,
    }
}

/// What one run did.
#[derive(Debug, Clone)]
pub struct BackupReport {
    pub path: PathBuf,
    pub removed: Vec<PathBuf>,
    pub millis: u128,
}

/// Takes a backup now if one is due. Blocking (SQLite and the file system):
/// call it on a blocking thread. Returns the report of a backup taken, and
/// when the next one is due.
pub fn run_if_due(state: &AppState) -> Result<(Option<BackupReport>, DateTime<Utc>), String> {
    let config = &state.config;
    let Some(dir) = &config.backup_dir else {
        return Err("backup_dir is not set".into());
    };
    let now = state.clock.now();
    // The newest backup not after now (after a clock step back, a later
    // name must not hold off backups until the clock catches up).
    let newest = list(dir)
        .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
        .into_iter()
        .map(|(at, _)| at)
        .rfind(|at| *at <= now);
    let due = next_due(newest, config.backup_interval_hours, now);
    if now < due {
        return Ok((None, due));
    }
    let report = run_once(state, dir, now)?;
    Ok((
        Some(report),
        next_due(Some(now), config.backup_interval_hours, now),
    ))
}

/// Writes the backup of `now` into `dir`, then prunes.
fn run_once(state: &AppState, dir: &Path, now: DateTime<Utc>) -> Result<BackupReport, String> {
    let started = Instant::now();
    crate::fsutil::create_private_dir(dir)
        .map_err(|e| format!("cannot create backup_dir {}: {e}", dir.display()))?;
    let name = name_at(now);
    let path = dir.join(&name);
    if path.exists() {
        return Err(format!("{} already exists", path.display()));
    }
    let partial = dir.join(format!(".{name}{PARTIAL}"));
    if partial.exists() {
        // Left by a run that crashed: never a backup.
        std::fs::remove_dir_all(&partial)
            .map_err(|e| format!("cannot remove {}: {e}", partial.display()))?;
    }
    // keyring.json is read now: it holds nothing secret, and `rekey` may
    // have rewrapped the data key since the server started.
    let keyring = KeyringFile::read(&state.config.keyring_path())
        .map_err(|e| format!("cannot read keyring.json: {e}"))?;
    let source = state
        .db
        .connect()
        .map_err(|e| format!("cannot open the database to copy it: {e}"))?;
    let settings = state
        .db
        .settings()
        .ok_or("scheduled backups are for the SQLite file; back PostgreSQL up with pg_dump")?;
    crate::datadir::write_backup(&source, settings, &keyring, &partial)?;
    drop(source);
    std::fs::rename(&partial, &path)
        .and_then(|()| crate::fsutil::sync_dir(dir))
        .map_err(|e| format!("cannot move the backup into place: {e}"))?;
    let removed = prune(dir, state.config.backup_keep as usize)?;
    Ok(BackupReport {
        path,
        removed,
        millis: started.elapsed().as_millis(),
    })
}

/// Removes our oldest backups beyond `keep`.
fn prune(dir: &Path, keep: usize) -> Result<Vec<PathBuf>, String> {
    let all = list(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    let excess = all.len().saturating_sub(keep);
    let mut removed = Vec::new();
    for (_, path) in all.into_iter().take(excess) {
        std::fs::remove_dir_all(&path)
            .map_err(|e| format!("cannot remove the old backup {}: {e}", path.display()))?;
        removed.push(path);
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn names_sort_in_time_order_and_parse_back() {
        let at = t("2030-01-02T03:04:05Z");
        assert_eq!(name_at(at), "coffre-backup-20300102T030405Z");
        assert_eq!(taken_at(&name_at(at)), Some(at));
        assert_eq!(taken_at("coffre-backup-2030"), None);
        assert_eq!(taken_at(".coffre-backup-20300102T030405Z.partial"), None);
        assert_eq!(taken_at("my-notes"), None);
    }

    #[test]
    fn due_after_the_interval_or_at_once() {
        let now = t("2030-01-02T12:00:00Z");
        assert_eq!(next_due(None, 24, now), now);
        assert_eq!(
            next_due(Some(t("2030-01-02T00:00:00Z")), 24, now),
            t("2030-01-03T00:00:00Z")
        );
        assert_eq!(
            next_due(Some(t("2030-01-05T00:00:00Z")), 24, now),
            now,
            "a backup from the future: the clock went back"
        );
    }
}
