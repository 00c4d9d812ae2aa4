//! One pass-through stream for everything that watches an answer go by: the token settlement, the
//! cache recording and the metrics each implement [`ChunkObserver`]; [`observe`] drives them.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use llm_core::{ChatChunk, ChunkStream, LlmError};

/// What watches a stream pass.
pub(crate) trait ChunkObserver: Send + 'static {
    /// A chunk, or the error that ends the stream, passed to the client.
    fn item(&mut self, item: &Result<ChatChunk, LlmError>);

    /// The stream ended (after its last item).
    fn end(&mut self);

    /// The stream was dropped, ended or not (the client may have gone away).
    fn dropped(&mut self) {}
}

struct Observed<O: ChunkObserver> {
    inner: ChunkStream,
    observer: O,
    ended: bool,
}

// The observer is never pinned: it is only used through `&mut`, so moving it is fine.
impl<O: ChunkObserver> Unpin for Observed<O> {}

impl<O: ChunkObserver> Stream for Observed<O> {
    type Item = Result<ChatChunk, LlmError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let item = match this.inner.as_mut().poll_next(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(item) => item,
        };
        match &item {
            Some(item) => this.observer.item(item),
            None if !this.ended => {
                this.ended = true;
                this.observer.end();
            }
            None => {}
        }
        Poll::Ready(item)
    }
}

impl<O: ChunkObserver> Drop for Observed<O> {
    fn drop(&mut self) {
        self.observer.dropped();
    }
}

/// `inner`, watched by `observer`.
pub(crate) fn observe(inner: ChunkStream, observer: impl ChunkObserver) -> ChunkStream {
    Box::pin(Observed {
        inner,
        observer,
        ended: false,
    })
}
