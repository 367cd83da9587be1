//! The command line: subcommands and global options (SPEC §1), and the mapping
//! from failures to exit codes: 0 success, 2 usage or configuration, 3 wrong
//! passphrase or unreadable key, 1 anything else.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::commands;
use crate::config::{Config, ConfigError, ConfigLayer, Sources};
use crate::datadir::DataDirError;

#[derive(Debug, Parser)]
#[command(
    name = "coffre",
    version,
    about = "An encrypted vault of secrets and API keys behind a JSON HTTP API.",
    long_about = "An encrypted vault of secrets and API keys behind a JSON HTTP API.\n\n\
        Every option can also be set in the TOML file given with --config and in the \
        environment as COFFRE_<NAME>; precedence: command line > environment > file > default. \
        The passphrase comes from COFFRE_PASSPHRASE or passphrase_file, never the command line."
)]
pub struct Cli {
    /// TOML configuration file (see config.example.toml).
    #[arg(long, global = true, env = "COFFRE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory [env: COFFRE_DATA_DIR] [default: ./coffre-data]
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address to listen on; port 0 picks a free port [env: COFFRE_LISTEN] [default: 127.0.0.1:8080]
    #[arg(long, global = true, value_name = "ADDR")]
    pub listen: Option<String>,
    /// In-memory database, random key, no files, dev clock endpoint [env: COFFRE_DEV]
    #[arg(long, global = true)]
    pub dev: bool,
    /// With --dev: use this well-formed key (see `coffre keygen`) as the bootstrap key [env: COFFRE_DEV_BOOTSTRAP_KEY]
    #[arg(long, global = true, value_name = "KEY")]
    pub dev_bootstrap_key: Option<String>,
    /// Seed file (TOML) applied at start with --dev, or by init on a new data dir [env: COFFRE_SEED]
    #[arg(long, global = true, value_name = "FILE")]
    pub seed: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (initialising the data dir first if it is new).
    Serve,
    /// Create the data dir, the administrators and the bootstrap API key (printed once).
    Init {
        /// Print {"ApiKeyGuid": ..., "Key": ...} as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Run the key-expiry sweep once and print what it expired and reminded.
    Sweep {
        /// Act as if it were this instant (RFC 3339), e.g. 2030-01-02T00:00:00Z.
        #[arg(long, value_name = "RFC3339")]
        now: Option<String>,
    },
    /// List the e-mails in the outbox, newest first.
    Outbox {
        /// One JSON array on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Copy the data dir, consistently, while the server may be running.
    Backup {
        /// New directory to create (must not exist).
        dir: PathBuf,
    },
    /// Change the passphrase (from COFFRE_NEW_PASSPHRASE, or asked on the terminal).
    Rekey,
    /// Copy the data dir into an empty PostgreSQL database, in one transaction.
    Migrate {
        /// The target, e.g. postgres://coffre@db.example.com/coffre
        #[arg(long, value_name = "URL")]
        to: String,
    },
    /// Print a fresh, well-formed API key (for --dev-bootstrap-key or a seed's [[ApiKey]]).
    Keygen,
}

/// A failure with its exit code and a message saying what to do.
#[derive(Debug)]
pub struct CliError {
    pub code: i32,
    pub message: String,
}

impl CliError {
    pub fn usage(message: impl Into<String>) -> Self {
        CliError {
            code: 2,
            message: message.into(),
        }
    }

    pub fn failed(message: impl Into<String>) -> Self {
        CliError {
            code: 1,
            message: message.into(),
        }
    }
}

impl From<ConfigError> for CliError {
    fn from(e: ConfigError) -> Self {
        CliError::usage(e.0)
    }
}

impl From<crate::error::AppError> for CliError {
    fn from(e: crate::error::AppError) -> Self {
        let message = e
            .messages()
            .iter()
            .map(|m| m.message.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        CliError::failed(match e.cause() {
            Some(cause) => format!("{message} ({cause})"),
            None => message,
        })
    }
}

impl From<DataDirError> for CliError {
    fn from(e: DataDirError) -> Self {
        CliError {
            code: e.exit_code(),
            message: e.to_string(),
        }
    }
}

/// Parses arguments and runs the command; returns the process exit code.
pub fn run<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match execute(cli) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("coffre: {}", e.message);
            e.code
        }
    }
}

fn execute(cli: Cli) -> Result<(), CliError> {
    let overrides = ConfigLayer {
        data_dir: cli.data_dir,
        listen: cli.listen,
        dev: cli.dev.then_some(true),
        dev_bootstrap_key: cli.dev_bootstrap_key,
        seed: cli.seed,
        ..ConfigLayer::default()
    };
    let env = |name: &str| std::env::var(name).ok();
    let config = Config::load(Sources {
        cli: overrides,
        config_file: cli.config.as_deref(),
        env: &env,
    })?;
    // After the configuration, which says in which format.
    crate::logging::init(config.log_format);
    match cli.command {
        Command::Serve => commands::serve::run(config),
        Command::Init { json } => commands::init::run(config, json),
        Command::Sweep { now } => commands::sweep::run(config, now),
        Command::Outbox { json } => commands::outbox::run(config, json),
        Command::Backup { dir } => commands::backup::run(config, dir),
        Command::Rekey => commands::rekey::run(config),
        Command::Migrate { to } => commands::migrate::run(config, to),
        Command::Keygen => {
            println!(
                "{}",
                crate::crypto::Token::generate(crate::crypto::TokenKind::ApiKey)
                    .1
                    .as_str()
            );
            Ok(())
        }
    }
}
