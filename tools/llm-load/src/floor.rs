//! `llm-load floor`: the floor under the gateway's overhead. With the same mock upstream and load
//! generator as `run`, interleaved slices straight to the mock, through nginx as a plain reverse
//! proxy (HTTP/1.1 keep-alive to the mock) and through the gateway (default configuration), plain
//! chat and streams; one table shows how close the gateway comes to a plain proxy hop.

use std::fmt::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;

use crate::children;
use crate::cli::FloorArgs;
use crate::load::{Kind, Tally, Workload};
use crate::proc_stats::{self, TICKS_PER_SECOND, ticks_to_micros};
use crate::report::{self, Plan};
use crate::run::{self, DIRECT_MODEL, GATEWAY_MODEL, client_runtime};

/// Which way the requests go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    Direct,
    Nginx,
    Gateway,
}

impl Route {
    const ALL: [Self; 3] = [Self::Direct, Self::Nginx, Self::Gateway];

    fn name(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::Nginx => "nginx",
            Self::Gateway => "gateway",
        }
    }
}

/// One route of one kind.
struct Lane {
    route: Route,
    tally: Tally,
    warm_up_errors: u64,
    /// The proxy's CPU (nginx: master and workers) during this lane's slices.
    proxy_ticks: u64,
    /// The mock's CPU during this lane's slices.
    upstream_ticks: u64,
}

impl Lane {
    fn new(route: Route) -> Self {
        Self {
            route,
            tally: Tally::default(),
            warm_up_errors: 0,
            proxy_ticks: 0,
            upstream_ticks: 0,
        }
    }

    fn errors(&self) -> u64 {
        self.tally.errors + self.warm_up_errors
    }

    /// CPU µs per successful request of `ticks`.
    fn per_request(&self, ticks: u64) -> Option<f64> {
        (self.tally.ok > 0).then(|| ticks_to_micros(ticks) as f64 / self.tally.ok as f64)
    }
}

/// One kind, every route (in `Route::ALL` order).
struct KindResult {
    kind: Kind,
    lanes: Vec<Lane>,
}

/// The processes a route goes through, as the load generator sees them.
struct Targets {
    upstream_pid: u32,
    upstream: SocketAddr,
    nginx_pids: Vec<u32>,
    nginx: SocketAddr,
    gateway_pid: u32,
    gateway: SocketAddr,
}

impl Targets {
    fn address(&self, route: Route) -> SocketAddr {
        match route {
            Route::Direct => self.upstream,
            Route::Nginx => self.nginx,
            Route::Gateway => self.gateway,
        }
    }

    fn proxy_pids(&self, route: Route) -> Vec<u32> {
        match route {
            Route::Direct => Vec::new(),
            Route::Nginx => self.nginx_pids.clone(),
            Route::Gateway => vec![self.gateway_pid],
        }
    }
}

/// Runs the floor measurement and prints its table; exit status 1 when any request failed, 2 when
/// nginx is missing.
pub fn run(args: &FloorArgs) -> anyhow::Result<ExitCode> {
    let nginx_bin = children::nginx_bin(&args.nginx_bin)?;
    client_runtime(&args.gateway)?.block_on(floor(args, &nginx_bin))
}

async fn floor(args: &FloorArgs, nginx_bin: &Path) -> anyhow::Result<ExitCode> {
    let plan = run::plan(
        args.quick,
        args.duration_secs,
        args.rounds,
        args.concurrency,
        &args.gateway,
    );
    let started = Instant::now();
    let children::DefaultSetup {
        mut upstream,
        upstream_address,
        mut gateway,
    } = children::spawn_default_setup(&args.gateway, "floor-default", args.chunks, 0, false).await?;
    let mut nginx = children::spawn_nginx(nginx_bin, upstream_address, &args.nginx_workers).await?;
    let targets = Targets {
        upstream_pid: upstream.pid(),
        upstream: upstream_address,
        nginx_pids: nginx.pids.clone(),
        nginx: nginx.address,
        gateway_pid: gateway.process.pid(),
        gateway: gateway.address,
    };
    let mut results = Vec::new();
    for kind in [Kind::Chat, Kind::Stream] {
        println!("measuring {} (direct / nginx / gateway) ...", kind.name());
        results.push(measure(&plan, kind, &targets).await?);
    }
    upstream.check_alive()?;
    nginx
        .check_alive()
        .with_context(|| format!("nginx error log: {}", nginx.error_log.display()))?;
    gateway
        .process
        .check_alive()
        .with_context(|| format!("gateway log: {}", gateway.log.display()))?;
    let setup = Setup {
        nginx_version: children::nginx_version(nginx_bin),
        worker_processes: args.nginx_workers.clone(),
        nginx_workers: nginx.pids.len().saturating_sub(1),
        chunks: args.chunks,
        nginx_config: nginx.config.clone(),
    };
    drop(gateway);
    drop(nginx);
    drop(upstream);
    let text = render(&plan, &setup, &results, started.elapsed().as_secs_f64());
    println!("\n{text}");
    let path = args
        .report
        .clone()
        .unwrap_or_else(|| run::target_file("llm-load-floor-report.md"));
    run::write_report(&path, &text);
    let failed = results
        .iter()
        .flat_map(|result| &result.lanes)
        .any(|lane| lane.errors() > 0);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// One kind: a warm-up each way, then `rounds` × (direct, nginx, gateway slice).
async fn measure(plan: &Plan, kind: Kind, targets: &Targets) -> anyhow::Result<KindResult> {
    let workloads: Vec<Arc<Workload>> = Route::ALL
        .iter()
        .map(|&route| {
            let model = if route == Route::Gateway {
                GATEWAY_MODEL
            } else {
                DIRECT_MODEL
            };
            Arc::new(Workload::new(targets.address(route), model, kind, false))
        })
        .collect();
    let mut lanes: Vec<Lane> = Route::ALL.iter().map(|&route| Lane::new(route)).collect();
    for (workload, lane) in workloads.iter().zip(lanes.iter_mut()) {
        let warm = run::slice(workload, plan.concurrency, plan.warm_up).await;
        lane.warm_up_errors += warm.errors;
        lane.tally.error_samples.extend(warm.error_samples);
    }
    for _ in 0..plan.rounds {
        for (workload, lane) in workloads.iter().zip(lanes.iter_mut()) {
            let proxy_pids = targets.proxy_pids(lane.route);
            let proxy_before = proc_stats::cpu_ticks_sum(&proxy_pids)?;
            let upstream_before = proc_stats::cpu_ticks(targets.upstream_pid)?;
            let tally = run::slice(workload, plan.concurrency, plan.slice).await;
            lane.proxy_ticks += proc_stats::cpu_ticks_sum(&proxy_pids)? - proxy_before;
            lane.upstream_ticks += proc_stats::cpu_ticks(targets.upstream_pid)? - upstream_before;
            lane.tally.merge(&tally);
        }
    }
    Ok(KindResult { kind, lanes })
}

/// What the report says about how nginx ran.
struct Setup {
    nginx_version: String,
    worker_processes: String,
    nginx_workers: usize,
    chunks: u32,
    nginx_config: String,
}

fn ms(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |value| format!("{value:.3}"))
}

fn micros(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |value| format!("{value:.0}"))
}

fn ratio(numerator: f64, denominator: f64) -> Option<f64> {
    (denominator > 0.0).then(|| numerator / denominator)
}

fn times(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |value| format!("{value:.2}"))
}

/// The per-lane numbers the tables need.
struct Row {
    rps: f64,
    p50: Option<f64>,
    p99: Option<f64>,
    ttfb_p50: Option<f64>,
    proxy_cpu: Option<f64>,
    upstream_cpu: Option<f64>,
}

fn row_of(lane: &Lane) -> Row {
    let mut latency = lane.tally.latency.clone();
    let mut first_byte = lane.tally.first_byte.clone();
    Row {
        rps: lane.tally.requests_per_second(),
        p50: latency.percentile_ms(0.5),
        p99: latency.percentile_ms(0.99),
        ttfb_p50: first_byte.percentile_ms(0.5),
        proxy_cpu: lane.per_request(lane.proxy_ticks),
        upstream_cpu: lane.per_request(lane.upstream_ticks),
    }
}

fn difference(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(a? - b?)
}

fn render(plan: &Plan, setup: &Setup, results: &[KindResult], took: f64) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## llm-load floor: the gateway vs a plain nginx proxy hop\n");
    let _ = writeln!(
        out,
        "Concurrency {}, {} round(s) of direct / nginx / gateway {:.1} s slices, interleaved, after a \
         {:.1} s warm-up each way; streams of {} chunks (mock without delays). nginx: {}, \
         `worker_processes {}` ({} worker(s)), upstream keep-alive pool of 64 over HTTP/1.1, \
         `proxy_buffering off` for both kinds, no access log. Gateway: the `default` configuration of \
         `llm-load run` (memory cache and local rate limit, every request a cache miss). {} core(s) \
         shared by the mock ({} worker thread(s)), nginx, the gateway and the load generator ({} \
         thread(s)). Proxy CPU from /proc/PID/stat (nginx: master plus workers) assuming {} ticks/s. \
         Run took {:.0} s.\n",
        plan.concurrency,
        plan.rounds,
        plan.slice.as_secs_f64(),
        plan.warm_up.as_secs_f64(),
        setup.chunks,
        setup.nginx_version,
        setup.worker_processes,
        setup.nginx_workers,
        plan.cores,
        plan.upstream_workers,
        plan.client_threads,
        TICKS_PER_SECOND,
        took
    );
    let _ = writeln!(
        out,
        "| kind | route | req/s | p50 ms | p99 ms | TTFB p50 ms | added p50 ms vs direct | added p99 ms \
         vs direct | ratio vs direct | proxy CPU µs/req | mock CPU µs/req | errors |"
    );
    let _ = writeln!(out, "|{}", "---|".repeat(12));
    for result in results {
        let rows: Vec<Row> = result.lanes.iter().map(row_of).collect();
        let Some(direct) = rows.first() else {
            continue;
        };
        for (lane, row) in result.lanes.iter().zip(&rows) {
            let proxied = lane.route != Route::Direct;
            let derived = |value: String| if proxied { value } else { String::new() };
            let _ = writeln!(
                out,
                "| {} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                result.kind.name(),
                lane.route.name(),
                row.rps,
                ms(row.p50),
                ms(row.p99),
                ms(row.ttfb_p50),
                derived(ms(difference(row.p50, direct.p50))),
                derived(ms(difference(row.p99, direct.p99))),
                derived(times(ratio(row.rps, direct.rps))),
                derived(micros(row.proxy_cpu)),
                micros(row.upstream_cpu),
                if lane.errors() == 0 {
                    "0".to_owned()
                } else {
                    format!("**{}**", lane.errors())
                },
            );
        }
    }
    let _ = writeln!(out, "\n### The gateway against the nginx floor\n");
    let _ = writeln!(
        out,
        "| kind | gateway req/s ÷ nginx req/s | added p50 ms: gateway / nginx | proxy CPU µs/req: gateway / nginx \
         | gateway CPU ÷ nginx CPU |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|");
    for result in results {
        let rows: Vec<Row> = result.lanes.iter().map(row_of).collect();
        let [direct, nginx, gateway] = rows.as_slice() else {
            continue;
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} / {} | {} / {} | {} |",
            result.kind.name(),
            times(ratio(gateway.rps, nginx.rps)),
            ms(difference(gateway.p50, direct.p50)),
            ms(difference(nginx.p50, direct.p50)),
            micros(gateway.proxy_cpu),
            micros(nginx.proxy_cpu),
            times(
                gateway
                    .proxy_cpu
                    .zip(nginx.proxy_cpu)
                    .and_then(|(g, n)| ratio(g, n))
            ),
        );
    }
    render_errors(&mut out, results);
    let _ = writeln!(
        out,
        "\n<details><summary>nginx configuration</summary>\n\n```nginx\n{}```\n</details>",
        setup.nginx_config
    );
    out
}

fn render_errors(out: &mut String, results: &[KindResult]) {
    let lanes = results.iter().flat_map(|result| {
        result.lanes.iter().map(|lane| {
            (
                format!("{} {}", result.kind.name(), lane.route.name()),
                &lane.tally,
                lane.warm_up_errors,
            )
        })
    });
    report::render_error_section(out, lanes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nginx_config_proxies_with_upstream_keep_alive() {
        let config = children::render_nginx_config(
            Path::new("/tmp/x"),
            SocketAddr::from(([127, 0, 0, 1], 9000)),
            SocketAddr::from(([127, 0, 0, 1], 9001)),
            "auto",
        );
        for line in [
            "worker_processes auto;",
            "keepalive 64;",
            "server 127.0.0.1:9001;",
            "listen 127.0.0.1:9000;",
            "proxy_pass http://mock;",
            "proxy_http_version 1.1;",
            "proxy_set_header Connection \"\";",
            "proxy_buffering off;",
            "access_log off;",
            "error_log /tmp/x/error.log warn;",
        ] {
            assert!(config.contains(line), "missing {line:?} in\n{config}");
        }
    }
}
