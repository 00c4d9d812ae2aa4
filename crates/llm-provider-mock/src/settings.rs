//! What a mock provider instance does.

use std::time::Duration;

use llm_core::{ErrorKind, ProviderId};

/// Behaviour of one mock provider instance.
#[derive(Clone, Debug)]
pub struct MockSettings {
    /// The provider id.
    pub id: ProviderId,
    /// The models it lists (it answers for any model name).
    pub models: Vec<String>,
    /// Delay before an answer (or before the first chunk of a stream).
    pub latency: Duration,
    /// How many content chunks a streamed answer is split into (at least one).
    pub chunk_count: usize,
    /// Delay between chunks.
    pub chunk_delay: Duration,
    /// A failure to play instead of (part of) the answer.
    pub failure: Option<ScriptedFailure>,
    /// What the health probe reports.
    pub healthy: bool,
}

impl MockSettings {
    /// An instant, healthy echo provider serving the model `echo`.
    pub fn new(id: impl Into<ProviderId>) -> Self {
        Self {
            id: id.into(),
            models: vec!["echo".to_owned()],
            latency: Duration::ZERO,
            chunk_count: 4,
            chunk_delay: Duration::ZERO,
            failure: None,
            healthy: true,
        }
    }
}

/// A scripted failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScriptedFailure {
    /// The kind of the error returned.
    pub kind: ErrorKind,
    /// `None`: fail before answering. `Some(n)`: a stream fails after `n` content chunks; a
    /// non-streamed request fails outright.
    pub after_chunks: Option<usize>,
    /// `None`: every call fails. `Some(n)`: the first `n` calls to this provider instance fail (streamed
    /// and non-streamed calls share the count), later calls answer normally.
    pub times: Option<u32>,
    /// The `retry_after` a rate-limited failure carries; one second when `None`.
    pub retry_after: Option<Duration>,
}

impl ScriptedFailure {
    /// The `retry_after` of a rate-limited failure when none is scripted.
    pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);

    /// Every call fails with `kind` before answering.
    pub fn new(kind: ErrorKind) -> Self {
        Self {
            kind,
            after_chunks: None,
            times: None,
            retry_after: None,
        }
    }

    /// Streams fail after `chunks` content chunks instead of before answering.
    #[must_use]
    pub fn after_chunks(mut self, chunks: usize) -> Self {
        self.after_chunks = Some(chunks);
        self
    }

    /// Only the first `times` calls fail.
    #[must_use]
    pub fn times(mut self, times: u32) -> Self {
        self.times = Some(times);
        self
    }

    /// A rate-limited failure asks callers to wait `retry_after`.
    #[must_use]
    pub fn retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = Some(retry_after);
        self
    }

    /// Whether the call with this zero-based serial number fails.
    pub fn applies_to(&self, call: u64) -> bool {
        self.times.is_none_or(|times| call < u64::from(times))
    }
}
