//! Canonical messages to Gemini `contents` and `systemInstruction`.
//!
//! - `system` and `developer` messages, wherever they stand, are joined in order into
//!   `systemInstruction` (Gemini has one system prompt, not a role); they must be text.
//! - `user` is role `user`, `assistant` is role `model`; assistant `tool_calls` become
//!   `functionCall` parts with their arguments parsed into a JSON object.
//! - `tool` messages become `functionResponse` parts in a `user` turn, named after the function of
//!   the earlier tool call with the same id, with `response: {"result": <content>}` (the content
//!   parsed as JSON when it is JSON, else the text).
//! - Consecutive turns of the same role are merged (tool results after a user message, several tool
//!   results in a row); empty text and turns without parts are left out, as Gemini refuses them.

use std::borrow::Cow;

use llm_core::{ContentPart, Message, MessageContent, Role};
use serde_json::{Map, Value};

use super::RequestError;
use super::content::{Blob, Content, FileData, FunctionCall, FunctionResponse, Part};

pub(super) struct Converted<'a> {
    pub system: Option<Content<'a>>,
    pub contents: Vec<Content<'a>>,
}

pub(super) fn convert(messages: &[Message]) -> Result<Converted<'_>, RequestError> {
    let mut system: Vec<Part<'_>> = Vec::new();
    let mut contents: Vec<Content<'_>> = Vec::with_capacity(messages.len());
    for (at, message) in messages.iter().enumerate() {
        match message.role {
            Role::System | Role::Developer => system.extend(system_parts(message, at)?),
            Role::User => push(&mut contents, "user", user_parts(message, at)?),
            Role::Assistant => push(&mut contents, "model", assistant_parts(message, at)?),
            Role::Tool => push(&mut contents, "user", vec![tool_result(messages, at)?]),
        }
    }
    Ok(Converted {
        system: (!system.is_empty()).then_some(Content {
            role: None,
            parts: system,
        }),
        contents,
    })
}

fn push<'a>(contents: &mut Vec<Content<'a>>, role: &'static str, parts: Vec<Part<'a>>) {
    if parts.is_empty() {
        return;
    }
    match contents.last_mut() {
        Some(last) if last.role.as_deref() == Some(role) => last.parts.extend(parts),
        _ => contents.push(Content {
            role: Some(Cow::Borrowed(role)),
            parts,
        }),
    }
}

fn system_parts(message: &Message, at: usize) -> Result<Vec<Part<'_>>, RequestError> {
    let parts = content_parts(message.content.as_ref(), at)?;
    if parts.iter().any(|part| part.text.is_none()) {
        return Err(RequestError::new(
            format!("messages[{at}].content"),
            "system and developer messages must be text for Gemini",
        ));
    }
    Ok(parts)
}

fn user_parts(message: &Message, at: usize) -> Result<Vec<Part<'_>>, RequestError> {
    content_parts(message.content.as_ref(), at)
}

fn assistant_parts(message: &Message, at: usize) -> Result<Vec<Part<'_>>, RequestError> {
    let mut parts = content_parts(message.content.as_ref(), at)?;
    for (call_at, call) in message.tool_calls.iter().flatten().enumerate() {
        let param = || format!("messages[{at}].tool_calls[{call_at}].function.arguments");
        let raw = call.function.arguments.trim();
        let args = if raw.is_empty() {
            Value::Object(Map::new())
        } else {
            serde_json::from_str::<Value>(raw)
                .map_err(|_| RequestError::new(param(), "tool call arguments are not valid JSON"))?
        };
        if !args.is_object() {
            return Err(RequestError::new(
                param(),
                "tool call arguments must be a JSON object",
            ));
        }
        parts.push(Part {
            function_call: Some(FunctionCall {
                id: None,
                name: Cow::Borrowed(&call.function.name),
                args,
            }),
            ..Part::default()
        });
    }
    Ok(parts)
}

fn tool_result(messages: &[Message], at: usize) -> Result<Part<'_>, RequestError> {
    let message = &messages[at];
    let called = message.tool_call_id.as_deref().and_then(|id| {
        messages[..at]
            .iter()
            .rev()
            .flat_map(|earlier| earlier.tool_calls.iter().flatten())
            .find(|call| call.id == id)
            .map(|call| call.function.name.as_str())
    });
    let name = called.or(message.name.as_deref()).ok_or_else(|| {
        RequestError::new(
            format!("messages[{at}].tool_call_id"),
            "the tool message answers no earlier tool call",
        )
    })?;
    let text = message
        .content
        .as_ref()
        .map(MessageContent::joined_text)
        .unwrap_or_default();
    let result = serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text));
    let mut response = Map::with_capacity(1);
    response.insert("result".to_owned(), result);
    Ok(Part {
        function_response: Some(FunctionResponse {
            name: Cow::Borrowed(name),
            response: Value::Object(response),
        }),
        ..Part::default()
    })
}

fn content_parts(content: Option<&MessageContent>, at: usize) -> Result<Vec<Part<'_>>, RequestError> {
    match content {
        None => Ok(Vec::new()),
        Some(MessageContent::Text(text)) if text.is_empty() => Ok(Vec::new()),
        Some(MessageContent::Text(text)) => Ok(vec![Part::text(text.as_str())]),
        Some(MessageContent::Parts(parts)) => parts
            .iter()
            .enumerate()
            .filter(|(_, part)| !matches!(part, ContentPart::Text { text } if text.is_empty()))
            .map(|(part_at, part)| match part {
                ContentPart::Text { text } => Ok(Part::text(text.as_str())),
                ContentPart::ImageUrl { image_url } => image_part(&image_url.url).map_err(|message| {
                    RequestError::new(
                        format!("messages[{at}].content[{part_at}].image_url.url"),
                        message,
                    )
                }),
            })
            .collect(),
    }
}

/// A `data:` URL becomes `inlineData`; any other URL becomes `fileData`, with the MIME type guessed
/// from the file extension when it is a known image type and left out otherwise.
fn image_part(url: &str) -> Result<Part<'_>, &'static str> {
    if let Some(rest) = url.strip_prefix("data:") {
        let (meta, data) = rest.split_once(',').ok_or("a data URL needs a comma")?;
        let mut fields = meta.split(';');
        let mime_type = fields.next().unwrap_or_default();
        if mime_type.is_empty() || !fields.any(|field| field.eq_ignore_ascii_case("base64")) {
            return Err("only base64 data URLs with a MIME type are supported");
        }
        return Ok(Part {
            inline_data: Some(Blob {
                mime_type: Cow::Borrowed(mime_type),
                data: Cow::Borrowed(data),
            }),
            ..Part::default()
        });
    }
    if url.trim().is_empty() {
        return Err("the image URL is empty");
    }
    Ok(Part {
        file_data: Some(FileData {
            mime_type: guess_mime_type(url).map(Cow::Borrowed),
            file_uri: Cow::Borrowed(url),
        }),
        ..Part::default()
    })
}

fn guess_mime_type(url: &str) -> Option<&'static str> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let file = path.rsplit('/').next().unwrap_or(path);
    let extension = file.rsplit_once('.')?.1.to_ascii_lowercase();
    match extension.as_str() {
        "png" => Some("image/png"),
        "jpg" | "jpeg" => Some("image/jpeg"),
        "webp" => Some("image/webp"),
        "gif" => Some("image/gif"),
        "heic" => Some("image/heic"),
        "heif" => Some("image/heif"),
        _ => None,
    }
}
