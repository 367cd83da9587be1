#![allow(dead_code)] // a shared toolbox: not every test binary build uses every helper
//! Test harness: the real server on 127.0.0.1:0 with a temporary data dir and a
//! frozen clock (in process, through the same `Application::build` as
//! production), and the real binary for what only a process can show (exit
//! codes, signals, other processes).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use coffre::clock::Clock;
use coffre::config::Config;
use coffre::crypto::KdfParams;
use coffre::datadir;
use coffre::db::Location;
use coffre::startup::{Application, ServerOptions};
use coffre::state::AppState;
use tempfile::TempDir;

/// Argon2 at test cost: the real cost is measured by the benchmark, not paid per test.
pub const TEST_KDF: KdfParams = KdfParams {
    memory_kib: 256,
    iterations: 1,
    parallelism: 1,
};

/// Tests run at a fixed instant unless they move the clock.
pub fn default_now() -> DateTime<Utc> {
    at("2026-06-15T12:00:00Z")
}

pub fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .with_timezone(&Utc)
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub clock: Arc<Clock>,
    pub config: Config,
    pub data_dir: TempDir,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Sends the stop command now; the workers wind down on their own.
        drop(self.handle.stop(false));
    }
}

pub struct TestAppBuilder {
    now: DateTime<Utc>,
    configure: Box<dyn FnOnce(&mut Config)>,
}

pub fn test_config(data_dir: &Path) -> Config {
    Config {
        data_dir: data_dir.to_path_buf(),
        listen: "127.0.0.1:0".parse().unwrap(),
        kdf: TEST_KDF,
        workers: 1,
        db_pool_size: 4,
        // Every test shares 127.0.0.1: keep the failure limit out of the way.
        auth_failure_limit: 10_000,
        ..Config::default()
    }
}

impl TestAppBuilder {
    pub fn now(mut self, now: DateTime<Utc>) -> Self {
        self.now = now;
        self
    }

    pub fn config(mut self, f: impl FnOnce(&mut Config) + 'static) -> Self {
        self.configure = Box::new(f);
        self
    }

    pub async fn spawn(self) -> TestApp {
        let data_dir = tempfile::tempdir().unwrap();
        let mut config = test_config(&data_dir.path().join("data"));
        (self.configure)(&mut config);
        let keys = datadir::initialize(&config).unwrap();
        let db =
            datadir::open_database(&config, &keys, Location::File(config.database_path())).unwrap();
        let clock = Arc::new(Clock::frozen_at(self.now));
        let state = AppState::new(db, keys, clock.clone(), config.clone());
        let options = ServerOptions {
            workers: 1,
            handle_signals: false,
        };
        let app = Application::build(state.clone(), config.listen, options).unwrap();
        let address = format!("http://{}", app.address());
        let handle = app.handle();
        tokio::spawn(app.run_until_stopped());
        TestApp {
            address,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            state,
            clock,
            config,
            data_dir,
            handle,
        }
    }
}

pub fn app() -> TestAppBuilder {
    TestAppBuilder {
        now: default_now(),
        configure: Box::new(|_| {}),
    }
}

pub async fn spawn_app() -> TestApp {
    app().spawn().await
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub fn db_path(&self) -> PathBuf {
        self.config.database_path()
    }
}

// ---------------------------------------------------------------------------
// The real binary.

pub fn coffre_bin() -> &'static str {
    env!("CARGO_BIN_EXE_coffre")
}

/// A `coffre` command with a clean environment: no COFFRE_* from the caller,
/// cheap Argon2 unless the test says otherwise.
pub fn coffre() -> Command {
    let mut cmd = Command::new(coffre_bin());
    for (key, _) in std::env::vars() {
        if key.starts_with("COFFRE_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("COFFRE_KDF_MEMORY_KIB", TEST_KDF.memory_kib.to_string())
        .env("COFFRE_KDF_ITERATIONS", TEST_KDF.iterations.to_string())
        .env("RUST_LOG", "info");
    cmd
}

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A `coffre serve` process, killed on drop.
pub struct ServerProcess {
    pub child: Child,
    pub address: String,
    /// Lines printed before the listening line (the bootstrap key, if any).
    pub banner: Vec<String>,
    pub stderr_path: PathBuf,
    _stderr_dir: TempDir,
}

impl ServerProcess {
    // The child is waited for by `Drop`, or right here if it dies early.
    #[allow(clippy::zombie_processes)]
    pub fn start(mut cmd: Command) -> ServerProcess {
        let stderr_dir = tempfile::tempdir().unwrap();
        let stderr_path = stderr_dir.path().join("stderr.log");
        let stderr = std::fs::File::create(&stderr_path).unwrap();
        let mut child = cmd.stdout(Stdio::piped()).stderr(stderr).spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut reader = BufReader::new(stdout);
        let mut banner = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let mut line = String::new();
            let n = reader.read_line(&mut line).unwrap();
            if n == 0 {
                let status = child.wait().unwrap();
                let err = std::fs::read_to_string(&stderr_path).unwrap_or_default();
                panic!("coffre serve exited ({status}) before listening:\n{err}");
            }
            let line = line.trim_end().to_string();
            if let Some(addr) = line.strip_prefix("coffre listening on ") {
                // Keep draining stdout so the server never blocks on a full pipe.
                std::thread::spawn(move || for _ in reader.lines() {});
                return ServerProcess {
                    child,
                    address: addr.to_string(),
                    banner,
                    stderr_path,
                    _stderr_dir: stderr_dir,
                };
            }
            banner.push(line);
            assert!(Instant::now() < deadline, "server did not start in time");
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// SIGTERM, then wait: a graceful stop.
    pub fn terminate(&mut self) -> i32 {
        signal(&self.child, "TERM");
        wait_with_timeout(&mut self.child, Duration::from_secs(30))
    }

    pub fn kill9(&mut self) {
        signal(&self.child, "KILL");
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

pub fn wait_with_timeout(child: &mut Child, timeout: Duration) -> i32 {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        assert!(Instant::now() < deadline, "process did not exit in time");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every byte of every file under `dir`, concatenated with its name.
pub fn read_all_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            out.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    out
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
