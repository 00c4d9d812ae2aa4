//! The benchmark's markdown report: one row per configuration, kind and side, derived columns,
//! then the targets' PASS/FAIL and any errors.

use std::fmt::Write;
use std::time::Duration;

use crate::gateway_config::Scenario;
use crate::load::{Kind, Tally};
use crate::proc_stats::{TICKS_PER_SECOND, kib_to_mib, ticks_to_micros};

/// How the run was set up.
pub struct Plan {
    pub slice: Duration,
    pub warm_up: Duration,
    pub rounds: u32,
    pub concurrency: usize,
    pub client_threads: usize,
    pub upstream_workers: usize,
    pub cores: usize,
}

/// One side (direct or through the gateway) of one configuration and kind.
#[derive(Default)]
pub struct Side {
    pub tally: Tally,
    pub warm_up_errors: u64,
    /// The mock's CPU during this side's slices.
    pub upstream_ticks: u64,
    /// The gateway's CPU during this side's slices (gateway side only).
    pub gateway_ticks: u64,
}

/// One configuration and kind, both sides.
pub struct Measurement {
    pub scenario: Scenario,
    pub kind: Kind,
    pub direct: Side,
    pub gateway: Side,
    /// `VmHWM` of the gateway after this measurement (its peak since it started).
    pub gateway_peak_rss_kib: u64,
}

/// The gateway's memory target at the benchmark's concurrency.
const RSS_TARGET_MIB: f64 = 50.0;

fn ms(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |value| format!("{value:.3}"))
}

fn per_request(ticks: u64, requests: u64) -> String {
    if requests == 0 {
        return "-".to_owned();
    }
    format!("{:.0}", ticks_to_micros(ticks) as f64 / requests as f64)
}

fn difference(gateway: Option<f64>, direct: Option<f64>) -> Option<f64> {
    Some(gateway? - direct?)
}

/// The derived numbers of one measurement.
struct Derived {
    direct_p50: Option<f64>,
    gateway_p50: Option<f64>,
    added_p50: Option<f64>,
    ratio: f64,
}

fn derive(measurement: &mut Measurement) -> Derived {
    let direct_p50 = measurement.direct.tally.latency.percentile_ms(0.5);
    let gateway_p50 = measurement.gateway.tally.latency.percentile_ms(0.5);
    let direct_rps = measurement.direct.tally.requests_per_second();
    Derived {
        direct_p50,
        gateway_p50,
        added_p50: difference(gateway_p50, direct_p50),
        ratio: if direct_rps > 0.0 {
            measurement.gateway.tally.requests_per_second() / direct_rps
        } else {
            0.0
        },
    }
}

/// Renders the whole report.
pub fn render(plan: &Plan, measurements: &mut [Measurement], skipped: &[String], took: Duration) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## llm-load: the gateway's overhead, end to end on loopback\n"
    );
    let _ = writeln!(
        out,
        "Concurrency {}, {} round(s) of direct {:.1} s / gateway {:.1} s slices, interleaved, after a \
         {:.1} s warm-up each way; streams of 20 chunks (mock without delays). {} core(s) shared by the \
         mock ({} worker thread(s)), the gateway and the load generator ({} thread(s)): direct and \
         gateway numbers compete for the same CPUs. CPU from /proc/PID/stat assuming {} ticks/s. \
         Run took {:.0} s.\n",
        plan.concurrency,
        plan.rounds,
        plan.slice.as_secs_f64(),
        plan.slice.as_secs_f64(),
        plan.warm_up.as_secs_f64(),
        plan.cores,
        plan.upstream_workers,
        plan.client_threads,
        TICKS_PER_SECOND,
        took.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "| config | kind | side | req/s | p50 ms | p99 ms | TTFB p50 ms | added p50 ms | added p99 ms \
         | ratio gw/direct | gateway CPU µs/req | mock CPU µs/req | gateway peak RSS MiB | cache hits | errors |"
    );
    let _ = writeln!(out, "|{}", "---|".repeat(15));
    for measurement in measurements.iter_mut() {
        let derived = derive(measurement);
        let direct_p99 = measurement.direct.tally.latency.percentile_ms(0.99);
        let gateway_p99 = measurement.gateway.tally.latency.percentile_ms(0.99);
        let name = measurement.scenario.name();
        let kind = measurement.kind.name();
        let direct = &mut measurement.direct;
        let _ = writeln!(
            out,
            "| {name} | {kind} | direct | {:.0} | {} | {} | {} | | | | | {} | | | {} |",
            direct.tally.requests_per_second(),
            ms(derived.direct_p50),
            ms(direct_p99),
            ms(direct.tally.first_byte.percentile_ms(0.5)),
            per_request(direct.upstream_ticks, direct.tally.ok),
            errors(direct),
        );
        let gateway = &mut measurement.gateway;
        let routed = gateway.tally.cache_hits + gateway.tally.cache_misses;
        let hits = if routed == 0 {
            "-".to_owned()
        } else {
            format!("{:.0}%", 100.0 * gateway.tally.cache_hits as f64 / routed as f64)
        };
        let _ = writeln!(
            out,
            "| {name} | {kind} | gateway | {:.0} | {} | {} | {} | {} | {} | {:.2} | {} | {} | {:.1} | {hits} | {} |",
            gateway.tally.requests_per_second(),
            ms(derived.gateway_p50),
            ms(gateway_p99),
            ms(gateway.tally.first_byte.percentile_ms(0.5)),
            ms(derived.added_p50),
            ms(difference(gateway_p99, direct_p99)),
            derived.ratio,
            per_request(gateway.gateway_ticks, gateway.tally.ok),
            per_request(gateway.upstream_ticks, gateway.tally.ok),
            kib_to_mib(measurement.gateway_peak_rss_kib),
            errors(gateway),
        );
    }
    for note in skipped {
        let _ = writeln!(out, "\n- {note}");
    }
    render_targets(&mut out, plan, measurements);
    render_errors(&mut out, measurements);
    out
}

fn errors(side: &Side) -> String {
    let total = side.tally.errors + side.warm_up_errors;
    if total == 0 {
        "0".to_owned()
    } else {
        format!("**{total}**")
    }
}

fn verdict(pass: Option<bool>) -> &'static str {
    match pass {
        Some(true) => "PASS",
        Some(false) => "FAIL",
        None => "n/a (not measured)",
    }
}

fn render_targets(out: &mut String, plan: &Plan, measurements: &mut [Measurement]) {
    let _ = writeln!(out, "\n### Targets\n");
    let _ = writeln!(out, "| target | measured | verdict |\n|---|---|---|");
    let mut find = |scenario: Scenario, kind: Kind| {
        measurements
            .iter_mut()
            .find(|m| m.scenario == scenario && m.kind == kind)
            .map(derive)
    };
    let default_chat = find(Scenario::Default, Kind::Chat);
    let default_stream = find(Scenario::Default, Kind::Stream);
    let hit_chat = find(Scenario::CacheHitMemory, Kind::Chat);
    let hit_stream = find(Scenario::CacheHitMemory, Kind::Stream);
    for (label, derived, floor) in [
        ("throughput gw/direct >= 0.6 (default, chat)", &default_chat, 0.6),
        (
            "throughput gw/direct >= 0.8 (default, stream)",
            &default_stream,
            0.8,
        ),
    ] {
        let _ = writeln!(
            out,
            "| {label} | {} | {} |",
            derived
                .as_ref()
                .map_or_else(|| "-".to_owned(), |d| format!("{:.2}x", d.ratio)),
            verdict(derived.as_ref().map(|d| d.ratio >= floor))
        );
    }
    for (label, derived) in [
        ("added p50 < 0.5 ms (default, chat)", &default_chat),
        ("added p50 < 0.5 ms (default, stream)", &default_stream),
    ] {
        let added = derived.as_ref().and_then(|d| d.added_p50);
        let _ = writeln!(
            out,
            "| {label} | {} ms | {} |",
            ms(added),
            verdict(added.map(|added| added < 0.5))
        );
    }
    let peak = measurements.iter().map(|m| m.gateway_peak_rss_kib).max();
    let _ = writeln!(
        out,
        "| gateway peak RSS < {RSS_TARGET_MIB:.0} MiB at concurrency {}{} | {} MiB | {} |",
        plan.concurrency,
        if plan.concurrency == 32 {
            ""
        } else {
            " (the target is stated at 32)"
        },
        peak.map_or_else(|| "-".to_owned(), |kib| format!("{:.1}", kib_to_mib(kib))),
        verdict(peak.map(|kib| kib_to_mib(kib) < RSS_TARGET_MIB))
    );
    for (label, derived) in [
        ("memory-cache hit p50 < direct p50 (chat)", &hit_chat),
        ("memory-cache hit p50 < direct p50 (stream)", &hit_stream),
    ] {
        let pair = derived
            .as_ref()
            .and_then(|d| Some((d.gateway_p50?, d.direct_p50?)));
        let _ = writeln!(
            out,
            "| {label} | {} | {} |",
            pair.map_or_else(
                || "-".to_owned(),
                |(hit, direct)| format!("{hit:.3} ms vs {direct:.3} ms")
            ),
            verdict(pair.map(|(hit, direct)| hit < direct))
        );
    }
    let failures: u64 = measurements
        .iter()
        .map(|m| {
            m.direct.tally.errors
                + m.direct.warm_up_errors
                + m.gateway.tally.errors
                + m.gateway.warm_up_errors
        })
        .sum();
    let _ = writeln!(
        out,
        "| no failed requests | {failures} failed | {} |",
        verdict(Some(failures == 0))
    );
    let _ = writeln!(
        out,
        "\nNot measured here: < 150 MiB with 1,000 concurrent streams (`llm-load streams`), RSS flat \
         within 10% in a soak (`llm-load soak`)."
    );
}

fn render_errors(out: &mut String, measurements: &[Measurement]) {
    let lanes = measurements.iter().flat_map(|measurement| {
        [("direct", &measurement.direct), ("gateway", &measurement.gateway)].map(|(side_name, side)| {
            (
                format!(
                    "{} {} {side_name}",
                    measurement.scenario.name(),
                    measurement.kind.name()
                ),
                &side.tally,
                side.warm_up_errors,
            )
        })
    });
    render_error_section(out, lanes);
}

/// The ERRORS section: each labelled lane that had failed requests, with its sample errors; nothing
/// when no lane failed.
pub fn render_error_section<'a>(out: &mut String, lanes: impl IntoIterator<Item = (String, &'a Tally, u64)>) {
    let mut any = false;
    for (label, tally, warm_up_errors) in lanes {
        if tally.error_samples.is_empty() {
            continue;
        }
        if !any {
            let _ = writeln!(out, "\n### ERRORS\n");
            any = true;
        }
        let _ = writeln!(
            out,
            "- {label}: {} failed request(s), {warm_up_errors} during warm-up; e.g.:",
            tally.errors
        );
        for sample in &tally.error_samples {
            let _ = writeln!(out, "  - `{sample}`");
        }
    }
}
