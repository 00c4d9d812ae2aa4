//! Logging: `tracing` to standard error, filtered by `LLM_LOG` (default `info`).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

/// Installs the global subscriber once.
pub(crate) fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_env("LLM_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Pretty => builder.with_ansi(std::io::stderr().is_terminal()).try_init(),
    };
    if installed.is_err() {
        eprintln!("warning: a logger was already installed");
    }
}
