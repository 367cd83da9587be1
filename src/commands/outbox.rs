//! `coffre outbox [--json]`: the e-mails written so far, newest first, with
//! where each stands (Pending, Sent, Failed).

use crate::cli::CliError;
use crate::config::Config;
use crate::datadir;
use crate::outbox::{self, Filter, MessageStatus, OutboxMessage};

pub fn run(config: Config, json: bool) -> Result<(), CliError> {
    if config.dev {
        return Err(CliError::usage(
            "--dev keeps nothing on disk: there is no outbox to read",
        ));
    }
    let (_, db) = datadir::open_existing(&config)?;
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
        println!("Status: {}", delivery(m));
        if let Some(id) = &m.message_id {
            println!("Message-ID: {id}");
        }
        println!();
        println!("{}", m.body.trim_end());
        println!("{}", "-".repeat(72));
    }
    Ok(())
}

/// One line: where the message stands and why.
fn delivery(m: &OutboxMessage) -> String {
    let attempts = match m.attempts {
        1 => "1 attempt".to_string(),
        n => format!("{n} attempts"),
    };
    let error = m
        .last_error
        .as_deref()
        .map(|e| format!("; last error: {e}"))
        .unwrap_or_default();
    match m.status {
        MessageStatus::Sent => format!(
            "Sent at {} after {attempts}",
            m.sent_at.as_deref().unwrap_or("?")
        ),
        MessageStatus::Failed => format!("Failed after {attempts}{error}"),
        MessageStatus::Pending if m.attempts == 0 => "Pending (not tried yet)".to_string(),
        MessageStatus::Pending => format!(
            "Pending after {attempts}, next at {}{error}",
            m.next_attempt_at.as_deref().unwrap_or("?")
        ),
    }
}
