//! The canonical cache key: a hash of everything that changes an answer.

use std::fmt;

use llm_core::{ChatRequest, ProviderId};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::canonical::write_canonical;

/// The version of the key and entry format; bumping it orphans every stored entry.
pub const FORMAT_VERSION: u32 = 1;

/// `:v{FORMAT_VERSION}:`, between the namespace and the hash.
const VERSION_TAG: &str = ":v1:";

/// Request fields that never change an answer and stay out of the key.
///
/// `model` is the client's spelling (an alias, `provider/model`); the resolved provider and upstream
/// model are hashed instead. The output cap is hashed once, normalised, in place of its two fields.
const EXCLUDED_FIELDS: [&str; 6] = [
    "model",
    "stream",
    "stream_options",
    "user",
    "max_tokens",
    "max_completion_tokens",
];

/// A cache key: `"{namespace}:v{FORMAT_VERSION}:{hex sha256}"`.
///
/// The hash covers a canonical JSON document (keys sorted at every level, numbers normalised) of the
/// resolved provider id and upstream model, the output cap (`max_completion_tokens`, else `max_tokens`)
/// and every other request field: messages, tools, tool_choice, parallel_tool_calls, response_format,
/// temperature, top_p, stop, seed, n, the penalties and every forwarded unknown field. The client's model
/// string, `stream`, `stream_options` and `user` are left out, so a streamed and a non-streamed request
/// share an entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CacheKey(String);

impl CacheKey {
    /// The key of `request` when served by `model` on `provider`.
    pub fn for_request(namespace: &str, provider: &ProviderId, model: &str, request: &ChatRequest) -> Self {
        let mut canonical = String::with_capacity(1024);
        write_canonical(&answer_inputs(provider, model, request), &mut canonical);
        let digest = Sha256::digest(canonical.as_bytes());
        let mut key = String::with_capacity(namespace.len() + 8 + 64);
        key.push_str(namespace);
        key.push_str(VERSION_TAG);
        push_hex(&mut key, &digest);
        Self(key)
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The document that is hashed: `{"provider", "model", "output_cap", "request": {...}}`.
///
/// The request's own fields (unknown ones included, as serde flattens them) sit under `request`, so no
/// forwarded field can collide with the route fields.
fn answer_inputs(provider: &ProviderId, model: &str, request: &ChatRequest) -> Value {
    let fields = match serde_json::to_value(request) {
        Ok(Value::Object(mut fields)) => {
            for name in EXCLUDED_FIELDS {
                fields.remove(name);
            }
            Value::Object(fields)
        }
        // Serialising these types cannot fail; should it ever, the debug form still tells requests apart.
        Ok(other) => other,
        Err(error) => {
            tracing::error!(%error, "chat request did not serialise for the cache key");
            Value::String(format!("{request:?}"))
        }
    };
    let mut document = Map::with_capacity(4);
    document.insert("provider".to_owned(), Value::String(provider.as_str().to_owned()));
    document.insert("model".to_owned(), Value::String(model.to_owned()));
    document.insert(
        "output_cap".to_owned(),
        request.max_output_tokens().map_or(Value::Null, Value::from),
    );
    document.insert("request".to_owned(), fields);
    Value::Object(document)
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_tag_names_the_format_version() {
        assert_eq!(VERSION_TAG, format!(":v{FORMAT_VERSION}:"));
        let key = CacheKey::for_request("llm", &"p".into(), "m", &ChatRequest::default());
        assert!(key.as_str().starts_with(&format!("llm:v{FORMAT_VERSION}:")));
        assert_eq!(key.as_str().len(), "llm:v1:".len() + 64);
    }
}
