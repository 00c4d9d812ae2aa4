//! Incremental Server-Sent-Events parsing, shared by provider adapters.
//!
//! Bytes arrive in arbitrary pieces; [`SseParser`] turns them into whole events without copying more
//! than one line at a time. It accepts `\n`, `\r\n` and `\r` line endings, ignores comments and
//! `id`/`retry` fields, and joins multi-line `data` with `\n` as the specification says.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;

/// One dispatched event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, when present.
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

/// A line longer than the parser accepts.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("server-sent event line longer than {limit} bytes")]
pub struct SseLineTooLong {
    /// The limit in bytes.
    pub limit: usize,
}

/// The incremental parser.
#[derive(Debug)]
pub struct SseParser {
    pending: Vec<u8>,
    event: Option<String>,
    data: String,
    has_data: bool,
    skip_leading_lf: bool,
    max_line_bytes: usize,
}

impl Default for SseParser {
    fn default() -> Self {
        Self::new(Self::DEFAULT_MAX_LINE_BYTES)
    }
}

impl SseParser {
    /// 16 MiB: more than any real chunk, less than a memory exhaustion.
    pub const DEFAULT_MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

    /// A parser refusing lines longer than `max_line_bytes`.
    pub fn new(max_line_bytes: usize) -> Self {
        Self {
            pending: Vec::new(),
            event: None,
            data: String::new(),
            has_data: false,
            skip_leading_lf: false,
            max_line_bytes,
        }
    }

    /// Feeds bytes, appending every event they complete to `out`.
    pub fn push(&mut self, mut bytes: &[u8], out: &mut impl Extend<SseEvent>) -> Result<(), SseLineTooLong> {
        if self.skip_leading_lf && !bytes.is_empty() {
            if bytes[0] == b'\n' {
                bytes = &bytes[1..];
            }
            self.skip_leading_lf = false;
        }
        while let Some(end) = bytes.iter().position(|&b| b == b'\n' || b == b'\r') {
            let terminator = bytes[end];
            if self.pending.is_empty() {
                self.process_line(&bytes[..end], out);
            } else {
                self.pending.extend_from_slice(&bytes[..end]);
                let line = std::mem::take(&mut self.pending);
                self.process_line(&line, out);
                self.pending = line;
                self.pending.clear();
            }
            bytes = &bytes[end + 1..];
            if terminator == b'\r' {
                match bytes.first() {
                    Some(b'\n') => bytes = &bytes[1..],
                    Some(_) => {}
                    None => self.skip_leading_lf = true,
                }
            }
        }
        if self.pending.len() + bytes.len() > self.max_line_bytes {
            return Err(SseLineTooLong {
                limit: self.max_line_bytes,
            });
        }
        self.pending.extend_from_slice(bytes);
        Ok(())
    }

    /// Whether bytes or fields are buffered that no blank line has dispatched yet.
    pub fn has_partial_event(&self) -> bool {
        !self.pending.is_empty() || self.has_data || self.event.is_some()
    }

    fn process_line(&mut self, line: &[u8], out: &mut impl Extend<SseEvent>) {
        if line.is_empty() {
            if self.has_data {
                out.extend(Some(SseEvent {
                    event: self.event.take(),
                    data: std::mem::take(&mut self.data),
                }));
                self.has_data = false;
            } else {
                self.event = None;
            }
            return;
        }
        if line[0] == b':' {
            return;
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match field {
            b"data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                push_lossy(&mut self.data, value);
                self.has_data = true;
            }
            b"event" => {
                let mut name = String::with_capacity(value.len());
                push_lossy(&mut name, value);
                self.event = Some(name);
            }
            _ => {}
        }
    }
}

/// Appends `bytes` as text, invalid UTF-8 replaced by U+FFFD. Valid text (every real stream) takes
/// the standard library's fast validation; only invalid bytes go through the lossy decoder.
fn push_lossy(out: &mut String, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(text) => out.push_str(text),
        Err(_) => out.push_str(&String::from_utf8_lossy(bytes)),
    }
}

/// Why an SSE byte stream failed.
#[derive(Debug, thiserror::Error)]
pub enum SseStreamError<E> {
    /// The transport failed.
    #[error("transport: {0}")]
    Transport(E),
    /// A line exceeded the limit.
    #[error(transparent)]
    LineTooLong(SseLineTooLong),
}

/// Adapts a byte stream into a stream of events.
pub struct SseStream<S> {
    inner: S,
    parser: SseParser,
    ready: VecDeque<SseEvent>,
    done: bool,
}

impl<S> SseStream<S> {
    /// Wraps a byte stream.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            parser: SseParser::default(),
            ready: VecDeque::new(),
            done: false,
        }
    }

    /// Whether the underlying stream ended in the middle of an event.
    pub fn ended_mid_event(&self) -> bool {
        self.parser.has_partial_event()
    }
}

impl<S, E> Stream for SseStream<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    type Item = Result<SseEvent, SseStreamError<E>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(event) = this.ready.pop_front() {
                return Poll::Ready(Some(Ok(event)));
            }
            if this.done {
                return Poll::Ready(None);
            }
            match Pin::new(&mut this.inner).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => this.done = true,
                Poll::Ready(Some(Err(error))) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(SseStreamError::Transport(error))));
                }
                Poll::Ready(Some(Ok(bytes))) => {
                    if let Err(error) = this.parser.push(&bytes, &mut this.ready) {
                        this.done = true;
                        return Poll::Ready(Some(Err(SseStreamError::LineTooLong(error))));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_in_pieces(input: &[u8], piece: usize) -> Vec<SseEvent> {
        let mut parser = SseParser::default();
        let mut out = Vec::new();
        for chunk in input.chunks(piece) {
            parser.push(chunk, &mut out).unwrap();
        }
        out
    }

    #[test]
    fn events_survive_any_split_and_line_ending() {
        let lf = b"event: a\ndata: {\"x\":1}\n\n: comment\ndata: line1\ndata: line2\n\ndata: [DONE]\n\n";
        let crlf = b"event: a\r\ndata: {\"x\":1}\r\n\r\n: comment\r\ndata: line1\r\ndata: line2\r\n\r\ndata: [DONE]\r\n\r\n";
        let cr = b"event: a\rdata: {\"x\":1}\r\r: comment\rdata: line1\rdata: line2\r\rdata: [DONE]\r\r";
        let expected = vec![
            SseEvent {
                event: Some("a".into()),
                data: "{\"x\":1}".into(),
            },
            SseEvent {
                event: None,
                data: "line1\nline2".into(),
            },
            SseEvent {
                event: None,
                data: "[DONE]".into(),
            },
        ];
        for input in [&lf[..], &crlf[..], &cr[..]] {
            for piece in 1..=input.len() {
                assert_eq!(parse_in_pieces(input, piece), expected, "piece size {piece}");
            }
        }
    }

    #[test]
    fn multibyte_text_split_across_pieces_is_kept_and_invalid_bytes_replaced() {
        let input = "event: né\ndata: {\"t\":\"héllo 😀\"}\n\n".as_bytes();
        for piece in 1..=input.len() {
            let events = parse_in_pieces(input, piece);
            assert_eq!(events.len(), 1, "piece size {piece}");
            assert_eq!(events[0].event.as_deref(), Some("né"));
            assert_eq!(events[0].data, "{\"t\":\"héllo 😀\"}");
        }
        let events = parse_in_pieces(b"event: a\xff\ndata: x\xfe\xffy\n\n", 64);
        assert_eq!(events[0].event.as_deref(), Some("a\u{FFFD}"));
        assert_eq!(events[0].data, "x\u{FFFD}\u{FFFD}y");
    }

    #[test]
    fn partial_event_is_reported_and_long_lines_refused() {
        let mut parser = SseParser::default();
        let mut out = Vec::new();
        parser.push(b"data: {\"cut", &mut out).unwrap();
        assert!(out.is_empty());
        assert!(parser.has_partial_event());

        let mut small = SseParser::new(8);
        assert_eq!(
            small.push(b"data: 0123456789", &mut out),
            Err(SseLineTooLong { limit: 8 })
        );
    }
}
