//! `llm-load run`: every configuration, plain and streamed, direct to the mock and through the
//! gateway in interleaved slices, then the report.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::children::{self, ChildProcess, UpstreamSettings};
use crate::cli::{GatewayArgs, RunArgs};
use crate::gateway_config::{self, ConfigOptions, Scenario};
use crate::load::{self, Budget, Kind, Tally, Workload};
use crate::proc_stats;
use crate::redis_probe;
use crate::report::{self, Measurement, Plan, Side};

/// The model name straight to the mock.
pub const DIRECT_MODEL: &str = crate::upstream_body::MODEL;
/// The same model through the gateway (`provider/model`).
pub const GATEWAY_MODEL: &str = "bench/bench-model";

/// Runs the benchmark and prints the report; exit status 1 when any request failed.
pub fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    client_runtime(&args.gateway)?.block_on(benchmark(args))
}

/// The load generator's own runtime, sized by `--client-threads`.
pub fn client_runtime(args: &GatewayArgs) -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.client_threads.max(1))
        .thread_name("load-client")
        .enable_all()
        .build()
        .context("building the load generator's runtime")
}

fn plan_of(args: &RunArgs) -> Plan {
    plan(
        args.quick,
        args.duration_secs,
        args.rounds,
        args.concurrency,
        &args.gateway,
    )
}

/// Slices, warm-up and rounds: `--quick` means 1 s slices, one round and a 0.5 s warm-up.
pub fn plan(quick: bool, duration_secs: f64, rounds: u32, concurrency: usize, gateway: &GatewayArgs) -> Plan {
    let available = std::thread::available_parallelism().map_or(1, usize::from);
    let (slice, warm_up, rounds) = if quick {
        (Duration::from_secs(1), Duration::from_millis(500), 1)
    } else {
        (
            Duration::from_secs_f64(duration_secs.max(0.1)),
            Duration::from_secs(1),
            rounds.max(1),
        )
    };
    Plan {
        slice,
        warm_up,
        rounds,
        concurrency,
        client_threads: gateway.client_threads,
        upstream_workers: gateway.upstream_workers,
        cores: available,
    }
}

async fn benchmark(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let plan = plan_of(args);
    let started = Instant::now();
    let server_bin = children::server_bin(args.gateway.server_bin.as_deref())?;
    let (upstream, upstream_address) = children::spawn_upstream(&UpstreamSettings {
        latency_ms: args.upstream_latency_ms,
        chunks: args.chunks,
        chunk_delay_ms: 0,
        workers: args.gateway.upstream_workers,
    })?;
    let redis = redis_probe::ping(&args.gateway.redis_url).await;
    let mut measurements = Vec::new();
    let mut skipped = Vec::new();
    for scenario in Scenario::ALL {
        if !args.only.is_empty() && !args.only.iter().any(|name| name == scenario.name()) {
            continue;
        }
        if let (true, Err(error)) = (scenario.needs_redis(), &redis) {
            skipped.push(format!(
                "`{}` skipped: Redis at {} is not reachable ({error:#})",
                scenario.name(),
                args.gateway.redis_url
            ));
            continue;
        }
        println!("measuring `{}` ...", scenario.name());
        let config = gateway_config::render(
            scenario,
            &ConfigOptions {
                upstream: upstream_address,
                redis_url: &args.gateway.redis_url,
                cache_off: false,
            },
        );
        let mut gateway = children::spawn_gateway(&server_bin, scenario.name(), &config).await?;
        for kind in [Kind::Chat, Kind::Stream] {
            let measurement = measure(&plan, scenario, kind, &upstream, upstream_address, &gateway).await?;
            measurements.push(measurement);
        }
        gateway
            .process
            .check_alive()
            .with_context(|| format!("gateway log: {}", gateway.log.display()))?;
    }
    drop(upstream);
    let text = report::render(&plan, &mut measurements, &skipped, started.elapsed());
    println!("\n{text}");
    write_report(&args.report.clone().unwrap_or_else(default_report_path), &text);
    let failed = measurements
        .iter()
        .any(|measurement| measurement.direct.tally.errors + measurement.gateway.tally.errors > 0);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `$CARGO_TARGET_DIR/llm-load-report.md`, else `target/llm-load-report.md`.
fn default_report_path() -> PathBuf {
    target_file("llm-load-report.md")
}

/// `name` in `$CARGO_TARGET_DIR`, else in the target directory this binary was built in
/// (`<target>/release/llm-load`), else in `target`.
pub fn target_file(name: &str) -> PathBuf {
    let built_in = || {
        let exe = std::env::current_exe().ok()?;
        Some(exe.parent()?.parent()?.to_path_buf())
    };
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .or_else(built_in)
        .unwrap_or_else(|| PathBuf::from("target"))
        .join(name)
}

/// Writes a report file, creating its directory; a failure is a warning (the report was printed).
pub fn write_report(path: &Path, text: &str) {
    let written = match path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        Some(dir) => std::fs::create_dir_all(dir).and_then(|()| std::fs::write(path, text)),
        None => std::fs::write(path, text),
    };
    match written {
        Ok(()) => println!("report written to {}", path.display()),
        Err(error) => eprintln!("warning: could not write {}: {error}", path.display()),
    }
}

/// One configuration and kind: a warm-up each way, then `rounds` × (direct slice, gateway slice).
async fn measure(
    plan: &Plan,
    scenario: Scenario,
    kind: Kind,
    upstream: &ChildProcess,
    upstream_address: std::net::SocketAddr,
    gateway: &children::Gateway,
) -> anyhow::Result<Measurement> {
    let repeat = scenario.repeats_prompt();
    let direct = Arc::new(Workload::new(upstream_address, DIRECT_MODEL, kind, repeat));
    let through = Arc::new(Workload::new(gateway.address, GATEWAY_MODEL, kind, repeat));
    let mut direct_side = Side::default();
    let mut gateway_side = Side::default();
    for (workload, side) in [(&direct, &mut direct_side), (&through, &mut gateway_side)] {
        let warm = slice(workload, plan.concurrency, plan.warm_up).await;
        side.warm_up_errors += warm.errors;
        side.tally.error_samples.extend(warm.error_samples);
    }
    let gateway_pid = gateway.process.pid();
    let upstream_pid = upstream.pid();
    for _ in 0..plan.rounds {
        let upstream_before = proc_stats::cpu_ticks(upstream_pid)?;
        let tally = slice(&direct, plan.concurrency, plan.slice).await;
        direct_side.upstream_ticks += proc_stats::cpu_ticks(upstream_pid)? - upstream_before;
        direct_side.tally.merge(&tally);

        let upstream_before = proc_stats::cpu_ticks(upstream_pid)?;
        let gateway_before = proc_stats::cpu_ticks(gateway_pid)?;
        let tally = slice(&through, plan.concurrency, plan.slice).await;
        gateway_side.gateway_ticks += proc_stats::cpu_ticks(gateway_pid)? - gateway_before;
        gateway_side.upstream_ticks += proc_stats::cpu_ticks(upstream_pid)? - upstream_before;
        gateway_side.tally.merge(&tally);
    }
    Ok(Measurement {
        scenario,
        kind,
        direct: direct_side,
        gateway: gateway_side,
        gateway_peak_rss_kib: proc_stats::peak_rss_kib(gateway_pid)?,
    })
}

/// One measured (or warm-up) slice of `length`.
pub async fn slice(workload: &Arc<Workload>, concurrency: usize, length: Duration) -> Tally {
    load::drive(
        Arc::clone(workload),
        concurrency,
        Budget::Until(Instant::now() + length),
    )
    .await
}
