//! What the in-process micro-benchmarks share: a real data dir at test cost
//! (cheap Argon2; the unlock is not what they measure) and a timing loop.

use std::sync::Arc;
use std::time::Instant;

use coffre::clock::Clock;
use coffre::config::Config;
use coffre::crypto::{DerivedKeys, KdfParams};
use coffre::datadir;
use coffre::db::{Database, Location};
use coffre::state::AppState;
use tempfile::TempDir;

#[allow(dead_code)] // each benchmark uses the parts it needs
pub struct Store {
    pub config: Config,
    pub keys: Arc<DerivedKeys>,
    pub db: Arc<Database>,
    pub state: AppState,
    pub dir: TempDir,
}

/// A fresh, initialised data dir with its database open. Keep `dir` bound:
/// dropping it deletes the data dir under the open database.
pub fn store() -> Store {
    store_with(|_| {}, false)
}

/// `store`, with `configure` applied to its configuration, in memory (as
/// `--dev`) when asked: for timings that the disk's flush would blur.
pub fn store_with(configure: impl FnOnce(&mut Config), in_memory: bool) -> Store {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        data_dir: dir.path().join("data"),
        kdf: KdfParams {
            memory_kib: 256,
            iterations: 1,
            parallelism: 1,
        },
        ..Config::default()
    };
    configure(&mut config);
    let keys = Arc::new(datadir::initialize(&config).unwrap());
    let location = if in_memory {
        Location::memory()
    } else {
        Location::File(config.database_path())
    };
    let db = Arc::new(datadir::open_database(&config, &keys, location).unwrap());
    let state = AppState::new(
        db.clone(),
        keys.clone(),
        Arc::new(Clock::system()),
        config.clone(),
    )
    .unwrap();
    Store {
        config,
        keys,
        db,
        state,
        dir,
    }
}

/// Runs `f` `iterations` times after a 10% warm-up; prints and returns ns per call.
#[allow(dead_code)] // not every benchmark times a loop
pub fn time<F: FnMut()>(label: &str, iterations: u32, mut f: F) -> f64 {
    for _ in 0..iterations / 10 {
        f();
    }
    let started = Instant::now();
    for _ in 0..iterations {
        f();
    }
    let ns = started.elapsed().as_nanos() as f64 / f64::from(iterations);
    println!("{label:<52} {ns:>9.0} ns/op");
    ns
}
