//! Client and admin authentication: keys held only as SHA-256 hashes, compared in constant time.

use sha2::{Digest, Sha256};

/// A SHA-256 digest of a key.
pub type KeyHash = [u8; 32];

/// Hashes a presented or configured key.
pub fn hash_key(key: &str) -> KeyHash {
    Sha256::digest(key.as_bytes()).into()
}

/// Parses a hex SHA-256 digest (`key_sha256` in config).
pub fn parse_key_hash(hex: &str) -> Option<KeyHash> {
    let hex = hex.trim();
    if hex.len() != 64 {
        return None;
    }
    let mut hash = [0u8; 32];
    for (byte, pair) in hash.iter_mut().zip(hex.as_bytes().chunks(2)) {
        let text = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(text, 16).ok()?;
    }
    Some(hash)
}

/// Equality that takes the same time wherever the inputs differ.
fn constant_time_eq(a: &KeyHash, b: &KeyHash) -> bool {
    a.iter()
        .zip(b)
        .fold(0u8, |difference, (x, y)| difference | (x ^ y))
        == 0
}

/// A configured client key.
#[derive(Clone)]
pub struct ClientKey {
    /// The key's name: the user identity for rate limits and logs.
    pub name: String,
    /// The key's hash.
    pub hash: KeyHash,
    /// Model names the key may use (as clients write them); empty means every model.
    pub models: Vec<String>,
    /// The most prompt tokens one request with this key may send.
    pub max_prompt_tokens: Option<u64>,
}

impl std::fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientKey")
            .field("name", &self.name)
            .field("models", &self.models)
            .field("max_prompt_tokens", &self.max_prompt_tokens)
            .finish_non_exhaustive()
    }
}

/// Who a request authenticated as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The key's name.
    pub name: String,
    /// Model names the key may use; empty means every model.
    pub models: Vec<String>,
    /// The most prompt tokens one request may send.
    pub max_prompt_tokens: Option<u64>,
}

impl Principal {
    /// Whether the key may use a model the client named `requested`, which routed to `routed`
    /// (`provider/model`).
    pub fn may_use(&self, requested: &str, routed: &str) -> bool {
        self.models.is_empty()
            || self
                .models
                .iter()
                .any(|model| model == requested || model == routed)
    }
}

/// The configured keys.
#[derive(Clone, Debug, Default)]
pub struct Authenticator {
    keys: Vec<ClientKey>,
    admin: Option<KeyHash>,
}

/// The outcome of checking a client's key.
#[derive(Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// No client keys are configured: every client is let in.
    Open,
    /// The key matched.
    Authenticated(Principal),
    /// No key was presented.
    Missing,
    /// A key was presented and matched none.
    Invalid,
}

impl Authenticator {
    /// Keys and the admin key from configuration.
    pub fn new(keys: Vec<ClientKey>, admin: Option<KeyHash>) -> Self {
        Self { keys, admin }
    }

    /// Whether client keys are required.
    pub fn requires_client_keys(&self) -> bool {
        !self.keys.is_empty()
    }

    /// Checks a presented client key against every configured key (no early exit).
    pub fn client(&self, presented: Option<&str>) -> ClientAuth {
        if self.keys.is_empty() {
            return ClientAuth::Open;
        }
        let Some(presented) = presented else {
            return ClientAuth::Missing;
        };
        let hash = hash_key(presented);
        let mut found = None;
        for key in &self.keys {
            if constant_time_eq(&key.hash, &hash) && found.is_none() {
                found = Some(key);
            }
        }
        match found {
            Some(key) => ClientAuth::Authenticated(Principal {
                name: key.name.clone(),
                models: key.models.clone(),
                max_prompt_tokens: key.max_prompt_tokens,
            }),
            None => ClientAuth::Invalid,
        }
    }

    /// Whether an admin key is configured.
    pub fn has_admin(&self) -> bool {
        self.admin.is_some()
    }

    /// Whether a presented key is the admin key. With no admin key configured, nothing is.
    pub fn admin(&self, presented: Option<&str>) -> bool {
        match (self.admin, presented) {
            (Some(admin), Some(presented)) => constant_time_eq(&admin, &hash_key(presented)),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authenticator() -> Authenticator {
        let key = ClientKey {
            name: "team-a".into(),
            hash: hash_key("sk-team-a"),
            models: vec!["fast".into()],
            max_prompt_tokens: None,
        };
        Authenticator::new(vec![key], Some(hash_key("admin-secret")))
    }

    #[test]
    fn keys_match_by_hash_only() {
        let auth = authenticator();
        assert!(matches!(auth.client(Some("sk-team-a")), ClientAuth::Authenticated(p) if p.name == "team-a"));
        assert_eq!(auth.client(Some("sk-team-b")), ClientAuth::Invalid);
        assert_eq!(auth.client(None), ClientAuth::Missing);
        assert!(auth.admin(Some("admin-secret")));
        assert!(!auth.admin(Some("sk-team-a")));
        assert!(!Authenticator::default().admin(Some("anything")));
        assert_eq!(Authenticator::default().client(None), ClientAuth::Open);
        assert!(!format!("{auth:?}").contains("sk-team-a"));
    }

    #[test]
    fn hex_hashes_parse_and_models_are_checked() {
        let hex: String = hash_key("k").iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(parse_key_hash(&hex), Some(hash_key("k")));
        assert_eq!(parse_key_hash("abc"), None);
        let principal = Principal {
            name: "a".into(),
            models: vec!["fast".into(), "openai/gpt-4o".into()],
            max_prompt_tokens: None,
        };
        assert!(principal.may_use("fast", "mock/echo"));
        assert!(principal.may_use("gpt-4o", "openai/gpt-4o"));
        assert!(!principal.may_use("mock/echo", "mock/echo"));
    }
}
