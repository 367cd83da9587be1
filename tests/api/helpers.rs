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
use reqwest::Method;
use serde_json::{Value, json};
use tempfile::TempDir;

#[derive(Debug, Clone)]
pub struct ApiKeyHandle {
    pub guid: String,
    pub key: String,
    pub operator_guid: String,
}

#[derive(Debug, Clone)]
pub struct ClientHandle {
    pub guid: String,
    pub client_id: String,
    pub secret: String,
    pub operator_guid: String,
}

/// `application/x-www-form-urlencoded`, as OAuth clients send it.
pub fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

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
    /// `http://HOST:PORT` of the metrics listener, when `metrics_listen` is set.
    pub metrics_address: Option<String>,
    /// The bootstrap key: every permission, operator in Administrators.
    pub admin_key: String,
    pub admin_key_guid: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub clock: Arc<Clock>,
    pub config: Config,
    pub data_dir: TempDir,
    /// On PostgreSQL (`COFFRE_TEST_DATABASE_URL`): this server's database.
    pub database: Option<Arc<crate::pg::TestDatabase>>,
    handle: actix_web::dev::ServerHandle,
    /// `run_until_stopped`: after the HTTP server stops it still flushes the
    /// usage counted in memory and closes the database.
    running: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
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
    in_memory: bool,
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

    /// The database in memory (as `--dev`), for timings that the disk's
    /// flush latency would blur; the data dir still holds the keyring.
    pub fn in_memory(mut self) -> Self {
        self.in_memory = true;
        self
    }

    pub async fn spawn(self) -> TestApp {
        let data_dir = tempfile::tempdir().unwrap();
        let mut config = test_config(&data_dir.path().join("data"));
        (self.configure)(&mut config);
        // On PostgreSQL unless the test wants memory or `--dev` (SQLite only).
        let database = (crate::pg::enabled() && !self.in_memory && !config.dev)
            .then(crate::pg::TestDatabase::create);
        if let Some(database) = &database {
            config.database_url = Some(coffre::config::RedactedText(database.url.clone()));
            crate::pg::register(&config.data_dir, &database.url);
        }
        let clock = Arc::new(Clock::frozen_at(self.now));
        let in_memory = self.in_memory;
        let (state_config, state_clock) = (config.clone(), clock.clone());
        // Off the async workers: the PostgreSQL client blocks on a runtime of its own.
        let state = tokio::task::spawn_blocking(move || {
            let config = state_config;
            let (keys, db) = if config.database_url.is_some() {
                let (db, _, keyring) = datadir::open_postgres(&config, true).unwrap();
                (keyring.derive(), db)
            } else {
                let keys = datadir::initialize(&config).unwrap();
                // In memory when asked, and as `serve --dev` does (a reset's snapshot needs it).
                let location = if in_memory || config.dev {
                    Location::memory()
                } else {
                    Location::File(config.database_path())
                };
                let db = datadir::open_database(&config, &keys, location).unwrap();
                (keys, db)
            };
            AppState::new(Arc::new(db), Arc::new(keys), state_clock, config).unwrap()
        })
        .await
        .unwrap();
        let boot_state = state.clone();
        let boot =
            tokio::task::spawn_blocking(move || coffre::accounts::bootstrap::ensure(&boot_state))
                .await
                .unwrap()
                .unwrap()
                .unwrap();
        let options = ServerOptions {
            workers: 1,
            handle_signals: false,
        };
        let app = Application::build(state.clone(), config.listen, options).unwrap();
        let address = format!("http://{}", app.address());
        let metrics_address = app.metrics_address().map(|a| format!("http://{a}"));
        let handle = app.handle();
        let running = Some(tokio::spawn(app.run_until_stopped()));
        TestApp {
            address,
            metrics_address,
            admin_key: boot.key.to_string(),
            admin_key_guid: boot.api_key_guid.to_string(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            state,
            clock,
            config,
            data_dir,
            database,
            handle,
            running,
        }
    }
}

pub fn app() -> TestAppBuilder {
    TestAppBuilder {
        now: default_now(),
        configure: Box::new(|_| {}),
        in_memory: false,
    }
}

/// A server whose clock only moves when the test says, without background jobs.
pub async fn quiet_app(now: &str) -> TestApp {
    app()
        .now(at(now))
        .config(|c| c.scheduler = false)
        .spawn()
        .await
}

pub async fn spawn_app() -> TestApp {
    app().spawn().await
}

/// A response, read whole.
#[derive(Debug)]
pub struct Res {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Res {
    /// The first error code, for error responses.
    pub fn code(&self) -> &str {
        self.body["Messages"][0]["Code"].as_str().unwrap_or("")
    }

    pub fn message(&self) -> &str {
        self.body["Messages"][0]["Message"].as_str().unwrap_or("")
    }

    pub fn guid(&self, field: &str) -> String {
        self.body[field]
            .as_str()
            .unwrap_or_else(|| panic!("no {field} in {}", self.text))
            .to_string()
    }

    #[track_caller]
    pub fn expect(self, status: u16) -> Res {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }
}

pub async fn read(res: reqwest::Response) -> Res {
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Res {
        status,
        headers,
        text,
        body,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// A request carrying `key` as a bearer token.
    pub async fn send(&self, key: &str, method: Method, path: &str, body: Option<&Value>) -> Res {
        let mut req = self.client.request(method, self.url(path)).bearer_auth(key);
        if let Some(body) = body {
            req = req.json(body);
        }
        read(req.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str) -> Res {
        self.send(&self.admin_key, Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Res {
        self.send(&self.admin_key, Method::POST, path, Some(&body))
            .await
    }

    pub async fn put(&self, path: &str, body: Value) -> Res {
        self.send(&self.admin_key, Method::PUT, path, Some(&body))
            .await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Res {
        self.send(&self.admin_key, Method::PATCH, path, Some(&body))
            .await
    }

    pub async fn delete(&self, path: &str) -> Res {
        self.send(&self.admin_key, Method::DELETE, path, None).await
    }

    /// The outbox, newest first; `query` is e.g. `?Kind=KeyExpired` or "".
    pub async fn outbox(&self, query: &str) -> Vec<Value> {
        self.get(&format!("/v4/Outbox{query}"))
            .await
            .expect(200)
            .body
            .as_array()
            .unwrap()
            .clone()
    }

    /// Creates an API key (as the bootstrap key); `extra` overrides the defaults.
    pub async fn create_key(&self, extra: Value) -> ApiKeyHandle {
        let n = uuid::Uuid::new_v4().simple().to_string();
        let mut body = json!({
            "Name": format!("key {}", &n[..8]),
            "ContactFirstName": "Grace",
            "ContactLastName": "Hopper",
            "ContactLogin": format!("login-{n}"),
            "ContactEmail": format!("{n}@example.com"),
        });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let res = self.post("/v4/ApiKey", body).await.expect(201);
        ApiKeyHandle {
            guid: res.guid("ApiKeyGuid"),
            key: res.guid("Key"),
            operator_guid: res.guid("OperatorGuid"),
        }
    }

    /// Creates an OAuth client (as the bootstrap key); `extra` overrides the
    /// defaults (one scope: coffre.vault_item.read).
    pub async fn create_client(&self, extra: Value) -> ClientHandle {
        let n = uuid::Uuid::new_v4().simple().to_string();
        let mut body = json!({
            "Name": format!("client {}", &n[..8]),
            "ContactFirstName": "Katherine",
            "ContactLastName": "Johnson",
            "ContactLogin": format!("client-{n}"),
            "ContactEmail": format!("{n}@clients.example.com"),
            "Scopes": ["coffre.vault_item.read"],
        });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let res = self.post("/v4/OAuthClient", body).await.expect(201);
        ClientHandle {
            guid: res.guid("OAuthClientGuid"),
            client_id: res.guid("ClientId"),
            secret: res.guid("ClientSecret"),
            operator_guid: res.guid("OperatorGuid"),
        }
    }

    /// `POST path` with a form body, with HTTP Basic client credentials if given.
    pub async fn post_form(&self, path: &str, basic: Option<(&str, &str)>, body: &str) -> Res {
        let mut req = self
            .client
            .post(self.url(path))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.to_string());
        if let Some((id, secret)) = basic {
            req = req.basic_auth(id, Some(secret));
        }
        read(req.send().await.unwrap()).await
    }

    /// An access token for `client` (client_secret_basic), with `scope` if given.
    pub async fn token(&self, client: &ClientHandle, scope: Option<&str>) -> String {
        let mut pairs = vec![("grant_type", "client_credentials")];
        if let Some(scope) = scope {
            pairs.push(("scope", scope));
        }
        let res = self
            .post_form(
                "/oauth2/token",
                Some((&client.client_id, &client.secret)),
                &form(&pairs),
            )
            .await
            .expect(200);
        res.guid("access_token")
    }

    /// Puts an operator in Administrators.
    pub async fn make_admin(&self, operator_guid: &str) {
        let groups = self.get("/v4/OperatorGroup").await.expect(200);
        let admins = groups
            .body
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["IsAdministratorsGroup"] == true)
            .unwrap();
        let group = admins["OperatorGroupGuid"].as_str().unwrap();
        self.post(
            &format!("/v4/OperatorGroup/{group}/Member/{operator_guid}"),
            json!({}),
        )
        .await
        .expect(201);
    }

    /// `GET /openapi.json`, which needs no key.
    pub async fn openapi_document(&self) -> Value {
        read(
            self.client
                .get(self.url("/openapi.json"))
                .send()
                .await
                .unwrap(),
        )
        .await
        .expect(200)
        .body
    }

    pub fn set_now(&self, rfc3339: &str) {
        self.clock.freeze(at(rfc3339));
    }

    /// Runs the expiry sweep as of `rfc3339`, straight through the library.
    pub async fn sweep(&self, rfc3339: &str) -> coffre::expiry::SweepReport {
        coffre::expiry::sweep(&self.state.db, at(rfc3339), &self.config.reminder_days)
            .await
            .unwrap()
    }

    /// Stops this server and starts a new one on the same data dir, with the
    /// clock at `now` (a restart after downtime).
    pub async fn restart(
        mut self,
        now: DateTime<Utc>,
        configure: impl FnOnce(&mut Config),
    ) -> TestApp {
        self.handle.stop(true).await;
        // What the old server flushes at its stop must be written before the
        // new one reads the database (on PostgreSQL nothing else orders them).
        if let Some(running) = self.running.take() {
            let _ = running.await;
        }
        let data_dir = std::mem::replace(&mut self.data_dir, tempfile::tempdir().unwrap());
        let mut config = self.config.clone();
        configure(&mut config);
        let (admin_key, admin_key_guid) = (self.admin_key.clone(), self.admin_key_guid.clone());
        let database = self.database.clone();
        drop(self);
        let clock = Arc::new(Clock::frozen_at(now));
        let (state_config, state_clock) = (config.clone(), clock.clone());
        let state = tokio::task::spawn_blocking(move || {
            let config = state_config;
            let (keys, db) = datadir::open_existing(&config).unwrap();
            AppState::new(Arc::new(db), Arc::new(keys), state_clock, config).unwrap()
        })
        .await
        .unwrap();
        let app = Application::build(
            state.clone(),
            config.listen,
            ServerOptions {
                workers: 1,
                handle_signals: false,
            },
        )
        .unwrap();
        let address = format!("http://{}", app.address());
        let metrics_address = app.metrics_address().map(|a| format!("http://{a}"));
        let handle = app.handle();
        let running = Some(tokio::spawn(app.run_until_stopped()));
        // The bootstrap key survives the restart: it is in the database.
        TestApp {
            address,
            metrics_address,
            admin_key,
            admin_key_guid,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            state,
            clock,
            config,
            data_dir,
            database,
            handle,
            running,
        }
    }

    /// Polls `check` until it holds (for effects of background jobs), failing after 20 s.
    pub async fn eventually<F, Fut>(&self, what: &str, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !check().await {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
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

/// `coffre serve` on a new data dir with every request logged (`RUST_LOG=debug`),
/// for tests that read the log for what must never be in it.
pub fn serve_with_debug_log(data_dir: &Path) -> ServerProcess {
    let mut cmd = coffre();
    cmd.arg("--data-dir")
        .arg(data_dir)
        .args(["--listen", "127.0.0.1:0", "serve"])
        .env("RUST_LOG", "debug");
    ServerProcess::start(cmd)
}

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(cmd: &mut Command) -> Output {
    crate::pg::configure(cmd);
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
        crate::pg::configure(&mut cmd);
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

    /// A request carrying `key` as a bearer token, read whole.
    pub async fn call(&self, method: Method, path: &str, key: &str, body: Option<Value>) -> Res {
        let mut req = reqwest::Client::new()
            .request(method, self.url(path))
            .bearer_auth(key);
        if let Some(body) = body {
            req = req.json(&body);
        }
        read(req.send().await.unwrap()).await
    }

    /// The bootstrap key printed before the listening line (a new data dir or --dev).
    pub fn bootstrap_key(&self) -> String {
        self.banner
            .iter()
            .find_map(|l| l.strip_prefix("coffre bootstrap key: "))
            .unwrap_or_else(|| panic!("no bootstrap key in {:?}", self.banner))
            .to_string()
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// SIGTERM, then wait: a graceful stop.
    pub fn terminate(&mut self) -> i32 {
        signal(&self.child, "TERM");
        wait_with_timeout(&mut self.child, Duration::from_secs(30))
    }

    /// Waits for the process to exit — an event, not a poll — and says how
    /// long that took; kills it and fails after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> (i32, Duration) {
        let started = Instant::now();
        let pid = self.child.id();
        let child = &mut self.child;
        std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::channel();
            scope.spawn(move || {
                let code = child.wait().ok().and_then(|s| s.code()).unwrap_or(-1);
                let _ = tx.send(code);
            });
            match rx.recv_timeout(timeout) {
                Ok(code) => (code, started.elapsed()),
                Err(_) => {
                    let _ = Command::new("kill")
                        .args(["-KILL", &pid.to_string()])
                        .status();
                    panic!("coffre did not exit within {timeout:?}");
                }
            }
        })
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

// ---------------------------------------------------------------------------
// Real artefacts that the `openssl` command line made: committed fixtures,
// regenerated by tests/fixtures/make.sh, so the tests need no `openssl`. Their
// certificates are self-signed, valid 2000-01-01 to 2100-01-01.

/// A self-signed certificate in PEM.
pub fn pem_certificate(subject: &str) -> String {
    match subject {
        "/CN=sso.example.com" => include_str!("../fixtures/sso.example.com.pem").to_string(),
        _ => panic!("no certificate for {subject:?}: add it to tests/fixtures/make.sh"),
    }
}

/// A .pfx of `CN=Acme Client, O=Acme Corp` that `openssl pkcs12 -export` made
/// (OpenSSL 3 defaults, or `-legacy`), base64.
pub fn pfx_base64(password: &str, legacy: bool) -> String {
    use base64::Engine;
    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!("../fixtures/acme-client-", $name, ".p12")).as_slice()
        };
    }
    let der = match (password, legacy) {
        ("TheOtherPassword", false) => fixture!("TheOtherPassword"),
        ("TheOtherPassword", true) => fixture!("TheOtherPassword-legacy"),
        ("pw", false) => fixture!("pw"),
        ("pw", true) => fixture!("pw-legacy"),
        ("right", false) => fixture!("right"),
        ("right", true) => fixture!("right-legacy"),
        ("first", false) => fixture!("first"),
        ("first", true) => fixture!("first-legacy"),
        ("second", false) => fixture!("second"),
        ("second", true) => fixture!("second-legacy"),
        ("ArchivePw-Quokka", false) => fixture!("ArchivePw-Quokka"),
        ("ArchivePw-Quokka", true) => fixture!("ArchivePw-Quokka-legacy"),
        _ => panic!("no acme-client archive for {password:?}: add it to tests/fixtures/make.sh"),
    };
    base64::engine::general_purpose::STANDARD.encode(der)
}

/// A test step that needs a tool this machine lacks: skipped with the reason
/// printed, except where `COFFRE_REQUIRE_TOOLS` is set (`.ci/run` sets it),
/// where a missing tool fails the test instead.
pub fn skip_without_tool(reason: &str) {
    if std::env::var_os("COFFRE_REQUIRE_TOOLS").is_some() {
        panic!("COFFRE_REQUIRE_TOOLS is set and {reason}");
    }
    println!("SKIPPED: {reason}");
}

/// A request to a server process with `key` as a bearer token, read whole.
pub async fn call(
    client: &reqwest::Client,
    method: Method,
    url: &str,
    key: &str,
    body: Option<Value>,
) -> Res {
    let mut req = client.request(method, url).bearer_auth(key);
    if let Some(body) = body {
        req = req.json(&body);
    }
    read(req.send().await.unwrap()).await
}

/// Creates a section and, in it, a credential set holding `password`, on a
/// server process; returns the item's GUID.
pub async fn create_credential(
    client: &reqwest::Client,
    server: &ServerProcess,
    key: &str,
    password: &str,
) -> String {
    let section = call(
        client,
        Method::POST,
        &server.url("/v4/VaultSection"),
        key,
        Some(json!({"Name": format!("section {}", uuid::Uuid::new_v4())})),
    )
    .await
    .expect(201)
    .guid("VaultSectionGuid");
    call(
        client,
        Method::POST,
        &server.url("/v4/VaultItem"),
        key,
        Some(json!({"Name": "Shop login", "VaultSectionGuid": section,
                    "VaultItemType": "CredentialSet", "UserName": "ada",
                    "Password": password})),
    )
    .await
    .expect(201)
    .guid("VaultItemGuid")
}
