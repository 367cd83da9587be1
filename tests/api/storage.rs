//! The encrypted store: file modes, what is (not) on disk, wrong passphrases,
//! backup and rekey round trips.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use coffre::config::Config;
use coffre::crypto::SealContext;
use coffre::datadir;
use coffre::db::Location;

use crate::helpers::*;

const NAME: &str = "Zebulon Quackenbush";
const EMAIL: &str = "zebulon.quackenbush@example.org";
const SECRET: &str = "S3cret-Kumquat-7781-zz";
const ITEM: &str = "0B1C2D3E-4F50-4617-8899-AABBCCDDEEFF";

/// Stores a known name, e-mail and sealed secret straight through the library.
async fn store_marker(state: &coffre::state::AppState) {
    let keys = state.keys.clone();
    state
        .db
        .write(move |c, _| {
            c.execute(
                "INSERT INTO operators (guid, full_name, email, login, created_at)
                 VALUES ('11111111-2222-4333-8444-555555555555', ?1, ?2, 'zebulon', 0)",
                &[&NAME, &EMAIL],
            )?;
            c.execute(
                "INSERT INTO vault_sections (guid, name, created_at)
                 VALUES ('99999999-2222-4333-8444-555555555555', 'Marker section', 0)",
                &[],
            )?;
            c.execute(
                "INSERT INTO vault_items (guid, section_id, item_type, name, created_at, updated_at)
                 VALUES (?1, last_insert_rowid(), 'CredentialSet', 'Marker item', 0, 0)",
                &[&ITEM],
            )?;
            let blob = keys.sealer.seal(&SealContext::new("vault_items", ITEM, "password"), SECRET.as_bytes());
            c.execute(
                "INSERT INTO vault_item_secrets (item_id, field, sealed) VALUES (last_insert_rowid(), 'password', ?1)",
                &[&blob],
            )?;
            Ok::<_, coffre::error::AppError>(())
        })
        .await
        .unwrap();
}

/// Opens a data dir with the library and reads the marker back, secret included.
fn read_marker(config: &Config) -> (String, String) {
    let (_, keyring) = datadir::unlock(config).unwrap();
    let keys = keyring.derive();
    let db = datadir::open_database(config, &keys, Location::File(config.database_path())).unwrap();
    let (email, blob): (String, Vec<u8>) = db
        .read_blocking(|c| {
            Ok::<_, coffre::error::AppError>(c.query_one(
                "SELECT o.email, s.sealed FROM operators o, vault_item_secrets s WHERE o.login = 'zebulon'",
                &[],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        })
        .unwrap();
    let secret = keys
        .sealer
        .open_string(&SealContext::new("vault_items", ITEM, "password"), &blob)
        .unwrap();
    db.shutdown();
    (email, secret.to_string())
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn assert_private(dir: &Path) {
    assert_eq!(mode(dir), 0o700, "{}", dir.display());
    for (path, _) in read_all_files(dir) {
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
}

#[tokio::test]
async fn names_emails_and_secrets_leave_no_trace_in_the_database_its_wal_or_a_backup() {
    if crate::pg::skip_on_postgres("it reads the SQLite file, its WAL and a file backup") {
        return;
    }
    let app = spawn_app().await;
    store_marker(&app.state).await;

    let data = app.config.data_dir.clone();
    let wal = data.join("coffre.db-wal");
    assert!(
        std::fs::metadata(&wal).unwrap().len() > 0,
        "the write should sit in the WAL"
    );

    let backup = app.data_dir.path().join("backup");
    let out = run(coffre()
        .arg("--data-dir")
        .arg(&data)
        .arg("backup")
        .arg(&backup));
    assert_eq!(out.code, 0, "{}", out.stderr);

    let mut files = read_all_files(&data);
    files.extend(read_all_files(&backup));
    assert!(files.iter().any(|(p, _)| p.ends_with("coffre.db-wal")));
    for (path, bytes) in &files {
        for needle in [
            NAME,
            EMAIL,
            SECRET,
            "Marker section",
            "CredentialSet",
            "CREATE TABLE",
        ] {
            assert!(
                !contains(bytes, needle.as_bytes()),
                "{needle:?} found in {}",
                path.display()
            );
        }
        assert!(
            !contains(bytes, b"SQLite format 3"),
            "plaintext header in {}",
            path.display()
        );
    }

    // A plain SQLite connection, with no key, cannot even read the schema.
    for db in [app.db_path(), backup.join("coffre.db")] {
        let conn =
            rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .unwrap();
        let read = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        });
        assert!(
            matches!(&read, Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::NotADatabase),
            "read {} without the key: {read:?}",
            db.display()
        );
    }
}

#[tokio::test]
async fn the_data_dir_and_every_file_in_it_are_private() {
    if crate::pg::skip_on_postgres("it checks the SQLite store's files") {
        return;
    }
    let app = spawn_app().await;
    store_marker(&app.state).await;
    assert_private(&app.config.data_dir);
    let backup = app.data_dir.path().join("backup");
    assert_eq!(
        run(coffre()
            .arg("--data-dir")
            .arg(&app.config.data_dir)
            .arg("backup")
            .arg(&backup))
        .code,
        0
    );
    assert_private(&backup);
}

#[tokio::test]
async fn a_backup_taken_while_serving_opens_with_the_same_key_file_and_never_holds_it() {
    if crate::pg::skip_on_postgres("coffre backup copies the SQLite file (PostgreSQL: pg_dump)") {
        return;
    }
    let app = spawn_app().await;
    store_marker(&app.state).await;
    let backup = app.data_dir.path().join("backup");
    let out = run(coffre()
        .arg("--data-dir")
        .arg(&app.config.data_dir)
        .arg("backup")
        .arg(&backup));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("master.key was not copied"),
        "{}",
        out.stdout
    );

    let mut names: Vec<String> = read_all_files(&backup)
        .into_iter()
        .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into())
        .collect();
    names.sort();
    assert_eq!(names, ["coffre.db", "keyring.json"]);

    // The library opens it, secret included, with the original key file.
    let mut config = test_config(&backup);
    config.key_file = Some(app.config.data_dir.join("master.key"));
    assert_eq!(
        read_marker(&config),
        (EMAIL.to_string(), SECRET.to_string())
    );

    // So does `coffre serve --data-dir DIR`.
    let mut cmd = coffre();
    cmd.arg("--data-dir")
        .arg(&backup)
        .args(["--listen", "127.0.0.1:0", "serve"]);
    cmd.env("COFFRE_KEY_FILE", app.config.data_dir.join("master.key"));
    let server = ServerProcess::start(cmd);
    let res = reqwest::get(server.url("/health")).await.unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn backup_refuses_an_existing_directory_and_changes_nothing() {
    let app = spawn_app().await;
    let existing = app.data_dir.path().join("exists");
    std::fs::create_dir(&existing).unwrap();
    std::fs::write(existing.join("keep.txt"), "mine").unwrap();
    let out = run(coffre()
        .arg("--data-dir")
        .arg(&app.config.data_dir)
        .arg("backup")
        .arg(&existing));
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("already exists"), "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(existing.join("keep.txt")).unwrap(),
        "mine"
    );
    assert_eq!(read_all_files(&existing).len(), 1);
}

fn snapshot(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>, std::time::SystemTime)> {
    let mut files: Vec<_> = read_all_files(dir)
        .into_iter()
        .map(|(p, b)| {
            let modified = std::fs::metadata(&p).unwrap().modified().unwrap();
            (p, b, modified)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn a_wrong_passphrase_exits_3_saying_so_and_writes_nothing() {
    if crate::pg::skip_on_postgres("it reads keyring.json and the data dir's files") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let out = run(coffre()
        .arg("--data-dir")
        .arg(&dir)
        .arg("init")
        .env("COFFRE_PASSPHRASE", "right horse"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let before = snapshot(&dir);

    let mut serve = coffre();
    serve
        .arg("--data-dir")
        .arg(&dir)
        .args(["--listen", "127.0.0.1:0", "serve"]);
    let out = run(serve.env("COFFRE_PASSPHRASE", "wrong horse"));
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("passphrase is wrong"), "{}", out.stderr);
    assert!(!out.stderr.contains("wrong horse"));

    let mut serve = coffre();
    serve
        .arg("--data-dir")
        .arg(&dir)
        .args(["--listen", "127.0.0.1:0", "serve"]);
    let out = run(&mut serve);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("COFFRE_PASSPHRASE"), "{}", out.stderr);

    let out = run(coffre()
        .arg("--data-dir")
        .arg(&dir)
        .arg("backup")
        .arg(tmp.path().join("b"))
        .env("COFFRE_PASSPHRASE", "nope"));
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(!tmp.path().join("b").exists());

    assert_eq!(
        snapshot(&dir),
        before,
        "a refused unlock must not touch the data dir"
    );
}

#[test]
fn a_missing_or_foreign_key_file_exits_3() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    assert_eq!(
        run(coffre().arg("--data-dir").arg(&dir).arg("init")).code,
        0
    );
    let other = tmp.path().join("other.key");
    std::fs::write(&other, format!("{}\n", "ab".repeat(32))).unwrap();
    let mut serve = coffre();
    serve
        .arg("--data-dir")
        .arg(&dir)
        .args(["--listen", "127.0.0.1:0", "serve"])
        .env("COFFRE_KEY_FILE", &other);
    let out = run(&mut serve);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("key file"), "{}", out.stderr);
    let mut serve = coffre();
    serve
        .arg("--data-dir")
        .arg(&dir)
        .args(["--listen", "127.0.0.1:0", "serve"])
        .env("COFFRE_KEY_FILE", tmp.path().join("missing"));
    assert_eq!(run(&mut serve).code, 3);
}

fn file_hash(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

async fn write_marker_to(config: &Config) {
    let (_, keyring) = datadir::unlock(config).unwrap();
    let keys = keyring.derive();
    let db = datadir::open_database(config, &keys, Location::File(config.database_path())).unwrap();
    let state = coffre::state::AppState::new(
        std::sync::Arc::new(db),
        std::sync::Arc::new(keys),
        std::sync::Arc::new(coffre::clock::Clock::system()),
        config.clone(),
    )
    .unwrap();
    store_marker(&state).await;
    let db = state.db.clone();
    tokio::task::spawn_blocking(move || db.shutdown())
        .await
        .unwrap();
}

#[tokio::test]
async fn rekey_switches_a_key_file_to_a_passphrase_and_changes_passphrases_without_touching_data() {
    if crate::pg::skip_on_postgres("it checks keyring.json and coffre.db on disk") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    assert_eq!(
        run(coffre().arg("--data-dir").arg(&dir).arg("init")).code,
        0
    );
    assert!(dir.join("master.key").exists());
    let mut config = test_config(&dir);
    write_marker_to(&config).await;
    let db_before = file_hash(&dir.join("coffre.db"));

    // Key file → passphrase.
    let out = run(coffre()
        .arg("--data-dir")
        .arg(&dir)
        .arg("rekey")
        .env("COFFRE_NEW_PASSPHRASE", "first pass"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        !dir.join("master.key").exists(),
        "the key file is no longer needed"
    );
    assert_eq!(
        file_hash(&dir.join("coffre.db")),
        db_before,
        "rekey must not re-encrypt the data"
    );
    assert_private(&dir);

    config.passphrase = Some(coffre::crypto::SecretBytes::new(b"first pass".to_vec()));
    assert_eq!(
        read_marker(&config),
        (EMAIL.to_string(), SECRET.to_string())
    );

    // Passphrase → passphrase; the old one stops working.
    let out = run(coffre()
        .arg("--data-dir")
        .arg(&dir)
        .arg("rekey")
        .env("COFFRE_PASSPHRASE", "first pass")
        .env("COFFRE_NEW_PASSPHRASE", "second pass"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut serve = coffre();
    serve
        .arg("--data-dir")
        .arg(&dir)
        .args(["--listen", "127.0.0.1:0", "serve"])
        .env("COFFRE_PASSPHRASE", "first pass");
    assert_eq!(run(&mut serve).code, 3);
    config.passphrase = Some(coffre::crypto::SecretBytes::new(b"second pass".to_vec()));
    assert_eq!(
        read_marker(&config),
        (EMAIL.to_string(), SECRET.to_string())
    );

    // A rekey with the wrong current passphrase changes nothing.
    let keyring_before = std::fs::read(dir.join("keyring.json")).unwrap();
    let out = run(coffre()
        .arg("--data-dir")
        .arg(&dir)
        .arg("rekey")
        .env("COFFRE_PASSPHRASE", "first pass")
        .env("COFFRE_NEW_PASSPHRASE", "third pass"));
    assert_eq!(out.code, 3);
    assert_eq!(
        std::fs::read(dir.join("keyring.json")).unwrap(),
        keyring_before
    );
}

#[test]
fn rekey_without_a_new_passphrase_or_terminal_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    assert_eq!(
        run(coffre().arg("--data-dir").arg(&dir).arg("init")).code,
        0
    );
    let out = run(coffre()
        .arg("--data-dir")
        .arg(&dir)
        .arg("rekey")
        .stdin(std::process::Stdio::null()));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("COFFRE_NEW_PASSPHRASE"));
}

/// Runs one statement on the writer's connection (the one that writes).
async fn on_writer(app: &crate::helpers::TestApp, sql: &'static str) {
    app.state
        .db
        .write(move |conn, _| Ok::<_, coffre::error::AppError>(conn.batch(sql)?))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_full_disk_is_a_507_that_says_writes_resume_and_changes_nothing() {
    if crate::pg::skip_on_postgres("it fills SQLite's page budget on the writer's connection") {
        return;
    }
    let app = crate::helpers::spawn_app().await;
    let section = app.get("/v4/VaultSection").await.body[0]["VaultSectionGuid"]
        .as_str()
        .unwrap()
        .to_string();
    let big = "n".repeat(9_000);
    let item = |name: &str| {
        serde_json::json!({"Name": name, "VaultSectionGuid": section,
            "VaultItemType": "CredentialSet", "Password": "p", "Notes": big})
    };
    // A table a migration rebuilt leaves free pages in a fresh file: use them
    // up first, so the next item must grow the file.
    for i in 0..4 {
        app.post("/v4/VaultItem", item(&format!("filler {i}")))
            .await
            .expect(201);
    }
    // SQLite reports a full disk when the file cannot grow: cap it where it is.
    on_writer(&app, "PRAGMA max_page_count = 1").await;
    let before = app.get("/v4/VaultItem").await.expect(200).text;
    let res = app.post("/v4/VaultItem", item("too big")).await;
    assert_eq!(res.status, 507, "{}", res.text);
    assert_eq!(res.code(), "StorageFull");
    assert!(res.message().contains("resume"), "{}", res.text);
    assert!(!res.text.contains("database or disk is full"));
    assert!(res.headers.contains_key("x-request-id"));
    assert_eq!(app.get("/v4/VaultItem").await.expect(200).text, before);
    // Space freed: writes resume on their own.
    on_writer(&app, "PRAGMA max_page_count = 1073741823").await;
    app.post("/v4/VaultItem", item("fits")).await.expect(201);
}

#[tokio::test]
async fn a_read_only_database_gets_its_own_503_and_reads_still_work() {
    if crate::pg::skip_on_postgres("it sets SQLite's query_only on the writer's connection") {
        return;
    }
    let app = crate::helpers::spawn_app().await;
    on_writer(&app, "PRAGMA query_only = 1").await;
    let res = app
        .post("/v4/VaultSection", serde_json::json!({"Name": "nope"}))
        .await;
    assert_eq!(res.status, 503, "{}", res.text);
    assert_eq!(res.code(), "StorageReadOnly");
    assert!(res.headers.contains_key("retry-after"));
    app.get("/v4/VaultSection").await.expect(200);
    read_health(&app).await;
}

async fn read_health(app: &crate::helpers::TestApp) {
    let res = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(res.status(), 200);
}
