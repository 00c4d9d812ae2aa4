//! Rules as configured: a scope, a unit, a limit per window and what to do when the store fails.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::error::RuleError;

const MIN_WINDOW: Duration = Duration::from_secs(1);
const MAX_WINDOW: Duration = Duration::from_secs(365 * 86_400);

/// Which parts of a [`Subject`] a rule keys on; none of them is `global` (one bucket for everyone).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Scope {
    pub user: bool,
    pub provider: bool,
    pub model: bool,
}

impl Scope {
    /// One bucket shared by every request.
    pub const GLOBAL: Self = Self {
        user: false,
        provider: false,
        model: false,
    };

    /// Parses `global`, or `user`, `provider` and `model` joined by `+` in any order (no duplicates).
    pub fn parse(text: &str) -> Result<Self, RuleError> {
        let refuse = || RuleError::Scope(text.to_owned());
        let trimmed = text.trim();
        if trimmed.eq_ignore_ascii_case("global") {
            return Ok(Self::GLOBAL);
        }
        let mut scope = Self::GLOBAL;
        for part in trimmed.split('+') {
            let slot = match part.trim().to_ascii_lowercase().as_str() {
                "user" => &mut scope.user,
                "provider" => &mut scope.provider,
                "model" => &mut scope.model,
                _ => return Err(refuse()),
            };
            if *slot {
                return Err(refuse());
            }
            *slot = true;
        }
        Ok(scope)
    }

    pub fn is_global(&self) -> bool {
        *self == Self::GLOBAL
    }
}

impl fmt::Display for Scope {
    /// The canonical form: `global`, or the parts in the order user, provider, model.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_global() {
            return f.write_str("global");
        }
        let parts = [
            (self.user, "user"),
            (self.provider, "provider"),
            (self.model, "model"),
        ];
        let names: Vec<&str> = parts
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, name)| *name)
            .collect();
        f.write_str(&names.join("+"))
    }
}

impl FromStr for Scope {
    type Err = RuleError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

/// What a rule counts: requests (each costs 1) or tokens (each request costs its token estimate).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Unit {
    Requests,
    Tokens,
}

impl Unit {
    /// Parses `requests` or `tokens`.
    pub fn parse(text: &str) -> Result<Self, RuleError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "requests" => Ok(Self::Requests),
            "tokens" => Ok(Self::Tokens),
            _ => Err(RuleError::Unit(text.to_owned())),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Requests => "requests",
            Self::Tokens => "tokens",
        }
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Unit {
    type Err = RuleError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

/// What a rule does when its store (Redis) cannot be reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OnStoreError {
    /// Decide on this process's local store (fail open to a per-instance limit).
    Local,
    /// Refuse the request as unavailable (fail closed).
    Deny,
}

impl OnStoreError {
    /// Parses `local` or `deny`.
    pub fn parse(text: &str) -> Result<Self, RuleError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "local" => Ok(Self::Local),
            "deny" => Ok(Self::Deny),
            _ => Err(RuleError::OnStoreError(text.to_owned())),
        }
    }
}

impl FromStr for OnStoreError {
    type Err = RuleError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

/// Parses a window: a whole number followed by `s`, `m`, `h` or `d` (`30s`, `1m`, `1h`, `1d`), or one of
/// `second`, `minute`, `hour`, `day`. The range (1 s to 365 d) is checked by [`Rule::new`].
pub fn parse_window(text: &str) -> Result<Duration, RuleError> {
    let refuse = || RuleError::Window(text.to_owned());
    let trimmed = text.trim().to_ascii_lowercase();
    let seconds = match trimmed.as_str() {
        "second" => 1,
        "minute" => 60,
        "hour" => 3_600,
        "day" => 86_400,
        _ => {
            let split = trimmed.find(|c: char| !c.is_ascii_digit()).ok_or_else(refuse)?;
            let (number, suffix) = trimmed.split_at(split);
            let unit: u64 = match suffix.trim() {
                "s" => 1,
                "m" => 60,
                "h" => 3_600,
                "d" => 86_400,
                _ => return Err(refuse()),
            };
            let count: u64 = number.parse().map_err(|_| refuse())?;
            if count == 0 {
                return Err(refuse());
            }
            count.checked_mul(unit).ok_or_else(refuse)?
        }
    };
    Ok(Duration::from_secs(seconds))
}

/// The shortest form of a window: `1d`, `2h`, `1m`, `90s` (milliseconds when not whole seconds).
pub fn format_window(window: Duration) -> String {
    if window.subsec_nanos() != 0 {
        return format!("{}ms", window.as_millis());
    }
    let secs = window.as_secs();
    for (unit, suffix) in [(86_400, "d"), (3_600, "h"), (60, "m")] {
        if secs >= unit && secs.is_multiple_of(unit) {
            return format!("{}{suffix}", secs / unit);
        }
    }
    format!("{secs}s")
}

/// One rate limit: at most `limit` units per `window` for each subject of `scope`.
#[derive(Clone, Debug)]
pub struct Rule {
    pub scope: Scope,
    pub unit: Unit,
    pub limit: u64,
    pub window: Duration,
    pub on_store_error: OnStoreError,
}

impl Rule {
    /// A rule, checked: `limit` at least 1 (and at most one unit per microsecond of window), `window`
    /// from 1 s to 365 d.
    pub fn new(
        scope: Scope,
        unit: Unit,
        limit: u64,
        window: Duration,
        on_store_error: OnStoreError,
    ) -> Result<Self, RuleError> {
        if limit == 0 {
            return Err(RuleError::ZeroLimit);
        }
        if !(MIN_WINDOW..=MAX_WINDOW).contains(&window) {
            return Err(RuleError::WindowRange(window));
        }
        if u128::from(limit) > window.as_micros() {
            return Err(RuleError::TooFine { limit, window });
        }
        Ok(Self {
            scope,
            unit,
            limit,
            window,
            on_store_error,
        })
    }

    /// For people and logs: `user+model: 60 requests per 1m`.
    pub fn describe(&self) -> String {
        format!(
            "{}: {} {} per {}",
            self.scope,
            self.limit,
            self.unit,
            format_window(self.window)
        )
    }
}

/// Who and what a request is; a rule keys on the parts its scope names (a global rule on none).
#[derive(Clone, Debug)]
pub struct Subject {
    pub user: String,
    pub provider: String,
    pub model: String,
}

impl Subject {
    pub fn new(user: impl Into<String>, provider: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            user: user.into(),
            provider: provider.into(),
            model: model.into(),
        }
    }

    /// The parts `scope` names, escaped so no separator or hash-tag brace can appear in them:
    /// `u=alice:m=gpt-4o`, or `all` for a global scope.
    pub fn key_parts(&self, scope: Scope) -> String {
        let mut parts = String::with_capacity(self.user.len() + self.provider.len() + self.model.len() + 12);
        self.push_key_parts(scope, &mut parts);
        parts
    }

    /// [`Subject::key_parts`], appended to `out`.
    pub fn push_key_parts(&self, scope: Scope, out: &mut String) {
        let start = out.len();
        for (on, tag, value) in [
            (scope.user, "u=", &self.user),
            (scope.provider, "p=", &self.provider),
            (scope.model, "m=", &self.model),
        ] {
            if on {
                if out.len() > start {
                    out.push(':');
                }
                out.push_str(tag);
                escape_into(value, out);
            }
        }
        if out.len() == start {
            out.push_str("all");
        }
    }
}

/// Appends `value` with every byte outside `[A-Za-z0-9._@/-]` percent-encoded, so `:`, `=`, `{`, `}`
/// and `%` never appear raw.
fn escape_into(value: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'@' | b'/' | b'-') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
}

#[cfg(test)]
#[path = "rule_tests.rs"]
mod tests;
