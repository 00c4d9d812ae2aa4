//! The content filter on answers: complete answers are redacted or cut in place; streams pass their
//! text deltas through the filter, which holds back a short tail so a match split across deltas is
//! still caught, and a block ends the stream with a `content_filter` finish.

use std::collections::HashMap;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use llm_core::{ChatChunk, ChatResponse, ChunkStream, Delta, FinishReason, LlmError};
use llm_validation::{ContentFilter, OutputFilter, OutputVerdict};

/// Filters every choice of a complete answer: redactions in place; a block empties the content and
/// sets the `content_filter` finish.
pub(crate) fn filter_response(filter: &OutputFilter, response: &mut ChatResponse) {
    for choice in &mut response.choices {
        let Some(content) = choice.message.content.as_mut() else {
            continue;
        };
        if let OutputVerdict::Blocked { rule } = filter.filter_text(content) {
            tracing::info!(rule = %rule, "answer blocked by the content filter");
            content.clear();
            choice.finish_reason = Some(FinishReason::ContentFilter);
        }
    }
}

/// Which rules apply to one answer: the filter, the model name and the client key.
pub(crate) struct OutputRules {
    pub filter: ContentFilter,
    pub model: String,
    pub key: Option<String>,
}

impl OutputRules {
    /// A fresh filter state, when output rules apply.
    pub(crate) fn state(&self) -> Option<OutputFilter> {
        self.filter.output(&self.model, self.key.as_deref())
    }
}

/// What the filter made of a chunk.
enum Filtered {
    /// The chunk with its text filtered.
    Pass(ChatChunk),
    /// A block rule matched: this finish chunk ends the stream.
    Blocked(ChatChunk),
}

/// A stream through the output filter, one filter state per choice.
pub(crate) struct FilteredStream {
    inner: ChunkStream,
    rules: OutputRules,
    choices: HashMap<u32, OutputFilter>,
    ended: bool,
}

impl FilteredStream {
    pub(crate) fn new(inner: ChunkStream, rules: OutputRules) -> Self {
        Self {
            inner,
            rules,
            choices: HashMap::new(),
            ended: false,
        }
    }

    /// Rewrites a chunk's text through the filter; a block gives the finish chunk that ends the stream.
    fn filter_chunk(&mut self, mut chunk: ChatChunk) -> Filtered {
        for choice in &mut chunk.choices {
            if !self.choices.contains_key(&choice.index) {
                let Some(state) = self.rules.state() else { continue };
                self.choices.insert(choice.index, state);
            }
            let Some(filter) = self.choices.get_mut(&choice.index) else {
                continue;
            };
            let mut text = match choice.delta.content.take() {
                Some(delta) => filter.push_delta(&delta),
                None => Ok(String::new()),
            };
            if choice.finish_reason.is_some() {
                text = text.and_then(|mut held| {
                    held.push_str(&filter.finish()?);
                    Ok(held)
                });
            }
            match text {
                Ok(text) => choice.delta.content = (!text.is_empty()).then_some(text),
                Err(blocked) => {
                    tracing::info!(rule = %blocked.rule, "stream stopped by the content filter");
                    let finish = ChatChunk::with_delta(
                        chunk.id.clone(),
                        chunk.model.clone(),
                        chunk.created,
                        Delta::default(),
                        Some(FinishReason::ContentFilter),
                    );
                    return Filtered::Blocked(finish);
                }
            }
        }
        Filtered::Pass(chunk)
    }
}

impl Stream for FilteredStream {
    type Item = Result<ChatChunk, LlmError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.ended {
            return Poll::Ready(None);
        }
        match this.inner.as_mut().poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(chunk))) => match this.filter_chunk(chunk) {
                Filtered::Pass(chunk) => Poll::Ready(Some(Ok(chunk))),
                Filtered::Blocked(finish) => {
                    this.ended = true;
                    Poll::Ready(Some(Ok(finish)))
                }
            },
            Poll::Ready(other) => Poll::Ready(other),
        }
    }
}
