//! The dashboard's numbers: the samples of `GET /metrics` summed into a few cumulative totals.
//!
//! Everything is cumulative since the process started; the page derives rates and windowed
//! percentiles by differencing two polls. Metrics that were never recorded read as zero.

use std::collections::BTreeMap;

use serde::Serialize;

use super::exposition::Sample;

/// The label value used when a sample lacks the label.
const UNKNOWN: &str = "unknown";

/// Every total the dashboard shows, summed across the labels it does not break down by.
#[derive(Debug, Default, PartialEq, Serialize)]
pub(crate) struct Totals {
    pub requests: Requests,
    /// `llm_request_duration_seconds`, every `api` summed.
    pub latency_seconds: Histogram,
    /// `llm_gateway_overhead_seconds`, every `api` summed.
    pub overhead_seconds: Histogram,
    /// `llm_time_to_first_token_seconds`, every provider summed.
    pub ttft_seconds: Histogram,
    /// `llm_provider_request_duration_seconds`, every provider summed.
    pub provider_seconds: Histogram,
    pub cache: Cache,
    pub tokens: Tokens,
    /// `llm_provider_errors_total` by provider, then by error type.
    pub provider_errors: BTreeMap<String, BTreeMap<String, f64>>,
    /// `llm_inflight_requests`.
    pub inflight: f64,
    /// `llm_redis_up`, when Redis is configured.
    pub redis_up: Option<f64>,
}

/// `llm_requests_total`.
#[derive(Debug, Default, PartialEq, Serialize)]
pub(crate) struct Requests {
    pub total: f64,
    pub by_status: BTreeMap<String, f64>,
    pub by_api: BTreeMap<String, f64>,
}

/// `llm_cache_requests_total` by result, and the `llm_cache_hit_ratio` gauge.
#[derive(Debug, Default, PartialEq, Serialize)]
pub(crate) struct Cache {
    pub hit: f64,
    pub miss: f64,
    pub bypass: f64,
    pub error: f64,
    pub hit_ratio: Option<f64>,
}

/// `llm_tokens_total` by kind.
#[derive(Debug, Default, PartialEq, Serialize)]
pub(crate) struct Tokens {
    pub prompt: f64,
    pub completion: f64,
}

/// A histogram summed across series, with its quantiles since the start.
#[derive(Debug, Default, PartialEq, Serialize)]
pub(crate) struct Histogram {
    pub count: f64,
    pub sum: f64,
    /// `[upper bound, cumulative count]` of the finite buckets, ascending; the `+Inf` bucket is `count`.
    pub buckets: Vec<[f64; 2]>,
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub p99: Option<f64>,
}

impl Histogram {
    /// Adds one `_bucket`, `_sum` or `_count` sample (`suffix` names which).
    fn add(&mut self, suffix: &str, sample: &Sample) {
        match suffix {
            "_sum" => self.sum += sample.value,
            "_count" => self.count += sample.value,
            "_bucket" => {
                let Some(le) = sample.label("le").and_then(|le| le.parse::<f64>().ok()) else {
                    return;
                };
                // The `+Inf` bucket repeats `_count`.
                if !le.is_finite() {
                    return;
                }
                match self.buckets.iter_mut().find(|bucket| bucket[0] == le) {
                    Some(bucket) => bucket[1] += sample.value,
                    None => self.buckets.push([le, sample.value]),
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self) {
        self.buckets.sort_by(|a, b| a[0].total_cmp(&b[0]));
        self.p50 = quantile(0.5, &self.buckets, self.count);
        self.p90 = quantile(0.9, &self.buckets, self.count);
        self.p99 = quantile(0.99, &self.buckets, self.count);
    }
}

/// The `q` quantile of cumulative `buckets` holding `count` observations, as Prometheus'
/// `histogram_quantile` computes it: linear interpolation inside the bucket the rank falls in, the
/// first bucket starting at 0, and the highest finite bound for a rank in the `+Inf` bucket.
/// `None` without observations.
pub(crate) fn quantile(q: f64, buckets: &[[f64; 2]], count: f64) -> Option<f64> {
    if count.is_nan() || count <= 0.0 {
        return None;
    }
    let rank = q * count;
    let (mut lower, mut below) = (0.0, 0.0);
    for (index, &[le, cumulative]) in buckets.iter().enumerate() {
        if cumulative >= rank {
            if (index == 0 && le <= 0.0) || cumulative <= below {
                return Some(le);
            }
            return Some(lower + (le - lower) * (rank - below) / (cumulative - below));
        }
        (lower, below) = (le, cumulative);
    }
    buckets.last().map(|bucket| bucket[0])
}

/// Sums `samples` into the dashboard's totals.
pub(crate) fn aggregate(samples: &[Sample]) -> Totals {
    let mut totals = Totals::default();
    for sample in samples {
        let value = sample.value;
        let label = |key: &str| sample.label(key).unwrap_or(UNKNOWN).to_owned();
        match sample.name.as_str() {
            "llm_requests_total" => {
                totals.requests.total += value;
                *totals.requests.by_status.entry(label("status")).or_default() += value;
                *totals.requests.by_api.entry(label("api")).or_default() += value;
            }
            "llm_provider_errors_total" => {
                *totals
                    .provider_errors
                    .entry(label("provider"))
                    .or_default()
                    .entry(label("error_type"))
                    .or_default() += value;
            }
            "llm_tokens_total" => match sample.label("kind") {
                Some("prompt") => totals.tokens.prompt += value,
                Some("completion") => totals.tokens.completion += value,
                _ => {}
            },
            "llm_cache_requests_total" => match sample.label("result") {
                Some("hit") => totals.cache.hit += value,
                Some("miss") => totals.cache.miss += value,
                Some("bypass") => totals.cache.bypass += value,
                Some("error") => totals.cache.error += value,
                _ => {}
            },
            "llm_cache_hit_ratio" => totals.cache.hit_ratio = Some(value),
            "llm_inflight_requests" => totals.inflight += value,
            "llm_redis_up" => totals.redis_up = Some(value),
            name => {
                if let Some((histogram, suffix)) = totals.histogram_of(name) {
                    histogram.add(suffix, sample);
                }
            }
        }
    }
    for histogram in totals.histograms() {
        histogram.finish();
    }
    totals
}

impl Totals {
    /// The histogram a `_bucket` / `_sum` / `_count` sample belongs to, and its suffix.
    fn histogram_of<'n>(&mut self, name: &'n str) -> Option<(&mut Histogram, &'n str)> {
        let Self {
            latency_seconds,
            overhead_seconds,
            ttft_seconds,
            provider_seconds,
            ..
        } = self;
        [
            ("llm_request_duration_seconds", latency_seconds),
            ("llm_gateway_overhead_seconds", overhead_seconds),
            ("llm_time_to_first_token_seconds", ttft_seconds),
            ("llm_provider_request_duration_seconds", provider_seconds),
        ]
        .into_iter()
        .find_map(|(base, histogram)| {
            let suffix = name.strip_prefix(base)?;
            matches!(suffix, "_bucket" | "_sum" | "_count").then_some((histogram, suffix))
        })
    }

    fn histograms(&mut self) -> [&mut Histogram; 4] {
        [
            &mut self.latency_seconds,
            &mut self.overhead_seconds,
            &mut self.ttft_seconds,
            &mut self.provider_seconds,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::super::exposition::parse;
    use super::*;

    const TEXT: &str = r#"# TYPE llm_requests_total counter
llm_requests_total{api="openai",model="mock/echo",provider="mock",status="200",cache="miss"} 2
llm_requests_total{api="openai",model="mock/echo",provider="mock",status="200",cache="hit"} 1
llm_requests_total{api="simple",model="mock/echo",provider="mock",status="200",cache="bypass"} 1
llm_requests_total{api="openai",model="broken/echo",provider="broken",status="503",cache="none"} 1
# TYPE llm_request_duration_seconds histogram
llm_request_duration_seconds_bucket{api="openai",le="0.001"} 1
llm_request_duration_seconds_bucket{api="openai",le="0.01"} 3
llm_request_duration_seconds_bucket{api="openai",le="0.1"} 4
llm_request_duration_seconds_bucket{api="openai",le="+Inf"} 4
llm_request_duration_seconds_sum{api="openai"} 0.05
llm_request_duration_seconds_count{api="openai"} 4
llm_request_duration_seconds_bucket{api="simple",le="0.001"} 0
llm_request_duration_seconds_bucket{api="simple",le="0.01"} 0
llm_request_duration_seconds_bucket{api="simple",le="0.1"} 0
llm_request_duration_seconds_bucket{api="simple",le="+Inf"} 1
llm_request_duration_seconds_sum{api="simple"} 2.5
llm_request_duration_seconds_count{api="simple"} 1
llm_provider_errors_total{provider="broken",error_type="provider_unavailable"} 1
llm_provider_errors_total{provider="broken",error_type="timeout"} 2
llm_tokens_total{provider="mock",model="echo",kind="prompt"} 9
llm_tokens_total{provider="mock",model="other",kind="prompt"} 1
llm_tokens_total{provider="mock",model="echo",kind="completion"} 7
llm_cache_requests_total{result="hit"} 1
llm_cache_requests_total{result="miss"} 2
llm_cache_requests_total{result="bypass"} 2
llm_cache_hit_ratio 0.3333333333333333
llm_inflight_requests 0
llm_ratelimit_decisions_total{scope="user",result="admitted"} 5
"#;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn samples_are_summed_across_the_labels_not_shown() {
        let totals = aggregate(&parse(TEXT));
        assert_eq!(totals.requests.total, 5.0);
        assert_eq!(
            totals.requests.by_status,
            BTreeMap::from([("200".to_owned(), 4.0), ("503".to_owned(), 1.0)])
        );
        assert_eq!(
            totals.requests.by_api,
            BTreeMap::from([("openai".to_owned(), 4.0), ("simple".to_owned(), 1.0)])
        );
        assert_eq!(
            totals.tokens,
            Tokens {
                prompt: 10.0,
                completion: 7.0
            }
        );
        assert_eq!(
            totals.cache,
            Cache {
                hit: 1.0,
                miss: 2.0,
                bypass: 2.0,
                error: 0.0,
                hit_ratio: Some(0.3333333333333333)
            }
        );
        assert_eq!(totals.provider_errors["broken"]["provider_unavailable"], 1.0);
        assert_eq!(totals.provider_errors["broken"]["timeout"], 2.0);
        assert_eq!(totals.inflight, 0.0);
        assert_eq!(totals.redis_up, None);
    }

    #[test]
    fn histograms_are_summed_bucket_by_bucket_without_the_inf_bucket() {
        let latency = aggregate(&parse(TEXT)).latency_seconds;
        assert_eq!(latency.count, 5.0);
        assert!(close(latency.sum, 2.55));
        assert_eq!(latency.buckets, vec![[0.001, 1.0], [0.01, 3.0], [0.1, 4.0]]);
        // rank 2.5 falls in (0.001, 0.01] holding observations 2 and 3: halfway through it.
        assert!(close(latency.p50.unwrap(), 0.001 + 0.009 * 0.75));
        // ranks 4.5 and 4.95 fall in +Inf: the highest finite bound.
        assert_eq!(latency.p90, Some(0.1));
        assert_eq!(latency.p99, Some(0.1));
    }

    #[test]
    fn quantiles_interpolate_like_prometheus() {
        let buckets = [[0.1, 10.0], [0.2, 20.0], [0.4, 20.0], [0.8, 40.0]];
        // The first bucket starts at 0.
        assert_eq!(quantile(0.25, &buckets, 40.0), Some(0.1));
        assert!(close(quantile(0.125, &buckets, 40.0).unwrap(), 0.05));
        // An empty bucket is skipped: rank 30 lies halfway through (0.4, 0.8].
        assert!(close(quantile(0.75, &buckets, 40.0).unwrap(), 0.6));
        assert_eq!(quantile(0.5, &[], 0.0), None);
        assert_eq!(
            quantile(0.5, &[], 3.0),
            None,
            "only the +Inf bucket: no finite bound"
        );
        assert_eq!(quantile(0.5, &[[0.0, 2.0], [1.0, 4.0]], 4.0), Some(0.0));
    }

    #[test]
    fn missing_metrics_read_as_zero() {
        let totals = aggregate(&parse("# nothing recorded yet\nprocess_cpu_seconds_total 1.5\n"));
        assert_eq!(totals, Totals::default());
        let json = serde_json::to_value(&totals).unwrap();
        assert_eq!(json["requests"]["total"], 0.0);
        assert_eq!(json["latency_seconds"]["buckets"], serde_json::json!([]));
        assert_eq!(json["latency_seconds"]["p99"], serde_json::Value::Null);
        assert_eq!(json["tokens"]["completion"], 0.0);
        assert_eq!(json["provider_errors"], serde_json::json!({}));
    }
}
