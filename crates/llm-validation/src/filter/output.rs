//! Filtering of answers: complete texts, and streams fed delta by delta.

use std::sync::Arc;

use super::engine::Engine;

/// The tail held back when a pattern or built-in applies.
pub const REGEX_HOLD_BYTES: usize = 256;

/// What a complete answer became.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutputVerdict {
    /// No rule matched; the text is unchanged.
    Clean,
    /// Redact rules rewrote the text.
    Redacted,
    /// A block rule matched; the answer must not be sent.
    Blocked { rule: String },
}

/// A block rule matched the answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blocked {
    pub rule: String,
}

/// The output filter of one answer, complete ([`filter_text`](Self::filter_text)) or streamed
/// ([`push_delta`](Self::push_delta) then [`finish`](Self::finish)).
///
/// A stream filter holds back a tail of the text so that a match spanning deltas is still caught:
/// - the tail is at least [`REGEX_HOLD_BYTES`] (256) bytes when a pattern or built-in applies, and at
///   least the longest term otherwise ([`hold_bytes`](Self::hold_bytes)); it is never cut inside a
///   current match;
/// - a match of up to that many bytes is therefore always seen whole before any of it is emitted.
///   A longer match is still caught when its first bytes already match on their own (an API key, an
///   e-mail address, a digit run);
/// - the cost is latency: the client sees the text that many bytes late; `finish` releases the tail;
/// - a block rule ends the stream: every later call returns the same [`Blocked`].
pub struct OutputFilter {
    engine: Arc<Engine>,
    rules: Vec<usize>,
    hold: usize,
    held: String,
    blocked: Option<Blocked>,
}

impl std::fmt::Debug for OutputFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutputFilter")
            .field("rules", &self.rules)
            .field("hold", &self.hold)
            .field("held_bytes", &self.held.len())
            .field("blocked", &self.blocked)
            .finish()
    }
}

impl OutputFilter {
    pub(super) fn new(engine: Arc<Engine>, rules: Vec<usize>) -> Self {
        let hold = rules
            .iter()
            .map(|&i| {
                let rule = &engine.rules[i];
                let regex = if rule.patterns.is_empty() {
                    0
                } else {
                    REGEX_HOLD_BYTES
                };
                rule.max_term_len.max(regex)
            })
            .max()
            .unwrap_or(0);
        Self {
            engine,
            rules,
            hold,
            held: String::new(),
            blocked: None,
        }
    }

    /// How many bytes a stream holds back.
    pub fn hold_bytes(&self) -> usize {
        self.hold
    }

    /// Filters a complete answer: redacts in place, or reports the block rule that matched.
    pub fn filter_text(&self, text: &mut String) -> OutputVerdict {
        if let Some(i) = self.engine.first_block(&self.rules, text) {
            return OutputVerdict::Blocked {
                rule: self.engine.rules[i].name.clone(),
            };
        }
        match self.engine.redact(&self.rules, text) {
            Some(clean) => {
                *text = clean;
                OutputVerdict::Redacted
            }
            None => OutputVerdict::Clean,
        }
    }

    /// Feeds one text delta of a stream; returns the (filtered) text that is safe to emit now.
    pub fn push_delta(&mut self, delta: &str) -> Result<String, Blocked> {
        if let Some(blocked) = &self.blocked {
            return Err(blocked.clone());
        }
        self.held.push_str(delta);
        self.check_block()?;
        if self.held.len() <= self.hold {
            return Ok(String::new());
        }
        let spans = self.engine.redact_spans(&self.rules, &self.held);
        let mut cut = self.held.len() - self.hold;
        while !self.held.is_char_boundary(cut) {
            cut -= 1;
        }
        // Never cut inside a match: it may still grow with the next delta. Spans are sorted by start.
        while let Some(span) = spans.iter().find(|span| span.start < cut && span.end > cut) {
            cut = span.start;
        }
        let emitted: Vec<_> = spans.iter().copied().filter(|span| span.end <= cut).collect();
        let out = self.engine.apply(&self.held[..cut], &emitted);
        self.held.drain(..cut);
        Ok(out)
    }

    /// Ends a stream: returns the held tail, filtered.
    pub fn finish(&mut self) -> Result<String, Blocked> {
        if let Some(blocked) = &self.blocked {
            return Err(blocked.clone());
        }
        self.check_block()?;
        let tail = std::mem::take(&mut self.held);
        Ok(self.engine.redact(&self.rules, &tail).unwrap_or(tail))
    }

    fn check_block(&mut self) -> Result<(), Blocked> {
        match self.engine.first_block(&self.rules, &self.held) {
            None => Ok(()),
            Some(i) => {
                let blocked = Blocked {
                    rule: self.engine.rules[i].name.clone(),
                };
                tracing::info!(rule = %blocked.rule, "content rule blocked an answer");
                self.held.clear();
                self.blocked = Some(blocked.clone());
                Err(blocked)
            }
        }
    }
}
