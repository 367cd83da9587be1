//! `coffre migrate --to postgres://…`: copies the SQLite data dir (opened
//! with its passphrase or key file) into an empty PostgreSQL database, in one
//! transaction: every table as stored (nothing re-sealed; item Notes, clear
//! in the encrypted SQLite file, sealed on the way as PostgreSQL keeps them),
//! the keyring as the database's keyring row; then checks the row counts per
//! table and opens a sample of the sealed secrets and Notes with the data
//! dir's keys, before committing. On any failure nothing is written.

use std::io::IsTerminal;
use std::time::Instant;

use crate::cli::CliError;
use crate::config::Config;
use crate::crypto::SealContext;
use crate::datadir;
use crate::db::{Value, copy, migrate, pg};
use crate::vault::items;

/// Secrets opened to check the copy.
const SAMPLE: i64 = 20;

pub fn run(config: Config, to: String) -> Result<(), CliError> {
    if config.dev {
        return Err(CliError::usage(
            "--dev keeps nothing on disk: there is nothing to migrate",
        ));
    }
    if config.database_url.is_some() {
        return Err(CliError::usage(
            "migrate copies a SQLite data dir into PostgreSQL: unset database_url \
             (COFFRE_DATABASE_URL) and give the target with --to",
        ));
    }
    let target = pg::check_url(&to, config.database_ca_file.as_deref()).map_err(CliError::usage)?;
    let started = Instant::now();
    let (keyring_file, keyring) = datadir::unlock(&config)?;
    let keys = keyring.derive();
    let db = datadir::open_database(
        &config,
        &keys,
        crate::db::Location::File(config.database_path()),
    )?;
    let source = db.connect().map_err(|e| CliError::failed(e.to_string()))?;
    // One snapshot of the source for the whole copy.
    source
        .execute_batch("BEGIN")
        .map_err(|e| CliError::failed(format!("cannot read the data dir: {e}")))?;

    let failed = |e: postgres::Error| match pg::configuration_problem(&e) {
        Some(problem) => CliError::usage(format!("{problem}; nothing was written")),
        None => CliError::failed(format!(
            "PostgreSQL: {}; nothing was written",
            crate::db::DbError::Postgres(e)
        )),
    };
    let mut session = pg::PgSession::connect(&target).map_err(failed)?;
    migrate::migrate_postgres(session.client()).map_err(|e| match e {
        migrate::MigrateError::Newer(v) => CliError::failed(format!(
            "the target is at schema version {v}, newer than this coffre: nothing was written"
        )),
        migrate::MigrateError::Postgres(e) => failed(e),
        migrate::MigrateError::Sqlite(e) => CliError::failed(e.to_string()),
    })?;
    let client = session.client();
    let mut tx = client.transaction().map_err(failed)?;
    copy::lock_writers(&mut tx).map_err(failed)?;
    if !copy::target_is_empty(&mut tx).map_err(failed)? {
        return Err(CliError::usage(
            "the target database already holds coffre data (a keyring or rows): migrate only \
             into an empty database; nothing was written",
        ));
    }
    let terminal = std::io::stdout().is_terminal();
    let mut summary = Vec::new();
    let mut seal_notes = |columns: &[String], row: &mut [Value]| {
        let at = |name: &str| columns.iter().position(|c| c == name);
        let (Some(guid), Some(notes)) = (at("guid"), at("notes")) else {
            return Err("no guid or notes column".to_string());
        };
        let (Value::Text(guid), Value::Text(plain)) = (&row[guid], &row[notes]) else {
            return Err("an item's guid or notes is not text".to_string());
        };
        row[notes] = Value::Text(items::notes::seal(&keys.sealer, guid, plain));
        Ok(())
    };
    let mut as_stored = |_: &[String], _: &mut [Value]| Ok(());
    for table in copy::TABLES {
        let rewrite: copy::Rewrite<'_> = if *table == "vault_items" {
            &mut seal_notes
        } else {
            &mut as_stored
        };
        let copied = copy::copy_table(&source, &mut tx, table, rewrite, |n| {
            if terminal {
                print!("\r{table}: {n} rows");
                let _ = std::io::Write::flush(&mut std::io::stdout());
            }
        })
        .map_err(|e| CliError::failed(format!("{e}; nothing was written")))?;
        if terminal {
            println!();
        }
        let expected = copy::count_sqlite(&source, table)
            .map_err(|e| CliError::failed(format!("{table}: {e}")))?;
        let stored = copy::count_postgres(&mut tx, table).map_err(failed)?;
        if stored != expected || copied as i64 != expected {
            return Err(CliError::failed(format!(
                "{table}: {expected} rows in the data dir but {stored} in PostgreSQL; nothing \
                 was written"
            )));
        }
        summary.push((table, expected));
    }
    let document = keyring_file
        .to_json()
        .map_err(|e| CliError::failed(e.to_string()))?;
    copy::store_keyring(&mut tx, &document).map_err(failed)?;
    let sample = copy::sample_secrets(&mut tx, SAMPLE).map_err(failed)?;
    for (item, field, blob) in &sample {
        keys.sealer
            .open(&SealContext::new("vault_item_secrets", item, field), blob)
            .map_err(|e| {
                CliError::failed(format!(
                    "the {field} of item {item} does not open after the copy ({e:?}); nothing \
                     was written"
                ))
            })?;
    }
    let notes = copy::sample_notes(&mut tx, SAMPLE).map_err(failed)?;
    for (item, stored) in &notes {
        items::notes::open(&keys.sealer, item, stored).map_err(|e| {
            CliError::failed(format!(
                "the Notes of item {item} do not open after the copy ({e:?}); nothing was written"
            ))
        })?;
    }
    tx.commit().map_err(failed)?;
    drop(source);
    db.shutdown();
    let total: i64 = summary.iter().map(|(_, n)| n).sum();
    for (table, n) in &summary {
        println!("{table:<24} {n:>9}");
    }
    println!(
        "coffre: copied {total} rows and the keyring into PostgreSQL in {} ms; counts match \
         and {} sampled secrets and {} sampled Notes open. Serve it with database_url set to \
         the target.",
        started.elapsed().as_millis(),
        sample.len(),
        notes.len()
    );
    Ok(())
}
