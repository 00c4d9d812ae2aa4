//! Token limits: the context windows of well-known models and the check of a prompt against them.

use llm_core::{ErrorKind, LlmError};

use crate::tokens::PromptCount;

/// Context windows (input and output together) by model-name prefix; the longest matching prefix
/// wins. From the vendors' model pages.
const CONTEXT_WINDOWS: &[(&str, u64)] = &[
    ("gpt-5", 400_000),
    ("gpt-4.1", 1_047_576),
    ("gpt-4.5", 128_000),
    ("gpt-4o", 128_000),
    ("gpt-4o-mini", 128_000),
    ("chatgpt-4o", 128_000),
    ("gpt-4-turbo", 128_000),
    ("gpt-4-1106", 128_000),
    ("gpt-4-0125", 128_000),
    ("gpt-4-32k", 32_768),
    ("gpt-4", 8_192),
    ("gpt-3.5-turbo", 16_385),
    ("gpt-3.5-turbo-instruct", 4_096),
    ("gpt-35-turbo", 16_385),
    ("o1", 200_000),
    ("o1-mini", 128_000),
    ("o1-preview", 128_000),
    ("o3", 200_000),
    ("o3-mini", 200_000),
    ("o4-mini", 200_000),
    ("claude-", 200_000),
    ("gemini-1.5-pro", 2_097_152),
    ("gemini-1.5-flash", 1_048_576),
    ("gemini-2", 1_048_576),
];

/// The context window of a well-known model (`gpt-4o-2024-08-06`, `claude-3-5-sonnet-latest`), by
/// prefix; a `provider/` prefix is ignored. `None` for models the table does not know.
pub fn known_context_window(model: &str) -> Option<u64> {
    let name = model.rsplit('/').next().unwrap_or(model).to_ascii_lowercase();
    CONTEXT_WINDOWS
        .iter()
        .filter(|(prefix, _)| name.starts_with(prefix))
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(_, window)| *window)
}

/// Checks a prompt against the model's context window and a configured prompt maximum.
///
/// Refuses with `context_length_exceeded` (param `messages`) when the prompt alone exceeds the
/// window, when the prompt plus the requested output exceed it, or when the prompt exceeds
/// `max_prompt_tokens`. The messages follow OpenAI's wording and carry the counts; an estimated count
/// says so.
pub fn check_token_limits(
    prompt: PromptCount,
    requested_output: Option<u64>,
    context_window: Option<u64>,
    max_prompt_tokens: Option<u64>,
) -> Result<(), LlmError> {
    let about = if prompt.exact { "" } else { "an estimated " };
    if let Some(window) = context_window {
        if prompt.tokens > window {
            return Err(exceeded(format!(
                "This model's maximum context length is {window} tokens. However, your messages \
                 resulted in {about}{} tokens. Please reduce the length of the messages.",
                prompt.tokens
            )));
        }
        if let Some(output) = requested_output {
            let total = prompt.tokens.saturating_add(output);
            if total > window {
                return Err(exceeded(format!(
                    "This model's maximum context length is {window} tokens. However, you requested \
                     {about}{total} tokens ({} in the messages, {output} in the completion). Please \
                     reduce the length of the messages or completion.",
                    prompt.tokens
                )));
            }
        }
    }
    if let Some(limit) = max_prompt_tokens
        && prompt.tokens > limit
    {
        return Err(exceeded(format!(
            "the prompt has {about}{} tokens; the limit for this key/model is {limit} tokens",
            prompt.tokens
        )));
    }
    Ok(())
}

fn exceeded(message: String) -> LlmError {
    LlmError::new(ErrorKind::ContextLengthExceeded, message).with_param("messages")
}
