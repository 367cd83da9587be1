//! TLS to the PostgreSQL server, on the real binary against the throwaway
//! cluster `scripts/test-postgres.sh` starts with `ssl=on`, a certificate it
//! made for `db.coffre.test` (signed by its own CA), a role that
//! pg_hba.conf lets in over TLS only, and one that must log in with a SCRAM
//! password over TLS. Skipped without it.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use reqwest::Method;

use crate::helpers::*;

/// What the script made: the CA file, the name in the server's certificate,
/// the TLS-only role, the SCRAM role and its password.
struct Tls {
    ca: PathBuf,
    host: String,
    role: String,
    scram_role: String,
    scram_password: String,
    port: u16,
}

fn tls() -> Option<Tls> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let base = url::Url::parse(&crate::pg::base_url()?).unwrap();
    match (
        var("COFFRE_TEST_PG_TLS_CA"),
        var("COFFRE_TEST_PG_TLS_HOST"),
        var("COFFRE_TEST_PG_TLS_ROLE"),
        var("COFFRE_TEST_PG_SCRAM_ROLE"),
        var("COFFRE_TEST_PG_SCRAM_PASSWORD"),
    ) {
        (Some(ca), Some(host), Some(role), Some(scram_role), Some(scram_password)) => Some(Tls {
            ca: ca.into(),
            host,
            role,
            scram_role,
            scram_password,
            port: base.port().unwrap(),
        }),
        _ => {
            println!("SKIPPED: needs the TLS cluster of scripts/test-postgres.sh");
            None
        }
    }
}

impl Tls {
    /// The TLS-only role's URL of `db`: by the certificate's name (resolved
    /// to the loopback address with `hostaddr`) or by address.
    fn url(&self, db: &crate::pg::TestDatabase, by_name: bool, query: &str) -> String {
        let name = db.url.rsplit('/').next().unwrap();
        let (host, hostaddr) = if by_name {
            (self.host.as_str(), "&hostaddr=127.0.0.1")
        } else {
            ("127.0.0.1", "")
        };
        format!(
            "postgres://{}@{host}:{}/{name}?{query}{hostaddr}",
            self.role, self.port
        )
    }
}

/// `coffre serve` on a new data dir against `url`, with `ca` as
/// database_ca_file.
fn serve(dir: &std::path::Path, url: &str, ca: Option<&std::path::Path>) -> std::process::Command {
    let mut cmd = coffre();
    cmd.arg("--data-dir")
        .arg(dir)
        .args(["--listen", "127.0.0.1:0", "serve"])
        .env("COFFRE_DATABASE_URL", url);
    if let Some(ca) = ca {
        cmd.env("COFFRE_DATABASE_CA_FILE", ca);
    }
    cmd
}

/// `coffre init` on a new data dir against `url`: connects, migrates and
/// stores a keyring, or says why not.
fn init(dir: &std::path::Path, url: &str, ca: Option<&std::path::Path>) -> Output {
    let mut cmd = coffre();
    cmd.arg("--data-dir")
        .arg(dir)
        .arg("init")
        .env("COFFRE_DATABASE_URL", url);
    if let Some(ca) = ca {
        cmd.env("COFFRE_DATABASE_CA_FILE", ca);
    }
    run(&mut cmd)
}

/// A start that must fail: its exit code and what it printed.
fn refused(mut cmd: std::process::Command) -> (i32, String) {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let code = wait_with_timeout(&mut child, Duration::from_secs(60));
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (code, stderr)
}

/// Connections of `role` the server sees, and how many use TLS.
fn sessions_of(role: &str) -> (i64, i64) {
    let rows = crate::pg::texts(
        &crate::pg::base_url().unwrap(),
        &format!(
            "SELECT count(*)::text || ' ' || count(*) FILTER (WHERE s.ssl)::text
               FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
              WHERE a.usename = '{role}'"
        ),
    );
    let (all, tls) = rows[0].split_once(' ').unwrap();
    (all.parse().unwrap(), tls.parse().unwrap())
}

#[tokio::test]
async fn verify_full_with_the_right_ca_serves_over_tls() {
    let Some(tls) = tls() else { return };
    let db = crate::pg::TestDatabase::create();
    let tmp = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(serve(
        tmp.path(),
        &tls.url(&db, true, "sslmode=verify-full"),
        Some(&tls.ca),
    ));
    let admin = server.bootstrap_key();
    let client = reqwest::Client::new();
    let section = call(
        &client,
        Method::POST,
        &server.url("/v4/VaultSection"),
        &admin,
        Some(serde_json::json!({"Name": "over TLS"})),
    )
    .await
    .expect(201)
    .guid("VaultSectionGuid");
    call(
        &client,
        Method::GET,
        &server.url(&format!("/v4/VaultSection/{section}")),
        &admin,
        None,
    )
    .await
    .expect(200);
    // pg_hba.conf admits this role over TLS only; the server says so too.
    let (all, encrypted) = sessions_of(&tls.role);
    assert!(all > 0 && encrypted == all, "{encrypted} of {all} over TLS");
}

#[tokio::test]
async fn a_wrong_ca_or_host_name_is_refused_at_start_and_verify_ca_skips_the_name() {
    let Some(tls) = tls() else { return };
    let db = crate::pg::TestDatabase::create();
    let tmp = tempfile::tempdir().unwrap();
    let other_ca = crate::smtp::test_pki();

    let (code, stderr) = refused(serve(
        &tmp.path().join("a"),
        &tls.url(&db, true, "sslmode=verify-full"),
        Some(&other_ca.ca),
    ));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("TLS certificate was refused") && stderr.contains("not signed by a CA"),
        "{stderr}"
    );

    let (code, stderr) = refused(serve(
        &tmp.path().join("b"),
        &tls.url(&db, false, "sslmode=verify-full"),
        Some(&tls.ca),
    ));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("does not name the host \"127.0.0.1\""),
        "{stderr}"
    );

    // The same address with verify-ca: the chain is enough.
    let out = init(
        &tmp.path().join("c"),
        &tls.url(&db, false, "sslmode=verify-ca"),
        Some(&tls.ca),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[tokio::test]
async fn require_encrypts_without_a_ca_and_disable_is_refused_by_a_tls_only_server() {
    let Some(tls) = tls() else { return };
    let db = crate::pg::TestDatabase::create();
    let tmp = tempfile::tempdir().unwrap();

    let (code, stderr) = refused(serve(
        &tmp.path().join("a"),
        &tls.url(&db, false, "sslmode=disable"),
        None,
    ));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("accepts this connection only over TLS"),
        "{stderr}"
    );

    let out = init(
        &tmp.path().join("b"),
        &tls.url(&db, false, "sslmode=require"),
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[tokio::test]
async fn scram_over_tls_binds_the_password_exchange_to_the_certificate() {
    let Some(tls) = tls() else { return };
    let db = crate::pg::TestDatabase::create();
    let tmp = tempfile::tempdir().unwrap();
    let name = db.url.rsplit('/').next().unwrap();
    // channel_binding=require: SCRAM-SHA-256-PLUS or no connection.
    let url = format!(
        "postgres://{}:{}@127.0.0.1:{}/{name}?sslmode=require&channel_binding=require",
        tls.scram_role, tls.scram_password, tls.port
    );
    let out = init(tmp.path(), &url, None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains(&tls.scram_password), "{}", out.stderr);
}
