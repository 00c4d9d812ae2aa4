//! Every conversion between the canonical types and Gemini's `generateContent` JSON, typed both ways.
//!
//! - [`GenerateContentRequest`] is built from a borrowed [`llm_core::ChatRequest`] (texts, inline image
//!   data and schemas are borrowed, not copied) and refuses what Gemini cannot express faithfully with
//!   a [`RequestError`] naming the offending parameter.
//! - [`GenerateContentResponse`] is the one response shape: a whole answer, each `data:` event of a
//!   stream, and (with `error` set) an error sent in place of a response.
//! - [`StreamTranslator`] turns a stream's events into canonical chunks; [`translate_stream_bytes`]
//!   does the same for a whole body held in memory.
//!
//! Nothing here performs I/O or knows the provider's id: faults are plain values that the crate's
//! error module maps onto the gateway's taxonomy.

mod chunks;
mod content;
mod messages;
mod request;
mod response;

use std::fmt;

pub use chunks::{StreamFault, StreamTranslator, translate_stream_bytes};
pub use content::{Blob, Content, FileData, FunctionCall, FunctionResponse, Part};
pub use request::{
    FunctionCallingConfig, FunctionDeclaration, GenerateContentRequest, GenerationConfig, ToolConfig,
    ToolDeclarations,
};
pub use response::{
    Candidate, ErrorStatus, GenerateContentResponse, PromptFeedback, ResponseFault, UsageMetadata,
    finish_reason, parse_error_body, parse_models, parse_response,
};

/// A canonical request Gemini cannot be sent: the parameter at fault and a client-safe reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestError {
    /// The request parameter at fault, e.g. `messages[2].tool_calls[0].function.arguments`.
    pub param: String,
    /// Why it was refused.
    pub message: String,
}

impl RequestError {
    pub(crate) fn new(param: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            param: param.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.param, self.message)
    }
}

impl std::error::Error for RequestError {}

/// The model's URL path segment: `models/` stripped, and refused when it could change the URL
/// (`/`, `?`, `#`, `:`, `%`, `\`, whitespace, control or non-ASCII characters, or nothing at all).
pub fn model_path_segment(model: &str) -> Result<&str, RequestError> {
    let name = model.strip_prefix("models/").unwrap_or(model);
    let unsafe_char = |c: char| !c.is_ascii_graphic() || matches!(c, '/' | '?' | '#' | ':' | '%' | '\\');
    if name.is_empty() || name.chars().any(unsafe_char) {
        return Err(RequestError::new(
            "model",
            format!("{model:?} is not a valid Gemini model name"),
        ));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_are_stripped_and_path_characters_refused() {
        assert_eq!(model_path_segment("gemini-2.0-flash"), Ok("gemini-2.0-flash"));
        assert_eq!(
            model_path_segment("models/gemini-2.0-flash"),
            Ok("gemini-2.0-flash")
        );
        for bad in [
            "",
            "models/",
            "a/b",
            "models/a/b",
            "x?alt=json",
            "x#frag",
            "x:generateContent",
            "gemini pro",
            "x\n",
            "%2e%2e",
            "a\\b",
            "gémini",
        ] {
            let error = model_path_segment(bad).unwrap_err();
            assert_eq!(error.param, "model", "{bad:?}");
        }
    }
}
