//! Logging: `tracing` to standard error, filtered by `LLM_LOG` (default `info`). In a build with the
//! `otlp` feature and `telemetry.otlp_endpoint` set, the gateway's spans are also exported over
//! OTLP/HTTP (see [`otlp`]).

#[cfg(feature = "otlp")]
mod otlp;

use std::io::IsTerminal;

use llm_gateway::config::TelemetryConfig;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::cli::LogFormat;

/// A layer of the global subscriber.
type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// What must outlive serving: the span exporter, when there is one. [`Telemetry::shutdown`] (or
/// dropping it) flushes the spans still queued and stops the exporter.
#[must_use = "dropping it stops span export"]
pub(crate) struct Telemetry {
    #[cfg(feature = "otlp")]
    exporter: Option<otlp::Exporter>,
}

impl Telemetry {
    /// Flushes the queued spans (within a bounded time) and stops exporting. Call it once serving
    /// has stopped.
    pub(crate) fn shutdown(self) {
        drop(self);
    }
}

#[cfg(feature = "otlp")]
impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(exporter) = self.exporter.take() {
            exporter.shutdown();
        }
    }
}

/// Installs the global subscriber once: the log layer and, when configured and built in, the span
/// exporter.
pub(crate) fn init(format: LogFormat, config: &TelemetryConfig) -> Telemetry {
    let filter = EnvFilter::try_from_env("LLM_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let logs: BoxedLayer = match format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .with_filter(filter)
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .with_filter(filter)
            .boxed(),
    };
    let mut layers = vec![logs];
    let telemetry = export_layer(config, &mut layers);
    if tracing_subscriber::registry().with(layers).try_init().is_err() {
        eprintln!("warning: a logger was already installed");
    }
    telemetry.report(config)
}

/// Adds the OpenTelemetry layer when an endpoint is configured and the exporter starts.
#[cfg(feature = "otlp")]
fn export_layer(config: &TelemetryConfig, layers: &mut Vec<BoxedLayer>) -> Pending {
    let Some(endpoint) = config.otlp_endpoint.as_deref() else {
        return Pending::Off;
    };
    match otlp::Exporter::start(config, endpoint) {
        Ok(exporter) => {
            layers.push(exporter.layer().boxed());
            Pending::Started(exporter)
        }
        Err(error) => Pending::Failed(format!("{error:#}")),
    }
}

#[cfg(not(feature = "otlp"))]
fn export_layer(_config: &TelemetryConfig, _layers: &mut Vec<BoxedLayer>) -> Pending {
    Pending::Off
}

/// The exporter's state until the subscriber is installed and it can be logged.
enum Pending {
    Off,
    #[cfg(feature = "otlp")]
    Started(otlp::Exporter),
    #[cfg(feature = "otlp")]
    Failed(String),
}

impl Pending {
    /// Logs what became of span export, now that logs go somewhere.
    fn report(self, config: &TelemetryConfig) -> Telemetry {
        let endpoint = config.otlp_endpoint.as_deref();
        match self {
            Self::Off => {
                if endpoint.is_some() {
                    tracing::warn!(
                        "telemetry.otlp_endpoint is set but this build has no `otlp` feature; \
                         spans are not exported"
                    );
                }
                Telemetry {
                    #[cfg(feature = "otlp")]
                    exporter: None,
                }
            }
            #[cfg(feature = "otlp")]
            Self::Started(exporter) => {
                tracing::info!(
                    endpoint = exporter.traces_url(),
                    service_name = config.service_name,
                    sample_ratio = config.sample_ratio,
                    "exporting spans over OTLP/HTTP"
                );
                Telemetry {
                    exporter: Some(exporter),
                }
            }
            #[cfg(feature = "otlp")]
            Self::Failed(error) => {
                tracing::warn!(
                    error,
                    "cannot start the OTLP span exporter; spans are not exported"
                );
                Telemetry { exporter: None }
            }
        }
    }
}
