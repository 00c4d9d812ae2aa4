//! Prompt token counting: exact BPE counts for OpenAI models, a documented estimate for the rest.
//!
//! **OpenAI models** are counted with their tokenizer (`o200k_base` for gpt-4o, gpt-4.1, gpt-4.5,
//! gpt-5 and the o-series; `cl100k_base` for gpt-4 and gpt-3.5) and the chat framing of OpenAI's
//! cookbook ("How to count tokens with tiktoken", `num_tokens_from_messages`):
//! - every message costs 3 tokens of framing, plus the tokens of its role, its content and its name
//!   (a name costs 1 more token);
//! - the reply is primed with 3 tokens (`<|start|>assistant<|message|>`).
//!
//! Beyond the cookbook (which stops at text messages), these are estimates and make the count
//! inexact (`exact: false`):
//! - an assistant tool call costs its id, function name and arguments plus 3 tokens; a tool message's
//!   `tool_call_id` is counted as text;
//! - `tools` and a `json_schema` response format cost their JSON text;
//! - an image costs a flat [`IMAGE_TOKENS_LOW`] (85, OpenAI's price of a `"low"` detail image) or
//!   [`IMAGE_TOKENS_HIGH`] (765, the price of a 1024×1024 image at `"high"` detail) for `"high"`,
//!   `"auto"` or no detail, since the dimensions are unknown without fetching or decoding the image.
//!
//! **Other models** (Claude, Gemini, Llama, unknown) get `ceil(chars / 4)` for every text piece (role,
//! content, name, ...) with the same framing; their tokenizers are not public or not bundled, and four
//! characters per token is the usual rule of thumb for English text. These counts are never exact.
//!
//! Text is encoded as ordinary text: a special token spelled inside a message (`<|endoftext|>`) is
//! counted as the plain characters it is, which is how the API treats message content.

use std::sync::OnceLock;

use llm_core::{ChatRequest, ContentPart, Message, MessageContent, ResponseFormat, Role};
use tiktoken_rs::CoreBPE;

/// Framing tokens per message (OpenAI cookbook).
pub const TOKENS_PER_MESSAGE: u64 = 3;
/// Extra token when a message has a `name` (OpenAI cookbook).
pub const TOKENS_PER_NAME: u64 = 1;
/// Tokens that prime the reply (OpenAI cookbook).
pub const REPLY_PRIMING_TOKENS: u64 = 3;
/// Estimated framing tokens of one tool call.
pub const TOKENS_PER_TOOL_CALL: u64 = 3;
/// Estimated cost of an image with `"low"` detail.
pub const IMAGE_TOKENS_LOW: u64 = 85;
/// Estimated cost of an image with `"high"`, `"auto"` or no detail.
pub const IMAGE_TOKENS_HIGH: u64 = 765;

/// Texts longer than this are encoded in pieces cut at whitespace (see [`count_bpe`]).
const MAX_PIECE_BYTES: usize = 16 * 1024;

static O200K: OnceLock<Option<CoreBPE>> = OnceLock::new();
static CL100K: OnceLock<Option<CoreBPE>> = OnceLock::new();

/// The number of tokens of a prompt, and whether it is an exact count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PromptCount {
    pub tokens: u64,
    /// `true` when counted with the model's own tokenizer under OpenAI's published rules.
    pub exact: bool,
}

/// Counts prompt tokens. The tokenizers are loaded once per process, on first use or by
/// [`warm_up`](Self::warm_up), and shared by every counter.
#[derive(Clone, Debug, Default)]
pub struct TokenCounter {
    _shared: (),
}

#[derive(Clone, Copy)]
enum Encoding {
    O200k,
    Cl100k,
}

impl TokenCounter {
    /// A counter; cheap, loads nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Loads both tokenizers now (about 0.6 s in a debug build), so the first request does not pay.
    pub fn warm_up(&self) {
        let loaded = bpe(Encoding::O200k).is_some() && bpe(Encoding::Cl100k).is_some();
        tracing::debug!(loaded, "tokenizers warmed up");
    }

    /// Loads now only the tokenizers these upstream models use (each table costs tens of MiB of
    /// memory, so a gateway that serves no OpenAI model loads none); any other is loaded on first
    /// use. Returns how many tokenizers are loaded.
    pub fn warm_up_for<'a>(&self, models: impl IntoIterator<Item = &'a str>) -> usize {
        let mut wanted = [false; 2];
        for model in models {
            match encoding_for(model) {
                Some(Encoding::O200k) => wanted[0] = true,
                Some(Encoding::Cl100k) => wanted[1] = true,
                None => {}
            }
        }
        let loaded = [Encoding::O200k, Encoding::Cl100k]
            .into_iter()
            .zip(wanted)
            .filter(|(encoding, wanted)| *wanted && bpe(*encoding).is_some())
            .count();
        tracing::debug!(loaded, "tokenizers warmed up for the configured models");
        loaded
    }

    /// Counts the prompt of `request` as sent to the upstream model `model`.
    pub fn count_prompt(&self, model: &str, request: &ChatRequest) -> PromptCount {
        match encoding_for(model).and_then(bpe) {
            Some(bpe) => count_request(request, &|text| count_bpe(bpe, text), true),
            None => count_request(request, &estimate, false),
        }
    }
}

/// The tokenizer of an OpenAI model, `None` for every other model.
fn encoding_for(model: &str) -> Option<Encoding> {
    let name = model.rsplit('/').next().unwrap_or(model).to_ascii_lowercase();
    let starts = |prefixes: &[&str]| prefixes.iter().any(|prefix| name.starts_with(prefix));
    if starts(&[
        "gpt-4o",
        "chatgpt-4o",
        "gpt-4.1",
        "gpt-4.5",
        "gpt-5",
        "o1",
        "o3",
        "o4",
    ]) {
        Some(Encoding::O200k)
    } else if starts(&["gpt-4", "gpt-3.5", "gpt-35"]) {
        Some(Encoding::Cl100k)
    } else {
        None
    }
}

fn bpe(encoding: Encoding) -> Option<&'static CoreBPE> {
    let cell = match encoding {
        Encoding::O200k => &O200K,
        Encoding::Cl100k => &CL100K,
    };
    cell.get_or_init(|| {
        let (name, loaded) = match encoding {
            Encoding::O200k => ("o200k_base", tiktoken_rs::o200k_base()),
            Encoding::Cl100k => ("cl100k_base", tiktoken_rs::cl100k_base()),
        };
        loaded
            .map_err(|error| {
                tracing::error!(tokenizer = name, %error, "tokenizer failed to load; counts are estimates");
            })
            .ok()
    })
    .as_ref()
}

/// The BPE count of `text`. Long texts are cut into pieces of about [`MAX_PIECE_BYTES`] just before
/// a whitespace that follows a non-whitespace character, where the tokenizer's own pre-split would cut
/// too, so the count is unchanged; this bounds the regex work per call. A piece with no such place
/// (a long run without spaces) is cut at a character boundary, which may shift the count by a token.
pub(crate) fn count_bpe(bpe: &CoreBPE, text: &str) -> u64 {
    let mut total = 0u64;
    let mut rest = text;
    while rest.len() > MAX_PIECE_BYTES {
        let cut = piece_end(rest);
        let (piece, tail) = rest.split_at(cut);
        total += bpe.encode_ordinary(piece).len() as u64;
        rest = tail;
    }
    total + bpe.encode_ordinary(rest).len() as u64
}

/// Where to end the next piece of `text` (longer than [`MAX_PIECE_BYTES`]).
fn piece_end(text: &str) -> usize {
    let mut limit = MAX_PIECE_BYTES;
    while !text.is_char_boundary(limit) {
        limit -= 1;
    }
    let window = &text[..limit];
    let bytes = window.as_bytes();
    // Cut before a single space preceded by a non-whitespace character: " word" stays one pre-token.
    let cut = (1..bytes.len())
        .rev()
        .take(limit / 2)
        .find(|&i| bytes[i] == b' ' && !bytes[i - 1].is_ascii_whitespace() && !is_space_after(bytes, i));
    cut.unwrap_or(limit)
}

fn is_space_after(bytes: &[u8], i: usize) -> bool {
    bytes.get(i + 1).is_some_and(u8::is_ascii_whitespace)
}

/// The estimate for models without a bundled tokenizer: `ceil(chars / 4)`.
pub(crate) fn estimate(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

fn count_request(request: &ChatRequest, count: &dyn Fn(&str) -> u64, bpe_exact: bool) -> PromptCount {
    let mut exact = bpe_exact;
    let mut tokens = REPLY_PRIMING_TOKENS;
    for message in &request.messages {
        tokens += count_message(message, count, &mut exact);
    }
    if let Some(tools) = request.tools.as_ref().filter(|tools| !tools.is_empty()) {
        exact = false;
        tokens += serde_json::to_string(tools).map_or(0, |json| count(&json));
    }
    if let Some(ResponseFormat::JsonSchema { json_schema }) = &request.response_format {
        exact = false;
        tokens += serde_json::to_string(json_schema).map_or(0, |json| count(&json));
    }
    PromptCount { tokens, exact }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::System => "system",
        Role::Developer => "developer",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    }
}

fn count_message(message: &Message, count: &dyn Fn(&str) -> u64, exact: &mut bool) -> u64 {
    let mut tokens = TOKENS_PER_MESSAGE + count(role_name(message.role));
    if let Some(name) = &message.name {
        tokens += count(name) + TOKENS_PER_NAME;
    }
    match &message.content {
        None => {}
        Some(MessageContent::Text(text)) => tokens += count(text),
        Some(MessageContent::Parts(parts)) => {
            for part in parts {
                tokens += match part {
                    ContentPart::Text { text } => count(text),
                    ContentPart::ImageUrl { image_url } => {
                        *exact = false;
                        match image_url.detail.as_deref() {
                            Some("low") => IMAGE_TOKENS_LOW,
                            _ => IMAGE_TOKENS_HIGH,
                        }
                    }
                };
            }
        }
    }
    for call in message.tool_calls.iter().flatten() {
        *exact = false;
        tokens += TOKENS_PER_TOOL_CALL + count(&call.id) + count(&call.function.name);
        tokens += count(&call.function.arguments);
    }
    if let Some(id) = &message.tool_call_id {
        *exact = false;
        tokens += count(id);
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_map_to_their_tokenizer() {
        let is = |model: &str, expected: Option<&str>| {
            let got = encoding_for(model).map(|e| match e {
                Encoding::O200k => "o200k",
                Encoding::Cl100k => "cl100k",
            });
            assert_eq!(got, expected, "{model}");
        };
        is("gpt-4o-2024-08-06", Some("o200k"));
        is("gpt-4o-mini", Some("o200k"));
        is("openai/gpt-4.1-nano", Some("o200k"));
        is("o3-mini", Some("o200k"));
        is("gpt-5", Some("o200k"));
        is("gpt-4-turbo", Some("cl100k"));
        is("gpt-4", Some("cl100k"));
        is("gpt-3.5-turbo-0125", Some("cl100k"));
        is("claude-3-5-sonnet", None);
        is("gemini-2.0-flash", None);
        is("llama3.1:8b", None);
    }

    #[test]
    fn estimate_rounds_up_per_four_chars() {
        assert_eq!(estimate(""), 0);
        assert_eq!(estimate("abc"), 1);
        assert_eq!(estimate("abcd"), 1);
        assert_eq!(estimate("abcde"), 2);
        assert_eq!(estimate("ééééé"), 2, "characters, not bytes");
    }

    #[test]
    fn long_text_pieces_keep_the_count() {
        let Some(bpe) = bpe(Encoding::O200k) else {
            panic!("o200k_base failed to load");
        };
        let text = "The quick brown fox jumps over the lazy dog. ".repeat(2000);
        assert!(text.len() > 4 * MAX_PIECE_BYTES);
        assert_eq!(count_bpe(bpe, &text), bpe.encode_ordinary(&text).len() as u64);
    }
}
