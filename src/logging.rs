//! Logs go to stderr through env_logger (`RUST_LOG`, default `info`). Nothing
//! secret is ever passed to a log macro: keys, passphrases and vault values
//! have redacted `Debug` impls, and request logs carry method, path and status only.

pub fn init() {
    let env = env_logger::Env::default().default_filter_or("info");
    let _ = env_logger::Builder::from_env(env)
        .target(env_logger::Target::Stderr)
        .format_timestamp_millis()
        .try_init();
}
