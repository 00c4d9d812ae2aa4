//! Latency samples in microseconds and their percentiles (a sorted `Vec`, no histogram crate).

use std::time::Duration;

/// Latencies in microseconds.
#[derive(Clone, Debug, Default)]
pub struct Samples {
    micros: Vec<u32>,
    sorted: bool,
}

impl Samples {
    /// Adds one latency (saturating at about 71 minutes).
    pub fn record(&mut self, latency: Duration) {
        self.micros
            .push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
        self.sorted = false;
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &Self) {
        self.micros.extend_from_slice(&other.micros);
        self.sorted = false;
    }

    /// The `quantile` (0.0 to 1.0) in milliseconds, nearest rank; `None` without samples.
    pub fn percentile_ms(&mut self, quantile: f64) -> Option<f64> {
        if self.micros.is_empty() {
            return None;
        }
        if !self.sorted {
            self.micros.sort_unstable();
            self.sorted = true;
        }
        let last = self.micros.len() - 1;
        let rank = (quantile.clamp(0.0, 1.0) * last as f64).round() as usize;
        self.micros
            .get(rank.min(last))
            .map(|&micros| f64::from(micros) / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_the_nearest_rank() {
        let mut samples = Samples::default();
        for micros in (1..=100).rev() {
            samples.record(Duration::from_micros(micros));
        }
        assert_eq!(samples.percentile_ms(0.5), Some(0.051));
        assert_eq!(samples.percentile_ms(0.99), Some(0.099));
        assert_eq!(samples.percentile_ms(0.0), Some(0.001));
        assert_eq!(Samples::default().percentile_ms(0.5), None);
    }
}
