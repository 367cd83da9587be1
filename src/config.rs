//! Typed configuration. Each option comes from, in order of precedence: the
//! command line, the environment (`COFFRE_<NAME>`), the TOML config file
//! (`--config FILE`), the built-in default. Unknown keys are refused, and
//! `validate` checks the whole thing before anything starts.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::crypto::{KdfParams, SecretBytes};

/// Exit code 2 errors: bad usage or configuration.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// `synchronous=FULL`: an acknowledged write survives a power cut.
    Full,
    /// `synchronous=NORMAL`: survives a killed process, but the last
    /// acknowledged writes may be lost on a power cut or OS crash.
    Normal,
}

/// Every option, as it may appear in the file or the environment. Each layer
/// is parsed into this shape on its own so an error can name where it came from.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigLayer {
    pub data_dir: Option<PathBuf>,
    pub listen: Option<String>,
    pub dev: Option<bool>,
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
    pub auth_failure_limit: Option<u32>,
    pub auth_failure_window_secs: Option<u64>,
    pub last_used_flush_secs: Option<u64>,
    pub body_timeout_secs: Option<u64>,
    pub body_memory_limit_mib: Option<u32>,
    pub oauth_token_lifetime_secs: Option<u64>,
    pub oauth_tokens_per_client: Option<u32>,
    pub public_url: Option<String>,
}

/// How each option is spelled in the environment and parsed from it.
#[derive(Clone, Copy)]
enum EnvKind {
    Text,
    Bool,
    Int,
    IntList,
}

const ENV_OPTIONS: &[(&str, EnvKind)] = &[
    ("data_dir", EnvKind::Text),
    ("listen", EnvKind::Text),
    ("dev", EnvKind::Bool),
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
    ("auth_failure_limit", EnvKind::Int),
    ("auth_failure_window_secs", EnvKind::Int),
    ("last_used_flush_secs", EnvKind::Int),
    ("body_timeout_secs", EnvKind::Int),
    ("body_memory_limit_mib", EnvKind::Int),
    ("oauth_token_lifetime_secs", EnvKind::Int),
    ("oauth_tokens_per_client", EnvKind::Int),
    ("public_url", EnvKind::Text),
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
            auth_failure_limit,
            auth_failure_window_secs,
            last_used_flush_secs,
            body_timeout_secs,
            body_memory_limit_mib,
            oauth_token_lifetime_secs,
            oauth_tokens_per_client,
            public_url
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
    pub auth_failure_limit: u32,
    pub auth_failure_window_secs: u64,
    pub last_used_flush_secs: u64,
    /// A request body must arrive whole within this time (408 otherwise).
    pub body_timeout_secs: u64,
    /// Bytes of request bodies held at once, in MiB (503 beyond).
    pub body_memory_limit_mib: u32,
    /// How long an OAuth access token lasts (never past its client's expiry).
    pub oauth_token_lifetime_secs: u64,
    /// Live access tokens per OAuth client; past it the oldest give way.
    pub oauth_tokens_per_client: u32,
    /// The server's base URL as clients reach it (the OAuth issuer); `None`:
    /// the scheme and `Host` of each request.
    pub public_url: Option<String>,
}

/// Redacted: never prints the passphrase.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("data_dir", &self.data_dir)
            .field("listen", &self.listen)
            .field("dev", &self.dev)
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
            .field("auth_failure_limit", &self.auth_failure_limit)
            .field("auth_failure_window_secs", &self.auth_failure_window_secs)
            .field("last_used_flush_secs", &self.last_used_flush_secs)
            .field("body_timeout_secs", &self.body_timeout_secs)
            .field("body_memory_limit_mib", &self.body_memory_limit_mib)
            .field("oauth_token_lifetime_secs", &self.oauth_token_lifetime_secs)
            .field("oauth_tokens_per_client", &self.oauth_tokens_per_client)
            .field("public_url", &self.public_url)
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./coffre-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            dev: false,
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
            auth_failure_limit: 20,
            auth_failure_window_secs: 60,
            last_used_flush_secs: 60,
            body_timeout_secs: 30,
            body_memory_limit_mib: 64,
            oauth_token_lifetime_secs: 86_400,
            oauth_tokens_per_client: 1000,
            public_url: None,
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
            auth_failure_limit: layer.auth_failure_limit.unwrap_or(d.auth_failure_limit),
            auth_failure_window_secs: layer
                .auth_failure_window_secs
                .unwrap_or(d.auth_failure_window_secs),
            last_used_flush_secs: layer.last_used_flush_secs.unwrap_or(d.last_used_flush_secs),
            body_timeout_secs: layer.body_timeout_secs.unwrap_or(d.body_timeout_secs),
            body_memory_limit_mib: layer
                .body_memory_limit_mib
                .unwrap_or(d.body_memory_limit_mib),
            oauth_token_lifetime_secs: layer
                .oauth_token_lifetime_secs
                .unwrap_or(d.oauth_token_lifetime_secs),
            oauth_tokens_per_client: layer
                .oauth_tokens_per_client
                .unwrap_or(d.oauth_tokens_per_client),
            public_url: layer
                .public_url
                .map(|u| u.trim_end_matches('/').to_string()),
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
        if self.auth_failure_limit == 0 {
            return fail("auth_failure_limit must be at least 1".into());
        }
        if !(1..=86_400).contains(&self.auth_failure_window_secs) {
            return fail("auth_failure_window_secs must be between 1 and 86400".into());
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
        if !(60..=31_536_000).contains(&self.oauth_token_lifetime_secs) {
            return fail(
                "oauth_token_lifetime_secs must be between 60 (a minute) and 31536000 (a year)"
                    .into(),
            );
        }
        if !(1..=100_000).contains(&self.oauth_tokens_per_client) {
            return fail("oauth_tokens_per_client must be between 1 and 100000".into());
        }
        if let Some(url) = &self.public_url {
            validate_public_url(url).map_err(ConfigError)?;
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
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError(format!(
            "cannot read passphrase_file {}: {e}",
            path.display()
        ))
    })?;
    // One trailing newline is an editor's, not the passphrase's.
    let trimmed = text
        .strip_suffix('\n')
        .map(|t| t.strip_suffix('\r').unwrap_or(t))
        .unwrap_or(&text);
    if trimmed.is_empty() {
        return Err(ConfigError(format!(
            "passphrase_file {} is empty",
            path.display()
        )));
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
