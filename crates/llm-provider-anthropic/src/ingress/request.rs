//! An Anthropic Messages request turned into the canonical (OpenAI-shaped) request.

use llm_core::{
    ChatRequest, ContentPart, FunctionCall, FunctionDefinition, ImageUrl, LlmError, Message, MessageContent,
    Role, Stop, StreamOptions, Tool, ToolCall,
};
use serde_json::{Map, Value, json};

use crate::types::{
    ContentBlock, ImageSource, InputMessage, MessagesRequest, TextOrBlocks, ToolChoice, ToolChoiceKind,
    ToolDefinition, TurnRole,
};

impl MessagesRequest {
    /// Whether the client asked for a stream.
    pub fn is_stream(&self) -> bool {
        self.stream == Some(true)
    }

    /// The canonical request: `system` becomes a system message, `tool_use` blocks assistant
    /// `tool_calls`, `tool_result` blocks `tool` messages (placed before the rest of their user turn),
    /// `top_k` goes to `extra`, `metadata.user_id` to `user`. A stream always asks for the usage
    /// chunk, which the Anthropic stream needs for its final `message_delta`. Unknown fields stay in
    /// `extra`. Thinking blocks sent back by the client are dropped: the canonical shape has no place
    /// for them.
    pub fn into_chat_request(self) -> Result<ChatRequest, LlmError> {
        let mut messages = Vec::with_capacity(self.messages.len() + 1);
        match self.system {
            None => {}
            Some(TextOrBlocks::Text(text)) => messages.push(Message::text(Role::System, text)),
            Some(TextOrBlocks::Blocks(blocks)) => {
                let parts = parts("system", blocks)?;
                messages.push(message(Role::System, Some(MessageContent::Parts(parts))));
            }
        }
        for (at, turn) in self.messages.into_iter().enumerate() {
            convert_turn(at, turn, &mut messages)?;
        }
        let mut extra = self.extra;
        if let Some(top_k) = self.top_k {
            extra.insert("top_k".to_owned(), json!(top_k));
        }
        let (tool_choice, parallel_tool_calls) = match self.tool_choice {
            None => (None, None),
            Some(choice) => tool_choice(choice)?,
        };
        let stream = self.stream.filter(|&stream| stream);
        Ok(ChatRequest {
            model: self.model,
            messages,
            temperature: self.temperature,
            top_p: self.top_p,
            max_tokens: self.max_tokens,
            stop: self.stop_sequences.map(Stop),
            user: self.metadata.and_then(|metadata| metadata.user_id),
            stream,
            stream_options: stream.map(|_| StreamOptions { include_usage: true }),
            tools: self.tools.map(|tools| tools.into_iter().map(tool).collect()),
            tool_choice,
            parallel_tool_calls,
            extra,
            ..ChatRequest::default()
        })
    }
}

fn message(role: Role, content: Option<MessageContent>) -> Message {
    Message {
        role,
        content,
        name: None,
        tool_calls: None,
        tool_call_id: None,
        extra: Map::new(),
    }
}

fn convert_turn(at: usize, turn: InputMessage, out: &mut Vec<Message>) -> Result<(), LlmError> {
    let role = match turn.role {
        TurnRole::User => Role::User,
        TurnRole::Assistant => Role::Assistant,
    };
    let blocks = match turn.content {
        TextOrBlocks::Text(text) => {
            out.push(Message::text(role, text));
            return Ok(());
        }
        TextOrBlocks::Blocks(blocks) => blocks,
    };
    let mut content = Vec::new();
    let mut tool_calls = Vec::new();
    for (index, block) in blocks.into_iter().enumerate() {
        let param = || format!("messages[{at}].content[{index}]");
        match (turn.role, block) {
            (_, ContentBlock::Thinking { .. } | ContentBlock::RedactedThinking { .. }) => {}
            (
                TurnRole::User,
                ContentBlock::ToolResult {
                    tool_use_id,
                    content: result,
                    ..
                },
            ) => {
                let result = match result {
                    None => MessageContent::Text(String::new()),
                    Some(TextOrBlocks::Text(text)) => MessageContent::Text(text),
                    Some(TextOrBlocks::Blocks(blocks)) => MessageContent::Parts(parts(&param(), blocks)?),
                };
                let mut tool = message(Role::Tool, Some(result));
                tool.tool_call_id = Some(tool_use_id);
                out.push(tool);
            }
            (TurnRole::Assistant, ContentBlock::ToolUse { id, name, input }) => tool_calls.push(ToolCall {
                id,
                kind: "function".to_owned(),
                function: FunctionCall {
                    name,
                    arguments: input.to_string(),
                },
            }),
            (TurnRole::Assistant, ContentBlock::Image { .. }) => {
                return Err(LlmError::invalid_param(
                    param(),
                    "an assistant turn cannot hold an image",
                ));
            }
            (_, block) => content.push(part(&param(), block)?),
        }
    }
    let has_content = !content.is_empty();
    let content = match (turn.role, has_content) {
        (_, false) => None,
        // Assistant text is one string in the canonical shape (Anthropic's blocks concatenate).
        (TurnRole::Assistant, true) => Some(MessageContent::Text(
            content
                .iter()
                .filter_map(|part| match part {
                    ContentPart::Text { text } => Some(text.as_str()),
                    ContentPart::ImageUrl { .. } => None,
                })
                .collect(),
        )),
        (TurnRole::User, true) => Some(MessageContent::Parts(content)),
    };
    if turn.role == TurnRole::User && content.is_none() {
        return Ok(());
    }
    let mut converted = message(role, content);
    converted.tool_calls = (!tool_calls.is_empty()).then_some(tool_calls);
    out.push(converted);
    Ok(())
}

fn parts(param: &str, blocks: Vec<ContentBlock>) -> Result<Vec<ContentPart>, LlmError> {
    blocks
        .into_iter()
        .enumerate()
        .map(|(index, block)| part(&format!("{param}[{index}]"), block))
        .collect()
}

fn part(param: &str, block: ContentBlock) -> Result<ContentPart, LlmError> {
    match block {
        ContentBlock::Text { text } => Ok(ContentPart::Text { text }),
        ContentBlock::Image { source } => {
            let url = match source {
                ImageSource::Base64 { media_type, data } => format!("data:{media_type};base64,{data}"),
                ImageSource::Url { url } => url,
            };
            Ok(ContentPart::ImageUrl {
                image_url: ImageUrl { url, detail: None },
            })
        }
        ContentBlock::ToolUse { .. }
        | ContentBlock::ToolResult { .. }
        | ContentBlock::Thinking { .. }
        | ContentBlock::RedactedThinking { .. }
        | ContentBlock::Unsupported => Err(LlmError::invalid_param(
            param,
            "this content block is not supported here: use text and image blocks, tool_use in assistant \
             turns and tool_result in user turns",
        )),
    }
}

fn tool(tool: ToolDefinition) -> Tool {
    Tool {
        kind: "function".to_owned(),
        function: FunctionDefinition {
            name: tool.name,
            description: tool.description,
            parameters: tool.input_schema,
            strict: None,
        },
    }
}

fn tool_choice(choice: ToolChoice) -> Result<(Option<Value>, Option<bool>), LlmError> {
    let value = match choice.kind {
        ToolChoiceKind::Auto => json!("auto"),
        ToolChoiceKind::Any => json!("required"),
        ToolChoiceKind::None => json!("none"),
        ToolChoiceKind::Tool => {
            let name = choice.name.ok_or_else(|| {
                LlmError::invalid_param("tool_choice.name", "tool_choice of type tool needs a name")
            })?;
            json!({"type": "function", "function": {"name": name}})
        }
    };
    let parallel = choice.disable_parallel_tool_use.map(|disable| !disable);
    Ok((Some(value), parallel))
}
