//! The command line: configuration precedence, exit codes, init, --dev, signals.

use crate::helpers::*;

#[test]
fn configuration_precedence_is_cli_then_environment_then_file() {
    if crate::pg::skip_on_postgres(
        "it reads which data dir got keyring.json, the SQLite store's file",
    ) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let from = |name: &str| tmp.path().join(name);
    let file = from("coffre.toml");
    std::fs::write(
        &file,
        format!("data_dir = {:?}\n", from("from-file").display().to_string()),
    )
    .unwrap();

    let init = |cli: bool, env: bool| {
        let mut cmd = coffre();
        cmd.arg("--config").arg(&file);
        if cli {
            cmd.arg("--data-dir").arg(from("from-cli"));
        }
        if env {
            cmd.env("COFFRE_DATA_DIR", from("from-env"));
        }
        cmd.arg("init");
        let out = run(&mut cmd);
        assert_eq!(out.code, 0, "{}", out.stderr);
    };
    init(true, true);
    assert!(from("from-cli").join("keyring.json").exists());
    assert!(!from("from-env").exists() && !from("from-file").exists());
    init(false, true);
    assert!(from("from-env").join("keyring.json").exists());
    assert!(!from("from-file").exists());
    init(false, false);
    assert!(from("from-file").join("keyring.json").exists());
}

#[test]
fn configuration_errors_exit_2_naming_the_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("bad.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:8080\"\nworkerz = 2\n").unwrap();
    let out = run(coffre().arg("--config").arg(&file).arg("init"));
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("workerz"), "{}", out.stderr);

    let out = run(coffre().args(["--listen", "nowhere", "--dev", "serve"]));
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("HOST:PORT"), "{}", out.stderr);

    let out = run(coffre().arg("serve").env("COFFRE_DURABILITY", "sometimes"));
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("COFFRE_DURABILITY"), "{}", out.stderr);

    let out = run(coffre().arg("no-such-command"));
    assert_eq!(out.code, 2);

    let out = run(coffre()
        .arg("--config")
        .arg(tmp.path().join("missing.toml"))
        .arg("init"));
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("missing.toml"), "{}", out.stderr);
}

#[test]
fn help_exists_for_every_subcommand() {
    for sub in ["serve", "init", "backup", "rekey"] {
        let out = run(coffre().args([sub, "--help"]));
        assert_eq!(out.code, 0, "{sub}");
        assert!(out.stdout.contains("Usage"), "{sub}: {}", out.stdout);
    }
}

#[test]
fn init_refuses_an_initialised_data_dir() {
    if crate::pg::skip_on_postgres(
        "it looks at the data dir's files; on PostgreSQL the keyring is in the database",
    ) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    assert_eq!(
        run(coffre().arg("--data-dir").arg(&dir).arg("init")).code,
        0
    );
    let keyring = std::fs::read(dir.join("keyring.json")).unwrap();
    let out = run(coffre().arg("--data-dir").arg(&dir).arg("init"));
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("already initialised"), "{}", out.stderr);
    assert_eq!(std::fs::read(dir.join("keyring.json")).unwrap(), keyring);
}

#[test]
fn init_without_a_passphrase_writes_a_private_key_file_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let out = run(coffre().arg("--data-dir").arg(&dir).arg("init"));
    assert_eq!(out.code, 0);
    assert!(
        out.stderr.contains("master.key") && out.stderr.contains("production"),
        "{}",
        out.stderr
    );
    let key = std::fs::read_to_string(dir.join("master.key")).unwrap();
    assert_eq!(key.trim().len(), 64);
    assert!(!out.stdout.contains(key.trim()) && !out.stderr.contains(key.trim()));
}

#[tokio::test]
async fn serve_initialises_a_new_data_dir_and_stops_gracefully_on_sigterm_and_sigint() {
    if crate::pg::skip_on_postgres(
        "it checks the data dir's files; on PostgreSQL the keyring is in the database",
    ) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("fresh");
    for sig in ["TERM", "INT"] {
        let mut cmd = coffre();
        cmd.arg("--data-dir")
            .arg(&dir)
            .args(["--listen", "127.0.0.1:0", "serve"]);
        cmd.env("COFFRE_PASSPHRASE", "pass");
        let mut server = ServerProcess::start(cmd);
        assert!(dir.join("keyring.json").exists());
        let res = reqwest::get(server.url("/health")).await.unwrap();
        assert_eq!(res.status(), 200);
        signal(&server.child, sig);
        let code = wait_with_timeout(&mut server.child, std::time::Duration::from_secs(30));
        assert_eq!(code, 0, "SIG{sig}: {}", server.stderr());
        assert!(
            server.stderr().contains("coffre stopped"),
            "{}",
            server.stderr()
        );
    }
}

#[tokio::test]
async fn two_servers_never_share_a_data_dir() {
    if crate::pg::skip_on_postgres(
        "the data-dir lock is SQLite's; several nodes share one PostgreSQL database",
    ) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut cmd = coffre();
    cmd.arg("--data-dir")
        .arg(&dir)
        .args(["--listen", "127.0.0.1:0", "serve"]);
    let _first = ServerProcess::start(cmd);
    let out = run(coffre()
        .arg("--data-dir")
        .arg(&dir)
        .args(["--listen", "127.0.0.1:0", "serve"]));
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("already running"), "{}", out.stderr);
}

#[tokio::test]
async fn dev_mode_serves_from_memory_and_writes_no_file() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = coffre();
    cmd.current_dir(tmp.path())
        .args(["--dev", "--listen", "127.0.0.1:0", "serve"]);
    let mut server = ServerProcess::start(cmd);
    let res = reqwest::get(server.url("/health")).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(server.terminate(), 0);
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "--dev wrote a file"
    );
}

#[test]
fn dev_mode_refuses_commands_that_need_a_data_dir() {
    for args in [
        vec!["--dev", "init"],
        vec!["--dev", "backup", "/tmp/x-never"],
        vec!["--dev", "rekey"],
    ] {
        let out = run(coffre().args(&args));
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
    }
}
