//! The `llm-server` binary's logic: command line, logging, configuration, serving and draining.
//!
//! It is a library so the end-to-end test package can build the same server; `main.rs` only calls
//! [`run`]. Business logic lives in llm-gateway, HTTP in llm-api.

mod cli;
mod serve;
mod telemetry;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use llm_gateway::config::{self, ConfigSource};

pub use cli::{Cli, LogFormat};

/// Exit code for a configuration that does not validate.
const EXIT_BAD_CONFIG: u8 = 2;
/// Exit code for a failure while serving.
const EXIT_SERVE_FAILED: u8 = 1;

/// Parses the command line and runs the server until it is told to stop.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let source = ConfigSource {
        file: cli.config.clone(),
    };
    let mut config = match config::load(&source) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: invalid configuration: {error}");
            return ExitCode::from(EXIT_BAD_CONFIG);
        }
    };
    if let Some(bind) = cli.bind {
        config.server.bind = bind;
    }
    if let Err(message) = serve::check_exposure(&config, cli.allow_unauthenticated) {
        eprintln!("error: {message}");
        return ExitCode::from(EXIT_BAD_CONFIG);
    }
    if cli.check_config {
        let mut stdout = std::io::stdout().lock();
        let written = writeln!(
            stdout,
            "configuration is valid: {} provider(s), {} model alias(es), bind {}",
            config.providers.len(),
            config.models.len(),
            config.server.bind
        );
        return if written.is_ok() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(EXIT_SERVE_FAILED)
        };
    }
    let telemetry = telemetry::init(cli.log_format, &config.telemetry);
    let code = match actix_web::rt::System::new().block_on(serve::serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "server failed");
            eprintln!("error: {error:#}");
            ExitCode::from(EXIT_SERVE_FAILED)
        }
    };
    // Spans still queued for export are sent before the process exits.
    telemetry.shutdown();
    code
}
