//! Building the engine, serving HTTP, and draining on SIGTERM/SIGINT.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web::Data;
use actix_web::{App, HttpServer};
use anyhow::Context;
use llm_api::{ApiState, MetricsRenderer, ProcessMonitor};
use llm_gateway::{Config, Gateway};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use tokio::task::JoinHandle;

/// Refuses a non-loopback listener while no client authentication is configured.
pub(crate) fn check_exposure(config: &Config, allow_unauthenticated: bool) -> Result<(), String> {
    let ip = config.server.bind.ip();
    if ip.is_loopback() || allow_unauthenticated || config.auth.requires_client_keys() {
        Ok(())
    } else {
        Err(format!(
            "refusing to listen on {ip} without client authentication; \
             bind a loopback address or pass --allow-unauthenticated"
        ))
    }
}

/// Serves until SIGTERM or SIGINT, then lets in-flight requests and streams finish within the grace
/// period.
pub(crate) async fn serve(config: Config) -> anyhow::Result<()> {
    let gateway = Arc::new(Gateway::new(&config).await.context("starting the gateway")?);
    let monitor = tokio::spawn(gateway.health_monitor().run());
    let (metrics, upkeep) = install_metrics()?;
    let state = ApiState {
        gateway,
        max_body_bytes: config.server.max_body_bytes,
        metrics: Some(metrics),
        process: ProcessMonitor::default(),
    };
    let process = state.process.clone();
    let grace = config.server.shutdown_grace;
    let server = HttpServer::new(move || {
        App::new()
            .app_data(Data::new(state.clone()))
            .configure(llm_api::configure)
    })
    .on_connect(move |connection, extensions| process.on_connect(connection, extensions))
    .disable_signals()
    // A client that closes its side is gone: drop its request at once (and with it the upstream
    // call) instead of waiting for the next write, which a silent upstream may never make.
    .h1_allow_half_closed(false)
    .shutdown_timeout(grace.as_secs())
    .bind(config.server.bind)
    .with_context(|| format!("binding {}", config.server.bind))?;
    for address in server.addrs() {
        tracing::info!(address = %address, "listening");
    }
    let server = server.run();
    let handle = server.handle();
    let signals = tokio::spawn(async move {
        let signal = shutdown_signal().await;
        tracing::info!(
            signal,
            grace_secs = grace.as_secs(),
            "shutting down, draining in-flight requests"
        );
        handle.stop(true).await;
    });
    let served = server.await.context("serving");
    signals.abort();
    monitor.abort();
    upkeep.abort();
    tracing::info!("stopped");
    served
}

/// How often the recorder's histograms are compacted between scrapes.
const METRICS_UPKEEP: Duration = Duration::from_secs(5);

/// Installs the Prometheus recorder as the process's global recorder (once per process) and
/// returns its renderer for `GET /metrics`, with the task that keeps it compact.
fn install_metrics() -> anyhow::Result<(MetricsRenderer, JoinHandle<()>)> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), llm_api::DURATION_BUCKETS)
        .context("metrics buckets")?
        .install_recorder()
        .context("installing the metrics recorder")?;
    let upkeep = {
        let handle = handle.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(METRICS_UPKEEP).await;
                handle.run_upkeep();
            }
        })
    };
    let render: MetricsRenderer = Arc::new(move || handle.render());
    Ok((render, upkeep))
}

/// Waits for SIGTERM or SIGINT (Ctrl-C) and names it.
async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => tokio::select! {
                _ = terminate.recv() => "SIGTERM",
                _ = tokio::signal::ctrl_c() => "SIGINT",
            },
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only SIGINT stops the server");
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    }
}
