//! One module per subcommand.

pub mod backup;
pub mod init;
pub mod rekey;
pub mod serve;
