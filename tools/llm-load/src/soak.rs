//! `llm-load soak`: a long run through the gateway (default configuration, cache misses); is its
//! RSS flat within 10% after the first 10% of the requests?

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use crate::children;
use crate::cli::SoakArgs;
use crate::load::{self, Budget, Kind, Workload};
use crate::proc_stats::{kib_to_mib, peak_rss_kib};
use crate::rss_sampler::{RssSample, RssSampler};
use crate::run::{GATEWAY_MODEL, client_runtime};
use crate::streams::fmt_ms;

/// RSS may grow this much after warm-up.
const FLAT_WITHIN: f64 = 1.10;
/// Rows of the RSS series printed.
const SERIES_ROWS: usize = 10;

/// Runs the soak and prints its result; exit status 1 when RSS grew or requests failed.
pub fn run(args: &SoakArgs) -> anyhow::Result<ExitCode> {
    client_runtime(&args.gateway)?.block_on(soak(args))
}

async fn soak(args: &SoakArgs) -> anyhow::Result<ExitCode> {
    let setup = children::spawn_default_setup(&args.gateway, "soak", 20, 0, args.no_cache).await?;
    let gateway = &setup.gateway;
    let pid = gateway.process.pid();
    let kind = if args.stream { Kind::Stream } else { Kind::Chat };
    let workload = Arc::new(Workload::new(gateway.address, GATEWAY_MODEL, kind, false));
    let requests = args.requests.max(1);
    let warm_up = requests / 10;
    println!(
        "soak: {requests} {} requests at concurrency {} through the gateway (cache {}); RSS after the \
         first {warm_up} must stay within {:.0}% of its minimum",
        kind.name(),
        args.concurrency,
        if args.no_cache {
            "off"
        } else {
            "on, every request a miss"
        },
        (FLAT_WITHIN - 1.0) * 100.0
    );
    let mut next_report = requests / 10;
    let sampler = RssSampler::start(
        pid,
        Arc::clone(&workload),
        Duration::from_millis(200),
        move |sample| {
            if sample.completed >= next_report && next_report > 0 {
                println!(
                    "  {:>9} requests  RSS {:.1} MiB",
                    sample.completed,
                    kib_to_mib(sample.rss_kib)
                );
                next_report += requests / 10;
            }
        },
    );
    let mut tally = load::drive(
        Arc::clone(&workload),
        args.concurrency,
        Budget::Requests(i64::try_from(requests).unwrap_or(i64::MAX).into()),
    )
    .await;
    let samples = sampler.finish().await;
    let steady: Vec<RssSample> = samples
        .iter()
        .copied()
        .filter(|sample| sample.completed >= warm_up)
        .collect();
    let min = steady.iter().map(|sample| sample.rss_kib).min();
    let max = steady.iter().map(|sample| sample.rss_kib).max();
    let flat = match (min, max) {
        (Some(min), Some(max)) => Some(max as f64 <= FLAT_WITHIN * min as f64),
        _ => None,
    };
    println!("\n## llm-load soak\n");
    println!("| measure | value |\n|---|---|");
    println!("| requests ok / failed | {} / {} |", tally.ok, tally.errors);
    println!(
        "| throughput | {:.0} req/s over {:.1} s |",
        tally.requests_per_second(),
        tally.elapsed.as_secs_f64()
    );
    println!(
        "| latency p50 / p99 | {} / {} ms |",
        fmt_ms3(tally.latency.percentile_ms(0.5)),
        fmt_ms3(tally.latency.percentile_ms(0.99))
    );
    println!(
        "| RSS after warm-up min / max | {} / {} MiB |",
        fmt_ms(min.map(kib_to_mib)),
        fmt_ms(max.map(kib_to_mib))
    );
    println!("| gateway VmHWM | {:.1} MiB |", kib_to_mib(peak_rss_kib(pid)?));
    println!(
        "| target: max <= {FLAT_WITHIN:.2} x min after warm-up | {} |",
        match flat {
            Some(true) => "PASS",
            Some(false) => "FAIL",
            None => "n/a (too short to sample)",
        }
    );
    println!("\nRSS series (requests done: MiB):");
    let step = (samples.len() / SERIES_ROWS).max(1);
    for sample in samples.iter().step_by(step).chain(samples.last()) {
        println!("- {:>9}: {:.1}", sample.completed, kib_to_mib(sample.rss_kib));
    }
    if !tally.error_samples.is_empty() {
        println!("\nERRORS, e.g.:");
        for sample in &tally.error_samples {
            println!("- `{sample}`");
        }
    }
    Ok(if flat != Some(false) && tally.errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn fmt_ms3(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |value| format!("{value:.3}"))
}
