//! `llm-load streams`: many concurrent streaming requests through the gateway, each on its own
//! connection, read to the end; the gateway's peak RSS against the 150 MiB target.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::children;
use crate::cli::StreamsArgs;
use crate::load::{self, Budget, Kind, Workload};
use crate::proc_stats::{kib_to_mib, peak_rss_kib, rss_kib};
use crate::rss_sampler::RssSampler;
use crate::run::{GATEWAY_MODEL, client_runtime};

/// The gateway's memory target with 1,000 concurrent streams.
const RSS_TARGET_MIB: f64 = 150.0;

/// Runs the streams test and prints its result; exit status 1 on failed streams.
pub fn run(args: &StreamsArgs) -> anyhow::Result<ExitCode> {
    client_runtime(&args.gateway)?.block_on(streams(args))
}

async fn streams(args: &StreamsArgs) -> anyhow::Result<ExitCode> {
    let setup =
        children::spawn_default_setup(&args.gateway, "streams", args.chunks, args.chunk_delay_ms, false)
            .await?;
    let gateway = &setup.gateway;
    let pid = gateway.process.pid();
    let idle_kib = rss_kib(pid)?;
    let workload = Arc::new(Workload::new(gateway.address, GATEWAY_MODEL, Kind::Stream, false));
    let sampler = RssSampler::start(pid, Arc::clone(&workload), Duration::from_millis(100), |_| {});
    let count = i64::try_from(args.count).unwrap_or(i64::MAX);
    let mut tally = load::drive(Arc::clone(&workload), args.count, Budget::Requests(count.into())).await;
    let samples = sampler.finish().await;
    let sampled_peak = samples
        .iter()
        .map(|sample| sample.rss_kib)
        .max()
        .unwrap_or(idle_kib);
    let peak = peak_rss_kib(pid)?;
    let pass = kib_to_mib(peak) < RSS_TARGET_MIB && tally.errors == 0;
    println!("## llm-load streams\n");
    println!(
        "{} streaming requests through the gateway at once, each on its own connection; the mock \
         sends {} chunks {} ms apart.\n",
        args.count, args.chunks, args.chunk_delay_ms
    );
    println!("| measure | value |\n|---|---|");
    println!("| streams completed | {} |", tally.ok);
    println!("| failed | {} |", tally.errors);
    println!(
        "| most in flight at once | {} |",
        workload.max_in_flight.load(Ordering::Relaxed)
    );
    println!("| wall time | {:.2} s |", tally.elapsed.as_secs_f64());
    println!(
        "| stream time p50 / p99 | {} / {} ms |",
        fmt_ms(tally.latency.percentile_ms(0.5)),
        fmt_ms(tally.latency.percentile_ms(0.99))
    );
    println!(
        "| first event p50 / p99 | {} / {} ms |",
        fmt_ms(tally.first_byte.percentile_ms(0.5)),
        fmt_ms(tally.first_byte.percentile_ms(0.99))
    );
    println!("| gateway RSS idle | {:.1} MiB |", kib_to_mib(idle_kib));
    println!(
        "| gateway RSS peak (sampled / VmHWM) | {:.1} / {:.1} MiB |",
        kib_to_mib(sampled_peak),
        kib_to_mib(peak)
    );
    println!(
        "| target: peak < {RSS_TARGET_MIB:.0} MiB, no failures | {} |",
        if pass { "PASS" } else { "FAIL" }
    );
    if !tally.error_samples.is_empty() {
        println!("\nERRORS, e.g.:");
        for sample in &tally.error_samples {
            println!("- `{sample}`");
        }
    }
    if tally.out_of_file_descriptors {
        println!(
            "\nConnections failed with \"too many open files\": raise the limit first, e.g. \
             `ulimit -n 4096` (the gateway needs two descriptors per stream)."
        );
    }
    Ok(if tally.errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Milliseconds with a precision fit for stream times.
pub fn fmt_ms(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |value| format!("{value:.1}"))
}
