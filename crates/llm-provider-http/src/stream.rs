//! The SSE driver: a response body through a vendor's [`EventTranslator`] into canonical chunks.
//!
//! The driver owns what every vendor shares: SSE framing, the idle deadline between events, transport
//! failures, oversized lines and bodies that stop mid-event. The translator owns what differs: what an
//! event means and which event (or end of body) completes the answer. A stream ends cleanly only when
//! the translator says so; every other end is one `Err` item after the chunks already translated.

use std::collections::VecDeque;
use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use llm_core::sse::{SseEvent, SseStream, SseStreamError};
use llm_core::{ChatChunk, ChunkStream, LlmError, ProviderId};
use tokio::time::{Instant, Sleep};

use crate::errors;

/// Whether the vendor's stream is complete after an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// More events are due.
    More,
    /// The terminal event arrived (`[DONE]`, `message_stop`): the answer is complete.
    Finished,
}

/// One vendor's stream protocol: events in, canonical chunks out.
pub trait EventTranslator: Send + 'static {
    /// Translates one event, appending the chunks it completes to `out`. An error ends the stream
    /// after the chunks already appended.
    fn push(&mut self, event: &SseEvent, out: &mut Vec<ChatChunk>) -> Result<Progress, LlmError>;

    /// The body ended at an event boundary before any terminal event: append what completes the
    /// answer (a vendor without a terminator), or say how the stream was cut.
    fn finish(&mut self, out: &mut Vec<ChatChunk>) -> Result<(), LlmError>;
}

/// The driver as a hand-written stream: its state stays in place between items (an `unfold` moved
/// it into a new future for every chunk) and one idle timer is re-armed instead of a new timeout
/// registered per event.
struct Driver<S, T> {
    events: SseStream<S>,
    translator: T,
    provider: ProviderId,
    idle: Duration,
    /// Created on the first poll (a runtime is needed then, not when the stream is built).
    idle_timer: Option<Pin<Box<Sleep>>>,
    /// Whether the timer is set for the event being waited for.
    waiting: bool,
    ready: VecDeque<Result<ChatChunk, LlmError>>,
    scratch: Vec<ChatChunk>,
    done: bool,
}

// No field is ever pinned (the timer is boxed, the byte stream is `Unpin`), so the driver moves
// freely whatever the translator is.
impl<S, T> Unpin for Driver<S, T> {}

/// The canonical chunks of a streamed response. Needs a Tokio runtime with time when polled.
pub fn chunk_stream<T: EventTranslator>(
    provider: ProviderId,
    response: reqwest::Response,
    idle: Duration,
    translator: T,
) -> ChunkStream {
    chunk_stream_from(provider, Box::pin(response.bytes_stream()), idle, translator)
}

/// [`chunk_stream`] over any byte stream (tests, benches).
pub fn chunk_stream_from<S, E, T>(
    provider: ProviderId,
    bytes: S,
    idle: Duration,
    translator: T,
) -> ChunkStream
where
    S: Stream<Item = Result<Bytes, E>> + Send + Unpin + 'static,
    E: StdError + Send + Sync + 'static,
    T: EventTranslator,
{
    Box::pin(Driver {
        events: SseStream::new(bytes),
        translator,
        provider,
        idle,
        idle_timer: None,
        waiting: false,
        ready: VecDeque::new(),
        scratch: Vec::new(),
        done: false,
    })
}

impl<S, E, T> Driver<S, T>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: StdError + Send + Sync + 'static,
    T: EventTranslator,
{
    /// The next event, or the idle deadline passing first; `Pending` while neither happened.
    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Result<Progress, LlmError>> {
        if !self.waiting {
            let deadline = Instant::now() + self.idle;
            match &mut self.idle_timer {
                Some(timer) => timer.as_mut().reset(deadline),
                None => self.idle_timer = Some(Box::pin(tokio::time::sleep_until(deadline))),
            }
            self.waiting = true;
        }
        let event = match self.events.poll_next_unpin(cx) {
            Poll::Ready(event) => event,
            Poll::Pending => {
                let expired = self
                    .idle_timer
                    .as_mut()
                    .is_some_and(|timer| timer.as_mut().poll(cx).is_ready());
                if !expired {
                    return Poll::Pending;
                }
                self.waiting = false;
                return Poll::Ready(Err(errors::timeout(
                    &self.provider,
                    "no stream event arrived",
                    self.idle,
                )));
            }
        };
        self.waiting = false;
        Poll::Ready(match event {
            None if self.events.ended_mid_event() => Err(errors::protocol(
                &self.provider,
                "the stream was cut in the middle of an event",
            )),
            None => self
                .translator
                .finish(&mut self.scratch)
                .map(|()| Progress::Finished),
            Some(Err(SseStreamError::Transport(cause))) => Err(errors::protocol(
                &self.provider,
                "the stream was cut: the connection failed",
            )
            .with_cause(cause)),
            Some(Err(SseStreamError::LineTooLong(cause))) => Err(errors::protocol(
                &self.provider,
                "the upstream stream sent an oversized line",
            )
            .with_cause(cause)),
            Some(Ok(event)) => self.translator.push(&event, &mut self.scratch),
        })
    }
}

impl<S, E, T> Stream for Driver<S, T>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: StdError + Send + Sync + 'static,
    T: EventTranslator,
{
    type Item = Result<ChatChunk, LlmError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let driver = self.get_mut();
        loop {
            if let Some(item) = driver.ready.pop_front() {
                return Poll::Ready(Some(item));
            }
            if driver.done {
                return Poll::Ready(None);
            }
            let outcome = ready!(driver.poll_event(cx));
            driver.ready.extend(driver.scratch.drain(..).map(Ok));
            match outcome {
                Ok(Progress::More) => {}
                Ok(Progress::Finished) => {
                    tracing::debug!(provider = %driver.provider, "stream complete");
                    driver.done = true;
                }
                Err(error) => {
                    tracing::debug!(provider = %driver.provider, kind = %error.kind(), "stream failed");
                    driver.ready.push_back(Err(error));
                    driver.done = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use futures::stream;
    use llm_core::{Delta, ErrorKind};

    use super::*;

    /// A toy protocol: each event is a text piece, `end` finishes; a body end without `end` is cut
    /// unless `lenient`.
    struct Toy {
        lenient: bool,
    }

    impl EventTranslator for Toy {
        fn push(&mut self, event: &SseEvent, out: &mut Vec<ChatChunk>) -> Result<Progress, LlmError> {
            match event.data.as_str() {
                "end" => Ok(Progress::Finished),
                "bad" => Err(LlmError::internal("bad event")),
                text => {
                    out.push(ChatChunk::with_delta("id", "m", 0, Delta::text(text), None));
                    Ok(Progress::More)
                }
            }
        }

        fn finish(&mut self, _out: &mut Vec<ChatChunk>) -> Result<(), LlmError> {
            if self.lenient {
                Ok(())
            } else {
                Err(errors::protocol(&ProviderId::new("toy"), "no end"))
            }
        }
    }

    async fn run(body: Vec<Result<Bytes, io::Error>>, lenient: bool) -> Vec<Result<String, ErrorKind>> {
        let bytes = stream::iter(body);
        chunk_stream_from("toy".into(), bytes, Duration::from_secs(5), Toy { lenient })
            .map(|item| {
                item.map(|chunk| chunk.text_delta().unwrap_or("").to_owned())
                    .map_err(|e| e.kind())
            })
            .collect()
            .await
    }

    fn body(text: &'static str) -> Vec<Result<Bytes, io::Error>> {
        vec![Ok(Bytes::from_static(text.as_bytes()))]
    }

    #[tokio::test]
    async fn ends_cleanly_only_when_the_translator_says_so() {
        assert_eq!(
            run(body("data: a\n\ndata: end\n\ndata: ignored\n\n"), false).await,
            [Ok("a".into())]
        );
        assert_eq!(
            run(body("data: a\n\n"), false).await,
            [Ok("a".into()), Err(ErrorKind::UpstreamProtocol)]
        );
        assert_eq!(run(body("data: a\n\n"), true).await, [Ok("a".into())]);
        assert_eq!(
            run(body("data: a\n\ndata: b"), true).await,
            [Ok("a".into()), Err(ErrorKind::UpstreamProtocol)],
            "a body cut mid-event is never complete"
        );
        assert_eq!(
            run(body("data: a\n\ndata: bad\n\ndata: c\n\n"), true).await,
            [Ok("a".into()), Err(ErrorKind::Internal)]
        );
        let mut cut = body("data: a\n\n");
        cut.push(Err(io::Error::other("reset")));
        assert_eq!(
            run(cut, true).await,
            [Ok("a".into()), Err(ErrorKind::UpstreamProtocol)]
        );
    }

    /// Events arriving within the idle deadline keep the stream alive however long it runs in all;
    /// the deadline counts from the last event, not from the stream's start.
    #[tokio::test(start_paused = true)]
    async fn the_idle_deadline_restarts_with_every_event() {
        let gap = Duration::from_millis(40);
        let bytes = stream::iter(["a", "b", "c", "d", "e", "end"]).then(move |text| async move {
            tokio::time::sleep(gap).await;
            Ok::<_, io::Error>(Bytes::from(format!("data: {text}\n\n")))
        });
        let started = tokio::time::Instant::now();
        let items: Vec<_> = chunk_stream_from(
            "toy".into(),
            Box::pin(bytes),
            Duration::from_millis(100),
            Toy { lenient: false },
        )
        .map(|item| item.map(|chunk| chunk.text_delta().unwrap_or("").to_owned()))
        .collect()
        .await;
        assert_eq!(
            items.into_iter().map(Result::unwrap).collect::<Vec<_>>(),
            ["a", "b", "c", "d", "e"]
        );
        assert!(started.elapsed() >= gap * 6, "six gaps, each under the deadline");

        let late = stream::iter(["a", "b"]).then(|text| async move {
            let wait = if text == "a" { 40 } else { 140 };
            tokio::time::sleep(Duration::from_millis(wait)).await;
            Ok::<_, io::Error>(Bytes::from(format!("data: {text}\n\n")))
        });
        let items: Vec<_> = chunk_stream_from(
            "toy".into(),
            Box::pin(late),
            Duration::from_millis(100),
            Toy { lenient: true },
        )
        .collect()
        .await;
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].as_ref().unwrap().text_delta(), Some("a"));
        assert_eq!(items[1].as_ref().unwrap_err().kind(), ErrorKind::Timeout);
    }

    #[tokio::test]
    async fn an_idle_gap_is_a_timeout() {
        let bytes = stream::iter(body("data: a\n\n")).chain(stream::pending());
        let items: Vec<_> = chunk_stream_from(
            "toy".into(),
            bytes,
            Duration::from_millis(30),
            Toy { lenient: true },
        )
        .collect()
        .await;
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].as_ref().unwrap_err().kind(), ErrorKind::Timeout);
    }
}
