//! One module per subcommand.

pub mod backup;
pub mod init;
pub mod migrate;
pub mod outbox;
pub mod rekey;
pub mod serve;
pub mod sweep;

use crate::cli::CliError;
use crate::error::AppError;

/// A seed the rules refused is a usage error (exit 2) whose messages name
/// the file, the entry and the field; anything else failed (exit 1).
pub fn seed_refused(e: AppError) -> CliError {
    if e.status().is_client_error() {
        let messages: Vec<&str> = e.messages().iter().map(|m| m.message.as_str()).collect();
        CliError::usage(messages.join(" "))
    } else {
        CliError::from(e)
    }
}
