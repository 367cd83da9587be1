//! Scheduled backups (issue 14, item 6): one at start-up, then one per
//! `backup_interval_hours` of the server's clock, each a data dir that opens
//! and passes `quick_check`, the oldest beyond `backup_keep` removed and
//! nothing else in `backup_dir` touched; and the documented restore, end to
//! end on the real binary: back up, wipe, restore, serve, the data is there.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use coffre::datadir;
use coffre::db::Location;
use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

fn backups_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("coffre-backup-2"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Opens a backup as a data dir (with the original key file) and returns
/// `quick_check` and the number of vault items in it.
fn open_backup(backup: &Path, key_file: &Path) -> (String, i64) {
    let mut config = test_config(backup);
    config.key_file = Some(key_file.to_path_buf());
    let keys = datadir::unlock(&config).unwrap().1.derive();
    let db =
        datadir::open_database(&config, &keys, Location::File(config.database_path())).unwrap();
    let conn = db.connect().unwrap();
    let check: String = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .unwrap();
    let items: i64 = conn
        .query_row("SELECT count(*) FROM vault_items", [], |r| r.get(0))
        .unwrap();
    drop(conn);
    db.shutdown();
    (check, items)
}

#[tokio::test]
async fn backups_run_on_schedule_keep_the_newest_and_touch_nothing_else() {
    if crate::pg::skip_on_postgres("scheduled backups copy the SQLite file (PostgreSQL: pg_dump)") {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let backup_dir = root.path().join("backups");
    std::fs::create_dir_all(backup_dir.join("coffre-backup-manual")).unwrap();
    std::fs::write(backup_dir.join("notes.txt"), "keep me").unwrap();
    let dir = backup_dir.clone();
    let app = app()
        .config(move |c| {
            c.backup_dir = Some(dir);
            c.backup_keep = 2;
            c.backup_interval_hours = 24;
        })
        .spawn()
        .await;

    // One at start-up (none was there yet).
    app.eventually("the start-up backup", || async {
        backups_in(&backup_dir).len() == 1
    })
    .await;
    assert_eq!(backups_in(&backup_dir), ["coffre-backup-20260615T120000Z"]);
    // Not due again before the interval has passed.
    app.set_now("2026-06-16T11:59:59Z");
    let state = app.state.clone();
    let (taken, due) = tokio::task::spawn_blocking(move || coffre::backups::run_if_due(&state))
        .await
        .unwrap()
        .unwrap();
    assert!(taken.is_none());
    assert_eq!(due, at("2026-06-16T12:00:00Z"));

    let section = app
        .post("/v4/VaultSection", json!({"Name": "backed up"}))
        .await
        .expect(201)
        .guid("VaultSectionGuid");
    app.post(
        "/v4/VaultItem",
        json!({"Name": "db", "VaultSectionGuid": section, "VaultItemType": "CredentialSet",
               "UserName": "u", "Password": "s3cret-in-backup"}),
    )
    .await
    .expect(201);

    app.set_now("2026-06-16T12:00:00Z");
    app.eventually("the second backup", || async {
        backups_in(&backup_dir).len() == 2
    })
    .await;
    app.set_now("2026-06-17T12:30:00Z");
    app.eventually("the third backup, and the first removed", || async {
        backups_in(&backup_dir)
            == [
                "coffre-backup-20260616T120000Z",
                "coffre-backup-20260617T123000Z",
            ]
    })
    .await;

    // Only our own backups are ever removed.
    assert!(backup_dir.join("coffre-backup-manual").is_dir());
    assert_eq!(
        std::fs::read_to_string(backup_dir.join("notes.txt")).unwrap(),
        "keep me"
    );
    let key_file = app.config.key_file_path();
    for name in backups_in(&backup_dir) {
        let path = backup_dir.join(&name);
        let (check, items) = open_backup(&path, &key_file);
        assert_eq!(check, "ok", "{name}");
        assert_eq!(items, 1, "{name} holds the item written before it");
        assert!(!path.join("master.key").exists(), "{name}");
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o700
        );
        for (file, bytes) in read_all_files(&path) {
            assert_eq!(
                std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
                0o600,
                "{}",
                file.display()
            );
            assert!(!contains(&bytes, b"s3cret-in-backup"), "{}", file.display());
        }
    }
    assert!(
        std::fs::read_dir(&backup_dir).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".partial")),
        "no partial backup left"
    );
}

fn wait_for_log(server: &ServerProcess, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let log = server.stderr();
        if log.contains(needle) {
            return log;
        }
        assert!(Instant::now() < deadline, "no {needle:?} in:\n{log}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn serve(data_dir: &Path, backup_dir: Option<&Path>) -> ServerProcess {
    let mut cmd = coffre();
    cmd.arg("--data-dir")
        .arg(data_dir)
        .args(["--listen", "127.0.0.1:0", "serve"])
        .env("COFFRE_PASSPHRASE", "correct horse battery staple");
    if let Some(dir) = backup_dir {
        cmd.env("COFFRE_BACKUP_DIR", dir);
    }
    ServerProcess::start(cmd)
}

/// SIGTERM and wait, off this test's (single) runtime thread, so that the
/// connections of a dropped client close meanwhile; a graceful stop would
/// otherwise wait for them to time out.
async fn stop(mut server: ServerProcess) -> i32 {
    tokio::task::spawn_blocking(move || server.terminate())
        .await
        .unwrap()
}

#[tokio::test]
async fn the_documented_restore_brings_back_the_data_on_the_real_binary() {
    if crate::pg::skip_on_postgres("coffre backup copies the SQLite file (PostgreSQL: pg_dump)") {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let data: PathBuf = root.path().join("data");
    let backups = root.path().join("backups");
    // A client per server, dropped before the server stops.
    let client = reqwest::Client::new();

    // A server with data in it.
    let first = serve(&data, None);
    let key = first.bootstrap_key();
    let item = create_credential(&client, &first, &key, "restored-secret").await;
    drop(client);
    assert_eq!(stop(first).await, 0);

    // Scheduled backups on: the start-up one is taken at once.
    let mut second = serve(&data, Some(&backups));
    wait_for_log(&second, "scheduled backup written to");
    let code = second.terminate();
    assert_eq!(code, 0, "coffre exited with {code}:\n{}", second.stderr());
    let taken = backups_in(&backups);
    assert_eq!(taken.len(), 1);

    // The disk is lost.
    std::fs::remove_dir_all(&data).unwrap();

    // The restore, as README.md documents it: copy the newest backup in as
    // the data dir (cp -a keeps its 0700/0600), then serve with the same
    // passphrase.
    let newest = backups.join(taken.last().unwrap());
    let status = Command::new("cp")
        .arg("-a")
        .arg(&newest)
        .arg(&data)
        .status()
        .unwrap();
    assert!(status.success());
    let restored = serve(&data, None);
    let client = reqwest::Client::new();
    assert!(
        restored.banner.is_empty(),
        "no new bootstrap key: {:?}",
        restored.banner
    );
    let got = call(
        &client,
        Method::GET,
        &restored.url(&format!("/v4/VaultItem/{item}")),
        &key,
        None,
    )
    .await
    .expect(200);
    assert_eq!(got.body["Name"], "Shop login");
    let revealed = call(
        &client,
        Method::GET,
        &restored.url(&format!("/v4/VaultItem/{item}/Reveal")),
        &key,
        None,
    )
    .await
    .expect(200);
    assert_eq!(revealed.body["Password"], "restored-secret");
    drop(client);
    assert_eq!(stop(restored).await, 0);
}
