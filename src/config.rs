//! Typed configuration. Each option comes from, in order of precedence: the
//! command line, the environment (`COFFRE_<NAME>`), the TOML config file
//! (`--config FILE`), the built-in default. Unknown keys are refused, and
//! `validate` checks the whole thing before anything starts.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::crypto::{KdfParams, SecretBytes};
use crate::mail::SmtpUrl;

/// Exit code 2 errors: bad usage or configuration.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// env_logger's human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// `synchronous=FULL`: an acknowledged write survives a power cut.
    Full,
    /// `synchronous=NORMAL`: survives a killed process, but the last
    /// acknowledged writes may be lost on a power cut or OS crash.
    Normal,
}

/// How `smtp://` uses STARTTLS (`smtps://` is TLS from the first byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StartTls {
    /// Upgrade when the server offers it; send in clear otherwise, unless
    /// there is a password to send (then it is required).
    Opportunistic,
    /// Never send without TLS.
    Required,
}

/// Text that may hold a secret (a URL with a password): a redacted `Debug`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RedactedText(pub String);

impl fmt::Debug for RedactedText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Every option, as it may appear in the file or the environment. Each layer
/// is parsed into this shape on its own so an error can name where it came from.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigLayer {
    pub data_dir: Option<PathBuf>,
    pub listen: Option<String>,
    pub dev: Option<bool>,
    pub dev_bootstrap_key: Option<String>,
    pub seed: Option<PathBuf>,
    pub passphrase_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub durability: Option<Durability>,
    pub workers: Option<usize>,
    pub db_pool_size: Option<u32>,
    pub busy_timeout_ms: Option<u64>,
    pub group_commit_max: Option<usize>,
    pub kdf_memory_kib: Option<u32>,
    pub kdf_iterations: Option<u32>,
    pub kdf_parallelism: Option<u32>,
    pub scheduler: Option<bool>,
    pub reminder_days: Option<Vec<u32>>,
    pub revoke_unused_after_days: Option<u32>,
    pub certificate_reminder_days: Option<Vec<u32>>,
    pub auth_failure_limit: Option<u32>,
    pub auth_failure_window_secs: Option<u64>,
    pub session_idle_timeout_mins: Option<u64>,
    pub session_lifetime_hours: Option<u64>,
    pub last_used_flush_secs: Option<u64>,
    pub body_timeout_secs: Option<u64>,
    pub body_memory_limit_mib: Option<u32>,
    pub auth_failure_max_addresses: Option<u32>,
    pub tls_cert_file: Option<PathBuf>,
    pub tls_key_file: Option<PathBuf>,
    pub trusted_proxies: Option<Vec<String>>,
    pub metrics_listen: Option<String>,
    pub log_format: Option<LogFormat>,
    pub backup_dir: Option<PathBuf>,
    pub backup_interval_hours: Option<u32>,
    pub backup_keep: Option<u32>,
    pub smtp_url: Option<RedactedText>,
    pub smtp_starttls: Option<StartTls>,
    pub smtp_password_file: Option<PathBuf>,
    pub mail_from: Option<String>,
    pub mail_ca_file: Option<PathBuf>,
    pub mail_retry_initial_secs: Option<u64>,
    pub mail_max_attempts: Option<u32>,
    pub oauth_token_lifetime_secs: Option<u64>,
    pub oauth_tokens_per_client: Option<u32>,
    pub secret_versions_kept: Option<u32>,
    pub public_url: Option<String>,
    pub database_url: Option<RedactedText>,
    pub database_ca_file: Option<PathBuf>,
    pub cluster_refresh_secs: Option<u64>,
}

/// How each option is spelled in the environment and parsed from it.
#[derive(Clone, Copy)]
enum EnvKind {
    Text,
    Bool,
    Int,
    IntList,
    TextList,
}

const ENV_OPTIONS: &[(&str, EnvKind)] = &[
    ("data_dir", EnvKind::Text),
    ("listen", EnvKind::Text),
    ("dev", EnvKind::Bool),
    ("dev_bootstrap_key", EnvKind::Text),
    ("seed", EnvKind::Text),
    ("passphrase_file", EnvKind::Text),
    ("key_file", EnvKind::Text),
    ("durability", EnvKind::Text),
    ("workers", EnvKind::Int),
    ("db_pool_size", EnvKind::Int),
    ("busy_timeout_ms", EnvKind::Int),
    ("group_commit_max", EnvKind::Int),
    ("kdf_memory_kib", EnvKind::Int),
    ("kdf_iterations", EnvKind::Int),
    ("kdf_parallelism", EnvKind::Int),
    ("scheduler", EnvKind::Bool),
    ("reminder_days", EnvKind::IntList),
    ("revoke_unused_after_days", EnvKind::Int),
    ("certificate_reminder_days", EnvKind::IntList),
    ("auth_failure_limit", EnvKind::Int),
    ("auth_failure_window_secs", EnvKind::Int),
    ("session_idle_timeout_mins", EnvKind::Int),
    ("session_lifetime_hours", EnvKind::Int),
    ("last_used_flush_secs", EnvKind::Int),
    ("body_timeout_secs", EnvKind::Int),
    ("body_memory_limit_mib", EnvKind::Int),
    ("auth_failure_max_addresses", EnvKind::Int),
    ("tls_cert_file", EnvKind::Text),
    ("tls_key_file", EnvKind::Text),
    ("trusted_proxies", EnvKind::TextList),
    ("metrics_listen", EnvKind::Text),
    ("log_format", EnvKind::Text),
    ("backup_dir", EnvKind::Text),
    ("backup_interval_hours", EnvKind::Int),
    ("backup_keep", EnvKind::Int),
    ("smtp_url", EnvKind::Text),
    ("smtp_starttls", EnvKind::Text),
    ("smtp_password_file", EnvKind::Text),
    ("mail_from", EnvKind::Text),
    ("mail_ca_file", EnvKind::Text),
    ("mail_retry_initial_secs", EnvKind::Int),
    ("mail_max_attempts", EnvKind::Int),
    ("oauth_token_lifetime_secs", EnvKind::Int),
    ("oauth_tokens_per_client", EnvKind::Int),
    ("secret_versions_kept", EnvKind::Int),
    ("public_url", EnvKind::Text),
    ("database_url", EnvKind::Text),
    ("database_ca_file", EnvKind::Text),
    ("cluster_refresh_secs", EnvKind::Int),
];

pub fn env_name(option: &str) -> String {
    format!("COFFRE_{}", option.to_ascii_uppercase())
}

impl ConfigLayer {
    fn merge_over(self, lower: ConfigLayer) -> ConfigLayer {
        macro_rules! pick {
            ($($f:ident),*) => { ConfigLayer { $($f: self.$f.or(lower.$f)),* } };
        }
        pick!(
            data_dir,
            listen,
            dev,
            dev_bootstrap_key,
            seed,
            passphrase_file,
            key_file,
            durability,
            workers,
            db_pool_size,
            busy_timeout_ms,
            group_commit_max,
            kdf_memory_kib,
            kdf_iterations,
            kdf_parallelism,
            scheduler,
            reminder_days,
            revoke_unused_after_days,
            certificate_reminder_days,
            auth_failure_limit,
            auth_failure_window_secs,
            session_idle_timeout_mins,
            session_lifetime_hours,
            last_used_flush_secs,
            body_timeout_secs,
            body_memory_limit_mib,
            auth_failure_max_addresses,
            tls_cert_file,
            tls_key_file,
            trusted_proxies,
            metrics_listen,
            log_format,
            backup_dir,
            backup_interval_hours,
            backup_keep,
            smtp_url,
            smtp_starttls,
            smtp_password_file,
            mail_from,
            mail_ca_file,
            mail_retry_initial_secs,
            mail_max_attempts,
            oauth_token_lifetime_secs,
            oauth_tokens_per_client,
            secret_versions_kept,
            public_url,
            database_url,
            database_ca_file,
            cluster_refresh_secs
        )
    }

    pub fn from_toml(text: &str, origin: &Path) -> Result<ConfigLayer, ConfigError> {
        toml::from_str(text).map_err(|e| {
            ConfigError(format!(
                "config file {} is invalid: {}; see config.example.toml for every option",
                origin.display(),
                e.message()
            ))
        })
    }

    /// Reads `COFFRE_<NAME>` through `get` (injectable for tests).
    pub fn from_env(get: &dyn Fn(&str) -> Option<String>) -> Result<ConfigLayer, ConfigError> {
        let mut table = toml::Table::new();
        for (option, kind) in ENV_OPTIONS {
            let name = env_name(option);
            let Some(raw) = get(&name) else { continue };
            let bad = |expected: &str| {
                ConfigError(format!(
                    "environment variable {name}={raw:?} is invalid: expected {expected}"
                ))
            };
            let value = match kind {
                EnvKind::Text => toml::Value::String(raw.clone()),
                EnvKind::Bool => match raw.trim().to_ascii_lowercase().as_str() {
                    "1" | "true" | "yes" | "on" => toml::Value::Boolean(true),
                    "0" | "false" | "no" | "off" | "" => toml::Value::Boolean(false),
                    _ => return Err(bad("true or false")),
                },
                EnvKind::Int => toml::Value::Integer(
                    raw.trim()
                        .parse::<i64>()
                        .map_err(|_| bad("a whole number"))?,
                ),
                EnvKind::IntList => toml::Value::Array(
                    raw.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(|s| s.parse::<i64>().map(toml::Value::Integer))
                        .collect::<Result<_, _>>()
                        .map_err(|_| {
                            bad("comma-separated whole numbers, e.g. 7,1 (empty for none)")
                        })?,
                ),
                EnvKind::TextList => toml::Value::Array(
                    raw.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(|s| toml::Value::String(s.to_string()))
                        .collect(),
                ),
            };
            // Checked one variable at a time so the error names it.
            let mut single = toml::Table::new();
            single.insert((*option).to_string(), value.clone());
            ConfigLayer::deserialize(toml::Value::Table(single)).map_err(|e| {
                ConfigError(format!(
                    "environment variable {name}={raw:?} is invalid: {}",
                    e.message()
                ))
            })?;
            table.insert((*option).to_string(), value);
        }
        ConfigLayer::deserialize(toml::Value::Table(table))
            .map_err(|e| ConfigError(format!("environment: {}", e.message())))
    }
}

/// The resolved configuration.
#[derive(Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub dev: bool,
    /// With `dev`: the bootstrap key is this (well-formed) key, not a random one.
    pub dev_bootstrap_key: Option<SecretBytes>,
    /// A TOML file of objects to create: at start with `dev`, or by `init`.
    pub seed: Option<PathBuf>,
    pub passphrase: Option<SecretBytes>,
    pub passphrase_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub durability: Durability,
    /// HTTP worker threads; 0 = one per core.
    pub workers: usize,
    pub db_pool_size: u32,
    pub busy_timeout_ms: u64,
    pub group_commit_max: usize,
    pub kdf: KdfParams,
    pub scheduler: bool,
    pub reminder_days: Vec<u32>,
    /// The midnight sweep revokes credentials unused this many days (0: never).
    pub revoke_unused_after_days: u32,
    /// Days before a vault certificate's NotAfter its reminders go out.
    pub certificate_reminder_days: Vec<u32>,
    pub auth_failure_limit: u32,
    pub auth_failure_window_secs: u64,
    /// A console session unused this long ends.
    pub session_idle_timeout_mins: u64,
    /// A console session ends this long after sign-in, used or not.
    pub session_lifetime_hours: u64,
    pub last_used_flush_secs: u64,
    /// A request body must arrive whole within this time (408 otherwise).
    pub body_timeout_secs: u64,
    /// Bytes of request bodies held at once, in MiB (503 beyond).
    pub body_memory_limit_mib: u32,
    /// Client addresses (IPv6: /64 networks) the failed-auth limiter tracks at most.
    pub auth_failure_max_addresses: u32,
    /// PEM certificate chain and private key: serve HTTPS (both or neither).
    pub tls_cert_file: Option<PathBuf>,
    pub tls_key_file: Option<PathBuf>,
    /// Peers whose `Forwarded` / `X-Forwarded-*` headers are believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Where `GET /metrics` is served (a listener of its own); off by default.
    pub metrics_listen: Option<SocketAddr>,
    pub log_format: LogFormat,
    /// Scheduled backups go here, one timestamped directory each; off by default.
    pub backup_dir: Option<PathBuf>,
    pub backup_interval_hours: u32,
    /// Scheduled backups kept; older ones are removed.
    pub backup_keep: u32,
    /// Where the outbox is delivered; None: nothing is sent. The password
    /// (from the URL or `smtp_password_file`) is inside, redacted in `Debug`.
    pub smtp_url: Option<SmtpUrl>,
    pub smtp_starttls: StartTls,
    pub smtp_password_file: Option<PathBuf>,
    /// The From of every e-mail, e.g. `coffre <coffre@example.com>`.
    pub mail_from: Option<String>,
    /// Trust only the certificates in this PEM file for the SMTP server.
    pub mail_ca_file: Option<PathBuf>,
    /// The first retry waits this long; each next one twice as long.
    pub mail_retry_initial_secs: u64,
    /// A message that failed this many times is `Failed`.
    pub mail_max_attempts: u32,
    /// How long an OAuth access token lasts (never past its client's expiry).
    pub oauth_token_lifetime_secs: u64,
    /// Live access tokens per OAuth client; past it the oldest give way.
    pub oauth_tokens_per_client: u32,
    /// Previous values kept per vault item (0: none).
    pub secret_versions_kept: u32,
    /// The server's base URL as clients reach it (the OAuth issuer); `None`:
    /// the scheme and `Host` of each request.
    pub public_url: Option<String>,
    /// `postgres://…`: PostgreSQL instead of the SQLite file in the data dir
    /// (several nodes may share it). Holds a password: redacted in `Debug`.
    pub database_url: Option<RedactedText>,
    /// PEM CA certificates that vouch for the PostgreSQL server
    /// (`sslmode=verify-ca`/`verify-full`; `require` then checks the chain too).
    pub database_ca_file: Option<PathBuf>,
    /// With PostgreSQL: the credentials are reloaded at least this often,
    /// besides each time another node changes them.
    pub cluster_refresh_secs: u64,
}

/// Redacted: never prints the passphrase.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("data_dir", &self.data_dir)
            .field("listen", &self.listen)
            .field("dev", &self.dev)
            .field(
                "dev_bootstrap_key",
                &self.dev_bootstrap_key.as_ref().map(|_| "<redacted>"),
            )
            .field("seed", &self.seed)
            .field(
                "passphrase",
                &self.passphrase.as_ref().map(|_| "<redacted>"),
            )
            .field("passphrase_file", &self.passphrase_file)
            .field("key_file", &self.key_file)
            .field("durability", &self.durability)
            .field("workers", &self.workers)
            .field("db_pool_size", &self.db_pool_size)
            .field("busy_timeout_ms", &self.busy_timeout_ms)
            .field("group_commit_max", &self.group_commit_max)
            .field("kdf", &self.kdf)
            .field("scheduler", &self.scheduler)
            .field("reminder_days", &self.reminder_days)
            .field("revoke_unused_after_days", &self.revoke_unused_after_days)
            .field("certificate_reminder_days", &self.certificate_reminder_days)
            .field("auth_failure_limit", &self.auth_failure_limit)
            .field("auth_failure_window_secs", &self.auth_failure_window_secs)
            .field("session_idle_timeout_mins", &self.session_idle_timeout_mins)
            .field("session_lifetime_hours", &self.session_lifetime_hours)
            .field("last_used_flush_secs", &self.last_used_flush_secs)
            .field("body_timeout_secs", &self.body_timeout_secs)
            .field("body_memory_limit_mib", &self.body_memory_limit_mib)
            .field(
                "auth_failure_max_addresses",
                &self.auth_failure_max_addresses,
            )
            .field("tls_cert_file", &self.tls_cert_file)
            .field("tls_key_file", &self.tls_key_file)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("metrics_listen", &self.metrics_listen)
            .field("log_format", &self.log_format)
            .field("backup_dir", &self.backup_dir)
            .field("backup_interval_hours", &self.backup_interval_hours)
            .field("backup_keep", &self.backup_keep)
            .field("smtp_url", &self.smtp_url)
            .field("smtp_starttls", &self.smtp_starttls)
            .field("smtp_password_file", &self.smtp_password_file)
            .field("mail_from", &self.mail_from)
            .field("mail_ca_file", &self.mail_ca_file)
            .field("mail_retry_initial_secs", &self.mail_retry_initial_secs)
            .field("mail_max_attempts", &self.mail_max_attempts)
            .field("oauth_token_lifetime_secs", &self.oauth_token_lifetime_secs)
            .field("oauth_tokens_per_client", &self.oauth_tokens_per_client)
            .field("secret_versions_kept", &self.secret_versions_kept)
            .field("public_url", &self.public_url)
            .field("database_url", &self.database_url)
            .field("database_ca_file", &self.database_ca_file)
            .field("cluster_refresh_secs", &self.cluster_refresh_secs)
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./coffre-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            dev: false,
            dev_bootstrap_key: None,
            seed: None,
            passphrase: None,
            passphrase_file: None,
            key_file: None,
            durability: Durability::Full,
            workers: 0,
            db_pool_size: 8,
            busy_timeout_ms: 5000,
            group_commit_max: 256,
            kdf: KdfParams::DEFAULT,
            scheduler: true,
            reminder_days: vec![7, 1],
            revoke_unused_after_days: 0,
            certificate_reminder_days: vec![30, 7, 1],
            auth_failure_limit: 20,
            auth_failure_window_secs: 60,
            session_idle_timeout_mins: 30,
            session_lifetime_hours: 12,
            last_used_flush_secs: 60,
            body_timeout_secs: 30,
            body_memory_limit_mib: 64,
            auth_failure_max_addresses: 100_000,
            tls_cert_file: None,
            tls_key_file: None,
            trusted_proxies: Vec::new(),
            metrics_listen: None,
            log_format: LogFormat::Text,
            backup_dir: None,
            backup_interval_hours: 24,
            backup_keep: 7,
            smtp_url: None,
            smtp_starttls: StartTls::Opportunistic,
            smtp_password_file: None,
            mail_from: None,
            mail_ca_file: None,
            mail_retry_initial_secs: 30,
            // 30 s doubling: the 12th attempt comes ~17 h after the first, so
            // a relay down overnight still gets every notice through within a
            // day, and a 1-day reminder is not tried after the key expired.
            mail_max_attempts: 12,
            oauth_token_lifetime_secs: 86_400,
            oauth_tokens_per_client: 1000,
            secret_versions_kept: 10,
            public_url: None,
            database_url: None,
            database_ca_file: None,
            cluster_refresh_secs: 30,
        }
    }
}

/// Where the layers come from.
pub struct Sources<'a> {
    pub cli: ConfigLayer,
    pub config_file: Option<&'a Path>,
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

impl Config {
    pub fn load(sources: Sources<'_>) -> Result<Config, ConfigError> {
        let file = match sources.config_file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    ConfigError(format!("cannot read config file {}: {e}", path.display()))
                })?;
                ConfigLayer::from_toml(&text, path)?
            }
            None => ConfigLayer::default(),
        };
        let env = ConfigLayer::from_env(sources.env)?;
        let merged = sources.cli.merge_over(env.merge_over(file));
        let passphrase = match (sources.env)("COFFRE_PASSPHRASE") {
            Some(p) if !p.is_empty() => Some(SecretBytes::from(p)),
            _ => None,
        };
        Config::resolve(merged, passphrase)
    }

    fn resolve(
        layer: ConfigLayer,
        env_passphrase: Option<SecretBytes>,
    ) -> Result<Config, ConfigError> {
        let d = Config::default();
        let listen = match layer.listen {
            Some(text) => text.parse::<SocketAddr>().map_err(|_| {
                ConfigError(format!(
                    "listen = {text:?} is not an address: use HOST:PORT with a numeric IP, e.g. \
                     127.0.0.1:8080 (port 0 picks a free port)"
                ))
            })?,
            None => d.listen,
        };
        let metrics_listen = match layer.metrics_listen {
            Some(text) if text.trim().is_empty() => None,
            Some(text) => Some(text.parse::<SocketAddr>().map_err(|_| {
                ConfigError(format!(
                    "metrics_listen = {text:?} is not an address: use HOST:PORT with a numeric \
                     IP, e.g. 127.0.0.1:9187 (leave it unset to serve no metrics)"
                ))
            })?),
            None => d.metrics_listen,
        };
        let trusted_proxies = match layer.trusted_proxies {
            Some(list) => list
                .iter()
                .map(|text| parse_network(text))
                .collect::<Result<Vec<_>, _>>()?,
            None => d.trusted_proxies,
        };
        let smtp_url = match &layer.smtp_url {
            Some(text) => {
                let mut url = SmtpUrl::parse(&text.0).map_err(ConfigError)?;
                if let Some(path) = &layer.smtp_password_file {
                    url.set_password(read_secret_file("smtp_password_file", path)?)
                        .map_err(ConfigError)?;
                }
                Some(url)
            }
            None => None,
        };
        let passphrase_file = layer.passphrase_file;
        let passphrase = match (env_passphrase, &passphrase_file) {
            (Some(p), _) => Some(p),
            (None, Some(path)) => Some(read_passphrase_file(path)?),
            (None, None) => None,
        };
        let config = Config {
            data_dir: layer.data_dir.unwrap_or(d.data_dir),
            listen,
            dev: layer.dev.unwrap_or(d.dev),
            dev_bootstrap_key: layer.dev_bootstrap_key.map(SecretBytes::from),
            seed: layer.seed,
            passphrase,
            passphrase_file,
            key_file: layer.key_file,
            durability: layer.durability.unwrap_or(d.durability),
            workers: layer.workers.unwrap_or(d.workers),
            db_pool_size: layer.db_pool_size.unwrap_or(d.db_pool_size),
            busy_timeout_ms: layer.busy_timeout_ms.unwrap_or(d.busy_timeout_ms),
            group_commit_max: layer.group_commit_max.unwrap_or(d.group_commit_max),
            kdf: KdfParams {
                memory_kib: layer.kdf_memory_kib.unwrap_or(d.kdf.memory_kib),
                iterations: layer.kdf_iterations.unwrap_or(d.kdf.iterations),
                parallelism: layer.kdf_parallelism.unwrap_or(d.kdf.parallelism),
            },
            scheduler: layer.scheduler.unwrap_or(d.scheduler),
            reminder_days: layer.reminder_days.unwrap_or(d.reminder_days),
            revoke_unused_after_days: layer
                .revoke_unused_after_days
                .unwrap_or(d.revoke_unused_after_days),
            certificate_reminder_days: layer
                .certificate_reminder_days
                .unwrap_or(d.certificate_reminder_days),
            auth_failure_limit: layer.auth_failure_limit.unwrap_or(d.auth_failure_limit),
            auth_failure_window_secs: layer
                .auth_failure_window_secs
                .unwrap_or(d.auth_failure_window_secs),
            session_idle_timeout_mins: layer
                .session_idle_timeout_mins
                .unwrap_or(d.session_idle_timeout_mins),
            session_lifetime_hours: layer
                .session_lifetime_hours
                .unwrap_or(d.session_lifetime_hours),
            last_used_flush_secs: layer.last_used_flush_secs.unwrap_or(d.last_used_flush_secs),
            body_timeout_secs: layer.body_timeout_secs.unwrap_or(d.body_timeout_secs),
            body_memory_limit_mib: layer
                .body_memory_limit_mib
                .unwrap_or(d.body_memory_limit_mib),
            auth_failure_max_addresses: layer
                .auth_failure_max_addresses
                .unwrap_or(d.auth_failure_max_addresses),
            tls_cert_file: layer.tls_cert_file,
            tls_key_file: layer.tls_key_file,
            trusted_proxies,
            metrics_listen,
            log_format: layer.log_format.unwrap_or(d.log_format),
            backup_dir: layer.backup_dir,
            backup_interval_hours: layer
                .backup_interval_hours
                .unwrap_or(d.backup_interval_hours),
            backup_keep: layer.backup_keep.unwrap_or(d.backup_keep),
            smtp_url,
            smtp_starttls: layer.smtp_starttls.unwrap_or(d.smtp_starttls),
            smtp_password_file: layer.smtp_password_file,
            mail_from: layer.mail_from,
            mail_ca_file: layer.mail_ca_file,
            mail_retry_initial_secs: layer
                .mail_retry_initial_secs
                .unwrap_or(d.mail_retry_initial_secs),
            mail_max_attempts: layer.mail_max_attempts.unwrap_or(d.mail_max_attempts),
            oauth_token_lifetime_secs: layer
                .oauth_token_lifetime_secs
                .unwrap_or(d.oauth_token_lifetime_secs),
            oauth_tokens_per_client: layer
                .oauth_tokens_per_client
                .unwrap_or(d.oauth_tokens_per_client),
            secret_versions_kept: layer.secret_versions_kept.unwrap_or(d.secret_versions_kept),
            public_url: layer
                .public_url
                .map(|u| u.trim_end_matches('/').to_string()),
            database_url: layer.database_url.filter(|u| !u.0.trim().is_empty()),
            database_ca_file: layer.database_ca_file,
            cluster_refresh_secs: layer.cluster_refresh_secs.unwrap_or(d.cluster_refresh_secs),
        };
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let fail = |m: String| Err(ConfigError(m));
        if self.data_dir.as_os_str().is_empty() {
            return fail("data_dir is empty: give a directory, e.g. ./coffre-data".into());
        }
        if !(1..=64).contains(&self.db_pool_size) {
            return fail(format!(
                "db_pool_size = {} must be between 1 and 64",
                self.db_pool_size
            ));
        }
        if self.workers > 256 {
            return fail(format!(
                "workers = {} must be at most 256 (0 = one per core)",
                self.workers
            ));
        }
        if !(1..=10_000).contains(&self.group_commit_max) {
            return fail(format!(
                "group_commit_max = {} must be between 1 and 10000",
                self.group_commit_max
            ));
        }
        if self.busy_timeout_ms > 600_000 {
            return fail(format!(
                "busy_timeout_ms = {} must be at most 600000",
                self.busy_timeout_ms
            ));
        }
        self.kdf.validate().map_err(ConfigError)?;
        if let Some(&d) = self.reminder_days.iter().find(|&&d| d == 0 || d > 366) {
            return fail(format!(
                "reminder_days contains {d}: each entry is a number of days before expiry, 1 to \
                 366 (use an empty list to turn reminders off)"
            ));
        }
        if let Some(&d) = self
            .certificate_reminder_days
            .iter()
            .find(|&&d| d == 0 || d > 3650)
        {
            return fail(format!(
                "certificate_reminder_days contains {d}: each entry is a number of days before \
                 a certificate's NotAfter, 1 to 3650 (an empty list keeps only the message at \
                 expiry)"
            ));
        }
        if self.auth_failure_limit == 0 {
            return fail("auth_failure_limit must be at least 1".into());
        }
        if !(1..=86_400).contains(&self.auth_failure_window_secs) {
            return fail("auth_failure_window_secs must be between 1 and 86400".into());
        }
        // The warning goes 7 days before: a shorter period could not give it.
        if self.revoke_unused_after_days != 0
            && !(8..=3650).contains(&self.revoke_unused_after_days)
        {
            return fail(
                "revoke_unused_after_days must be 0 (off) or between 8 and 3650: the contact is \
                 warned 7 days before"
                    .into(),
            );
        }
        if !(1..=1440).contains(&self.session_idle_timeout_mins) {
            return fail(
                "session_idle_timeout_mins must be between 1 and 1440 (a console session unused \
                 that long ends)"
                    .into(),
            );
        }
        if !(1..=720).contains(&self.session_lifetime_hours) {
            return fail("session_lifetime_hours must be between 1 and 720".into());
        }
        if self.session_idle_timeout_mins > self.session_lifetime_hours * 60 {
            return fail(format!(
                "session_idle_timeout_mins = {} is longer than session_lifetime_hours = {}: a \
                 session would end at its lifetime first; shorten the idle timeout",
                self.session_idle_timeout_mins, self.session_lifetime_hours
            ));
        }
        if !(1..=3600).contains(&self.last_used_flush_secs) {
            return fail("last_used_flush_secs must be between 1 and 3600".into());
        }
        if !(1..=3600).contains(&self.body_timeout_secs) {
            return fail("body_timeout_secs must be between 1 and 3600".into());
        }
        if !(8..=65_536).contains(&self.body_memory_limit_mib) {
            return fail(
                "body_memory_limit_mib must be between 8 and 65536 (a single vault item write \
                 may carry 4 MiB)"
                    .into(),
            );
        }
        if let Some(key) = &self.dev_bootstrap_key {
            if !self.dev {
                return fail(
                    "dev_bootstrap_key applies only with --dev (an in-memory server for tests); \
                     a data dir's bootstrap key is random and printed once by `coffre init`"
                        .into(),
                );
            }
            let well_formed = std::str::from_utf8(key.expose())
                .ok()
                .and_then(|text| {
                    crate::crypto::Token::parse(crate::crypto::TokenKind::ApiKey, text)
                })
                .is_some();
            if !well_formed {
                return fail(
                    "dev_bootstrap_key is not a well-formed coffre key (coffre_ + 12 letters or \
                     digits + _ + 49 more, ending in a checksum): run `coffre keygen` to get one"
                        .into(),
                );
            }
            if self.backup_dir.is_some() {
                return fail(
                    "backup_dir is set with database_url: scheduled backups copy the SQLite \
                     file; back PostgreSQL up with pg_dump (or your provider's backups) and \
                     unset backup_dir"
                        .into(),
                );
            }
        }
        if self.seed.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
            return fail("seed is empty: give the path of a seed file (TOML)".into());
        }
        if !(1_000..=10_000_000).contains(&self.auth_failure_max_addresses) {
            return fail("auth_failure_max_addresses must be between 1000 and 10000000".into());
        }
        match (&self.tls_cert_file, &self.tls_key_file) {
            (Some(_), None) | (None, Some(_)) => {
                return fail(
                    "tls_cert_file and tls_key_file go together: give both (PEM files) to serve \
                     HTTPS, or neither to serve plain HTTP"
                        .into(),
                );
            }
            _ => {}
        }
        if let Some(metrics) = self.metrics_listen
            && metrics == self.listen
            && metrics.port() != 0
        {
            return fail(format!(
                "metrics_listen = {metrics} is the API's own address: give the metrics a listener \
                 of their own (e.g. 127.0.0.1:9187)"
            ));
        }
        if !(1..=8_760).contains(&self.backup_interval_hours) {
            return fail("backup_interval_hours must be between 1 and 8760".into());
        }
        if !(1..=1_000).contains(&self.backup_keep) {
            return fail("backup_keep must be between 1 and 1000".into());
        }
        if let Some(dir) = &self.backup_dir {
            if self.dev {
                return fail(
                    "backup_dir is set with --dev, whose database lives in memory: there is \
                     nothing to back up (unset one of them)"
                        .into(),
                );
            }
            if dir.as_os_str().is_empty() {
                return fail("backup_dir is empty: give a directory, or leave it unset".into());
            }
            if dir == &self.data_dir || dir.starts_with(&self.data_dir) {
                return fail(format!(
                    "backup_dir = {} is inside the data dir: keep backups elsewhere (another \
                     directory, ideally another disk)",
                    dir.display()
                ));
            }
        }
        if !(1..=86_400).contains(&self.mail_retry_initial_secs) {
            return fail("mail_retry_initial_secs must be between 1 and 86400".into());
        }
        if !(1..=100).contains(&self.mail_max_attempts) {
            return fail("mail_max_attempts must be between 1 and 100".into());
        }
        if self.smtp_password_file.is_some() && self.smtp_url.is_none() {
            return fail(
                "smtp_password_file is set but smtp_url is not: give the server in smtp_url, \
                 e.g. smtps://coffre@mail.example.com:465"
                    .into(),
            );
        }
        // Builds the sender once, so that every mistake (mail_from, the CA
        // file) stops `serve` at start rather than the first e-mail.
        crate::mail::Mailer::from_config(self)?;
        if !(60..=31_536_000).contains(&self.oauth_token_lifetime_secs) {
            return fail(
                "oauth_token_lifetime_secs must be between 60 (a minute) and 31536000 (a year)"
                    .into(),
            );
        }
        if !(1..=100_000).contains(&self.oauth_tokens_per_client) {
            return fail("oauth_tokens_per_client must be between 1 and 100000".into());
        }
        if self.secret_versions_kept > 1000 {
            return fail(
                "secret_versions_kept must be between 0 (keep no previous values) and 1000".into(),
            );
        }
        if let Some(url) = &self.public_url {
            validate_public_url(url).map_err(ConfigError)?;
        }
        if !(1..=3600).contains(&self.cluster_refresh_secs) {
            return fail(format!(
                "cluster_refresh_secs = {} must be between 1 and 3600",
                self.cluster_refresh_secs
            ));
        }
        if let Some(url) = &self.database_url {
            crate::db::pg::check_url(&url.0, self.database_ca_file.as_deref())
                .map_err(ConfigError)?;
            if self.dev {
                return fail(
                    "database_url is set with --dev: the dev server keeps its database in \
                     memory (SQLite) and its reset needs it there. Unset database_url \
                     (COFFRE_DATABASE_URL) or run without --dev"
                        .into(),
                );
            }
        }
        if let Some(p) = &self.passphrase
            && p.is_empty()
        {
            return fail("the passphrase is empty: put at least one character in it".into());
        }
        Ok(())
    }

    /// Where `master.key` is read from (and, on init without a passphrase, written).
    pub fn key_file_path(&self) -> PathBuf {
        self.key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("master.key"))
    }

    pub fn keyring_path(&self) -> PathBuf {
        self.data_dir.join("keyring.json")
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("coffre.db")
    }
}

/// An address (`10.0.0.7`, `::1`) or a CIDR range (`10.0.0.0/8`, `fd00::/8`).
fn parse_network(text: &str) -> Result<ipnet::IpNet, ConfigError> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .map(|n| n.trunc())
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| {
            ConfigError(format!(
                "trusted_proxies contains {text:?}, which is neither an IP address nor a CIDR \
                 range: write e.g. \"10.0.0.7\", \"10.0.0.0/8\" or \"fd00::/8\""
            ))
        })
}

/// `http(s)://host[:port][/path]`, no query, fragment or credentials: RFC 8414
/// makes it the issuer, which clients compare as a string.
fn validate_public_url(url: &str) -> Result<(), String> {
    let bad = |why: &str| {
        Err(format!(
            "public_url = {url:?} {why}: give the base URL clients reach coffre at, e.g. \
             https://vault.example.com or http://127.0.0.1:8080"
        ))
    };
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return bad("must start with http:// or https://");
    };
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() {
        return bad("has no host");
    }
    if url
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '?' | '#' | '@'))
    {
        return bad("may not hold spaces, a query, a fragment or credentials");
    }
    Ok(())
}

fn read_passphrase_file(path: &Path) -> Result<SecretBytes, ConfigError> {
    read_secret_file("passphrase_file", path)
}

/// The first line of a file holding a secret (one trailing newline dropped).
pub fn read_secret_file(option: &str, path: &Path) -> Result<SecretBytes, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("cannot read {option} {}: {e}", path.display())))?;
    // One trailing newline is an editor's, not the passphrase's.
    let trimmed = text
        .strip_suffix('\n')
        .map(|t| t.strip_suffix('\r').unwrap_or(t))
        .unwrap_or(&text);
    if trimmed.is_empty() {
        return Err(ConfigError(format!("{option} {} is empty", path.display())));
    }
    Ok(SecretBytes::from(trimmed.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn load(
        cli: ConfigLayer,
        file: Option<&str>,
        env: &[(&str, &str)],
    ) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("coffre.toml");
        if let Some(text) = file {
            std::fs::write(&path, text).unwrap();
        }
        let env = env_of(env);
        Config::load(Sources {
            cli,
            config_file: file.map(|_| path.as_path()),
            env: &env,
        })
    }

    #[test]
    fn the_example_file_parses_to_exactly_the_defaults() {
        let text = include_str!("../config.example.toml");
        let layer = ConfigLayer::from_toml(text, Path::new("config.example.toml")).unwrap();
        let from_example = Config::resolve(layer, None).unwrap();
        assert_eq!(
            format!("{from_example:?}"),
            format!("{:?}", Config::default())
        );
    }

    #[test]
    fn the_example_file_documents_every_option() {
        let text = include_str!("../config.example.toml");
        for (option, _) in ENV_OPTIONS {
            assert!(
                text.contains(&format!("\n{option} =")) || text.contains(&format!("# {option} =")),
                "config.example.toml does not document {option}"
            );
            assert!(
                text.contains(&env_name(option)),
                "config.example.toml does not name {}",
                env_name(option)
            );
        }
    }

    #[test]
    fn every_option_can_come_from_the_environment() {
        let full = toml::to_string(&ConfigLayer::default()).unwrap();
        assert!(full.is_empty(), "defaults layer is empty");
        let names: Vec<&str> = ENV_OPTIONS.iter().map(|(n, _)| *n).collect();
        let layer_fields = serde_json::to_value(ConfigLayer::default()).unwrap();
        let fields: Vec<String> = layer_fields.as_object().unwrap().keys().cloned().collect();
        for f in &fields {
            assert!(
                names.contains(&f.as_str()),
                "{f} has no environment variable"
            );
        }
        assert_eq!(fields.len(), names.len());
    }

    #[test]
    fn precedence_is_cli_then_env_then_file_then_default() {
        let file = "listen = \"127.0.0.1:1001\"\nworkers = 3\ndb_pool_size = 5\n";
        let env = [("COFFRE_LISTEN", "127.0.0.1:1002"), ("COFFRE_WORKERS", "4")];
        let cli = ConfigLayer {
            listen: Some("127.0.0.1:1003".into()),
            ..Default::default()
        };
        let c = load(cli, Some(file), &env).unwrap();
        assert_eq!(c.listen.port(), 1003, "CLI beats env");
        assert_eq!(c.workers, 4, "env beats file");
        assert_eq!(c.db_pool_size, 5, "file beats default");
        assert_eq!(c.busy_timeout_ms, 5000, "default when nobody says");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused_with_their_origin() {
        let e = load(ConfigLayer::default(), Some("listne = \"x\"\n"), &[]).unwrap_err();
        assert!(e.0.contains("listne") && e.0.contains("config file"), "{e}");
        let e = load(ConfigLayer::default(), None, &[("COFFRE_WORKERS", "many")]).unwrap_err();
        assert!(e.0.contains("COFFRE_WORKERS"), "{e}");
        let e = load(
            ConfigLayer::default(),
            None,
            &[("COFFRE_DURABILITY", "eventually")],
        )
        .unwrap_err();
        assert!(
            e.0.contains("eventually") || e.0.contains("durability"),
            "{e}"
        );
        let e = load(
            ConfigLayer::default(),
            None,
            &[("COFFRE_LISTEN", "localhost")],
        )
        .unwrap_err();
        assert!(e.0.contains("HOST:PORT"), "{e}");
        let e = load(ConfigLayer::default(), Some("reminder_days = [0]\n"), &[]).unwrap_err();
        assert!(e.0.contains("reminder_days"), "{e}");
        for url in [
            "example.com",
            "https://",
            "https://h/x?y=1",
            "https://u:p@h",
            "ftp://h",
        ] {
            let e = load(ConfigLayer::default(), None, &[("COFFRE_PUBLIC_URL", url)]).unwrap_err();
            assert!(e.0.contains("public_url"), "{url}: {e}");
        }
        let e = load(
            ConfigLayer::default(),
            None,
            &[("COFFRE_OAUTH_TOKEN_LIFETIME_SECS", "0")],
        )
        .unwrap_err();
        assert!(e.0.contains("oauth_token_lifetime_secs"), "{e}");
    }

    #[test]
    fn public_url_loses_its_trailing_slash() {
        let c = load(
            ConfigLayer::default(),
            None,
            &[("COFFRE_PUBLIC_URL", "https://vault.example.com/coffre/")],
        )
        .unwrap();
        assert_eq!(
            c.public_url.as_deref(),
            Some("https://vault.example.com/coffre")
        );
    }

    #[test]
    fn issue_14_options_are_checked_with_their_names() {
        let c = load(
            ConfigLayer::default(),
            Some("trusted_proxies = [\"10.0.0.0/8\", \"192.168.1.7\", \"fd00::/8\"]\n"),
            &[],
        )
        .unwrap();
        assert_eq!(c.trusted_proxies.len(), 3);
        assert!(c.trusted_proxies[1].contains(&"192.168.1.7".parse::<std::net::IpAddr>().unwrap()));
        let c = load(
            ConfigLayer::default(),
            None,
            &[("COFFRE_TRUSTED_PROXIES", "127.0.0.1, ::1")],
        )
        .unwrap();
        assert_eq!(c.trusted_proxies.len(), 2);
        for (env, needle) in [
            ("COFFRE_TRUSTED_PROXIES", "trusted_proxies"),
            ("COFFRE_METRICS_LISTEN", "metrics_listen"),
            ("COFFRE_TLS_CERT_FILE", "go together"),
            ("COFFRE_LOG_FORMAT", "log_format"),
            ("COFFRE_BACKUP_KEEP", "backup_keep"),
        ] {
            let value = match env {
                "COFFRE_TLS_CERT_FILE" => "/etc/cert.pem",
                "COFFRE_BACKUP_KEEP" => "0",
                _ => "nonsense",
            };
            let e = load(ConfigLayer::default(), None, &[(env, value)]).unwrap_err();
            assert!(e.0.contains(needle) || e.0.contains(env), "{env}: {e}");
        }
        let inside = ConfigLayer {
            data_dir: Some("/srv/coffre".into()),
            backup_dir: Some("/srv/coffre/backups".into()),
            ..Default::default()
        };
        assert!(
            load(inside, None, &[])
                .unwrap_err()
                .0
                .contains("inside the data dir")
        );
        let dev = ConfigLayer {
            dev: Some(true),
            backup_dir: Some("/srv/backups".into()),
            ..Default::default()
        };
        assert!(load(dev, None, &[]).unwrap_err().0.contains("--dev"));
    }

    #[test]
    fn revoking_unused_credentials_is_off_or_leaves_room_for_the_warning() {
        assert_eq!(
            load(ConfigLayer::default(), None, &[])
                .unwrap()
                .revoke_unused_after_days,
            0
        );
        let c = load(
            ConfigLayer::default(),
            Some("revoke_unused_after_days = 8\n"),
            &[],
        )
        .unwrap();
        assert_eq!(c.revoke_unused_after_days, 8);
        let c = load(
            ConfigLayer::default(),
            None,
            &[("COFFRE_REVOKE_UNUSED_AFTER_DAYS", "90")],
        )
        .unwrap();
        assert_eq!(c.revoke_unused_after_days, 90);
        for bad in ["7", "3651"] {
            let e = load(
                ConfigLayer::default(),
                None,
                &[("COFFRE_REVOKE_UNUSED_AFTER_DAYS", bad)],
            )
            .unwrap_err();
            assert!(e.0.contains("revoke_unused_after_days"), "{e}");
        }
    }

    #[test]
    fn reminder_days_from_the_environment_may_be_empty() {
        let c = load(
            ConfigLayer::default(),
            None,
            &[("COFFRE_REMINDER_DAYS", "")],
        )
        .unwrap();
        assert!(c.reminder_days.is_empty());
        let c = load(
            ConfigLayer::default(),
            None,
            &[("COFFRE_REMINDER_DAYS", "14, 3")],
        )
        .unwrap();
        assert_eq!(c.reminder_days, vec![14, 3]);
    }

    #[test]
    fn the_passphrase_never_shows_in_debug_output() {
        let c = load(
            ConfigLayer::default(),
            None,
            &[("COFFRE_PASSPHRASE", "tr0ub4dor&3")],
        )
        .unwrap();
        assert!(c.passphrase.is_some());
        assert!(!format!("{c:?}").contains("tr0ub4dor"));
    }

    #[test]
    fn the_dev_bootstrap_key_must_be_well_formed_used_with_dev_and_never_shown() {
        let key = crate::crypto::Token::generate(crate::crypto::TokenKind::ApiKey)
            .1
            .to_string();
        let dev = || ConfigLayer {
            dev: Some(true),
            ..Default::default()
        };
        let c = load(dev(), None, &[("COFFRE_DEV_BOOTSTRAP_KEY", &key)]).unwrap();
        assert!(c.dev_bootstrap_key.is_some());
        assert!(!format!("{c:?}").contains(&key));
        let mut typo = key.clone();
        typo.replace_range(10..11, if &key[10..11] == "A" { "B" } else { "A" });
        let e = load(dev(), None, &[("COFFRE_DEV_BOOTSTRAP_KEY", &typo)]).unwrap_err();
        assert!(e.0.contains("coffre keygen") && !e.0.contains(&typo), "{e}");
        let e = load(
            ConfigLayer::default(),
            None,
            &[("COFFRE_DEV_BOOTSTRAP_KEY", &key)],
        )
        .unwrap_err();
        assert!(e.0.contains("--dev"), "{e}");
    }

    #[test]
    fn passphrase_file_is_read_without_its_trailing_newline() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pass");
        std::fs::write(&p, "s3cret\n").unwrap();
        let cli = ConfigLayer {
            passphrase_file: Some(p),
            ..Default::default()
        };
        let c = load(cli, None, &[]).unwrap();
        assert_eq!(c.passphrase.unwrap().expose(), b"s3cret");
    }
}
