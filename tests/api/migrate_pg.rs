//! `coffre migrate --to postgres://…` on the real binary: a SQLite data dir
//! copied into an empty PostgreSQL database, served from there with the same
//! passphrase and key, and a second copy into the same database refused.
//! Needs PostgreSQL (`scripts/test-postgres.sh`); skipped without it.

use reqwest::Method;

use crate::helpers::*;

const PASSPHRASE: &str = "the data dir's passphrase";

/// A `coffre` command on the SQLite data dir `dir` (never PostgreSQL).
fn on_sqlite(dir: &std::path::Path) -> std::process::Command {
    let mut cmd = coffre();
    cmd.arg("--data-dir")
        .arg(dir)
        .env("COFFRE_PASSPHRASE", PASSPHRASE)
        .env("COFFRE_DATABASE_URL", "");
    cmd
}

#[tokio::test]
async fn a_data_dir_moves_to_postgres_with_its_secrets_and_an_occupied_target_is_refused() {
    if !crate::pg::enabled() {
        println!("SKIPPED: migrate --to needs PostgreSQL (scripts/test-postgres.sh)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let sqlite_dir = tmp.path().join("sqlite");
    let out = run(on_sqlite(&sqlite_dir).args(["init", "--json"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let init: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    let admin = init["Key"].as_str().unwrap().to_string();

    let client = reqwest::Client::new();
    let mut server = {
        let mut cmd = on_sqlite(&sqlite_dir);
        cmd.args(["--listen", "127.0.0.1:0", "serve"]);
        ServerProcess::start(cmd)
    };
    let item = create_credential(&client, &server, &admin, "s3cret-that-moved").await;
    call(
        &client,
        Method::PATCH,
        &server.url(&format!("/v4/VaultItem/{item}")),
        &admin,
        Some(serde_json::json!({"Notes": "notes-that-moved-5d1b"})),
    )
    .await
    .expect(204);
    assert_eq!(server.terminate(), 0);

    let target = crate::pg::TestDatabase::create();
    let out = run(on_sqlite(&sqlite_dir).args(["migrate", "--to", &target.url]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("vault_items"), "{}", out.stdout);
    assert!(out.stdout.contains("counts match"), "{}", out.stdout);

    // Served from PostgreSQL: same key, same secret.
    let pg_server = {
        let mut cmd = coffre();
        cmd.arg("--data-dir")
            .arg(tmp.path().join("node"))
            .args(["--listen", "127.0.0.1:0", "serve"])
            .env("COFFRE_PASSPHRASE", PASSPHRASE)
            .env("COFFRE_DATABASE_URL", &target.url);
        ServerProcess::start(cmd)
    };
    let revealed = call(
        &client,
        Method::GET,
        &pg_server.url(&format!("/v4/VaultItem/{item}/Reveal")),
        &admin,
        None,
    )
    .await
    .expect(200);
    assert_eq!(revealed.body["Password"], "s3cret-that-moved");
    // Notes, clear in the encrypted SQLite file, were sealed on the way.
    assert_eq!(revealed.body["Notes"], "notes-that-moved-5d1b");
    let rows = crate::pg::texts(&target.url, "SELECT v::text FROM vault_items v");
    assert_eq!(rows.len(), 1);
    assert!(!rows[0].contains("notes-that-moved"), "{}", rows[0]);
    assert!(out.stdout.contains("sampled Notes open"), "{}", out.stdout);
    // A new row after the copied ones: the sequences moved past them.
    call(
        &client,
        Method::POST,
        &pg_server.url("/v4/VaultSection"),
        &admin,
        Some(serde_json::json!({"Name": "made after the move"})),
    )
    .await
    .expect(201);

    let again = run(on_sqlite(&sqlite_dir).args(["migrate", "--to", &target.url]));
    assert_eq!(again.code, 2, "{}", again.stderr);
    assert!(again.stderr.contains("empty database"), "{}", again.stderr);
}
