#![allow(dead_code)]
//! The suite on PostgreSQL: with `COFFRE_TEST_DATABASE_URL` set (by
//! `scripts/test-postgres.sh`, e.g. `postgres://coffre@127.0.0.1:5433/postgres`),
//! every in-process server gets a fresh database of its own (created here,
//! dropped with it) instead of the SQLite file, and every `coffre --data-dir
//! DIR` command one database per data dir. Without it, everything is SQLite.

use std::sync::Arc;

pub const ENV: &str = "COFFRE_TEST_DATABASE_URL";

pub fn base_url() -> Option<String> {
    std::env::var(ENV).ok().filter(|u| !u.is_empty())
}

pub fn enabled() -> bool {
    base_url().is_some()
}

/// True (and says why) when the suite runs on PostgreSQL and this test is
/// about the SQLite file itself.
pub fn skip_on_postgres(reason: &str) -> bool {
    if enabled() {
        println!("SKIPPED on PostgreSQL: {reason}");
        return true;
    }
    false
}

fn url_for(name: &str) -> String {
    let mut url = url::Url::parse(&base_url().expect("COFFRE_TEST_DATABASE_URL")).unwrap();
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// Runs `sql` on the cluster's maintenance database, off any async runtime
/// (the synchronous client runs one of its own).
fn admin(sql: String) -> Result<(), String> {
    std::thread::spawn(move || {
        let text = |e: postgres::Error| match e.as_db_error() {
            Some(db) => db.to_string(),
            None => e.to_string(),
        };
        let mut client =
            postgres::Client::connect(&base_url().unwrap(), postgres::NoTls).map_err(text)?;
        client.batch_execute(&sql).map_err(text)
    })
    .join()
    .unwrap()
}

/// A database of its own, dropped (connections and all) with the last handle.
pub struct TestDatabase {
    name: String,
    pub url: String,
}

impl TestDatabase {
    pub fn create() -> Arc<TestDatabase> {
        let name = format!("coffre_t_{}", uuid::Uuid::new_v4().simple());
        admin(format!("CREATE DATABASE {name}")).unwrap();
        Arc::new(TestDatabase {
            url: url_for(&name),
            name,
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let _ = admin(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

/// The databases of in-process servers, by data dir: a `coffre --data-dir
/// DIR` command on a test server's dir uses that server's database.
static SERVED: std::sync::Mutex<Vec<(std::path::PathBuf, String)>> =
    std::sync::Mutex::new(Vec::new());

pub fn register(dir: &std::path::Path, url: &str) {
    let mut served = SERVED.lock().unwrap_or_else(|p| p.into_inner());
    served.retain(|(d, _)| d != dir);
    served.push((dir.to_path_buf(), url.to_string()));
}

/// The database of a data dir, for `coffre --data-dir DIR …` commands: the
/// same one for every command on that dir, created by the first.
pub fn url_for_data_dir(dir: &std::path::Path) -> String {
    if let Some((_, url)) = SERVED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .find(|(d, _)| d == dir)
    {
        return url.clone();
    }
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    dir.hash(&mut hasher);
    let name = format!("coffre_d_{:016x}", hasher.finish());
    if let Err(e) = admin(format!("CREATE DATABASE {name}")) {
        // Two commands on one data dir may race to create it.
        assert!(
            e.contains("already exists") || e.contains("duplicate key"),
            "{e}"
        );
    }
    url_for(&name)
}

/// Points a `coffre` command at the data dir's database when the suite runs
/// on PostgreSQL (unless the test set its own, or runs `--dev`).
pub fn configure(cmd: &mut std::process::Command) {
    if !enabled()
        || cmd
            .get_envs()
            .any(|(k, v)| k == "COFFRE_DATABASE_URL" && v.is_some())
    {
        return;
    }
    let args: Vec<_> = cmd.get_args().map(|a| a.to_os_string()).collect();
    if args.iter().any(|a| a == "--dev") {
        return;
    }
    let Some(dir) = args
        .iter()
        .position(|a| a == "--data-dir")
        .and_then(|i| args.get(i + 1))
    else {
        return;
    };
    cmd.env(
        "COFFRE_DATABASE_URL",
        url_for_data_dir(std::path::Path::new(dir)),
    );
}

/// The first column of every row `sql` returns on the database at `url`, as
/// text (a test's look at what PostgreSQL holds), off any async runtime.
pub fn texts(url: &str, sql: &str) -> Vec<String> {
    let (url, sql) = (url.to_string(), sql.to_string());
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        client
            .query(sql.as_str(), &[])
            .unwrap()
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect()
    })
    .join()
    .unwrap()
}
