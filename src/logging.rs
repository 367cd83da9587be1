//! Logs go to stderr through env_logger (`RUST_LOG`, default `info`), as text
//! or, with `log_format = "json"`, as one JSON object per line
//! (`{"ts", "level", "target", "msg"}`, the message escaped so that it can
//! never break the line). Nothing secret is ever passed to a log macro: keys,
//! passphrases and vault values have redacted `Debug` impls, and request logs
//! carry method, path, client address and status only.

use std::io::Write;

use crate::config::LogFormat;

/// Installs the logger; the first call wins (later ones do nothing).
pub fn init(format: LogFormat) {
    let env = env_logger::Env::default().default_filter_or("info");
    let mut builder = env_logger::Builder::new();
    // rustls warns about what any client may send (an IP address as SNI, a
    // bad handshake): one line per connection would let anyone flood the
    // log. Errors only, unless RUST_LOG names rustls itself.
    builder.filter_module("rustls", log::LevelFilter::Error);
    builder.parse_env(env);
    builder.target(env_logger::Target::Stderr);
    match format {
        LogFormat::Text => {
            builder.format_timestamp_millis();
        }
        LogFormat::Json => {
            builder.format(|out, record| {
                let line = serde_json::json!({
                    "ts": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    "level": record.level().as_str(),
                    "target": record.target(),
                    "msg": record.args().to_string(),
                });
                writeln!(out, "{line}")
            });
        }
    }
    let _ = builder.try_init();
}
