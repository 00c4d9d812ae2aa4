//! Identifier newtypes: a provider id, a parsed model reference and a request id.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// The configured id of a provider instance (`openai`, `local`, `mock`), cheap to clone.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProviderId(Arc<str>);

impl ProviderId {
    /// Wraps a provider id.
    pub fn new(id: impl Into<Arc<str>>) -> Self {
        Self(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProviderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for ProviderId {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

/// A model name as a client wrote it, parsed once: either `provider/model` or a bare name.
///
/// Model names may themselves contain slashes (`meta-llama/llama-3-8b`), so the split is only a
/// candidate: the router decides whether the prefix names a configured provider.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ModelRef {
    raw: String,
    slash: Option<usize>,
}

impl ModelRef {
    /// Parses a client model string. Never fails: an empty string is rejected by validation.
    pub fn parse(raw: &str) -> Self {
        let slash = raw.find('/').filter(|&at| at > 0 && at + 1 < raw.len());
        Self {
            raw: raw.to_owned(),
            slash,
        }
    }

    /// The whole string as written.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// `(provider, model)` when the string has the `provider/model` form.
    pub fn provider_and_model(&self) -> Option<(&str, &str)> {
        self.slash.map(|at| (&self.raw[..at], &self.raw[at + 1..]))
    }
}

impl fmt::Display for ModelRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// The id of one request through the gateway, echoed in `x-request-id`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct RequestId(Arc<str>);

impl RequestId {
    /// Longest client-supplied id that is accepted; longer ones are replaced by a fresh id.
    pub const MAX_LEN: usize = 128;

    /// A fresh random id.
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string().into())
    }

    /// Accepts a client-supplied id if it is short and made of visible ASCII, else generates one.
    pub fn from_client_or_generate(candidate: Option<&str>) -> Self {
        match candidate {
            Some(id)
                if !id.is_empty()
                    && id.len() <= Self::MAX_LEN
                    && id.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                Self(id.into())
            }
            _ => Self::generate(),
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_ref_splits_at_first_slash() {
        let m = ModelRef::parse("openrouter/meta-llama/llama-3");
        assert_eq!(m.provider_and_model(), Some(("openrouter", "meta-llama/llama-3")));
        assert_eq!(ModelRef::parse("gpt-4o").provider_and_model(), None);
        assert_eq!(ModelRef::parse("/x").provider_and_model(), None);
        assert_eq!(ModelRef::parse("x/").provider_and_model(), None);
    }

    #[test]
    fn request_id_keeps_sane_client_ids_only() {
        assert_eq!(
            RequestId::from_client_or_generate(Some("abc-1")).as_str(),
            "abc-1"
        );
        let bad = RequestId::from_client_or_generate(Some("has space"));
        assert_ne!(bad.as_str(), "has space");
        assert_eq!(bad.as_str().len(), 32);
        let long = "a".repeat(RequestId::MAX_LEN + 1);
        assert_ne!(RequestId::from_client_or_generate(Some(&long)).as_str(), long);
    }
}
