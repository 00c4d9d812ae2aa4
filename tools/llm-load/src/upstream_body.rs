//! The mock upstream's answers, rendered once at start, and the body type that sends them.
//!
//! Per request the mock only picks a pre-rendered `Bytes` (a reference-count increment) and, for
//! paced streams, sleeps between chunks.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use serde_json::json;
use tokio::time::Sleep;

/// The model the mock serves.
pub const MODEL: &str = "bench-model";
/// Tokens the mock reports for every prompt.
const PROMPT_TOKENS: u32 = 12;

/// Every answer the mock can give.
pub struct RenderedAnswers {
    /// `GET /v1/models`.
    pub models: Bytes,
    /// A non-streamed `chat.completion`.
    pub completion: Bytes,
    /// The SSE events of a stream: the content chunks (the last one finishes) then, when
    /// `include_usage` was asked, the usage chunk, then `[DONE]`; per usage choice.
    pub stream_frames: [Arc<[Bytes]>; 2],
    /// The same streams as single buffers, for an unpaced mock.
    pub stream_whole: [Bytes; 2],
}

impl RenderedAnswers {
    /// Renders the answers for streams of `chunks` content pieces.
    pub fn render(chunks: u32) -> Self {
        let chunks = chunks.max(1);
        let pieces: Vec<String> = (0..chunks).map(|index| format!("tok{index} ")).collect();
        let content: String = pieces.concat();
        let usage = json!({
            "prompt_tokens": PROMPT_TOKENS,
            "completion_tokens": chunks,
            "total_tokens": PROMPT_TOKENS + chunks,
        });
        let models = json!({
            "object": "list",
            "data": [{"id": MODEL, "object": "model", "created": 1_700_000_000, "owned_by": "llm-load"}],
        });
        let completion = json!({
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": MODEL,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }],
            "usage": usage,
        });
        let events: Vec<Bytes> = pieces
            .iter()
            .enumerate()
            .map(|(index, piece)| {
                let last = index + 1 == pieces.len();
                let mut delta = json!({"content": piece});
                if index == 0 {
                    delta["role"] = json!("assistant");
                }
                sse(&json!({
                    "id": "chatcmpl-bench",
                    "object": "chat.completion.chunk",
                    "created": 1_700_000_000,
                    "model": MODEL,
                    "choices": [{
                        "index": 0,
                        "delta": delta,
                        "finish_reason": if last { json!("stop") } else { json!(null) },
                    }],
                }))
            })
            .collect();
        let usage_event = sse(&json!({
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 1_700_000_000,
            "model": MODEL,
            "choices": [],
            "usage": usage,
        }));
        let done = Bytes::from_static(b"data: [DONE]\n\n");
        let without_usage = paced_frames(&events, std::slice::from_ref(&done));
        let with_usage = paced_frames(&events, &[usage_event, done]);
        Self {
            models: Bytes::from(models.to_string()),
            completion: Bytes::from(completion.to_string()),
            stream_whole: [concat(&without_usage), concat(&with_usage)],
            stream_frames: [without_usage, with_usage],
        }
    }

    /// The stream's frames (index 1: with the usage chunk).
    pub fn stream(&self, include_usage: bool) -> (&Arc<[Bytes]>, &Bytes) {
        let index = usize::from(include_usage);
        (&self.stream_frames[index], &self.stream_whole[index])
    }
}

/// One SSE event: `data: JSON\n\n`.
fn sse(value: &serde_json::Value) -> Bytes {
    Bytes::from(format!("data: {value}\n\n"))
}

/// The content events, with the tail (usage, `[DONE]`) joined to the last one: the mock pauses
/// only between content chunks.
fn paced_frames(events: &[Bytes], tail: &[Bytes]) -> Arc<[Bytes]> {
    let mut frames: Vec<Bytes> = events.to_vec();
    let mut last = frames.pop().map(|event| event.to_vec()).unwrap_or_default();
    for event in tail {
        last.extend_from_slice(event);
    }
    frames.push(Bytes::from(last));
    frames.into()
}

fn concat(frames: &[Bytes]) -> Bytes {
    let mut whole = Vec::with_capacity(frames.iter().map(Bytes::len).sum());
    for frame in frames {
        whole.extend_from_slice(frame);
    }
    Bytes::from(whole)
}

/// A response body: one buffer, or frames with a pause before each but the first.
pub enum MockBody {
    /// Sent in one frame (hyper sets `content-length`).
    Whole(Option<Bytes>),
    /// Sent frame by frame (chunked), `delay` apart.
    Paced {
        frames: Arc<[Bytes]>,
        next: usize,
        delay: Duration,
        pause: Option<Pin<Box<Sleep>>>,
    },
}

impl MockBody {
    /// Frames sent `delay` apart.
    pub fn paced(frames: Arc<[Bytes]>, delay: Duration) -> Self {
        Self::Paced {
            frames,
            next: 0,
            delay,
            pause: None,
        }
    }
}

impl Body for MockBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            Self::Whole(bytes) => Poll::Ready(bytes.take().map(|bytes| Ok(Frame::data(bytes)))),
            Self::Paced {
                frames,
                next,
                delay,
                pause,
            } => {
                let Some(frame) = frames.get(*next) else {
                    return Poll::Ready(None);
                };
                if *next > 0 {
                    let sleep = pause.get_or_insert_with(|| Box::pin(tokio::time::sleep(*delay)));
                    if sleep.as_mut().poll(context).is_pending() {
                        return Poll::Pending;
                    }
                    *pause = None;
                }
                *next += 1;
                Poll::Ready(Some(Ok(Frame::data(frame.clone()))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Whole(bytes) => bytes.is_none(),
            Self::Paced { frames, next, .. } => *next >= frames.len(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Whole(Some(bytes)) => SizeHint::with_exact(bytes.len() as u64),
            Self::Whole(None) => SizeHint::with_exact(0),
            Self::Paced { .. } => SizeHint::default(),
        }
    }
}
