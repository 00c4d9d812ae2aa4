//! Connection settings, and URL checks that never echo a password.

use std::fmt;
use std::time::Duration;

use crate::error::RedisError;

/// URL schemes accepted (fred routes cluster and sentinel deployments by scheme).
pub const SCHEMES: [&str; 6] = [
    "redis",
    "rediss",
    "redis-cluster",
    "rediss-cluster",
    "redis-sentinel",
    "rediss-sentinel",
];

/// How to reach Redis.
#[derive(Clone)]
pub struct RedisSettings {
    /// `redis://[user:password@]host:port[/db]`, `rediss://...` (TLS) or `redis-cluster://h1:p1,h2:p2`.
    pub url: String,
    /// Connections in the pool; commands are spread round-robin.
    pub pool_size: usize,
    /// No call waits longer than this, whether Redis is slow, down or unreachable.
    pub command_timeout: Duration,
}

impl RedisSettings {
    /// Settings for `url` with a pool of 4 and a 200 ms command timeout.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            pool_size: 4,
            command_timeout: Duration::from_millis(200),
        }
    }
}

impl fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisSettings")
            .field("url", &redact_url(&self.url))
            .field("pool_size", &self.pool_size)
            .field("command_timeout", &self.command_timeout)
            .finish()
    }
}

/// `url` with the password of its user-info replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    // `user:password@` keeps the user; a bare `secret@` may be a password, so it is masked whole.
    let masked = match rest[..at].split_once(':') {
        Some((user, _password)) => format!("{user}:***"),
        None => "***".to_owned(),
    };
    format!("{}{masked}{}", &url[..scheme_end + 3], &rest[at..])
}

/// Refuses URLs fred would misread, naming the problem and never the password.
pub fn check_url(url: &str) -> Result<(), RedisError> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(RedisError::Backend(
            "invalid redis url: expected scheme://host[:port], e.g. redis://127.0.0.1:6379".to_owned(),
        ));
    };
    if !SCHEMES.contains(&scheme) {
        return Err(RedisError::Backend(format!(
            "invalid redis url: unsupported scheme {scheme:?} (use one of {})",
            SCHEMES.join(", ")
        )));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let hosts = authority
        .rsplit_once('@')
        .map_or(authority, |(_user_info, hosts)| hosts);
    if hosts.is_empty() {
        return Err(RedisError::Backend("invalid redis url: missing host".to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked() {
        assert_eq!(
            redact_url("redis://user:hunter2@h:6379/0"),
            "redis://user:***@h:6379/0"
        );
        assert_eq!(redact_url("rediss://:hunter2@h"), "rediss://:***@h");
        assert_eq!(redact_url("redis://hunter2@h"), "redis://***@h");
        assert_eq!(redact_url("redis://h:6379"), "redis://h:6379");
        let settings = RedisSettings::new("redis://default:hunter2@cache:6379");
        let shown = format!("{settings:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("cache:6379"), "{shown}");
    }

    #[test]
    fn bad_urls_are_named_without_the_password() {
        for url in [
            "localhost:6379",
            "http://u:hunter2@h",
            "redis://u:hunter2@/0",
            "redis://",
        ] {
            let error = check_url(url).unwrap_err().to_string();
            assert!(error.contains("invalid redis url"), "{error}");
            assert!(!error.contains("hunter2"), "{error}");
        }
        assert!(check_url("redis-cluster://a:7000,b:7001").is_ok());
    }
}
