//! The body of `generateContent` / `streamGenerateContent`, built from a borrowed canonical request.
//!
//! Mapping notes:
//! - `tools` become one `functionDeclarations` list; parameters go to `parametersJsonSchema`, which
//!   takes the JSON Schema OpenAI clients write (`additionalProperties` included) unchanged, where the
//!   older `parameters` field only accepts an OpenAPI subset.
//! - `response_format` `json_object` / `json_schema` set `responseMimeType: application/json`; a
//!   schema goes to `responseJsonSchema` for the same reason.
//! - `user`, `parallel_tool_calls` and unknown (`extra`) fields have no Gemini counterpart and are
//!   not sent: forwarding OpenAI-only keys would make Gemini refuse the request.

use llm_core::{ChatRequest, ResponseFormat, Tool};
use serde::Serialize;
use serde_json::Value;

use super::RequestError;
use super::content::Content;
use super::messages;

/// The request body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateContentRequest<'a> {
    pub contents: Vec<Content<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_instruction: Option<Content<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolDeclarations<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_config: Option<ToolConfig<'a>>,
    #[serde(skip_serializing_if = "GenerationConfig::is_empty")]
    pub generation_config: GenerationConfig<'a>,
}

/// One `tools` entry holding every function.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolDeclarations<'a> {
    pub function_declarations: Vec<FunctionDeclaration<'a>>,
}

/// A callable function.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionDeclaration<'a> {
    pub name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters_json_schema: Option<&'a Value>,
}

/// `toolConfig`.
#[derive(Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolConfig<'a> {
    pub function_calling_config: FunctionCallingConfig<'a>,
}

/// How the model may call functions: `NONE`, `AUTO` or `ANY` (optionally limited to some names).
#[derive(Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionCallingConfig<'a> {
    pub mode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_function_names: Option<Vec<&'a str>>,
}

/// `generationConfig`; omitted entirely when nothing is set.
#[derive(Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerationConfig<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub candidate_count: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_mime_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_json_schema: Option<&'a Value>,
}

impl GenerationConfig<'_> {
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl<'a> GenerateContentRequest<'a> {
    /// The body for `request`. The model is not part of the body: it is in the URL.
    pub fn from_chat(request: &'a ChatRequest) -> Result<Self, RequestError> {
        let converted = messages::convert(&request.messages)?;
        let tools = request.tools.as_deref().unwrap_or_default();
        Ok(Self {
            contents: converted.contents,
            system_instruction: converted.system,
            tools: declarations(tools)?,
            tool_config: tool_config(request.tool_choice.as_ref(), tools)?,
            generation_config: generation_config(request)?,
        })
    }

    /// The JSON bytes to send.
    pub fn to_vec(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }
}

fn declarations(tools: &[Tool]) -> Result<Vec<ToolDeclarations<'_>>, RequestError> {
    if tools.is_empty() {
        return Ok(Vec::new());
    }
    let function_declarations = tools
        .iter()
        .enumerate()
        .map(|(at, tool)| {
            if tool.kind != "function" {
                return Err(RequestError::new(
                    format!("tools[{at}].type"),
                    format!("tool type {:?} is not supported by Gemini", tool.kind),
                ));
            }
            Ok(FunctionDeclaration {
                name: &tool.function.name,
                description: tool.function.description.as_deref(),
                parameters_json_schema: tool.function.parameters.as_ref(),
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(vec![ToolDeclarations {
        function_declarations,
    }])
}

fn tool_config<'a>(
    choice: Option<&'a Value>,
    tools: &[Tool],
) -> Result<Option<ToolConfig<'a>>, RequestError> {
    let invalid = |message: &str| RequestError::new("tool_choice", message);
    let (mode, allowed) = match choice {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(choice)) => match choice.as_str() {
            "none" => ("NONE", None),
            "auto" => ("AUTO", None),
            "required" => ("ANY", None),
            _ => return Err(invalid("tool_choice must be none, auto, required or a function")),
        },
        Some(Value::Object(object)) => {
            let name = object
                .get("function")
                .and_then(|function| function.get("name"))
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("tool_choice must name a function as {\"function\": {\"name\"}}"))?;
            ("ANY", Some(vec![name]))
        }
        Some(_) => return Err(invalid("tool_choice must be a string or an object")),
    };
    if tools.is_empty() {
        return match mode {
            "ANY" => Err(invalid("tool_choice requires tools")),
            _ => Ok(None),
        };
    }
    Ok(Some(ToolConfig {
        function_calling_config: FunctionCallingConfig {
            mode,
            allowed_function_names: allowed,
        },
    }))
}

fn generation_config(request: &ChatRequest) -> Result<GenerationConfig<'_>, RequestError> {
    let seed = request
        .seed
        .map(|seed| {
            i32::try_from(seed).map_err(|_| RequestError::new("seed", "Gemini accepts 32-bit seeds only"))
        })
        .transpose()?;
    let (response_mime_type, response_json_schema) = match &request.response_format {
        None | Some(ResponseFormat::Text) => (None, None),
        Some(ResponseFormat::JsonObject) => (Some("application/json"), None),
        Some(ResponseFormat::JsonSchema { json_schema }) => {
            (Some("application/json"), json_schema.schema.as_ref())
        }
    };
    Ok(GenerationConfig {
        temperature: request.temperature,
        top_p: request.top_p,
        max_output_tokens: request.max_output_tokens(),
        stop_sequences: request
            .stop
            .as_ref()
            .map(|stop| stop.0.as_slice())
            .filter(|stops| !stops.is_empty()),
        candidate_count: request.n,
        seed,
        presence_penalty: request.presence_penalty,
        frequency_penalty: request.frequency_penalty,
        response_mime_type,
        response_json_schema,
    })
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
