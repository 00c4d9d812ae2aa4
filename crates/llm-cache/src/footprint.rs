//! How much memory a cached answer holds: its structs plus every heap allocation they own (string
//! and vector capacities), walked without serialising anything. The memory backend weighs entries by
//! this, so its byte budget bounds what the process really keeps. Values the gateway does not model
//! (`logprobs`, token details, unknown fields) are counted by their JSON length, the one estimate here.

use std::mem::size_of;

use llm_core::{
    AssistantMessage, ChatChunk, ChatResponse, Choice, ChunkChoice, Delta, FunctionCallDelta, ToolCall,
    ToolCallDelta, Usage,
};
use serde_json::{Map, Value};

use crate::answer::CachedAnswer;

/// What the allocator adds to every allocation (header and rounding), on average.
const ALLOCATION_OVERHEAD: usize = 16;

/// The bytes `answer` keeps alive.
pub(crate) fn answer_bytes(answer: &CachedAnswer) -> usize {
    size_of::<CachedAnswer>()
        + response_heap(&answer.response)
        + answer.chunks.as_ref().map_or(0, |chunks| {
            allocation(chunks.capacity() * size_of::<ChatChunk>())
                + chunks.iter().map(chunk_heap).sum::<usize>()
        })
}

fn allocation(bytes: usize) -> usize {
    if bytes == 0 {
        0
    } else {
        bytes + ALLOCATION_OVERHEAD
    }
}

fn string(text: &str, capacity: usize) -> usize {
    allocation(capacity.max(text.len()))
}

fn owned(text: &String) -> usize {
    string(text, text.capacity())
}

fn optional(text: Option<&String>) -> usize {
    text.map_or(0, owned)
}

fn json(value: Option<&Value>) -> usize {
    value.map_or(0, |value| allocation(value.to_string().len() * 2))
}

fn extra(map: &Map<String, Value>) -> usize {
    if map.is_empty() {
        0
    } else {
        allocation(Value::Object(map.clone()).to_string().len() * 2)
    }
}

fn usage_heap(usage: Option<&Usage>) -> usize {
    usage.map_or(0, |usage| {
        json(usage.prompt_tokens_details.as_ref()) + json(usage.completion_tokens_details.as_ref())
    })
}

fn response_heap(response: &ChatResponse) -> usize {
    owned(&response.id)
        + owned(&response.object)
        + owned(&response.model)
        + optional(response.system_fingerprint.as_ref())
        + usage_heap(response.usage.as_ref())
        + extra(&response.extra)
        + allocation(response.choices.capacity() * size_of::<Choice>())
        + response.choices.iter().map(choice_heap).sum::<usize>()
}

fn choice_heap(choice: &Choice) -> usize {
    message_heap(&choice.message) + json(choice.logprobs.as_ref())
}

fn message_heap(message: &AssistantMessage) -> usize {
    optional(message.content.as_ref())
        + optional(message.refusal.as_ref())
        + extra(&message.extra)
        + message.tool_calls.as_ref().map_or(0, |calls| {
            allocation(calls.capacity() * size_of::<ToolCall>())
                + calls
                    .iter()
                    .map(|call| {
                        owned(&call.id)
                            + owned(&call.kind)
                            + owned(&call.function.name)
                            + owned(&call.function.arguments)
                    })
                    .sum::<usize>()
        })
}

fn chunk_heap(chunk: &ChatChunk) -> usize {
    owned(&chunk.id)
        + owned(&chunk.object)
        + owned(&chunk.model)
        + optional(chunk.system_fingerprint.as_ref())
        + usage_heap(chunk.usage.as_ref())
        + allocation(chunk.choices.capacity() * size_of::<ChunkChoice>())
        + chunk
            .choices
            .iter()
            .map(|choice| delta_heap(&choice.delta) + json(choice.logprobs.as_ref()))
            .sum::<usize>()
}

fn delta_heap(delta: &Delta) -> usize {
    optional(delta.content.as_ref())
        + optional(delta.refusal.as_ref())
        + delta.tool_calls.as_ref().map_or(0, |calls| {
            allocation(calls.capacity() * size_of::<ToolCallDelta>())
                + calls.iter().map(tool_call_delta_heap).sum::<usize>()
        })
}

fn tool_call_delta_heap(call: &ToolCallDelta) -> usize {
    optional(call.id.as_ref())
        + optional(call.kind.as_ref())
        + call.function.as_ref().map_or(0, |function: &FunctionCallDelta| {
            optional(function.name.as_ref()) + optional(function.arguments.as_ref())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use llm_core::{Delta, FinishReason, Role};

    fn chunk(text: &str) -> ChatChunk {
        ChatChunk::with_delta(
            "chatcmpl-123",
            "gpt-4o-mini",
            0,
            Delta {
                role: Some(Role::Assistant),
                content: Some(text.to_owned()),
                ..Delta::default()
            },
            None,
        )
    }

    fn response(text: &str) -> ChatResponse {
        serde_json::from_value(serde_json::json!({
            "id": "chatcmpl-123", "object": "chat.completion", "created": 0, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6}
        }))
        .unwrap()
    }

    #[test]
    fn the_footprint_grows_with_the_text_and_the_chunks() {
        let short = answer_bytes(&CachedAnswer::complete(response("hi")));
        let long = answer_bytes(&CachedAnswer::complete(response(&"word ".repeat(200))));
        assert!(long - short >= 1000 - "hi".len(), "{short} {long}");
        let chunks: Vec<ChatChunk> = (0..20).map(|_| chunk("piece ")).collect();
        let streamed = answer_bytes(&CachedAnswer::streamed(response("hi"), chunks));
        // Each chunk holds its struct, a choice and four strings.
        assert!(
            streamed >= short + 20 * (size_of::<ChatChunk>() + size_of::<ChunkChoice>()),
            "{short} {streamed}"
        );
        let _ = FinishReason::Stop;
    }

    #[test]
    fn the_footprint_is_at_least_the_serialised_text() {
        let chunks: Vec<ChatChunk> = (0..20).map(|index| chunk(&format!("piece {index} "))).collect();
        let answer = CachedAnswer::streamed(response(&"word ".repeat(50)), chunks);
        let encoded = serde_json::to_vec(&answer).unwrap().len();
        assert!(
            answer_bytes(&answer) >= encoded,
            "{} < {encoded}",
            answer_bytes(&answer)
        );
    }
}
