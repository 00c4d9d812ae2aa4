//! The command line: one subcommand per mode.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// The gateway's end-to-end load benchmark: a mock upstream, direct vs through-the-gateway load.
#[derive(Debug, Parser)]
#[command(name = "llm-load", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// What to run.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the mock OpenAI-compatible upstream (prints `listening on ADDR` first).
    Upstream(UpstreamArgs),
    /// The benchmark: every configuration, streaming and not, direct and through the gateway.
    Run(RunArgs),
    /// Many concurrent streams through the gateway: its peak RSS.
    Streams(StreamsArgs),
    /// A long run through the gateway: is its RSS flat after warm-up?
    Soak(SoakArgs),
    /// The floor: direct vs through nginx as a plain reverse proxy vs through the gateway.
    Floor(FloorArgs),
}

/// The mock upstream's behaviour.
#[derive(Clone, Debug, Args)]
pub struct UpstreamArgs {
    /// Where to listen (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub bind: SocketAddr,
    /// Wait this long before answering (before the headers).
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Content chunks in a streamed answer.
    #[arg(long, default_value_t = 20)]
    pub chunks: u32,
    /// Wait this long between two chunks of a streamed answer.
    #[arg(long, default_value_t = 0)]
    pub chunk_delay_ms: u64,
    /// Tokio worker threads.
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
}

/// Where the gateway binary is and which mock settings the gateway-facing runs use.
#[derive(Clone, Debug, Args)]
pub struct GatewayArgs {
    /// The `llm-server` binary (default: next to this binary, else $CARGO_TARGET_DIR/release or
    /// ./target/release).
    #[arg(long, value_name = "PATH")]
    pub server_bin: Option<PathBuf>,
    /// Redis for the Redis-backed configurations.
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    pub redis_url: String,
    /// Tokio worker threads of the load generator.
    #[arg(long, default_value_t = 1)]
    pub client_threads: usize,
    /// Tokio worker threads of the mock upstream.
    #[arg(long, default_value_t = 1)]
    pub upstream_workers: usize,
}

/// `llm-load run`.
#[derive(Clone, Debug, Args)]
pub struct RunArgs {
    /// Length of one measured slice.
    #[arg(long, default_value_t = 3.0)]
    pub duration_secs: f64,
    /// Concurrent connections, each with requests back to back.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Direct/gateway slice pairs per configuration and kind.
    #[arg(long, default_value_t = 2)]
    pub rounds: u32,
    /// The mock upstream's delay before each answer: 0 measures the gateway's own cost; a few ms
    /// shows what a cache hit saves against an upstream that takes time.
    #[arg(long, default_value_t = 0)]
    pub upstream_latency_ms: u64,
    /// Content chunks of a streamed answer.
    #[arg(long, default_value_t = 20)]
    pub chunks: u32,
    /// 1 s slices, 1 round, short warm-ups: a smoke run of every configuration.
    #[arg(long)]
    pub quick: bool,
    /// Only these configurations (default, cache-hit-memory, cache-hit-redis, redis-limits).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Also write the report here (default: target/llm-load-report.md).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    #[command(flatten)]
    pub gateway: GatewayArgs,
}

/// `llm-load streams`.
#[derive(Clone, Debug, Args)]
pub struct StreamsArgs {
    /// Concurrent streaming requests, each on its own connection.
    #[arg(long, default_value_t = 1000)]
    pub count: usize,
    /// Content chunks of each stream.
    #[arg(long, default_value_t = 20)]
    pub chunks: u32,
    /// The mock's delay between chunks (keeps the streams open together).
    #[arg(long, default_value_t = 50)]
    pub chunk_delay_ms: u64,
    #[command(flatten)]
    pub gateway: GatewayArgs,
}

/// `llm-load soak`.
#[derive(Clone, Debug, Args)]
pub struct SoakArgs {
    /// Requests in all.
    #[arg(long, default_value_t = 1_000_000)]
    pub requests: u64,
    /// Concurrent connections.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Streamed requests instead of plain ones.
    #[arg(long)]
    pub stream: bool,
    /// Turn the response cache off (isolates the cache's growth from other memory).
    #[arg(long)]
    pub no_cache: bool,
    #[command(flatten)]
    pub gateway: GatewayArgs,
}

/// `llm-load floor`.
#[derive(Clone, Debug, Args)]
pub struct FloorArgs {
    /// Length of one measured slice.
    #[arg(long, default_value_t = 3.0)]
    pub duration_secs: f64,
    /// Concurrent connections, each with requests back to back.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Direct/nginx/gateway slice triples per kind.
    #[arg(long, default_value_t = 2)]
    pub rounds: u32,
    /// Content chunks of a streamed answer.
    #[arg(long, default_value_t = 20)]
    pub chunks: u32,
    /// 1 s slices, 1 round, short warm-ups.
    #[arg(long)]
    pub quick: bool,
    /// The nginx binary (Debian: `apt-get install -y nginx`).
    #[arg(long, value_name = "PATH", default_value = "/usr/sbin/nginx")]
    pub nginx_bin: PathBuf,
    /// nginx's `worker_processes`: `auto` (one per core, as the gateway runs one worker per core)
    /// or a number.
    #[arg(long, default_value = "auto", value_parser = parse_worker_processes)]
    pub nginx_workers: String,
    /// Also write the report here (default: target/llm-load-floor-report.md).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    #[command(flatten)]
    pub gateway: GatewayArgs,
}

fn parse_worker_processes(value: &str) -> Result<String, String> {
    match value {
        "auto" => Ok(value.to_owned()),
        number if number.parse::<u16>().is_ok_and(|n| n > 0) => Ok(number.to_owned()),
        _ => Err("`auto` or a positive number".to_owned()),
    }
}
