//! The GraphQL input types, mirroring the chat request, and their one conversion to
//! [`llm_core::ChatRequest`].

use juniper::{GraphQLEnum, GraphQLInputObject};
use llm_core::{
    ChatRequest, FunctionDefinition, LlmError, Message, MessageContent, Stop, StreamOptions, Tool,
};
use serde_json::{Map, Value};

/// The author of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, GraphQLEnum)]
pub enum Role {
    System,
    Developer,
    User,
    Assistant,
    Tool,
}

impl From<Role> for llm_core::Role {
    fn from(role: Role) -> Self {
        match role {
            Role::System => Self::System,
            Role::Developer => Self::Developer,
            Role::User => Self::User,
            Role::Assistant => Self::Assistant,
            Role::Tool => Self::Tool,
        }
    }
}

/// One message of the conversation.
#[derive(Clone, Debug, GraphQLInputObject)]
pub struct MessageInput {
    pub role: Role,
    pub content: String,
    pub name: Option<String>,
    /// For `TOOL` messages: the call this answers.
    pub tool_call_id: Option<String>,
}

/// A function the model may call.
#[derive(Clone, Debug, GraphQLInputObject)]
pub struct ToolInput {
    pub name: String,
    pub description: Option<String>,
    /// The parameters' JSON Schema, as a JSON string.
    pub parameters_json: Option<String>,
}

/// A chat completion request.
#[derive(Clone, Debug, GraphQLInputObject)]
pub struct CompletionInput {
    /// `gpt-4o`, `provider/model` or an alias.
    pub model: String,
    pub messages: Vec<MessageInput>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub max_tokens: Option<i32>,
    pub stop: Option<Vec<String>>,
    pub seed: Option<i32>,
    pub n: Option<i32>,
    /// The end user, for rate limits.
    pub user: Option<String>,
    pub tools: Option<Vec<ToolInput>>,
    /// Skip the cache lookup (a fresh answer is still stored), like `Cache-Control: no-cache`.
    pub no_cache: Option<bool>,
}

fn count(value: Option<i32>, param: &str) -> Result<Option<u32>, LlmError> {
    value
        .map(|value| {
            u32::try_from(value)
                .map_err(|_| LlmError::invalid_param(param, format!("`{param}` must not be negative")))
        })
        .transpose()
}

fn tool(input: ToolInput) -> Result<Tool, LlmError> {
    let parameters = input
        .parameters_json
        .map(|json| {
            serde_json::from_str::<Value>(&json).map_err(|error| {
                LlmError::invalid_param("tools", format!("`parametersJson` is not JSON: {error}"))
            })
        })
        .transpose()?;
    Ok(Tool {
        kind: "function".to_owned(),
        function: FunctionDefinition {
            name: input.name,
            description: input.description,
            parameters,
            strict: None,
        },
    })
}

impl CompletionInput {
    /// The canonical request; `stream` asks for a stream with usage in its last chunk.
    pub fn into_chat_request(self, stream: bool) -> Result<ChatRequest, LlmError> {
        let messages = self
            .messages
            .into_iter()
            .map(|message| Message {
                role: message.role.into(),
                content: Some(MessageContent::Text(message.content)),
                name: message.name,
                tool_calls: None,
                tool_call_id: message.tool_call_id,
                extra: Map::new(),
            })
            .collect();
        let tools = self
            .tools
            .map(|tools| tools.into_iter().map(tool).collect::<Result<Vec<_>, _>>())
            .transpose()?;
        Ok(ChatRequest {
            model: self.model,
            messages,
            temperature: self.temperature,
            top_p: self.top_p,
            max_tokens: count(self.max_tokens, "max_tokens")?,
            n: count(self.n, "n")?,
            seed: self.seed.map(i64::from),
            stop: self.stop.map(Stop),
            user: self.user,
            stream: stream.then_some(true),
            stream_options: stream.then_some(StreamOptions { include_usage: true }),
            tools,
            ..ChatRequest::default()
        })
    }
}
