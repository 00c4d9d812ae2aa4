//! Reading and parsing request bodies: a byte limit (413) and JSON errors naming the field (400).

use actix_web::HttpRequest;
use actix_web::http::header::CONTENT_LENGTH;
use actix_web::web::{Bytes, BytesMut, Payload};
use futures::StreamExt;
use llm_core::LlmError;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Reads the whole body, refusing more than `limit` bytes before reading them when the length is
/// declared.
pub(crate) async fn read_limited(
    request: &HttpRequest,
    mut payload: Payload,
    limit: usize,
) -> Result<Bytes, ApiError> {
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(ApiError::BodyTooLarge { limit });
    }
    let mut body = BytesMut::with_capacity(declared.unwrap_or(1024).min(limit));
    while let Some(piece) = payload.next().await {
        let piece = piece.map_err(|error| {
            LlmError::invalid_param("body", format!("could not read the request body: {error}"))
        })?;
        if body.len() + piece.len() > limit {
            return Err(ApiError::BodyTooLarge { limit });
        }
        body.extend_from_slice(&piece);
    }
    Ok(body.freeze())
}

/// Parses JSON; a failure names the offending field as the error's `param`.
///
/// Valid bodies take serde_json's plain path; only a body that fails is parsed again with path
/// tracking, to name the field (tracking every field of every body costs a few microseconds).
pub(crate) fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if let Ok(value) = serde_json::from_slice(body) {
        return Ok(value);
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(LlmError::invalid_param("body", "the request body is empty; send a JSON object").into());
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let (param, message) = if inner.is_syntax() || inner.is_eof() || path == "." || path.contains('?') {
            (
                "body".to_owned(),
                format!("the request body is not valid JSON for this endpoint: {inner}"),
            )
        } else {
            let message = format!("invalid value at `{path}`: {inner}");
            (path, message)
        };
        ApiError::from(LlmError::invalid_param(param, message))
    })?;
    deserializer.end().map_err(|error| {
        ApiError::from(LlmError::invalid_param(
            "body",
            format!("the request body is not valid JSON: {error}"),
        ))
    })?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use llm_core::ChatRequest;

    use super::*;

    fn param_of(body: &str) -> String {
        match parse_json::<ChatRequest>(body.as_bytes()) {
            Err(ApiError::Llm(error)) => error.param().unwrap().to_owned(),
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn json_errors_name_the_field() {
        assert_eq!(
            param_of(r#"{"model":"m","messages":[{"role":"wizard","content":"x"}]}"#),
            "messages[0].role"
        );
        assert_eq!(
            param_of(r#"{"model":"m","messages":[],"temperature":"hot"}"#),
            "temperature"
        );
        assert_eq!(param_of("{not json"), "body");
        assert_eq!(param_of(""), "body");
        assert_eq!(param_of(r#"{"model":"m","messages":[]} trailing"#), "body");
    }
}
