//! The load generator: `concurrency` workers, each on its own keep-alive connection, sending chat
//! requests back to back for a duration or until a shared request budget runs out.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::StatusCode;

use crate::client::{CacheOutcome, Connection, is_too_many_open_files};
use crate::histogram::Samples;

/// The chat path, the same on the mock and on the gateway.
pub const CHAT_PATH: &str = "/v1/chat/completions";
/// Numbers unique prompts, across every workload of the process: a streamed request must not hit
/// the answer a plain one stored for the same prompt.
static NEXT_PROMPT: AtomicU64 = AtomicU64::new(1);
/// Distinct error descriptions kept for the report.
const ERROR_SAMPLES: usize = 8;

/// Streamed or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Chat,
    Stream,
}

impl Kind {
    /// Its name in the table.
    pub fn name(self) -> &'static str {
        match self {
            Self::Chat => "chat",
            Self::Stream => "stream",
        }
    }
}

/// What the workers send, where, and the counters they share.
pub struct Workload {
    pub address: SocketAddr,
    /// `bench-model` to the mock, `bench/bench-model` through the gateway.
    pub model: &'static str,
    pub kind: Kind,
    /// Every request the same prompt (cache hits) or a new one (cache misses).
    pub repeat_prompt: bool,
    /// Requests finished, errors included (the soak's progress).
    pub completed: AtomicU64,
    in_flight: AtomicU64,
    /// The most requests in flight at once.
    pub max_in_flight: AtomicU64,
}

impl Workload {
    pub fn new(address: SocketAddr, model: &'static str, kind: Kind, repeat_prompt: bool) -> Self {
        Self {
            address,
            model,
            kind,
            repeat_prompt,
            completed: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            max_in_flight: AtomicU64::new(0),
        }
    }

    /// A chat request body; `temperature: 0` so the gateway's cache looks it up. Streams ask for
    /// the usage chunk, as the gateway does upstream, so direct and gateway answers match.
    fn body(&self) -> Bytes {
        let prompt = if self.repeat_prompt {
            0
        } else {
            NEXT_PROMPT.fetch_add(1, Ordering::Relaxed)
        };
        let stream = match self.kind {
            Kind::Chat => "",
            Kind::Stream => r#","stream":true,"stream_options":{"include_usage":true}"#,
        };
        Bytes::from(format!(
            r#"{{"model":"{}","temperature":0,"max_tokens":64,"messages":[{{"role":"user","content":"benchmark prompt number {prompt}"}}]{stream}}}"#,
            self.model
        ))
    }
}

/// When the workers stop.
pub enum Budget {
    /// Start no request after this instant.
    Until(Instant),
    /// Start this many requests between all workers.
    Requests(AtomicI64),
}

impl Budget {
    fn take(&self) -> bool {
        match self {
            Self::Until(deadline) => Instant::now() < *deadline,
            Self::Requests(left) => left.fetch_sub(1, Ordering::Relaxed) > 0,
        }
    }
}

/// What a run of the workers measured.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    /// To the body's last byte, successful requests only.
    pub latency: Samples,
    /// To the body's first byte (a stream's first event), successful requests only.
    pub first_byte: Samples,
    pub ok: u64,
    pub errors: u64,
    pub error_samples: Vec<String>,
    pub cache_hits: u64,
    pub cache_misses: u64,
    /// Wall time from the first worker's start to the last one's end.
    pub elapsed: Duration,
    /// A connect failed with EMFILE (too many open files).
    pub out_of_file_descriptors: bool,
}

impl Tally {
    /// Adds another run's numbers.
    pub fn merge(&mut self, other: &Self) {
        self.latency.merge(&other.latency);
        self.first_byte.merge(&other.first_byte);
        self.ok += other.ok;
        self.errors += other.errors;
        for sample in &other.error_samples {
            self.note_error(sample.clone());
        }
        self.cache_hits += other.cache_hits;
        self.cache_misses += other.cache_misses;
        self.elapsed += other.elapsed;
        self.out_of_file_descriptors |= other.out_of_file_descriptors;
    }

    /// Successful requests per second.
    pub fn requests_per_second(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 {
            self.ok as f64 / seconds
        } else {
            0.0
        }
    }

    fn note_error(&mut self, description: String) {
        if self.error_samples.len() < ERROR_SAMPLES && !self.error_samples.contains(&description) {
            self.error_samples.push(description);
        }
    }

    fn fail(&mut self, description: String) {
        self.errors += 1;
        self.note_error(description);
    }
}

/// Runs `concurrency` workers against `workload` until `budget` is spent.
pub async fn drive(workload: Arc<Workload>, concurrency: usize, budget: Budget) -> Tally {
    let budget = Arc::new(budget);
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|_| tokio::spawn(worker(Arc::clone(&workload), Arc::clone(&budget))))
        .collect();
    let mut tally = Tally::default();
    for worker in workers {
        match worker.await {
            Ok(part) => tally.merge(&part),
            Err(error) => tally.fail(format!("worker task failed: {error}")),
        }
    }
    tally.elapsed = started.elapsed();
    tally
}

async fn worker(workload: Arc<Workload>, budget: Arc<Budget>) -> Tally {
    let mut tally = Tally::default();
    let mut connection: Option<Connection> = None;
    while budget.take() {
        let open = match connection.as_mut() {
            Some(open) => open,
            None => match Connection::open(workload.address).await {
                Ok(open) => connection.insert(open),
                Err(error) => {
                    tally.out_of_file_descriptors |= is_too_many_open_files(&error);
                    tally.fail(format!("connect: {error}"));
                    workload.completed.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let body = workload.body();
        let now_in_flight = workload.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        workload.max_in_flight.fetch_max(now_in_flight, Ordering::Relaxed);
        let result = open.post_json(CHAT_PATH, body).await;
        workload.in_flight.fetch_sub(1, Ordering::Relaxed);
        workload.completed.fetch_add(1, Ordering::Relaxed);
        let exchange = match result {
            Ok(exchange) => exchange,
            Err(error) => {
                tally.fail(format!("transport: {error}"));
                connection = None;
                continue;
            }
        };
        match exchange.cache {
            CacheOutcome::Hit => tally.cache_hits += 1,
            CacheOutcome::Miss => tally.cache_misses += 1,
            CacheOutcome::Bypass | CacheOutcome::Absent => {}
        }
        if exchange.status != StatusCode::OK {
            tally.fail(format!(
                "status {}: {}",
                exchange.status.as_u16(),
                exchange.error_body.trim()
            ));
        } else if workload.kind == Kind::Stream && !exchange.ends_with_done {
            tally.fail("stream ended without `data: [DONE]`".to_owned());
        } else {
            tally.ok += 1;
            tally.latency.record(exchange.total);
            tally.first_byte.record(exchange.first_byte);
        }
    }
    tally
}
