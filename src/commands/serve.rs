//! `coffre serve`: open (or first initialise) the data dir, or an in-memory
//! database with `--dev` (seeded if asked), and serve until SIGINT/SIGTERM.

use std::io::Write;
use std::sync::Arc;

use crate::accounts::bootstrap;
use crate::cli::CliError;
use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::Keyring;
use crate::datadir;
use crate::db::Location;
use crate::http::tls::Certificates;
use crate::seed;
use crate::startup::{Application, ServerOptions};
use crate::state::AppState;

pub fn run(config: Config) -> Result<(), CliError> {
    // A certificate that cannot be served is found before the data dir is
    // touched (`Application::build` loads it again for real).
    if let (Some(cert), Some(key)) = (&config.tls_cert_file, &config.tls_key_file) {
        Certificates::load(cert, key).map_err(CliError::usage)?;
    }
    let seed = match &config.seed {
        Some(_) if !config.dev => {
            return Err(CliError::usage(
                "a seed is applied at start only with --dev (a server that keeps nothing); for a \
                 data dir, seed it once when it is created: `coffre init --seed FILE`",
            ));
        }
        Some(path) => Some(seed::load(path).map_err(CliError::usage)?),
        None => None,
    };
    let (keys, db, lock) = if config.dev {
        // A random key that dies with the process: nothing to unlock, nothing written.
        let keys = Keyring::generate().derive();
        let db = datadir::open_database(&config, &keys, Location::memory())?;
        (keys, db, None)
    } else if config.database_url.is_some() {
        // Several nodes may serve one PostgreSQL database: no data-dir lock.
        let (db, _, keyring) = datadir::open_postgres(&config, true)?;
        (keyring.derive(), db, None)
    } else {
        let keys = if datadir::is_initialized(&config) {
            datadir::unlock(&config)?.1.derive()
        } else {
            log::info!("{} is new: initialising it", config.data_dir.display());
            datadir::initialize(&config)?
        };
        let lock = datadir::lock_for_serving(&config)?;
        let db = datadir::open_database(&config, &keys, Location::File(config.database_path()))?;
        (keys, db, Some(lock))
    };
    let keys = Arc::new(keys);
    let db = Arc::new(db);
    let state = AppState::new(db, keys, Arc::new(Clock::system()), config.clone())?;
    // Printed once, before the listening line, for scripts and harnesses to pick up.
    let boot = bootstrap::ensure(&state)?;
    if let Some(seed) = &seed {
        let started = std::time::Instant::now();
        seed::apply_blocking(&state, seed).map_err(super::seed_refused)?;
        log::info!(
            "seeded from {} ({} entries) in {} ms",
            seed.path.display(),
            seed.entries.len(),
            started.elapsed().as_millis()
        );
    }
    if let Some(boot) = boot {
        println!("coffre bootstrap key: {}", boot.key.as_str());
    }

    let system = actix_web::rt::System::new();
    let result = system.block_on(async move {
        let options = ServerOptions {
            workers: config.workers,
            handle_signals: true,
        };
        let app = Application::build(state, config.listen, options).map_err(|e| {
            if e.kind() == std::io::ErrorKind::InvalidInput {
                CliError::usage(e.to_string())
            } else {
                CliError::failed(format!("cannot listen on {}: {e}", config.listen))
            }
        })?;
        if let Some(metrics) = app.metrics_address() {
            println!("coffre metrics on http://{metrics}/metrics");
        }
        println!("coffre listening on {}", app.url());
        let _ = std::io::stdout().flush();
        app.run_until_stopped()
            .await
            .map_err(|e| CliError::failed(format!("server error: {e}")))
    });
    drop(lock);
    result
}
