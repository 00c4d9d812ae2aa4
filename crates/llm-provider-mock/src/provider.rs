//! The mock provider's behaviour.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures::stream;
use llm_core::{
    AssistantMessage, ChatChunk, ChatRequest, ChatResponse, Choice, ChunkStream, Delta, ErrorKind,
    FinishReason, LlmError, ModelInfo, Provider, ProviderHealth, ProviderId, Role, Usage, unix_time_secs,
};

use crate::settings::{MockSettings, ScriptedFailure};

/// The deterministic echo provider.
///
/// It counts the calls it starts ([`MockProvider::calls`]) and the calls its caller gave up on before
/// they finished ([`MockProvider::cancelled`]): a `complete` or `stream` future dropped before it
/// returned, or a stream dropped before its last item. Each cancel is also logged (`mock call
/// cancelled`, at info), so a test that only sees the server's logs can observe it.
#[derive(Debug)]
pub struct MockProvider {
    settings: MockSettings,
    answers: AtomicU64,
    calls: AtomicU64,
    cancelled: Arc<AtomicU64>,
}

/// Counts a cancel when dropped before [`CallGuard::finish`].
struct CallGuard {
    provider: ProviderId,
    cancelled: Arc<AtomicU64>,
    finished: bool,
}

impl CallGuard {
    /// The call ended normally (answered or failed): dropping the guard is no cancel.
    fn finish(mut self) {
        self.finished = true;
    }
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        if !self.finished {
            self.cancelled.fetch_add(1, Ordering::Relaxed);
            tracing::info!(provider = %self.provider, "mock call cancelled");
        }
    }
}

/// What the mock will say to one request.
struct Answer {
    id: String,
    model: String,
    created: u64,
    text: String,
    finish_reason: FinishReason,
    usage: Usage,
}

impl MockProvider {
    /// A provider behaving as `settings` says.
    pub fn new(settings: MockSettings) -> Self {
        Self {
            settings,
            answers: AtomicU64::new(0),
            calls: AtomicU64::new(0),
            cancelled: Arc::new(AtomicU64::new(0)),
        }
    }

    /// How many `complete` and `stream` calls were started.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// How many calls were dropped by their caller before they finished.
    pub fn cancelled(&self) -> u64 {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// Starts a call: its guard, and the scripted failure that applies to it, if any.
    fn start_call(&self, operation: &'static str) -> (CallGuard, Option<ScriptedFailure>) {
        let call = self.calls.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(provider = %self.settings.id, operation, call, "mock call started");
        let guard = CallGuard {
            provider: self.settings.id.clone(),
            cancelled: self.cancelled.clone(),
            finished: false,
        };
        let failure = self.settings.failure.filter(|failure| failure.applies_to(call));
        (guard, failure)
    }

    fn answer(&self, model: &str, request: &ChatRequest) -> Answer {
        let serial = self.answers.fetch_add(1, Ordering::Relaxed);
        let echo = request.last_user_text().unwrap_or_default();
        let words: Vec<&str> = echo.split_whitespace().collect();
        let (text, finish_reason) = match request.max_output_tokens() {
            Some(max) if words.len() > max as usize => {
                (words[..max as usize].join(" "), FinishReason::Length)
            }
            _ => (echo.clone(), FinishReason::Stop),
        };
        let prompt_tokens = request
            .messages
            .iter()
            .filter_map(|message| message.content.as_ref())
            .map(|content| content.joined_text().split_whitespace().count() as u64)
            .sum();
        let completion_tokens = text.split_whitespace().count() as u64;
        Answer {
            id: format!("chatcmpl-mock-{serial}"),
            model: model.to_owned(),
            created: unix_time_secs(),
            text,
            finish_reason,
            usage: Usage::new(prompt_tokens, completion_tokens),
        }
    }

    fn scripted_error(&self, failure: ScriptedFailure) -> LlmError {
        let error = LlmError::from_provider(
            &self.settings.id,
            failure.kind,
            format!("mock provider scripted failure: {}", failure.kind.code()),
        );
        match failure.kind {
            ErrorKind::RateLimited => error.with_retry_after(Some(
                failure
                    .retry_after
                    .unwrap_or(ScriptedFailure::DEFAULT_RETRY_AFTER),
            )),
            _ => error,
        }
    }

    async fn wait(duration: Duration) {
        if !duration.is_zero() {
            tokio::time::sleep(duration).await;
        }
    }
}

/// Splits `text` into `count` pieces on char boundaries; concatenated they give `text` back.
fn split_into_pieces(text: &str, count: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let count = count.max(1);
    let size = chars.len().div_ceil(count).max(1);
    let mut pieces: Vec<String> = chars.chunks(size).map(|piece| piece.iter().collect()).collect();
    pieces.resize(count, String::new());
    pieces
}

#[async_trait]
impl Provider for MockProvider {
    fn id(&self) -> &ProviderId {
        &self.settings.id
    }

    fn kind(&self) -> &'static str {
        "mock"
    }

    async fn complete(&self, model: &str, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let (guard, failure) = self.start_call("complete");
        Self::wait(self.settings.latency).await;
        guard.finish();
        if let Some(failure) = failure {
            return Err(self.scripted_error(failure));
        }
        let answer = self.answer(model, request);
        Ok(ChatResponse {
            id: answer.id,
            object: "chat.completion".to_owned(),
            created: answer.created,
            model: answer.model,
            choices: vec![Choice {
                index: 0,
                message: AssistantMessage::text(answer.text),
                finish_reason: Some(answer.finish_reason),
                logprobs: None,
            }],
            usage: Some(answer.usage),
            system_fingerprint: None,
            extra: Default::default(),
        })
    }

    async fn stream(&self, model: &str, request: &ChatRequest) -> Result<ChunkStream, LlmError> {
        let (guard, failure) = self.start_call("stream");
        Self::wait(self.settings.latency).await;
        if let Some(
            failure @ ScriptedFailure {
                after_chunks: None, ..
            },
        ) = failure
        {
            guard.finish();
            return Err(self.scripted_error(failure));
        }
        let answer = self.answer(model, request);
        let chunk = |delta: Delta, finish: Option<FinishReason>| {
            ChatChunk::with_delta(&answer.id, &answer.model, answer.created, delta, finish)
        };
        let mut items: Vec<Result<ChatChunk, LlmError>> = Vec::with_capacity(self.settings.chunk_count + 3);
        items.push(Ok(chunk(
            Delta {
                role: Some(Role::Assistant),
                content: Some(String::new()),
                ..Delta::default()
            },
            None,
        )));
        let pieces = split_into_pieces(&answer.text, self.settings.chunk_count);
        let fail_after = failure.and_then(|failure| failure.after_chunks.map(|after| (after, failure)));
        for (sent, piece) in pieces.into_iter().enumerate() {
            if let Some((after, failure)) = fail_after
                && sent == after
            {
                items.push(Err(self.scripted_error(failure)));
                break;
            }
            items.push(Ok(chunk(Delta::text(piece), None)));
        }
        let failed = items.last().is_some_and(Result::is_err);
        if !failed {
            if let Some((_, failure)) = fail_after {
                items.push(Err(self.scripted_error(failure)));
            } else {
                items.push(Ok(chunk(Delta::default(), Some(answer.finish_reason))));
                items.push(Ok(ChatChunk::usage_only(
                    &answer.id,
                    &answer.model,
                    answer.created,
                    answer.usage.clone(),
                )));
            }
        }
        let delay = self.settings.chunk_delay;
        let total = items.len();
        // The guard travels with the stream and is finished once the last item is handed out; dropping
        // the stream (or the pending delay) before that is a cancel.
        let state = (items.into_iter().enumerate(), Some(guard));
        let stream = stream::unfold(state, move |(mut items, mut guard)| async move {
            let (position, item) = items.next()?;
            if position > 0 {
                Self::wait(delay).await;
            }
            if position + 1 == total
                && let Some(guard) = guard.take()
            {
                guard.finish();
            }
            Some((item, (items, guard)))
        });
        Ok(Box::pin(stream))
    }

    async fn models(&self) -> Result<Vec<ModelInfo>, LlmError> {
        Ok(self.settings.models.iter().map(ModelInfo::named).collect())
    }

    async fn health(&self) -> ProviderHealth {
        let result = if self.settings.healthy {
            Ok(())
        } else {
            Err(LlmError::from_provider(
                &self.settings.id,
                ErrorKind::ProviderUnavailable,
                "mock provider is scripted unhealthy",
            ))
        };
        ProviderHealth::from_probe(Duration::ZERO, result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_rejoin_to_the_text() {
        for text in ["", "a", "hello wörld, how are you?"] {
            for count in 1..6 {
                let pieces = split_into_pieces(text, count);
                assert_eq!(pieces.len(), count);
                assert_eq!(pieces.concat(), text);
            }
        }
    }
}
