//! The command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// An LLM gateway: one API (REST, OpenAI-compatible) in front of many providers.
///
/// With no --config it serves the embedded defaults on 127.0.0.1:8080: the mock provider, plus OpenAI
/// when OPENAI_API_KEY is set (at OPENAI_BASE_URL when set). Any key can be set from the environment
/// as LLM__SECTION__KEY, e.g. LLM__SERVER__MAX_BODY_BYTES=1048576.
#[derive(Debug, Parser)]
#[command(name = "llm-server", version)]
pub struct Cli {
    /// A TOML configuration file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Listen here instead of server.bind (port 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<SocketAddr>,

    /// Validate the configuration and exit.
    #[arg(long)]
    pub check_config: bool,

    /// Log format on standard error.
    #[arg(long, value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,

    /// Allow listening on a non-loopback address without client authentication.
    #[arg(long)]
    pub allow_unauthenticated: bool,
}

/// How logs are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable, coloured on a terminal.
    Pretty,
    /// One JSON object per line.
    Json,
}
