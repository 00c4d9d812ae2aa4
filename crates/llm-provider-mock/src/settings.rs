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
}
