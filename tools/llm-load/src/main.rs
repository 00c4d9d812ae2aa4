//! `llm-load`: the gateway's end-to-end load benchmark (`make load`).
//!
//! - `llm-load upstream`: a fast mock OpenAI-compatible server (hyper, pre-rendered answers) with
//!   configurable latency, chunk count and chunk delay, so the benchmark measures the gateway, not
//!   the mock.
//! - `llm-load run`: starts the mock and the real `llm-server` as child processes and measures, in
//!   interleaved slices, requests straight to the mock and through the gateway, then prints a
//!   markdown table (latency, throughput, the gateway's CPU per request and peak RSS) and the
//!   targets' PASS/FAIL.
//! - `llm-load streams`: many concurrent streams through the gateway; its peak RSS.
//! - `llm-load soak`: a long run through the gateway; whether its RSS stays flat after warm-up.
//! - `llm-load floor`: direct vs through nginx as a plain reverse proxy vs through the gateway,
//!   interleaved: how close the gateway comes to a plain proxy hop.
#![allow(
    clippy::print_stdout,
    reason = "a command-line benchmark: its output is the table it prints"
)]

mod children;
mod cli;
mod client;
mod floor;
mod gateway_config;
mod histogram;
mod load;
mod proc_stats;
mod redis_probe;
mod report;
mod rss_sampler;
mod run;
mod soak;
mod streams;
mod upstream;
mod upstream_body;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Upstream(args) => upstream::serve(&args),
        Command::Run(args) => run::run(&args),
        Command::Streams(args) => streams::run(&args),
        Command::Soak(args) => soak::run(&args),
        Command::Floor(args) => floor::run(&args),
    };
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
