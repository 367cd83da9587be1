//! One module per subcommand.

pub mod backup;
pub mod init;
pub mod outbox;
pub mod rekey;
pub mod serve;
pub mod sweep;
