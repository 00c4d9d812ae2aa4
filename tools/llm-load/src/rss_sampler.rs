//! Samples a process's RSS on a timer while load runs, tagged with the requests done so far.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::load::Workload;
use crate::proc_stats;

/// One sample: requests finished so far and the RSS then (KiB).
#[derive(Clone, Copy, Debug)]
pub struct RssSample {
    pub completed: u64,
    pub rss_kib: u64,
}

/// A running sampler; `finish` stops it and returns the samples.
pub struct RssSampler {
    stop: Arc<AtomicBool>,
    task: JoinHandle<Vec<RssSample>>,
}

impl RssSampler {
    /// Samples `pid` every `period`; `on_sample` sees each sample as it is taken.
    pub fn start(
        pid: u32,
        workload: Arc<Workload>,
        period: Duration,
        mut on_sample: impl FnMut(RssSample) + Send + 'static,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let task = tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut ticker = tokio::time::interval(period);
            while !stopped.load(Ordering::Relaxed) {
                ticker.tick().await;
                let Ok(rss_kib) = proc_stats::rss_kib(pid) else {
                    break;
                };
                let sample = RssSample {
                    completed: workload.completed.load(Ordering::Relaxed),
                    rss_kib,
                };
                on_sample(sample);
                samples.push(sample);
            }
            samples
        });
        Self { stop, task }
    }

    /// Stops sampling and returns every sample.
    pub async fn finish(self) -> Vec<RssSample> {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap_or_default()
    }
}
