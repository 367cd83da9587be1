//! `coffre outbox [--json]`: the e-mails written so far, newest first.

use crate::cli::CliError;
use crate::config::Config;
use crate::datadir;
use crate::db::Location;
use crate::outbox::{self, Filter};

pub fn run(config: Config, json: bool) -> Result<(), CliError> {
    if config.dev {
        return Err(CliError::usage(
            "--dev keeps nothing on disk: there is no outbox to read",
        ));
    }
    let keys = datadir::unlock(&config)?.1.derive();
    let db = datadir::open_database(&config, &keys, Location::File(config.database_path()))?;
    let messages = db
        .read_blocking(|conn| Ok::<_, crate::error::AppError>(outbox::list(conn, &Filter::all())?));
    db.shutdown();
    let messages = messages?;
    if json {
        let text =
            serde_json::to_string_pretty(&messages).map_err(|e| CliError::failed(e.to_string()))?;
        println!("{text}");
        return Ok(());
    }
    if messages.is_empty() {
        println!("The outbox is empty.");
    }
    for m in &messages {
        println!(
            "{}  {}  {}",
            m.created_at,
            m.kind.as_str(),
            m.outbox_message_guid
        );
        println!("To: {}", m.to);
        println!("Subject: {}", m.subject);
        println!();
        println!("{}", m.body.trim_end());
        println!("{}", "-".repeat(72));
    }
    Ok(())
}
